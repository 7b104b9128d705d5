/**
 * Uploaded portraits on disk: DATA_DIR/portraits/<id>/ holds
 *   portrait.png    the decoded, upright image the pipeline reads
 *   original.<ext>  the bytes as uploaded
 *   analysis.json   the analyse stage's result (descriptor included)
 *   overlay.png     the analysis drawn over the portrait
 *   thumbnail.jpg   256 x 256, centred on the face
 * A folder appears whole (written aside, then renamed) or not at all.
 */
import { randomBytes } from "node:crypto";
import fs from "node:fs/promises";
import path from "node:path";
import { PORTRAIT_ID } from "../jobs/job-record";

/** Files of a portrait that may be served to the owner. */
export const PORTRAIT_FILES = ["portrait.png", "overlay.png", "thumbnail.jpg"] as const;
export type PortraitFile = (typeof PORTRAIT_FILES)[number];

export function isPortraitId(id: string): boolean {
  return PORTRAIT_ID.test(id);
}

/** 96 random bits: unguessable, and safe as a folder name. */
export function newPortraitId(): string {
  return randomBytes(12).toString("base64url");
}

export function portraitsRoot(dataDir: string): string {
  return path.join(dataDir, "portraits");
}

export function portraitDir(dataDir: string, id: string): string {
  if (!isPortraitId(id)) throw new Error(`portraitDir: "${id}" is not a portrait id`);
  return path.join(portraitsRoot(dataDir), id);
}

/** Whether a finished upload with this id exists (its analysis is the last file written). */
export async function portraitExists(dataDir: string, id: string): Promise<boolean> {
  if (!isPortraitId(id)) return false;
  const stat = await fs.stat(path.join(portraitDir(dataDir, id), "analysis.json")).catch(() => null);
  return !!stat?.isFile();
}

/** Writes a portrait's files into a hidden sibling folder, then renames it into place. */
export async function writePortraitFolder(dataDir: string, id: string, files: ReadonlyArray<readonly [string, Uint8Array | string]>): Promise<string> {
  const dir = portraitDir(dataDir, id);
  await fs.mkdir(portraitsRoot(dataDir), { recursive: true });
  const tmp = await fs.mkdtemp(path.join(portraitsRoot(dataDir), `.${id}.tmp-`));
  try {
    for (const [name, bytes] of files) await fs.writeFile(path.join(tmp, name), bytes);
    await fs.rename(tmp, dir);
  } catch (err) {
    await fs.rm(tmp, { recursive: true, force: true });
    throw err;
  }
  return dir;
}
