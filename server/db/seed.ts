/** The demo avatar a fresh service shows, so that a first start has something to open. */
import type { Db } from "./client";

export const DEMO_AVATAR_NAME = "Demo avatar";

export async function seedDemo(db: Db, log: (line: string) => void): Promise<void> {
  if ((await db.avatar.count()) > 0) return;
  const demo = await db.avatar.create({ data: { name: DEMO_AVATAR_NAME, status: "ready" } });
  log(`database: created the demo avatar ${demo.id}`);
}
