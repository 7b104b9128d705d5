/**
 * PERSE training (PERSE-METHOD.md section 3) on the CPU twins: stage 1
 * reconstructs every training video (densification on); stage 2 adds the
 * interpolation regulariser: for a frame of videos A and B of one category,
 * the avatar at lerp(zA, zB, alpha) is supervised by the dataset's exact
 * in-between image (L1 + D-SSIM on the whole image, extra L1 inside the
 * attribute's region), alternating with reconstruction batches.
 *
 * Parameters: the three networks, the canonical points, the per-Gaussian
 * colour residual (appearance, [N, 3]), the neutral latents [C, L] (the source
 * video, and every category a video does not edit) and one latent per
 * attribute video. Expression and pose come from the dataset, which
 * knows them exactly, so the reference's per-frame refinements are not needed.
 *
 * A batch is several frames of one video (or one pair at one alpha): the
 * heavy networks and the bake run once per batch (avatarTrainBatch).
 * Everything is resumable: checkpoints hold the parameters, Adam's moments and
 * the loss history; batches are drawn from a generator seeded by the iteration.
 */
import { Adam } from "../../../render-core/train/adam";
import type { AvatarTrainState, StepTarget } from "../../../render-core/train/avatar-step";
import { COMPACT, PAPER, type AvatarModelConfig } from "../../../render-core/avatar/config";
import { avatarPriors, createRandomAvatar, type Avatar, type AvatarAnchor } from "../../../render-core/avatar/avatar";
import { bakeFrame, deformFrame } from "../../../render-core/avatar/rig";
import type { HeadModel } from "../../../render-core/head";
import { psnr } from "../../../render-core/math/image-metrics";
import { mulberry32 } from "../../../render-core/math/prng";
import { BACKGROUND } from "../synthesise/dataset";
import { APPEARANCE_CHANNELS } from "../../../render-core/avatar/networks";
import type { MeshTexture } from "../../../render-core/mesh/scene";
import { textureAppearance } from "./appearance-init";
import { BatchPool } from "./batch-pool";
import { densify } from "./densify";
import { CATEGORY_CLASSES, videoAnchors, type InbetweenPair, type TrainingData } from "./training-data";

export interface TrainConfig {
  name: string;
  model: AvatarModelConfig;
  /** Training image size (square). */
  size: number;
  initialGaussians: number;
  /** Densification: at these iterations, prune and up-sample to these counts. */
  densifyAt: number[];
  densifyCounts: number[];
  pruneOpacity: number;
  /** Jitter of up-sampled copies (metres), multiplied by jitterDecay at every step. */
  jitter: number;
  jitterDecay: number;
  stage1: number;
  stage2: number;
  framesPerBatch: number;
  /** Batches (different videos) averaged per Adam step; they run in parallel on worker threads. */
  batchesPerStep: number;
  /**
   * Learning rates; they decay exponentially to lrFinal times their value at the end. `appearance` is the
   * per-Gaussian colour residual's (colour logits); 0 leaves the residual where it starts (off, with a zero start).
   */
  lr: { geometry: number; deformer: number; gaussian: number; points: number; latents: number; appearance: number };
  /**
   * Where the per-Gaussian colour residual starts: "texture" makes each Gaussian's first colour the dataset
   * identity's UV texture at its anchor, lit by the dataset's light (appearance-init.ts; zero for identities
   * without a texture); "zero" leaves the colour to the network.
   */
  appearanceInit: "texture" | "zero";
  lrFinal: number;
  lambdaDssim: number;
  /** Weight of sum(z^2) of the latents a batch uses. */
  latentL2: number;
  /** Weight of the extra L1 inside the attribute's region (attribute videos and stage-2 pairs). */
  regionWeight: number;
  checkpointEvery: number;
  seed: number;
}

const BASE = {
  pruneOpacity: 0.02,
  jitter: 0.003,
  jitterDecay: 0.75,
  lrFinal: 0.1,
  lambdaDssim: 0.2,
  latentL2: 1e-4,
  regionWeight: 1,
  appearanceInit: "texture" as const,
  seed: 1,
};

export type TrainPresetName = "compact" | "paper" | "tiny";

/** Training presets; the model's categories are replaced by the dataset's. */
export const TRAIN_PRESETS: Readonly<Record<TrainPresetName, TrainConfig>> = {
  // 8,000 Gaussians and 1,200 iterations: once the dataset carried the likeness, 3,000 and 800 lost it in training
  // (docs/likeness.md: on person-vlado, L3 at 3/4 0.804 -> 0.726, faceres-deep at the photo's pose 0.525 -> 0.447,
  // training 4.5 -> 10.8 min).
  compact: {
    ...BASE,
    name: "compact",
    model: COMPACT,
    size: 128,
    initialGaussians: 2500,
    densifyAt: [150, 400],
    densifyCounts: [5000, 8000],
    stage1: 900,
    stage2: 300,
    framesPerBatch: 3,
    batchesPerStep: 2,
    lr: { geometry: 2e-3, deformer: 5e-4, gaussian: 1e-3, points: 2e-4, latents: 3e-2, appearance: 1e-2 },
    checkpointEvery: 50,
  },
  paper: {
    ...BASE,
    name: "paper",
    model: PAPER,
    size: 512,
    initialGaussians: 4000,
    densifyAt: [2000, 5000, 10000, 20000],
    densifyCounts: [16000, 32000, 64000, 130000],
    stage1: 40000,
    stage2: 10000,
    framesPerBatch: 4,
    batchesPerStep: 2,
    lr: { geometry: 1e-4, deformer: 1e-4, gaussian: 1e-4, points: 1e-5, latents: 5e-4, appearance: 2.5e-3 },
    checkpointEvery: 1000,
  },
  /** Seconds-long runs for the test suite. */
  tiny: {
    ...BASE,
    name: "tiny",
    model: {
      ...COMPACT,
      latentDim: 4,
      geometry: { depth: 2, width: 16, skipAt: 0 },
      deformer: { depth: 1, width: 8 },
      gaussian: { depth: 1, width: 8 },
    },
    size: 24,
    initialGaussians: 150,
    densifyAt: [12],
    densifyCounts: [200],
    stage1: 24,
    stage2: 8,
    framesPerBatch: 2,
    batchesPerStep: 1,
    lr: { geometry: 1e-2, deformer: 1e-3, gaussian: 5e-3, points: 2e-4, latents: 3e-2, appearance: 1e-1 },
    checkpointEvery: 10,
  },
};

export interface TrainProgress {
  stage: 1 | 2;
  iteration: number;
  total: number;
  loss: number;
  psnr: number;
  gaussians: number;
  secondsPerIteration: number;
  etaSeconds: number;
}

export interface HistoryPoint {
  iteration: number;
  stage: 1 | 2;
  kind: "reconstruction" | "interpolation";
  loss: number;
  psnr: number;
}

/** Everything a checkpoint holds. */
export interface TrainState {
  iteration: number;
  count: number;
  points: Float64Array;
  anchorFace: Uint32Array;
  anchorBary: Float32Array;
  weights: { geometry: Float64Array; deformer: Float64Array; gaussian: Float64Array };
  /** [N, 3] per-Gaussian colour residual (colour logits, added to the geometry network's). */
  appearance: Float64Array;
  /** [C, L] */
  neutral: Float64Array;
  /** [V, L], one row per manifest video (the source video's row is unused). */
  videoLatents: Float64Array;
  shape: Float32Array;
  /** Largest opacity per Gaussian since the last densification; -1: never drawn. */
  maxOpacity: Float64Array;
  history: HistoryPoint[];
  seconds: number;
}

/** The model config for a dataset: the preset's sizes with "source" + the dataset's categories. */
export function modelFor(config: TrainConfig, data: TrainingData): AvatarModelConfig {
  return { ...config.model, categories: ["source", ...data.manifest.categories] };
}

/**
 * The untrained state. `texture`: the dataset identity's UV albedo (appearance-init.ts loadDatasetTexture);
 * with config.appearanceInit "texture" it sets each Gaussian's first colour.
 */
export function initialState(
  config: TrainConfig,
  data: TrainingData,
  head: HeadModel,
  texture: MeshTexture | null = null,
): TrainState {
  const model = modelFor(config, data);
  const shape = Float32Array.from(data.manifest.identity.shape);
  const a = createRandomAvatar(model, head, { count: config.initialGaussians, seed: config.seed, shape });
  const L = model.latentDim,
    V = data.manifest.videos.length;
  const rand = mulberry32(config.seed + 7);
  // Small random latents: distinct videos start distinguishable, and the conditioning's weights get gradients.
  const small = () => 0.1 * (rand() * 2 - 1);
  const state: TrainState = {
    iteration: 0,
    count: a.count,
    points: Float64Array.from(a.points),
    anchorFace: a.anchorFace,
    anchorBary: a.anchorBary,
    weights: {
      geometry: Float64Array.from(a.weights.geometry),
      deformer: Float64Array.from(a.weights.deformer),
      gaussian: Float64Array.from(a.weights.gaussian),
    },
    appearance: new Float64Array(a.count * APPEARANCE_CHANNELS),
    neutral: Float64Array.from({ length: model.categories.length * L }, small),
    videoLatents: Float64Array.from({ length: V * L }, small),
    shape,
    maxOpacity: new Float64Array(a.count).fill(-1),
    history: [],
    seconds: 0,
  };
  if (texture && config.appearanceInit === "texture")
    state.appearance = textureAppearance(state, model, head, data.manifest.identity, texture);
  return state;
}

/** Region of category `c` in a parse map, dilated by `radius` px (square), as [H, W] 0/1 weights. */
export function regionMask(parse: Uint8Array, size: number, classes: readonly number[], radius: number): Float64Array {
  return dilateMask(
    Array.from(parse, (c) => (classes.includes(c) ? 1 : 0)),
    size,
    radius,
  );
}

/** A square [size, size] mask (non-zero = inside) grown by `radius` px in a square, as 0/1 weights. */
export function dilateMask(inside: ArrayLike<number>, size: number, radius: number): Float64Array {
  const out = new Float64Array(size * size);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      if (!inside[y * size + x]) continue;
      for (let yy = Math.max(0, y - radius); yy <= Math.min(size - 1, y + radius); yy++) {
        for (let xx = Math.max(0, x - radius); xx <= Math.min(size - 1, x + radius); xx++) out[yy * size + xx] = 1;
      }
    }
  }
  return out;
}

export interface TrainerOptions {
  config: TrainConfig;
  data: TrainingData;
  head: HeadModel;
  /** Stage 2 on (the method) or off (the ablation: its iterations are reconstruction only). */
  stage2: boolean;
  onProgress?: (p: TrainProgress) => void;
  /** Called every config.checkpointEvery iterations and at the end of stage 1 (with stage1Done). */
  onCheckpoint?: (state: TrainState, stage1Done: boolean) => void | Promise<void>;
  /** Set to stop after the current iteration (a checkpoint is written). */
  signal?: { stop: boolean };
  /** Runs a step's batches (default: all on this thread). */
  pool?: BatchPool;
  /** Runs whole steps instead of the CPU batches (the GPU step, trainer-gpu.ts); absent: the CPU path. */
  engine?: StepEngine;
}

/** A step engine holds the state while it trains; sync() writes it back into the trainer's state and Adam. */
export interface StepEngine {
  step(trainer: AvatarTrainer): Promise<HistoryPoint[]>;
  sync(trainer: AvatarTrainer): Promise<void>;
}

export class AvatarTrainer {
  readonly model: AvatarModelConfig;
  readonly adam: Adam;
  private prior: Float32Array;
  private readonly canonA: Float32Array;
  private readonly frames = new Map<number, Float32Array>();
  private readonly trainVideos: number[];

  constructor(
    readonly options: TrainerOptions,
    readonly state: TrainState,
  ) {
    const { config, data, head } = options;
    this.model = modelFor(config, data);
    this.canonA = bakeFrame(head, state.shape);
    this.prior = this.priors();
    this.trainVideos = data.manifest.videos.map((_, i) => i);
    const lr = config.lr;
    this.adam = new Adam([
      { name: "geometry", params: state.weights.geometry, lr: lr.geometry },
      { name: "deformer", params: state.weights.deformer, lr: lr.deformer },
      { name: "gaussian", params: state.weights.gaussian, lr: lr.gaussian },
      { name: "points", params: state.points, lr: lr.points },
      // Off at a zero rate: the residual then stays where it started.
      ...(lr.appearance > 0 ? [{ name: "appearance", params: state.appearance, lr: lr.appearance }] : []),
      { name: "neutral", params: state.neutral, lr: lr.latents },
      // One group per video latent: Adam's momentum must not move latents of videos a batch did not see.
      ...data.manifest.videos.map((_, v) => ({
        name: `video${v}`,
        params: state.videoLatents.subarray(v * this.model.latentDim, (v + 1) * this.model.latentDim),
        lr: lr.latents,
      })),
    ]);
  }

  get total(): number {
    return this.options.config.stage1 + this.options.config.stage2;
  }

  private priors(): Float32Array {
    const s = this.state;
    return avatarPriors(
      { config: this.model, count: s.count, anchorFace: s.anchorFace, anchorBary: s.anchorBary } as Avatar,
      this.options.head,
    );
  }

  private frameBuffer(f: number): Float32Array {
    let b = this.frames.get(f);
    if (!b) {
      const m = this.options.data.motion[f]!;
      b = deformFrame(this.model, this.options.head, this.state.shape, { expression: m.expression, pose: m.pose });
      this.frames.set(f, b);
    }
    return b;
  }

  /** [C, L] latents of video v: neutral, with its category's row replaced by its latent (or a lerp for a pair). */
  private latentsFor(video: number, other?: { video: number; alpha: number }): Float64Array {
    const L = this.model.latentDim,
      s = this.state;
    const category = this.options.data.manifest.videos[video]!.category;
    const out = Float64Array.from(s.neutral);
    if (category === "source") return out;
    const c = this.model.categories.indexOf(category);
    for (let k = 0; k < L; k++) {
      const a = s.videoLatents[video * L + k]!;
      out[c * L + k] = other ? (1 - other.alpha) * a + other.alpha * s.videoLatents[other.video * L + k]! : a;
    }
    return out;
  }

  /** Batch `j` of iteration `it`: deterministic in (seed, it, j), so a resumed run draws the same batches. */
  plan(
    it: number,
    j: number,
  ): {
    kind: HistoryPoint["kind"];
    video: number;
    pair?: { pair: InbetweenPair; b: number; alpha: number };
    frames: number[];
  } {
    const { config, data } = this.options;
    const rand = mulberry32(config.seed * 1_000_003 + it * 7919 + j * 104_729);
    const frames = Array.from(
      { length: config.framesPerBatch },
      () => data.split.trainFrames[Math.floor(rand() * data.split.trainFrames.length)]!,
    );
    const pairs = data.split.trainPairs;
    const interpolation =
      this.options.stage2 && it >= config.stage1 && pairs.length > 0 && (it * config.batchesPerStep + j) % 2 === 1;
    if (interpolation) {
      const pair = pairs[Math.floor(rand() * pairs.length)]!;
      const alpha = pair.alphas[Math.floor(rand() * pair.alphas.length)]!;
      const ids = data.manifest.videos.map((v) => v.id);
      return {
        kind: "interpolation",
        video: ids.indexOf(pair.a),
        pair: { pair, b: ids.indexOf(pair.b), alpha },
        frames,
      };
    }
    return { kind: "reconstruction", video: this.trainVideos[Math.floor(rand() * this.trainVideos.length)]!, frames };
  }

  /** The targets and latents of a planned batch. */
  async prepare(p: ReturnType<AvatarTrainer["plan"]>): Promise<{ targets: StepTarget[]; latents: Float64Array }> {
    const { config, data } = this.options;
    const targets: StepTarget[] = [];
    for (const f of p.frames) {
      const image = p.pair
        ? await data.inbetween(p.pair.pair, p.pair.alpha, f)
        : await data.rgb(data.manifest.videos[p.video]!.id, f);
      // The attribute's region gets an extra L1: small attributes (glasses, earrings) are too few pixels to
      // matter in a whole-image loss, and their latents learn nothing without it.
      let region: StepTarget["region"];
      const category = p.pair ? p.pair.pair.category : data.manifest.videos[p.video]!.category;
      if (config.regionWeight > 0 && category !== "source") {
        const classes = CATEGORY_CLASSES[category] ?? [];
        const ids = p.pair ? [p.pair.pair.a, p.pair.pair.b] : [data.manifest.videos[p.video]!.id];
        const masks = await Promise.all(
          ids.map(async (id) => regionMask(await data.parse(id, f), data.size, classes, 2)),
        );
        region = { mask: masks.reduce((u, m) => u.map((v, k) => Math.max(v, m[k]!))), weight: config.regionWeight };
      }
      targets.push({
        frame: this.frameBuffer(f),
        camera: data.viewCamera(f),
        image,
        background: BACKGROUND,
        lambdaDssim: config.lambdaDssim,
        ...(region ? { region } : {}),
      });
    }
    return {
      targets,
      latents: this.latentsFor(p.video, p.pair ? { video: p.pair.b, alpha: p.pair.alpha } : undefined),
    };
  }

  /** One iteration: batchesPerStep batches, their mean gradient, one Adam update. */
  async step(): Promise<HistoryPoint[]> {
    if (this.options.engine) return this.options.engine.step(this);
    const { config, data } = this.options;
    const s = this.state,
      it = s.iteration,
      L = this.model.latentDim,
      B = config.batchesPerStep;
    const plans = Array.from({ length: B }, (_, j) => this.plan(it, j));
    const prepared = await Promise.all(plans.map((p) => this.prepare(p)));
    const jobs = prepared.map(({ targets, latents }) => ({
      targets,
      state: {
        config: this.model,
        count: s.count,
        points: s.points,
        weights: s.weights,
        latents,
        prior: this.prior,
        canonA: this.canonA,
        appearance: s.appearance,
      } satisfies AvatarTrainState,
    }));
    const results = this.options.pool ? await this.options.pool.run(jobs) : await new BatchPool(0).run(jobs);

    const sum = (pick: (r: (typeof results)[number]) => Float64Array) => {
      const out = Float64Array.from(pick(results[0]!));
      for (let j = 1; j < B; j++) {
        const g = pick(results[j]!);
        for (let k = 0; k < out.length; k++) out[k]! += g[k]!;
      }
      for (let k = 0; k < out.length; k++) out[k]! /= B;
      return out;
    };
    const dNeutral = new Float64Array(s.neutral.length);
    const grads: Record<string, Float64Array> = {
      geometry: sum((r) => r.grads.weights.geometry),
      deformer: sum((r) => r.grads.weights.deformer),
      gaussian: sum((r) => r.grads.weights.gaussian),
      points: sum((r) => r.grads.points),
      appearance: sum((r) => r.grads.appearance),
      neutral: dNeutral,
    };
    const w = config.latentL2;
    // Latent gradients back to the parameters they came from: the neutral rows, and the edited row to its video(s).
    plans.forEach((p, j) => {
      const dl = results[j]!.grads.latents;
      const category = data.manifest.videos[p.video]!.category,
        c = this.model.categories.indexOf(category);
      for (let k = 0; k < dl.length; k++)
        if (category === "source" || Math.floor(k / L) !== c) dNeutral[k]! += dl[k]! / B;
      if (category === "source") return;
      const share: Array<[number, number]> = p.pair
        ? [
            [p.video, 1 - p.pair.alpha],
            [p.pair.b, p.pair.alpha],
          ]
        : [[p.video, 1]];
      for (const [v, weight] of share) {
        const z = s.videoLatents.subarray(v * L, (v + 1) * L);
        const g = (grads[`video${v}`] ??= Float64Array.from(z, (zk) => 2 * w * zk));
        for (let k = 0; k < L; k++) g[k]! += (weight * dl[c * L + k]!) / B;
      }
    });
    for (let k = 0; k < dNeutral.length; k++) dNeutral[k]! += 2 * w * s.neutral[k]!;

    this.setLearningRates(it);
    this.adam.update(grads);
    for (const r of results)
      for (let i = 0; i < s.count; i++) if (r.visible[i]) s.maxOpacity[i] = Math.max(s.maxOpacity[i]!, r.opacities[i]!);

    const points = plans.map((p, j): HistoryPoint => {
      const r = results[j]!,
        targets = prepared[j]!.targets;
      const meanPsnr = r.rgbs.reduce((acc, rgb, k) => acc + psnr(rgb, targets[k]!.image), 0) / r.rgbs.length;
      return { iteration: it, stage: it < config.stage1 ? 1 : 2, kind: p.kind, loss: r.loss, psnr: meanPsnr };
    });
    s.history.push(...points);
    s.iteration++;
    const d = config.densifyAt.indexOf(s.iteration);
    if (d >= 0 && s.iteration < config.stage1) this.densify(d);
    return points;
  }

  /** Sets every Adam group's rate for iteration `it`: exponential decay to lrFinal at the end of training. */
  setLearningRates(it: number): void {
    const { config } = this.options;
    const decay = config.lrFinal ** (it / Math.max(1, this.total));
    for (const g of this.adam.groups) {
      const base =
        g.name.startsWith("video") || g.name === "neutral"
          ? config.lr.latents
          : config.lr[g.name as keyof TrainConfig["lr"]];
      if (!(base > 0)) throw new Error(`train: no learning rate for parameter group "${g.name}"`);
      g.lr = base * decay;
    }
  }

  densify(k: number): void {
    const { config } = this.options;
    const s = this.state;
    const r = densify(s, s.maxOpacity, {
      target: config.densifyCounts[k]!,
      pruneOpacity: config.pruneOpacity,
      jitter: config.jitter * config.jitterDecay ** k,
      seed: config.seed * 31 + k,
    });
    s.count = r.count;
    s.points = r.points;
    s.anchorFace = r.anchorFace;
    s.anchorBary = r.anchorBary;
    s.appearance = r.appearance!;
    s.maxOpacity = new Float64Array(r.count).fill(-1);
    this.adam.replaceGroup("points", s.points);
    if (this.adam.groups.some((g) => g.name === "appearance")) this.adam.replaceGroup("appearance", s.appearance);
    this.prior = this.priors();
  }

  /** Runs to the end (or until signal.stop), reporting progress and checkpoints. */
  async run(): Promise<TrainState> {
    const { config, onProgress, onCheckpoint, signal } = this.options;
    const s = this.state;
    let t0 = performance.now(),
      done0 = s.iteration;
    while (s.iteration < this.total) {
      const tStep = performance.now();
      const h = (await this.step())[0]!;
      s.seconds += (performance.now() - tStep) / 1000;
      const done = s.iteration - done0;
      const spi = (performance.now() - t0) / 1000 / Math.max(1, done);
      // Smooth the loss over the last few iterations for the progress line.
      const recent = s.history.slice(-20);
      onProgress?.({
        stage: h.stage,
        iteration: s.iteration,
        total: this.total,
        loss: recent.reduce((a, x) => a + x.loss, 0) / recent.length,
        psnr: recent.reduce((a, x) => a + x.psnr, 0) / recent.length,
        gaussians: s.count,
        secondsPerIteration: spi,
        etaSeconds: spi * (this.total - s.iteration),
      });
      const stage1Done = s.iteration === config.stage1;
      if (
        onCheckpoint &&
        (s.iteration % config.checkpointEvery === 0 || stage1Done || s.iteration === this.total || signal?.stop)
      ) {
        await this.options.engine?.sync(this);
        await onCheckpoint(s, stage1Done);
      }
      if (signal?.stop) break;
      if (done > 50) [t0, done0] = [performance.now(), s.iteration];
    }
    await this.options.engine?.sync(this);
    return s;
  }
}

/** The trained avatar: float32 parameters, neutral latents and one anchor per attribute video (thumbnails added later). */
export function exportAvatar(state: TrainState, model: AvatarModelConfig, data: TrainingData): Avatar {
  const L = model.latentDim;
  const labels = videoAnchors(data.manifest);
  const anchors: AvatarAnchor[] = [];
  data.manifest.videos.forEach((v, i) => {
    const a = labels.get(v.id);
    if (a)
      anchors.push({
        category: a.category,
        label: a.label,
        latent: Float32Array.from(state.videoLatents.subarray(i * L, (i + 1) * L)),
      });
  });
  return {
    config: model,
    count: state.count,
    points: Float32Array.from(state.points),
    anchorFace: state.anchorFace,
    anchorBary: state.anchorBary,
    weights: {
      geometry: Float32Array.from(state.weights.geometry),
      deformer: Float32Array.from(state.weights.deformer),
      gaussian: Float32Array.from(state.weights.gaussian),
    },
    shape: state.shape,
    neutralLatents: Float32Array.from(state.neutral),
    anchors,
    // Written only when it holds something: a residual of zeros renders as none (docs/avatar-bundle.md).
    ...(state.appearance.some((v) => v !== 0) ? { appearance: Float32Array.from(state.appearance) } : {}),
  };
}
