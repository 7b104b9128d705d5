import { describe, expect, it } from "vitest";
import * as Y from "yjs";
import pg from "pg";
import { migrate } from "./migrate";
import { createDb } from "./client";

// PostgreSQL runs when PG_TEST_URL names an empty database (.ci/run starts one
// with scripts/start-test-postgres.sh). In CI it must run, never skip.
const url = process.env.PG_TEST_URL;
const mustRun = process.env.CI === "true";

describe("PostgreSQL", () => {
  it("applies the committed migrations once and serves the Prisma models through the pg adapter", async (ctx) => {
    if (!url) {
      if (mustRun) throw new Error("PG_TEST_URL is not set: CI must run the PostgreSQL tests (see .ci/run)");
      return ctx.skip("PG_TEST_URL not set; run scripts/start-test-postgres.sh");
    }
    const first = await migrate(url);
    expect(first.applied.length + first.alreadyApplied.length).toBeGreaterThan(0);
    const again = await migrate(url);
    expect(again.applied).toEqual([]);

    // The history is Prisma's own table, as `prisma migrate status` reads it.
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    const { rows } = await client.query<{ migration_name: string; checksum: string }>(
      `SELECT migration_name, checksum FROM "_prisma_migrations"`,
    );
    expect(rows.map((r) => r.migration_name)).toContain("20261123000000_init");
    expect(rows.map((r) => r.migration_name)).toContain("20261207000000_photo_consent");
    expect(rows[0]!.checksum).toMatch(/^[0-9a-f]{64}$/);
    await client.end();

    const db = createDb(url);
    try {
      const avatar = await db.avatar.create({ data: { name: "On PostgreSQL" } });
      const doc = new Y.Doc();
      doc.getMap("attributes").set("hair", 0.5);
      await db.docUpdate.create({ data: { avatarId: avatar.id, update: new Uint8Array(Y.encodeStateAsUpdate(doc)) } });
      await db.shareLink.create({
        data: { avatarId: avatar.id, role: "view", tokenHash: "a".repeat(64), expiresAt: new Date(Date.now() + 1000) },
      });
      await db.job.create({ data: { avatarId: avatar.id, kind: "create", progress: 0.25 } });
      expect(avatar).toMatchObject({ photoConsentAt: null, photoConsentText: null });
      const at = new Date();
      const confirmed = await db.avatar.update({
        where: { id: avatar.id },
        data: { photoConsentAt: at, photoConsentText: "I have the right to use this photo." },
      });
      expect(confirmed.photoConsentAt).toEqual(at);
      expect(confirmed.photoConsentText).toBe("I have the right to use this photo.");
      const stored = await db.docUpdate.findMany({ where: { avatarId: avatar.id } });
      const replay = new Y.Doc();
      Y.applyUpdate(replay, stored[0]!.update);
      expect(replay.getMap("attributes").get("hair")).toBe(0.5);
      expect((await db.job.findFirstOrThrow({ where: { avatarId: avatar.id } })).progress).toBe(0.25);
      // Deleting the avatar cascades to its rows, as the foreign keys say.
      await db.avatar.delete({ where: { id: avatar.id } });
      expect(await db.shareLink.count({ where: { avatarId: avatar.id } })).toBe(0);
    } finally {
      await db.$disconnect();
    }
  });
});
