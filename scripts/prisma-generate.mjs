// Generates the Prisma clients (SQLite and PostgreSQL) without the network.
// `prisma generate` never uses the native schema engine, but the CLI still tries
// to download it first; pointing PRISMA_SCHEMA_ENGINE_BINARY at any executable
// stops that. Migrations do not go through the CLI here: see server/db/migrate.ts.
import { spawnSync } from "node:child_process";

const env = { ...process.env, PRISMA_HIDE_UPDATE_MESSAGE: "1", CHECKPOINT_DISABLE: "1" };
if (!env.PRISMA_SCHEMA_ENGINE_BINARY) env.PRISMA_SCHEMA_ENGINE_BINARY = "/bin/true";

for (const schema of ["prisma/schema.prisma", "prisma/postgres/schema.prisma"]) {
  const r = spawnSync("npx", ["--no-install", "prisma", "generate", "--schema", schema], { env, stdio: "inherit" });
  if (r.status !== 0) {
    console.error(`prisma-generate: 'prisma generate --schema ${schema}' failed with status ${r.status}`);
    process.exit(r.status ?? 1);
  }
}
