import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { createDb } from "./client";
import { migrate } from "./migrate";
import { DEMO_BUNDLE_DIR, seedDemo } from "./seed";
import { tempDataDir } from "../testing/harness";
import { AvatarStore } from "../avatar/avatar-store";

async function freshDb() {
  const dataDir = tempDataDir();
  const url = `file:${path.join(dataDir, "perse.db")}`;
  await migrate(url);
  return { db: createDb(url), dataDir };
}

describe("the demo avatar", () => {
  it("starts from the trained bundle shipped in the repository, with an anchor and thumbnail per training video", async () => {
    const { db, dataDir } = await freshDb();
    const lines: string[] = [];
    await seedDemo(db, (l) => lines.push(l), dataDir);
    const demo = await db.avatar.findFirstOrThrow();
    expect(demo.bundlePath).toBe(path.join("avatars", demo.id, "trained"));
    expect(lines[0]).toMatch(/from the trained bundle/);
    const store = new AvatarStore(db, dataDir);
    expect(await store.isPlaceholder(demo.id)).toBe(false);
    const avatar = await store.load(demo.id);
    expect(avatar.config.categories[0]).toBe("source");
    expect(avatar.count).toBeGreaterThan(1000);
    expect(avatar.anchors.length).toBeGreaterThanOrEqual(avatar.config.categories.length - 1);
    expect(avatar.anchors.every((a) => a.thumbnail !== undefined)).toBe(true);
    // Seeding again leaves an existing database alone.
    await seedDemo(db, () => {}, dataDir);
    expect(await db.avatar.count()).toBe(1);
    await db.$disconnect();
  });

  it("falls back to the untrained placeholder when no bundle is shipped", async () => {
    const { db, dataDir } = await freshDb();
    const lines: string[] = [];
    await seedDemo(db, (l) => lines.push(l), dataDir, path.join(dataDir, "missing"));
    const demo = await db.avatar.findFirstOrThrow();
    expect(demo.bundlePath).toBeNull();
    expect(lines[0]).toMatch(/untrained placeholder/);
    expect(fs.existsSync(DEMO_BUNDLE_DIR)).toBe(true);
    await db.$disconnect();
  });
});
