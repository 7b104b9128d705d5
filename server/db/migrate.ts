/**
 * Applies the committed SQL migrations at start, without Prisma's CLI (its
 * native schema engine cannot be downloaded on an offline machine; see
 * docs/database.md). Applied migrations are recorded in Prisma's own
 * `_prisma_migrations` table with the same checksum (SHA-256 of the file), so
 * `prisma migrate deploy/status` on a connected machine sees the same history.
 */
import { createHash, randomUUID } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import pg from "pg";

export interface Migration {
  name: string;
  sql: string;
  checksum: string;
}

const PRISMA_TABLE_SQLITE = `CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
  "id" TEXT PRIMARY KEY NOT NULL,
  "checksum" TEXT NOT NULL,
  "finished_at" DATETIME,
  "migration_name" TEXT NOT NULL,
  "logs" TEXT,
  "rolled_back_at" DATETIME,
  "started_at" DATETIME NOT NULL DEFAULT current_timestamp,
  "applied_steps_count" INTEGER UNSIGNED NOT NULL DEFAULT 0
)`;

const PRISMA_TABLE_PG = `CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
  "id" VARCHAR(36) PRIMARY KEY NOT NULL,
  "checksum" VARCHAR(64) NOT NULL,
  "finished_at" TIMESTAMPTZ,
  "migration_name" VARCHAR(255) NOT NULL,
  "logs" TEXT,
  "rolled_back_at" TIMESTAMPTZ,
  "started_at" TIMESTAMPTZ NOT NULL DEFAULT now(),
  "applied_steps_count" INTEGER NOT NULL DEFAULT 0
)`;

export function isPostgresUrl(url: string): boolean {
  return /^postgres(ql)?:\/\//.test(url);
}

/** Migrations in name order from prisma/migrations (SQLite) or prisma/postgres/migrations. */
export function readMigrations(postgres: boolean, root = process.cwd()): Migration[] {
  const dir = path.join(root, "prisma", ...(postgres ? ["postgres", "migrations"] : ["migrations"]));
  if (!fs.existsSync(dir)) throw new Error(`migrate: no migrations folder at ${dir}`);
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort()
    .map((name) => {
      const sql = fs.readFileSync(path.join(dir, name, "migration.sql"), "utf8");
      return { name, sql, checksum: createHash("sha256").update(sql).digest("hex") };
    });
}

/** Path of the SQLite file named by a file: URL (relative paths from the working directory). */
export function sqlitePathFromUrl(url: string): string {
  if (!url.startsWith("file:")) throw new Error(`migrate: expected a file: or postgres:// DATABASE_URL, got "${url}"`);
  return path.resolve(url.slice("file:".length));
}

export interface MigrateResult {
  applied: string[];
  alreadyApplied: string[];
}

export async function migrate(databaseUrl: string, root = process.cwd()): Promise<MigrateResult> {
  return isPostgresUrl(databaseUrl) ? migratePostgres(databaseUrl, root) : migrateSqlite(databaseUrl, root);
}

function checkHistory(done: Map<string, string>, migrations: Migration[]): void {
  for (const [name, checksum] of done) {
    const m = migrations.find((x) => x.name === name);
    if (!m)
      throw new Error(
        `migrate: the database has migration "${name}" that this version does not know; refusing to start`,
      );
    if (m.checksum !== checksum)
      throw new Error(`migrate: migration "${name}" was changed after it was applied (checksum differs)`);
  }
}

function migrateSqlite(url: string, root: string): MigrateResult {
  const file = sqlitePathFromUrl(url);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const db = new Database(file);
  try {
    db.pragma("journal_mode = WAL");
    db.exec(PRISMA_TABLE_SQLITE);
    const rows = db
      .prepare(
        `SELECT migration_name, checksum FROM "_prisma_migrations" WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL`,
      )
      .all() as Array<{ migration_name: string; checksum: string }>;
    const done = new Map(rows.map((r) => [r.migration_name, r.checksum]));
    const migrations = readMigrations(false, root);
    checkHistory(done, migrations);
    const result: MigrateResult = { applied: [], alreadyApplied: [...done.keys()] };
    for (const m of migrations) {
      if (done.has(m.name)) continue;
      db.transaction(() => {
        db.exec(m.sql);
        db.prepare(
          `INSERT INTO "_prisma_migrations" (id, checksum, finished_at, migration_name, started_at, applied_steps_count) VALUES (?, ?, current_timestamp, ?, current_timestamp, 1)`,
        ).run(randomUUID(), m.checksum, m.name);
      })();
      result.applied.push(m.name);
    }
    return result;
  } finally {
    db.close();
  }
}

async function migratePostgres(url: string, root: string): Promise<MigrateResult> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    // One migrator at a time across processes.
    await client.query("SELECT pg_advisory_lock(7423001)");
    await client.query(PRISMA_TABLE_PG);
    const { rows } = await client.query<{ migration_name: string; checksum: string }>(
      `SELECT migration_name, checksum FROM "_prisma_migrations" WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL`,
    );
    const done = new Map(rows.map((r) => [r.migration_name, r.checksum]));
    const migrations = readMigrations(true, root);
    checkHistory(done, migrations);
    const result: MigrateResult = { applied: [], alreadyApplied: [...done.keys()] };
    for (const m of migrations) {
      if (done.has(m.name)) continue;
      await client.query("BEGIN");
      try {
        await client.query(m.sql);
        await client.query(
          `INSERT INTO "_prisma_migrations" (id, checksum, finished_at, migration_name, started_at, applied_steps_count) VALUES ($1, $2, now(), $3, now(), 1)`,
          [randomUUID(), m.checksum, m.name],
        );
        await client.query("COMMIT");
      } catch (err) {
        await client.query("ROLLBACK");
        throw new Error(`migrate: migration "${m.name}" failed: ${(err as Error).message}`);
      }
      result.applied.push(m.name);
    }
    return result;
  } finally {
    await client.query("SELECT pg_advisory_unlock(7423001)").catch(() => undefined);
    await client.end();
  }
}
