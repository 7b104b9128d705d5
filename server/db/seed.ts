/**
 * The demo avatar a fresh service shows, so that a first start has something
 * to open: the trained bundle shipped in assets/demo-avatar (made by
 * scripts/make-demo-avatar.sh), copied into the data directory. Without it
 * (a trimmed checkout) the demo starts as an untrained placeholder.
 */
import fs from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { avatarBundleDir, avatarBundlePath } from "../storage/layout";
import type { Db } from "./client";

export const DEMO_AVATAR_NAME = "Demo avatar";
export const DEMO_BUNDLE_DIR = fileURLToPath(new URL("../../assets/demo-avatar", import.meta.url));

export async function seedDemo(
  db: Db,
  log: (line: string) => void,
  dataDir: string,
  bundle = DEMO_BUNDLE_DIR,
): Promise<void> {
  if ((await db.avatar.count()) > 0) return;
  const demo = await db.avatar.create({ data: { name: DEMO_AVATAR_NAME, status: "ready" } });
  const shipped = await fs.stat(path.join(bundle, "manifest.json")).then(
    () => true,
    () => false,
  );
  if (!shipped) {
    log(`database: created the demo avatar ${demo.id} (no trained bundle in ${bundle}: an untrained placeholder)`);
    return;
  }
  // The store reads and validates it on first use, like any bundle.
  const bundlePath = avatarBundlePath(demo.id, "trained");
  await fs.cp(bundle, avatarBundleDir(dataDir, demo.id, "trained"), { recursive: true });
  await db.avatar.update({ where: { id: demo.id }, data: { bundlePath } });
  log(
    `database: created the demo avatar ${demo.id} from the trained bundle ${path.relative(process.cwd(), bundle) || bundle}`,
  );
}
