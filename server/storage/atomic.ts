/**
 * Files and folders that appear whole or not at all: everything is written
 * under a temporary sibling name and renamed into place (a rename within one
 * file system is atomic), so a killed process never leaves half a frame,
 * checkpoint, portrait or bundle where a reader, or a resumed job, would
 * take it for finished work.
 */
import { randomBytes } from "node:crypto";
import fsSync from "node:fs";
import fs from "node:fs/promises";
import path from "node:path";

/**
 * Writes `file` through `file.tmp-<pid>-<random>` (the parent folder is made); synchronous, for render and training
 * loops. Random too: worker threads share a pid, and on a shared volume so may processes on two machines.
 */
export function writeFileAtomicSync(file: string, data: Uint8Array | string): void {
  fsSync.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}-${randomBytes(4).toString("hex")}`;
  try {
    fsSync.writeFileSync(tmp, data);
    fsSync.renameSync(tmp, file);
  } catch (err) {
    fsSync.rmSync(tmp, { force: true });
    throw err;
  }
}

export interface WriteDirOptions {
  /** Swap out a folder already at the target (it is deleted only once the new one is in place). Default false: an existing folder fails the rename. */
  replace?: boolean;
  /** Names the caller in error messages. Default "writeDirAtomic". */
  owner?: string;
}

/**
 * Writes `files` (relative paths, sub-folders allowed) into a hidden
 * temporary sibling of `dir`, then renames it to `dir`. Only a folder is
 * ever replaced: a file or link at `dir` is likely not ours to delete.
 */
export async function writeDirAtomic(
  dir: string,
  files: Iterable<readonly [string, Uint8Array | string]>,
  options: WriteDirOptions = {},
): Promise<void> {
  const owner = options.owner ?? "writeDirAtomic";
  const target = path.resolve(dir);
  const existing = await fs.lstat(target).catch(() => null);
  if (existing && !existing.isDirectory()) throw new Error(`${owner}: ${dir} exists and is not a folder`);
  await fs.mkdir(path.dirname(target), { recursive: true });
  const tmp = await fs.mkdtemp(path.join(path.dirname(target), `.${path.basename(target)}.tmp-`));
  let old: string | null = null;
  try {
    for (const [name, bytes] of files) {
      const file = path.join(tmp, name);
      await fs.mkdir(path.dirname(file), { recursive: true });
      await fs.writeFile(file, bytes);
    }
    if (options.replace) {
      old = `${tmp}-old`;
      try {
        await fs.rename(target, old);
      } catch (err) {
        old = null;
        if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
      }
    }
    try {
      await fs.rename(tmp, target);
    } catch (err) {
      if (old) await fs.rename(old, target);
      old = null;
      throw err;
    }
  } finally {
    await fs.rm(tmp, { recursive: true, force: true });
    if (old) await fs.rm(old, { recursive: true, force: true });
  }
}

/** Moves a finished folder to `target` in one rename (same file system); its parent is made. */
export async function moveDirIntoPlace(source: string, target: string): Promise<void> {
  await fs.mkdir(path.dirname(target), { recursive: true });
  await fs.rename(source, target);
}
