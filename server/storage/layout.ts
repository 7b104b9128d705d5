/**
 * Where everything lives under DATA_DIR (env DATA_DIR, default ./data); the
 * one place that spells the folder names out:
 *
 *   perse.db                        the SQLite database (the default DATABASE_URL)
 *   portraits/<portraitId>/         an upload (server/portraits/store.ts): PORTRAIT_FOLDER below
 *   jobs/<jobId>/                   a creation job's stage outputs (server/pipeline/create/stages.ts):
 *     analyse/ fit/ dataset/ train/ evaluate/
 *   avatars/<avatarId>/bundle/      a created avatar's bundle, with thumbnail.png
 *   avatars/<avatarId>/trained/     the demo avatar's bundle, copied from assets/
 *   avatars/<avatarId>/placeholder/ the untrained stand-in of an avatar without a bundle
 *
 * `npm run create --out DIR` makes DIR a small DATA_DIR of its own (cliCreation).
 * Avatar.bundlePath in the database holds the bundle folder relative to DATA_DIR.
 */
import path from "node:path";

/** Portrait ids are ours (newPortraitId); anything else is refused before touching the disk. */
export const PORTRAIT_ID = /^[A-Za-z0-9_-]{8,64}$/;

export function isPortraitId(id: string): boolean {
  return PORTRAIT_ID.test(id);
}

/** The files of a portrait folder; analysis.json is written last, so its presence marks a complete upload. */
export const PORTRAIT_FOLDER = {
  /** The decoded, upright image the pipeline reads. */
  image: "portrait.png",
  /** The analysis without the image-sized matte (server/pipeline/analyse/stored-analysis.ts). */
  analysis: "analysis.json",
  /** The analysis drawn over the portrait. */
  overlay: "overlay.png",
  /** 256 x 256, centred on the face. */
  thumbnail: "thumbnail.jpg",
} as const;

/** The original upload's file name, by the format sniffed from its bytes. */
export const originalFileName = (ext: string): string => `original.${ext}`;

/** Whether an id can name a folder and stay one: no separators, no dot names. */
export const isSafeSegment = (id: string): boolean => !!id && !/[/\\\0]/.test(id) && !id.startsWith(".");

function segment(owner: string, id: string): string {
  if (!isSafeSegment(id)) throw new Error(`${owner}: "${id}" cannot name a folder`);
  return id;
}

/** The default DATABASE_URL: SQLite in DATA_DIR. */
export function defaultDatabaseUrl(dataDir: string): string {
  return `file:${path.join(dataDir, "perse.db")}`;
}

export function portraitsRoot(dataDir: string): string {
  return path.join(dataDir, "portraits");
}

export function portraitDir(dataDir: string, portraitId: string): string {
  return path.join(portraitsRoot(dataDir), segment("portraitDir", portraitId));
}

export function jobDir(dataDir: string, jobId: string): string {
  return path.join(dataDir, "jobs", segment("jobDir", jobId));
}

/** Everything of one avatar: removed whole when its creation is cancelled. */
export function avatarDir(dataDir: string, avatarId: string): string {
  return path.join(dataDir, "avatars", segment("avatarDir", avatarId));
}

/** Which bundle of an avatar: made by a creation job, copied for the demo, or the untrained placeholder. */
export type AvatarBundleKind = "bundle" | "trained" | "placeholder";

/** A bundle folder relative to DATA_DIR, with forward slashes, as Avatar.bundlePath stores it. */
export function avatarBundlePath(avatarId: string, kind: AvatarBundleKind = "bundle"): string {
  return `avatars/${segment("avatarBundlePath", avatarId)}/${kind}`;
}

export function avatarBundleDir(dataDir: string, avatarId: string, kind: AvatarBundleKind = "bundle"): string {
  return path.join(dataDir, avatarBundlePath(avatarId, kind));
}

/** Whether a stored bundlePath names an avatar's placeholder. */
export const isPlaceholderBundlePath = (bundlePath: string): boolean => path.basename(bundlePath) === "placeholder";

/** The picture of the avatar the job runner records as Avatar.thumbnailPath, inside the bundle folder. */
export const BUNDLE_THUMBNAIL = "thumbnail.png";

/** The folders of one creation: each stage writes under its own. */
export interface CreationFolders {
  analyse: string;
  fit: string;
  dataset: string;
  /** A training output folder (server/pipeline/train/train-run.ts); its bundle/ is moved to `bundle` at the end. */
  train: string;
  evaluate: string;
  /** The finished avatar bundle. */
  bundle: string;
}

export function creationFolders(where: { dataDir: string; jobDir: string; avatarId: string }): CreationFolders {
  const inJob = (name: string) => path.join(where.jobDir, name);
  return {
    analyse: inJob("analyse"),
    fit: inJob("fit"),
    dataset: inJob("dataset"),
    train: inJob("train"),
    evaluate: inJob("evaluate"),
    bundle: avatarBundleDir(where.dataDir, where.avatarId),
  };
}

/** `npm run create`'s --out folder: one portrait and one avatar, both "cli", the job in job/ (not jobs/<id>). */
export function cliCreation(outDir: string) {
  const dataDir = path.resolve(outDir);
  const id = "cli";
  return {
    dataDir,
    portraitId: id,
    avatarId: id,
    jobId: id,
    jobDir: path.join(dataDir, "job"),
    portraitImage: path.join(portraitDir(dataDir, id), PORTRAIT_FOLDER.image),
    bundle: avatarBundleDir(dataDir, id),
    /** Seconds per stage, kept across runs. */
    timings: path.join(dataDir, "timings.json"),
  };
}
