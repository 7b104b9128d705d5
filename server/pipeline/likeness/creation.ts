/**
 * What the likeness ladder reads from a creation folder: `npm run create`'s
 * --out folder (job/ inside, the bundle in avatars/cli/bundle) or a job
 * folder itself (analyse/, fit/, dataset/, train/, evaluate/). Each part is
 * looked up on its own, so a creation that stopped early still gives the
 * rungs whose inputs exist; a missing part is a reason, not a crash.
 */
import fs from "node:fs";
import path from "node:path";
import { parseCameraJson, type Camera } from "../../../render-core/math/camera";
import { cliCreation, creationFolders } from "../../storage/layout";
import { readPortraitIdentity } from "../synthesise/dataset";
import type { Identity } from "../synthesise/identity";
import { trainedBundleDir } from "../train/train-run";
import { TrainingData } from "../train/training-data";
import type { HeadModel } from "../../../render-core/head";

export interface CreationPaths {
  jobDir: string;
  fit: string;
  dataset: string;
  evaluate: string;
  /** The trained bundle folder, or null when none exists yet. */
  bundle: string | null;
}

/** The folders of the creation in `dir`; `bundle` overrides where the trained bundle is. */
export function locateCreation(dir: string, bundle?: string): CreationPaths {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new Error(`likeness: no creation folder ${dir}`);
  const cli = cliCreation(dir);
  const isJob = (d: string) => ["analyse", "fit"].some((s) => fs.existsSync(path.join(d, s)));
  const jobDir = isJob(cli.jobDir) ? cli.jobDir : isJob(dir) ? path.resolve(dir) : null;
  if (!jobDir)
    throw new Error(
      `likeness: ${dir} is not a creation folder (no job/analyse or job/fit, nor analyse/ or fit/): pass npm run create's --out folder`,
    );
  const folders = creationFolders({ dataDir: cli.dataDir, jobDir, avatarId: cli.avatarId });
  const hasBundle = (d: string) => fs.existsSync(path.join(d, "manifest.json"));
  const candidates = bundle ? [bundle] : [trainedBundleDir(folders.train), cli.bundle];
  if (bundle && !hasBundle(bundle)) throw new Error(`likeness: --bundle ${bundle} holds no manifest.json`);
  return {
    jobDir,
    fit: folders.fit,
    dataset: folders.dataset,
    evaluate: folders.evaluate,
    bundle: candidates.find(hasBundle) ?? null,
  };
}

/** The fit stage's head parameters and camera (fit/fit.json). */
export interface StoredFit {
  shape: Float32Array;
  expression: Float32Array;
  pose: Float32Array;
  camera: Camera;
}

export function readFit(c: CreationPaths): StoredFit {
  const file = path.join(c.fit, "fit.json");
  if (!fs.existsSync(file)) throw new MissingInput(`no ${shown(file)} (the fit stage has not run)`);
  const j = JSON.parse(fs.readFileSync(file, "utf8")) as {
    shape: number[];
    expression: number[];
    pose: number[];
    camera: unknown;
  };
  return {
    shape: Float32Array.from(j.shape),
    expression: Float32Array.from(j.expression),
    pose: Float32Array.from(j.pose),
    camera: parseCameraJson(j.camera),
  };
}

/** The fit's identity.json; its UV texture, when it has one, sits beside it. */
export const identityFile = (c: CreationPaths): string => path.join(c.fit, "identity.json");

/** The person the fit made (fit/identity.json): shape, colours, own attributes. */
export function readFitIdentity(c: CreationPaths, head: HeadModel): Identity {
  const file = identityFile(c);
  if (!fs.existsSync(file)) throw new MissingInput(`no ${shown(file)} (the fit stage has not run)`);
  return readPortraitIdentity(file, head);
}

export function openDataset(c: CreationPaths): TrainingData {
  if (!fs.existsSync(path.join(c.dataset, "manifest.json")))
    throw new MissingInput(`no dataset in ${shown(c.dataset)} (the synthesise stage has not run)`);
  return TrainingData.open(c.dataset);
}

/** A path for messages: relative to the working folder when inside it. */
function shown(p: string): string {
  const r = path.relative(process.cwd(), p);
  return r.startsWith("..") || path.isAbsolute(r) ? path.resolve(p) : r;
}

/** An input the rung needs is not there (reported as "missing", with this reason). */
export class MissingInput extends Error {}
