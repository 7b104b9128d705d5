/**
 * Avatar bundles on disk: one folder per bundle (render-core/formats/avatar-bundle.ts
 * holds the format). Writing goes to a temporary sibling folder that is
 * renamed into place at the end, so a crash never leaves half a bundle; an
 * existing bundle is swapped out, not deleted first, so it survives a failed write.
 */
import fs from "node:fs/promises";
import path from "node:path";
import { writeDirAtomic } from "../storage/atomic";
import {
  AvatarBundleError,
  readAvatarBundle,
  writeAvatarBundle,
  type ReadAvatarBundleOptions,
  type WriteAvatarBundleOptions,
} from "../../render-core/formats/avatar-bundle";
import type { Avatar } from "../../render-core/avatar/avatar";

/** Writes `avatar` as the bundle folder `dir`, replacing any folder there. */
export async function writeAvatarBundleDir(
  dir: string,
  avatar: Avatar,
  options: WriteAvatarBundleOptions = {},
): Promise<void> {
  // Encode first: an avatar the format refuses never touches the disk.
  const files = await writeAvatarBundle(avatar, options);
  await writeDirAtomic(dir, files, { replace: true, owner: "writeAvatarBundleDir" });
}

/**
 * Reads and validates the bundle folder `dir`. Each file's size is taken from
 * fs.stat and compared with the manifest before the file is read.
 */
export async function readAvatarBundleDir(
  dir: string,
  options: Omit<ReadAvatarBundleOptions, "size"> = {},
): Promise<Avatar> {
  const root = path.resolve(dir);
  const stat = await fs.stat(root).catch(() => null);
  if (!stat?.isDirectory()) throw new AvatarBundleError("missing-file", `readAvatarBundleDir: ${dir} is not a folder`);
  const file = (name: string) => {
    // The reader has already checked names against the bundle's pattern; this keeps the folder a hard boundary anyway.
    const p = path.resolve(root, name);
    if (!p.startsWith(root + path.sep))
      throw new AvatarBundleError("path", `readAvatarBundleDir: "${name}" is outside ${dir}`);
    return p;
  };
  return readAvatarBundle(
    async (name) => {
      const b = await fs.readFile(file(name));
      return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
    },
    {
      ...options,
      size: async (name) => {
        const s = await fs.stat(file(name));
        // A folder or device where a file should be would report a misleading size.
        if (!s.isFile())
          throw new AvatarBundleError("missing-file", `readAvatarBundleDir: ${name} in ${dir} is not a file`);
        return s.size;
      },
    },
  );
}
