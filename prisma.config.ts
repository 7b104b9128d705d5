// Prisma CLI configuration. The service itself never runs the CLI: it applies
// the committed SQL migrations at start (server/db/migrate.ts). On a machine
// that can reach Prisma's engine downloads, the usual CLI works on the same
// folders: DATABASE_URL=postgres://... selects the PostgreSQL schema and migrations.
import { defineConfig } from "prisma/config";

const url = process.env.DATABASE_URL ?? "file:./data/perse.db";
const postgres = /^postgres(ql)?:\/\//.test(url);

export default defineConfig({
  schema: postgres ? "prisma/postgres/schema.prisma" : "prisma/schema.prisma",
  migrations: { path: postgres ? "prisma/postgres/migrations" : "prisma/migrations" },
  datasource: { url },
});
