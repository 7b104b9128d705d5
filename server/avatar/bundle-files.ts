/**
 * Avatar bundles on disk: one folder per bundle (render-core/formats/avatar-bundle.ts
 * holds the format). Writing goes to a temporary sibling folder that is
 * renamed into place at the end, so a crash never leaves half a bundle.
 */
import fs from "node:fs";
import path from "node:path";
import { AvatarBundleError, readAvatarBundle, writeAvatarBundle, type ReadAvatarBundleOptions } from "../../render-core/formats/avatar-bundle";
import type { Avatar } from "../../render-core/avatar/avatar";

export async function writeAvatarBundleDir(dir: string, avatar: Avatar, options: { name?: string; createdAt?: string } = {}): Promise<void> {
  const files = await writeAvatarBundle(avatar, options);
  const target = path.resolve(dir);
  const tmp = `${target}.tmp-${process.pid}-${Date.now()}`;
  try {
    for (const [name, bytes] of files) {
      fs.mkdirSync(path.dirname(path.join(tmp, name)), { recursive: true });
      fs.writeFileSync(path.join(tmp, name), bytes);
    }
    fs.rmSync(target, { recursive: true, force: true });
    fs.renameSync(tmp, target);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

export async function readAvatarBundleDir(dir: string, options: ReadAvatarBundleOptions = {}): Promise<Avatar> {
  const root = path.resolve(dir);
  if (!fs.existsSync(root) || !fs.statSync(root).isDirectory()) throw new AvatarBundleError("missing-file", `${dir} is not a folder`);
  // Names were checked by the reader against the bundle's pattern (no "..", no absolute paths) before they get here.
  const file = (name: string) => path.join(root, name);
  return readAvatarBundle((name) => fs.promises.readFile(file(name)).then((b) => new Uint8Array(b.buffer, b.byteOffset, b.byteLength)), {
    ...options,
    size: async (name) => (await fs.promises.stat(file(name))).size,
  });
}
