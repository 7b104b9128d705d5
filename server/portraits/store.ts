/**
 * Uploaded portraits on disk (where: server/storage/layout.ts): a folder per
 * upload holds
 *   portrait.png    the decoded, upright image the pipeline reads
 *   original.<ext>  the bytes as uploaded
 *   analysis.json   the analysis without the matte (stored-analysis.ts)
 *   overlay.png     the analysis drawn over the portrait
 *   thumbnail.jpg   256 x 256, centred on the face
 * A folder appears whole (written aside, then renamed) or not at all.
 */
import { randomBytes } from "node:crypto";
import fs from "node:fs/promises";
import path from "node:path";
import { writeDirAtomic } from "../storage/atomic";
import { isPortraitId, portraitDir, PORTRAIT_FOLDER } from "../storage/layout";

// The HTTP layer imports these from here.

/** Files of a portrait that may be served to the owner. */
export const PORTRAIT_FILES = [PORTRAIT_FOLDER.image, PORTRAIT_FOLDER.overlay, PORTRAIT_FOLDER.thumbnail] as const;
export type PortraitFile = (typeof PORTRAIT_FILES)[number];

/** 96 random bits: unguessable, and safe as a folder name. */
export function newPortraitId(): string {
  return randomBytes(12).toString("base64url");
}

/** Whether a finished upload with this id exists (its analysis is the last file written). */
export async function portraitExists(dataDir: string, id: string): Promise<boolean> {
  if (!isPortraitId(id)) return false;
  const stat = await fs.stat(path.join(portraitDir(dataDir, id), PORTRAIT_FOLDER.analysis)).catch(() => null);
  return !!stat?.isFile();
}

/** Writes a portrait's files into a hidden sibling folder, then renames it into place. */
export async function writePortraitFolder(
  dataDir: string,
  id: string,
  files: ReadonlyArray<readonly [string, Uint8Array | string]>,
): Promise<string> {
  if (!isPortraitId(id)) throw new Error(`writePortraitFolder: "${id}" is not a portrait id`);
  const dir = portraitDir(dataDir, id);
  await writeDirAtomic(dir, files, { owner: "writePortraitFolder" });
  return dir;
}
