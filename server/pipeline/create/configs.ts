/**
 * The creation configs a person picks (the new-avatar page through tRPC, the
 * job row's input, `npm run create --config`): their names, labels and what
 * each makes. Plain data and zod only, so the server's API and job runner can
 * read it without loading the pipeline (stages.ts resolves a plan into the
 * dataset options and the training preset it names).
 */
import { z } from "zod";
import type { SynthOptions } from "../synthesise/dataset";
import type { TrainPresetName } from "../train/trainer";
import { CREATION_CONFIGS, type CreationConfig } from "../../../protocol/creation-configs";

export { CREATION_CONFIGS, type CreationConfig };

/** Validates a config name wherever one comes in. */
export const creationConfigSchema = z.enum(CREATION_CONFIGS);

/** A config that names its own plan ("auto" picks one of these). */
export type PlanName = Exclude<CreationConfig, "auto">;

export interface CreationPlanSpec {
  /** The training preset of server/pipeline/train/trainer.ts. */
  trainPreset: TrainPresetName;
  /** The attribute dataset; "all" is every category the generator knows. */
  dataset: Omit<SynthOptions, "identity" | "categories"> & { categories: readonly string[] | "all" };
  /** Held-out fidelity figures (needs the dataset's extra camera). */
  evaluateHeldOut: boolean;
  /** Render the dataset with WebGPU where there is an adapter (else the CPU twin). */
  gpuSynthesis: boolean;
}

/** The plan each config makes; "auto" picks one for this machine. Labels: protocol/creation-configs.ts. */
export const CREATION_CONFIG_PLANS: Readonly<Record<CreationConfig, PlanName>> = {
  // Compact: training runs on the CPU twins (a chained GPU training step is not built yet).
  auto: "compact",
  tiny: "tiny",
  compact: "compact",
  paper: "paper",
};

/** What the full plans share: every category, in-betweens at three alphas, five view cameras taking turns, a held-out camera. */
const FULL_DATASET: Pick<
  CreationPlanSpec["dataset"],
  "fps" | "categories" | "inbetweenPairs" | "alphas" | "extraCameras" | "viewCameras"
> = { fps: 30, categories: "all", inbetweenPairs: 2, alphas: [0.25, 0.5, 0.75], extraCameras: 1, viewCameras: 5 };

export const CREATION_PLANS: Readonly<Record<PlanName, CreationPlanSpec>> = {
  // Seconds-long, for tests and previews: too few pixels for the GPU's set-up cost to pay, no held-out camera.
  tiny: {
    trainPreset: "tiny",
    dataset: {
      perCategory: 2,
      frames: 4,
      size: 48,
      fps: 30,
      categories: ["hair", "eyewear", "hat"],
      inbetweenPairs: 1,
      alphas: [0.5],
      extraCameras: 0,
    },
    evaluateHeldOut: false,
    gpuSynthesis: false,
  },
  // 20-35 minutes on a 2-core CPU (docs/portrait-pipeline.md); the demo avatar was trained with an earlier compact preset.
  compact: {
    trainPreset: "compact",
    dataset: { ...FULL_DATASET, perCategory: 6, frames: 60, size: 128 },
    evaluateHeldOut: true,
    gpuSynthesis: true,
  },
  paper: {
    trainPreset: "paper",
    dataset: { ...FULL_DATASET, perCategory: 10, frames: 100, size: 512 },
    evaluateHeldOut: true,
    gpuSynthesis: true,
  },
};

export function planNameOf(config: CreationConfig): PlanName {
  return CREATION_CONFIG_PLANS[config];
}
