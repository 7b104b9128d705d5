/**
 * The Prisma client for the configured database: SQLite through
 * better-sqlite3 (embedded default) or PostgreSQL through node-postgres.
 * Both generated clients have the same models; the rest of the server uses
 * the SQLite client's types.
 */
import { PrismaBetterSqlite3 } from "@prisma/adapter-better-sqlite3";
import { PrismaPg } from "@prisma/adapter-pg";
import { PrismaClient as SqliteClient } from "./generated/sqlite/client";
import { PrismaClient as PostgresClient } from "./generated/postgres/client";
import { isPostgresUrl, sqlitePathFromUrl } from "./migrate";

export type Db = SqliteClient;

export function createDb(databaseUrl: string): Db {
  if (isPostgresUrl(databaseUrl)) {
    const client = new PostgresClient({ adapter: new PrismaPg({ connectionString: databaseUrl }) });
    return client as unknown as Db;
  }
  return new SqliteClient({ adapter: new PrismaBetterSqlite3({ url: `file:${sqlitePathFromUrl(databaseUrl)}` }) });
}
