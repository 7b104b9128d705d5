/**
 * A training run in an output folder: resumes from its checkpoint, keeps a
 * copy of the stage-1 checkpoint (the stage-2 ablation starts from it), and at
 * the end writes the avatar bundle (bundle/, anchors with thumbnails, and the
 * portrait it was made from when given), the loss
 * curve (loss-curve.png) and training-log.json (time, memory, figures).
 *
 *   out/checkpoint.bin          latest state (resume)
 *   out/checkpoint-stage1.bin   the state when stage 1 ended
 *   out/bundle/                 the avatar bundle (docs/avatar-bundle.md)
 *   out/loss-curve.png, out/training-log.json
 */
import fs from "node:fs";
import path from "node:path";
import { createHeadModel, type HeadModel } from "../../../render-core/head";
import { CpuAvatarRenderer } from "../../../render-core/avatar/avatar-renderer";
import { writeAvatarBundleDir } from "../../avatar/bundle-files";
import { imageToPng, lineChartPng } from "../../images/png";
import { writeFileAtomicSync } from "../../storage/atomic";
import { BACKGROUND } from "../synthesise/dataset";
import { APPEARANCE_CHANNELS } from "../../../render-core/avatar/networks";
import type { MeshTexture } from "../../../render-core/mesh/scene";
import { loadDatasetTexture } from "./appearance-init";
import { BatchPool } from "./batch-pool";
import { openGpuEngine, parseTrainerChoice, type TrainerChoice } from "./trainer-gpu";
import { readCheckpoint, writeCheckpoint } from "./checkpoint";
import {
  AvatarTrainer,
  exportAvatar,
  initialState,
  modelFor,
  type TrainConfig,
  type TrainProgress,
  type TrainState,
} from "./trainer";
import { latentsWith, TrainingData } from "./training-data";

export interface TrainRunOptions {
  dataset: string;
  out: string;
  config: TrainConfig;
  stage2: boolean;
  /** Start over even if out/ holds a checkpoint. */
  restart?: boolean;
  /** Start from another run's stage-1 checkpoint (the ablation). */
  initFrom?: string;
  onProgress?: (p: TrainProgress) => void;
  onLog?: (line: string) => void;
  signal?: { stop: boolean };
  /** After each checkpoint is written (e.g. to draw the loss curve so far); awaited. */
  onCheckpoint?: (state: TrainState) => Promise<void> | void;
  head?: HeadModel;
  /** Worker threads for a step's batches (default 0: everything on this thread). */
  workers?: number;
  /** The finished bundle's name (default: the dataset's person and the config) and the portrait it was made from (a PNG). */
  bundle?: { name?: string; portrait?: Uint8Array };
  /** Which step trains (trainer-gpu.ts): auto (GPU step on a hardware adapter), cpu or gpu. Default: TRAINER, else auto. */
  trainer?: TrainerChoice;
}

export interface TrainRunResult {
  state: TrainState;
  bundle: string;
  lossCurve: string;
  log: TrainingLog;
  finished: boolean;
}

export interface TrainingLog {
  config: string;
  stage2: boolean;
  iterations: number;
  gaussians: number;
  seconds: number;
  peakRssMB: number;
  first: { loss: number; psnr: number };
  last: { loss: number; psnr: number };
  resumedAt: number | null;
}

interface CheckpointHeader {
  version: 1;
  config: TrainConfig;
  stage2: boolean;
  dataset: unknown;
  iteration: number;
  count: number;
  seconds: number;
  history: TrainState["history"];
  adamStep: number;
  groups: string[];
}

/** Where a training output folder keeps its finished avatar bundle. */
export const trainedBundleDir = (out: string): string => path.join(out, "bundle");

const datasetKey = (data: TrainingData) => ({
  options: data.manifest.options,
  identity: data.manifest.identity.seed,
  videos: data.manifest.videos.map((v) => v.id),
});

function saveCheckpoint(file: string, trainer: AvatarTrainer, o: TrainRunOptions, data: TrainingData): void {
  const s = trainer.state;
  const moments = trainer.adam.moments();
  const arrays: Record<string, Float64Array | Float32Array | Uint32Array> = {
    points: s.points,
    anchorFace: s.anchorFace,
    anchorBary: s.anchorBary,
    shape: s.shape,
    geometry: s.weights.geometry,
    deformer: s.weights.deformer,
    gaussian: s.weights.gaussian,
    appearance: s.appearance,
    neutral: s.neutral,
    videoLatents: s.videoLatents,
    maxOpacity: s.maxOpacity,
  };
  for (const [name, { m, v }] of Object.entries(moments)) {
    arrays[`m:${name}`] = m;
    arrays[`v:${name}`] = v;
  }
  const header: CheckpointHeader = {
    version: 1,
    config: o.config,
    stage2: o.stage2,
    dataset: datasetKey(data),
    iteration: s.iteration,
    count: s.count,
    seconds: s.seconds,
    history: s.history,
    adamStep: trainer.adam.step,
    groups: Object.keys(moments),
  };
  writeCheckpoint(file, header, arrays);
}

function loadCheckpoint(
  file: string,
  o: TrainRunOptions,
  data: TrainingData,
  head: HeadModel,
  checkStage2: boolean,
): AvatarTrainer {
  const { header, arrays } = readCheckpoint<CheckpointHeader>(file);
  const why = (what: string) => new Error(`train: ${file} was made with ${what}; pick a new --out or pass --restart`);
  if (header.version !== 1) throw why(`checkpoint version ${header.version}`);
  if (JSON.stringify(header.config) !== JSON.stringify(o.config))
    throw why(`another training config (${header.config.name})`);
  if (JSON.stringify(header.dataset) !== JSON.stringify(datasetKey(data))) throw why("another dataset");
  if (checkStage2 && header.stage2 !== o.stage2) throw why(`stage 2 ${header.stage2 ? "on" : "off"}`);
  const a = arrays as Record<string, Float64Array>;
  const state: TrainState = {
    iteration: header.iteration,
    count: header.count,
    points: a.points!,
    anchorFace: arrays.anchorFace as Uint32Array,
    anchorBary: arrays.anchorBary as Float32Array,
    weights: { geometry: a.geometry!, deformer: a.deformer!, gaussian: a.gaussian! },
    // Checkpoints from before the residual existed start it at zero.
    appearance: a.appearance ?? new Float64Array(header.count * APPEARANCE_CHANNELS),
    neutral: a.neutral!,
    videoLatents: a.videoLatents!,
    shape: arrays.shape as Float32Array,
    maxOpacity: a.maxOpacity!,
    history: header.history,
    seconds: header.seconds,
  };
  const trainer = new AvatarTrainer({ config: o.config, data, head, stage2: o.stage2, ...trainerCallbacks(o) }, state);
  const moments = Object.fromEntries(header.groups.map((g) => [g, { m: a[`m:${g}`]!, v: a[`v:${g}`]! }]));
  // A residual the checkpoint did not train (older, or trained at a zero rate) starts with zero moments.
  moments.appearance ??= { m: new Float64Array(state.appearance.length), v: new Float64Array(state.appearance.length) };
  trainer.adam.restore(header.adamStep, moments);
  return trainer;
}

const trainerCallbacks = (o: TrainRunOptions) => ({
  ...(o.onProgress ? { onProgress: o.onProgress } : {}),
  ...(o.signal ? { signal: o.signal } : {}),
});

/** Worker threads worth starting: one per extra batch of a step, at most `asked`. */
const workerCount = (o: TrainRunOptions) => Math.max(0, Math.min(o.workers ?? 0, o.config.batchesPerStep - 1));
/** Cores the batches leave idle (a step of fewer batches than cores) help this thread's batches with their tiles. */
const tileHelperCount = (o: TrainRunOptions) => Math.max(0, (o.workers ?? 0) - workerCount(o) - 1);

/** Loss (log scale) and PSNR of the run, smoothed over 25 iterations. */
export async function lossCurvePng(state: TrainState, title: string): Promise<Buffer> {
  const smooth = (kind: string, pick: (h: TrainState["history"][number]) => number) => {
    const hs = state.history.filter((h) => h.kind === kind);
    return hs.map((h, i) => {
      const w = hs.slice(Math.max(0, i - 24), i + 1);
      return [h.iteration, w.reduce((a, x) => a + pick(x), 0) / w.length] as [number, number];
    });
  };
  return lineChartPng(
    [
      { name: "reconstruction", colour: "#5fb0ff", points: smooth("reconstruction", (h) => h.loss) },
      { name: "interpolation (stage 2)", colour: "#ffb347", points: smooth("interpolation", (h) => h.loss) },
    ].filter((s) => s.points.length > 0),
    { title, xLabel: "iteration", yLabel: "loss (L1 + D-SSIM), log scale", logY: true },
  );
}

export async function runTraining(o: TrainRunOptions): Promise<TrainRunResult> {
  const head = o.head ?? createHeadModel();
  const data = TrainingData.open(o.dataset, o.config.size);
  const out = path.resolve(o.out);
  fs.mkdirSync(out, { recursive: true });
  const ckpt = path.join(out, "checkpoint.bin");
  const log = o.onLog ?? (() => {});
  let trainer: AvatarTrainer;
  let resumedAt: number | null = null;
  if (!o.restart && fs.existsSync(ckpt)) {
    trainer = loadCheckpoint(ckpt, o, data, head, true);
    resumedAt = trainer.state.iteration;
    log(`train: resuming ${o.out} at iteration ${resumedAt}`);
  } else if (o.initFrom) {
    trainer = loadCheckpoint(o.initFrom, o, data, head, false);
    resumedAt = trainer.state.iteration;
    log(`train: starting from ${o.initFrom} at iteration ${resumedAt}`);
  } else {
    let texture: MeshTexture | null = null;
    if (o.config.appearanceInit === "texture") {
      // A moved dataset can lose its identity's folder: training still works, from the network's colours.
      texture = await loadDatasetTexture(data).catch((err: Error) => {
        log(`${err.message}; the per-Gaussian colours start at zero`);
        return null;
      });
      if (texture) log(`train: per-Gaussian colours start from the identity's ${texture.width} px UV texture`);
    }
    trainer = new AvatarTrainer(
      { config: o.config, data, head, stage2: o.stage2, ...trainerCallbacks(o) },
      initialState(o.config, data, head, texture),
    );
  }
  trainer.options.onCheckpoint = async (state, stage1Done) => {
    saveCheckpoint(ckpt, trainer, o, data);
    if (stage1Done) fs.copyFileSync(ckpt, path.join(out, "checkpoint-stage1.bin"));
    await o.onCheckpoint?.(state);
  };
  const pool = new BatchPool(workerCount(o), { tileHelpers: tileHelperCount(o) });
  trainer.options.pool = pool;
  if (pool.threads > 1) log(`train: ${pool.threads} threads`);
  const engine = await openGpuEngine(trainer, o.trainer ?? parseTrainerChoice(process.env.TRAINER), log);
  if (engine) trainer.options.engine = engine;
  const state = await trainer.run().finally(() => {
    pool.close();
    engine?.destroy();
  });
  const finished = state.iteration >= trainer.total;

  const title = `${o.config.name} at ${o.config.size} px, stage 2 ${o.stage2 ? "on" : "off"}: ${state.count} Gaussians, ${(state.seconds / 60).toFixed(1)} min`;
  const lossCurve = path.join(out, "loss-curve.png");
  if (state.history.length > 0) writeFileAtomicSync(lossCurve, await lossCurvePng(state, title));
  const bundle = trainedBundleDir(out);
  const name =
    o.bundle?.name ??
    `${data.manifest.identity.kind === "portrait" ? "portrait" : `seed ${data.manifest.identity.seed}`} (${o.config.name})`;
  if (finished) await exportBundle(state, trainer, data, head, bundle, name, o.bundle?.portrait);
  const recon = state.history.filter((h) => h.kind === "reconstruction");
  const avg = (hs: typeof recon) => ({
    loss: hs.reduce((a, h) => a + h.loss, 0) / Math.max(1, hs.length),
    psnr: hs.reduce((a, h) => a + h.psnr, 0) / Math.max(1, hs.length),
  });
  const trainingLog: TrainingLog = {
    config: o.config.name,
    stage2: o.stage2,
    iterations: state.iteration,
    gaussians: state.count,
    seconds: state.seconds,
    peakRssMB: process.resourceUsage().maxRSS / 1024,
    first: avg(recon.slice(0, 10)),
    last: avg(recon.slice(-25)),
    resumedAt,
  };
  fs.writeFileSync(path.join(out, "training-log.json"), JSON.stringify(trainingLog, null, 1));
  return { state, bundle, lossCurve, log: trainingLog, finished };
}

/** Writes the bundle with a thumbnail per anchor: the avatar at that anchor, first frame, main camera. */
async function exportBundle(
  state: TrainState,
  trainer: AvatarTrainer,
  data: TrainingData,
  head: HeadModel,
  dir: string,
  name: string,
  portrait: Uint8Array | undefined,
): Promise<void> {
  const avatar = exportAvatar(state, modelFor(trainer.options.config, data), data);
  if (portrait) avatar.portrait = portrait;
  const renderer = new CpuAvatarRenderer(avatar, head);
  const cam = data.camera();
  const k = 96 / cam.width;
  const camera = { ...cam, width: 96, height: 96, fx: cam.fx * k, fy: cam.fy * k, cx: cam.cx * k, cy: cam.cy * k };
  const m = data.motion[0]!;
  for (const anchor of avatar.anchors) {
    await renderer.setLatents(
      latentsWith(
        avatar.config.categories,
        avatar.neutralLatents,
        avatar.config.latentDim,
        anchor.category,
        anchor.latent,
      ),
    );
    anchor.thumbnail = await imageToPng(
      await renderer.render({ expression: m.expression, pose: m.pose }, camera, { background: BACKGROUND }),
    );
  }
  renderer.destroy();
  await writeAvatarBundleDir(dir, avatar, { name, headFaceCount: head.faceCount });
}
