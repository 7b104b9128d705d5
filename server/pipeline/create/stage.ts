/**
 * The contract between the creation pipeline's stages and the job runner
 * (server/jobs/): a stage is a named, weighted step that writes its outputs
 * under the job's folder and can be run again after a kill (it skips or
 * resumes what is already on disk).
 */
import type { CreationConfig } from "./configs";

/** What the browser chose: the portrait (an upload under DATA_DIR/portraits/<id>) and the training size. */
export interface CreationInput {
  portraitId: string;
  /** What the avatar is made with: configs.ts. */
  config: CreationConfig;
}

/** Files a stage makes visible to the browser while the job runs (paths relative to the job folder). */
export type ArtifactName = "overlay" | "fit" | "texture" | "contact-sheet" | "loss-curve" | "identity-sheet";

export interface StageContext {
  jobId: string;
  /** The Avatar row being created. */
  avatarId: string;
  /** Absolute DATA_DIR. */
  dataDir: string;
  /** Absolute DATA_DIR/jobs/<jobId>: every stage writes under it. */
  jobDir: string;
  input: CreationInput;
  /** Aborted when the job is cancelled or the server closes; a stage stops soon after and throws or returns. */
  signal: AbortSignal;
  /** This stage's progress in [0, 1], with an ETA in seconds when the stage can tell. */
  progress(fraction: number, etaSeconds?: number): void;
  log(line: string): void;
  publish(name: ArtifactName, relativePath: string): void;
}

export interface StageDef {
  /** Stable id stored in the job row ("analyse", "fit", ...). */
  name: string;
  /** Shown in the UI. */
  label: string;
  /** Share of the whole job's progress bar (weights are normalised). */
  weight: number;
  run(ctx: StageContext): Promise<void>;
}
