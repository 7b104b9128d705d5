import { describe, expect, it } from "vitest";
import fs from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { Prisma } from "./generated/sqlite/client";
import { Prisma as PgPrisma } from "./generated/postgres/client";
import { migrate, readMigrations } from "./migrate";
import { tempDataDir } from "../testing/harness";

const MODELS = {
  Avatar: Prisma.AvatarScalarFieldEnum,
  Job: Prisma.JobScalarFieldEnum,
  ShareLink: Prisma.ShareLinkScalarFieldEnum,
  DocUpdate: Prisma.DocUpdateScalarFieldEnum,
};

describe("migrations", () => {
  it("create exactly the columns the Prisma schema declares, and run once", async () => {
    const file = path.join(tempDataDir(), "m.db");
    const first = await migrate(`file:${file}`);
    expect(first.applied.length).toBeGreaterThan(0);
    const second = await migrate(`file:${file}`);
    expect(second.applied).toEqual([]);
    const db = new Database(file, { readonly: true });
    for (const [table, fields] of Object.entries(MODELS)) {
      const columns = (db.prepare(`PRAGMA table_info("${table}")`).all() as Array<{ name: string }>)
        .map((c) => c.name)
        .sort();
      expect(columns, table).toEqual(Object.values(fields).sort());
    }
    db.close();
  });

  it("keep the SQLite and PostgreSQL schemas' models identical", () => {
    expect(Object.values(PgPrisma.ModelName).sort()).toEqual(Object.values(Prisma.ModelName).sort());
    expect(PgPrisma.AvatarScalarFieldEnum).toEqual(Prisma.AvatarScalarFieldEnum);
    expect(PgPrisma.JobScalarFieldEnum).toEqual(Prisma.JobScalarFieldEnum);
    expect(PgPrisma.DocUpdateScalarFieldEnum).toEqual(Prisma.DocUpdateScalarFieldEnum);
    const sqlite = readMigrations(false).map((m) => m.name);
    const pg = readMigrations(true).map((m) => m.name);
    expect(pg).toEqual(sqlite);
    expect(sqlite).toContain("20261207000000_photo_consent");
    const strip = (f: string) =>
      fs
        .readFileSync(f, "utf8")
        .replace(/^(\/\/.*|generator[\s\S]*?\n\}|datasource[\s\S]*?\n\})\n/gm, "")
        .trim();
    expect(strip("prisma/postgres/schema.prisma")).toBe(strip("prisma/schema.prisma"));
  });

  it("add the photo consent columns to a database made before them, empty for the avatars it has", async () => {
    // A copy of the migrations up to the one before photo_consent, as an older release shipped them.
    const root = tempDataDir();
    const older = readMigrations(false).filter((m) => m.name < "20261207000000_photo_consent");
    for (const m of older) {
      fs.mkdirSync(path.join(root, "prisma", "migrations", m.name), { recursive: true });
      fs.writeFileSync(path.join(root, "prisma", "migrations", m.name, "migration.sql"), m.sql);
    }
    const file = path.join(tempDataDir(), "m.db");
    await migrate(`file:${file}`, root);
    const db = new Database(file);
    db.prepare(`INSERT INTO "Avatar" (id, name, updatedAt) VALUES ('old', 'Made before', CURRENT_TIMESTAMP)`).run();
    db.close();
    expect((await migrate(`file:${file}`)).applied).toEqual(["20261207000000_photo_consent"]);
    const after = new Database(file, { readonly: true });
    expect(after.prepare(`SELECT "photoConsentAt", "photoConsentText" FROM "Avatar" WHERE id = 'old'`).get()).toEqual({
      photoConsentAt: null,
      photoConsentText: null,
    });
    after.close();
  });

  it("refuse a database whose applied migration was edited afterwards", async () => {
    const file = path.join(tempDataDir(), "m.db");
    await migrate(`file:${file}`);
    const db = new Database(file);
    db.prepare(`UPDATE "_prisma_migrations" SET checksum = 'tampered'`).run();
    db.close();
    await expect(migrate(`file:${file}`)).rejects.toThrow(/changed after it was applied/);
  });
});
