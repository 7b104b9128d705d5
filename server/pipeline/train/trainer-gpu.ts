/**
 * The trainer on the GPU: which engine trains (TRAINER=auto|cpu|gpu, or
 * `npm run train -- --trainer ...`), and the step engine that runs a
 * trainer's steps through render-core/train/avatar-step-gpu.ts.
 *
 * auto (the default) takes the GPU step when WebGPU has a hardware adapter;
 * on a software one (Mesa llvmpipe/lavapipe, SwiftShader, WARP) the CPU twins
 * are faster, so it stays on the CPU. gpu forces the GPU step (on llvmpipe
 * too: slow, but it is how CI runs it); cpu never opens a device.
 *
 * The engine keeps the state on the GPU and reads back only the loss records
 * every `lossEvery` steps (the history's losses between read-backs carry the
 * last value read and are replaced at the next read-back), and the whole
 * state at checkpoints, at the end, and at densification (which runs on the
 * CPU, after which the GPU state is rebuilt at the new count).
 */
import { createNodeGpu, type AdapterSummary, type NodeGpu } from "../../gpu/node-device";
import {
  GpuAvatarTrainer,
  type GpuBatch,
  type GpuLearningRates,
  type GpuStepLosses,
} from "../../../render-core/train/avatar-step-gpu";
import { neutralMix, type LatentMix } from "../../../render-core/train/latent-mix";
import { avatarPriors, type Avatar } from "../../../render-core/avatar/avatar";
import { bakeFrame } from "../../../render-core/avatar/rig";
import type { AvatarTrainer, HistoryPoint, StepEngine } from "./trainer";

export const TRAINER_CHOICES = ["auto", "cpu", "gpu"] as const;
export type TrainerChoice = (typeof TRAINER_CHOICES)[number];

/** The choice from a flag or the TRAINER environment variable (unset: auto). */
export function parseTrainerChoice(value: string | undefined, owner = "TRAINER"): TrainerChoice {
  const v = (value ?? "auto").trim().toLowerCase() || "auto";
  if (!(TRAINER_CHOICES as readonly string[]).includes(v))
    throw new Error(`${owner}: "${value}" is not one of ${TRAINER_CHOICES.join(", ")}`);
  return v as TrainerChoice;
}

/** A rasteriser in software: WebGPU works there, but the CPU twins train faster. */
export function isSoftwareAdapter(info: AdapterSummary): boolean {
  const text = `${info.vendor} ${info.architecture} ${info.description}`;
  return /llvmpipe|lavapipe|softpipe|swiftshader|software|microsoft basic render|\bwarp\b/i.test(text);
}

export interface GpuEngineOptions {
  /** Loss records are read back every this many steps (default 10). */
  lossEvery?: number;
}

/**
 * The engine for `choice`, or null for the CPU path. auto: a hardware adapter or null; gpu: any adapter,
 * and an error without one. The device is the engine's (destroyed with it).
 */
export async function openGpuEngine(
  trainer: AvatarTrainer,
  choice: TrainerChoice,
  log: (line: string) => void,
  options: GpuEngineOptions = {},
): Promise<GpuStepEngine | null> {
  if (choice === "cpu") return null;
  const quiet = { info: () => {}, warn: (m: string) => log(m), error: (m: string) => log(m) };
  const gpu = await createNodeGpu({ log: quiet });
  if (!gpu) {
    if (choice === "gpu") throw new Error("train: --trainer gpu, but WebGPU has no adapter here");
    log("train: no WebGPU adapter; training on the CPU");
    return null;
  }
  const name = `${gpu.adapterInfo.vendor} / ${gpu.adapterInfo.architecture} / ${gpu.adapterInfo.description}`;
  if (choice === "auto" && isSoftwareAdapter(gpu.adapterInfo)) {
    log(`train: ${name} is a software adapter; training on the CPU (TRAINER=gpu forces the GPU step)`);
    gpu.destroy();
    return null;
  }
  const unknown = GpuStepEngine.unsupportedGroups(trainer);
  if (unknown.length > 0) {
    gpu.destroy();
    const why = `the GPU step has no twin for parameter group(s) ${unknown.join(", ")}`;
    if (choice === "gpu") throw new Error(`train: ${why}`);
    log(`train: ${why}; training on the CPU`);
    return null;
  }
  log(`train: GPU step on ${name}`);
  return new GpuStepEngine(trainer, gpu, options);
}

const NETWORKS = ["geometry", "deformer", "gaussian"] as const;

export class GpuStepEngine implements StepEngine {
  private gpuTrainer: GpuAvatarTrainer;
  /** The last loss and PSNR read back, carried by the history until the next read-back. */
  private last = { loss: Number.NaN, psnr: Number.NaN };
  private readonly lossEvery: number;

  constructor(
    trainer: AvatarTrainer,
    readonly gpu: NodeGpu,
    options: GpuEngineOptions = {},
  ) {
    this.lossEvery = options.lossEvery ?? 10;
    this.gpuTrainer = this.build(trainer);
  }

  /** Adam groups of `trainer` the GPU step cannot train. */
  static unsupportedGroups(trainer: AvatarTrainer): string[] {
    const known = new Set<string>([...NETWORKS, "points", "appearance", "neutral"]);
    return trainer.adam.groups.map((g) => g.name).filter((n) => !known.has(n) && !/^video\d+$/.test(n));
  }

  get adapter(): AdapterSummary {
    return this.gpu.adapterInfo;
  }

  get gpuBytes(): number {
    return this.gpuTrainer.gpuBytes;
  }

  /** A GPU trainer holding the trainer's state and Adam's moments (the first time, after a resume and a densification). */
  private build(t: AvatarTrainer): GpuAvatarTrainer {
    const { config, data, head } = t.options;
    const s = t.state,
      C = t.model.categories.length,
      L = t.model.latentDim,
      V = data.manifest.videos.length;
    const table = new Float64Array((C + V) * L);
    table.set(s.neutral);
    table.set(s.videoLatents, C * L);
    const prior = avatarPriors(
      { config: t.model, count: s.count, anchorFace: s.anchorFace, anchorBary: s.anchorBary } as Avatar,
      head,
    );
    const g = new GpuAvatarTrainer(
      this.gpu.device,
      {
        config: t.model,
        count: s.count,
        points: s.points,
        weights: s.weights,
        latentTable: table,
        appearance: s.appearance,
        prior,
        canonA: bakeFrame(head, s.shape),
      },
      {
        width: data.size,
        height: data.size,
        framesPerBatch: config.framesPerBatch,
        batchesPerStep: config.batchesPerStep,
        lossEvery: this.lossEvery,
        latentGroups: [
          { name: "neutral", row: 0, rows: C },
          ...data.manifest.videos.map((_, v) => ({ name: `video${v}`, row: C + v, rows: 1 })),
        ],
        adam: { beta1: t.adam.beta1, beta2: t.adam.beta2, eps: t.adam.eps },
      },
    );
    // Moments as the trainer holds them (zero at the start; restored from a checkpoint; reset by a densification).
    const moments = t.adam.moments();
    for (const grp of t.adam.groups) g.adam.writeMoments(grp.name, moments[grp.name]!.m, moments[grp.name]!.v);
    g.adam.step = t.adam.step;
    return g;
  }

  /** The GPU mix of a planned batch: the trainer's latentsFor as table rows (latent-mix.ts). */
  private mixOf(t: AvatarTrainer, p: ReturnType<AvatarTrainer["plan"]>): { mix: LatentMix; videos: number[] } {
    const C = t.model.categories.length;
    const category = t.options.data.manifest.videos[p.video]!.category;
    if (category === "source") return { mix: neutralMix(C), videos: [] };
    const c = t.model.categories.indexOf(category);
    const mix = neutralMix(C).slice() as Array<ReadonlyArray<readonly [number, number]>>;
    if (p.pair && p.pair.b !== p.video) {
      mix[c] = [
        [C + p.video, 1 - p.pair.alpha],
        [C + p.pair.b, p.pair.alpha],
      ];
      return { mix, videos: [p.video, p.pair.b] };
    }
    mix[c] = [[C + p.video, 1]];
    return { mix, videos: [p.video] };
  }

  async step(t: AvatarTrainer): Promise<HistoryPoint[]> {
    const { config } = t.options;
    const s = t.state,
      it = s.iteration;
    const plans = Array.from({ length: config.batchesPerStep }, (_, j) => t.plan(it, j));
    const prepared = await Promise.all(plans.map((p) => t.prepare(p)));
    const seen = new Set<number>();
    const batches: GpuBatch[] = plans.map((p, j) => {
      const { mix, videos } = this.mixOf(t, p);
      for (const v of videos) seen.add(v);
      return { targets: prepared[j]!.targets, mix };
    });
    // Rates as the CPU step sets them; a video latent moves only in a step that saw it (and takes the L2 pull then).
    t.setLearningRates(it);
    const l2 = 2 * config.latentL2;
    const lrs: GpuLearningRates = {};
    for (const g of t.adam.groups) {
      const video = /^video(\d+)$/.exec(g.name);
      if (video && !seen.has(Number(video[1]))) continue;
      lrs[g.name] = { lr: g.lr, ...(video || g.name === "neutral" ? { l2 } : {}) };
    }
    // The first step reads its loss at once: the progress line has a value from the start.
    const read = await this.gpuTrainer.step(batches, lrs, Number.isNaN(this.last.loss));
    t.adam.step = this.gpuTrainer.adam.step;
    const points = plans.map((p): HistoryPoint => ({
      iteration: it,
      stage: it < config.stage1 ? 1 : 2,
      kind: p.kind,
      ...this.last,
    }));
    s.history.push(...points);
    s.iteration++;
    if (read) this.record(t, read);
    const d = config.densifyAt.indexOf(s.iteration);
    if (d >= 0 && s.iteration < config.stage1) {
      await this.sync(t);
      t.densify(d);
      this.gpuTrainer.destroy();
      this.gpuTrainer = this.build(t);
    }
    return points;
  }

  /** Writes read-back losses into the history points of their iterations. */
  private record(t: AvatarTrainer, read: GpuStepLosses[]): void {
    const h = t.state.history;
    for (const r of read) {
      const at = h.findIndex((x) => x.iteration === r.step);
      if (at < 0) continue;
      r.batches.forEach((b, j) => {
        const point = h[at + j];
        if (!point || point.iteration !== r.step) return;
        point.loss = b.loss;
        point.psnr = b.psnr.reduce((a, v) => a + v, 0) / b.psnr.length;
        this.last = { loss: point.loss, psnr: point.psnr };
      });
    }
  }

  /** The GPU state back into the trainer: parameters, Adam's moments, opacity tracking and pending losses. */
  async sync(t: AvatarTrainer): Promise<void> {
    const s = t.state,
      C = t.model.categories.length,
      L = t.model.latentDim;
    const pending = await this.gpuTrainer.flushLosses();
    if (pending.length > 0) this.record(t, pending);
    const g = await this.gpuTrainer.readState();
    s.points.set(g.points);
    for (const n of NETWORKS) s.weights[n].set(g.weights[n]);
    if (g.appearance) s.appearance.set(g.appearance);
    s.neutral.set(g.latentTable.subarray(0, C * L));
    s.videoLatents.set(g.latentTable.subarray(C * L));
    g.maxOpacity.forEach((v, i) => (s.maxOpacity[i] = Math.max(s.maxOpacity[i]!, v)));
    this.gpuTrainer.resetMaxOpacity();
    const moments: Record<string, { m: Float64Array; v: Float64Array }> = {};
    for (const grp of t.adam.groups) {
      const m = await this.gpuTrainer.adam.readMoments(grp.name);
      moments[grp.name] = { m: Float64Array.from(m.m), v: Float64Array.from(m.v) };
    }
    t.adam.restore(this.gpuTrainer.adam.step, moments);
  }

  destroy(): void {
    this.gpuTrainer.destroy();
    this.gpu.destroy();
  }
}
