/**
 * GPU training step benchmark (npm run bench:train-gpu): steps per second of
 * the trainer's whole step (batchesPerStep batches of framesPerBatch frames:
 * networks, bake, deform, render, L1 + 0.2 D-SSIM, backward, Adam) on the GPU
 * (render-core/train/avatar-step-gpu.ts, one command buffer per step, losses
 * read back once at the end) against the CPU fast step (avatarTrainBatch with
 * the fast passes on this thread, then Adam), on the same avatar and targets,
 * with the adapter's name, the GPU memory the step holds and the first
 * step's gradient agreement: the largest difference relative to its field's
 * largest gradient (and which field), and the 99.9th percentile over all fields.
 *
 * Rows: compact (COMPACT networks, 128 px, 3,000 Gaussians) and 256 px with
 * 20,000 Gaussians, 2 batches of 3 frames; paper (PAPER networks, 512 px,
 * 130,000 Gaussians, 2 x 4 frames) runs on the GPU only, when asked.
 *
 * Flags: --small (a 32 px, 200-Gaussian, tiny-network row only: for Mesa llvmpipe, where the full rows take
 * hours), --paper (add the paper row). Env: BENCH_STEPS (GPU steps per row, 20), BENCH_CPU_STEPS (3),
 * BENCH_ROW_BUDGET_S (30: fewer steps when a row would run past it).
 */
import { createNodeGpu } from "../server/gpu/node-device";
import { COMPACT, PAPER, type AvatarModelConfig } from "../render-core/avatar/config";
import { avatarPriors, createRandomAvatar } from "../render-core/avatar/avatar";
import { bakeFrame, deformFrame } from "../render-core/avatar/rig";
import { createHeadModel } from "../render-core/head";
import { orbitCamera } from "../render-core/math/camera";
import { renderCpu } from "../render-core/raster/render.cpu";
import { splatHead } from "../render-core/scenes/splat-head";
import { Adam } from "../render-core/train/adam";
import { avatarTrainBatch, type AvatarTrainState, type StepTarget } from "../render-core/train/avatar-step";
import { GpuAvatarTrainer, type GpuLearningRates } from "../render-core/train/avatar-step-gpu";
import { neutralMix } from "../render-core/train/latent-mix";

const args = new Set(process.argv.slice(2));
const STEPS = Number(process.env.BENCH_STEPS ?? 20);
const CPU_STEPS = Number(process.env.BENCH_CPU_STEPS ?? 3);
const BUDGET_MS = Number(process.env.BENCH_ROW_BUDGET_S ?? 30) * 1000;
const BACKGROUND: [number, number, number] = [0.16, 0.17, 0.2];

interface Row {
  name: string;
  config: AvatarModelConfig;
  px: number;
  n: number;
  frames: number;
  batches: number;
  cpu: boolean;
}

const TINY: AvatarModelConfig = {
  ...COMPACT,
  latentDim: 4,
  geometry: { depth: 2, width: 16, skipAt: 0 },
  deformer: { depth: 1, width: 8 },
  gaussian: { depth: 1, width: 8 },
};

const ROWS: Row[] = args.has("--small")
  ? [{ name: "small (tiny networks)", config: TINY, px: 32, n: 200, frames: 2, batches: 2, cpu: true }]
  : [
      { name: "compact", config: COMPACT, px: 128, n: 3000, frames: 3, batches: 2, cpu: true },
      { name: "256 px, 20k", config: COMPACT, px: 256, n: 20000, frames: 3, batches: 2, cpu: true },
      ...(args.has("--paper")
        ? [{ name: "paper", config: PAPER, px: 512, n: 130000, frames: 4, batches: 2, cpu: false }]
        : []),
    ];

const LR = { geometry: 2e-3, deformer: 5e-4, gaussian: 1e-3, points: 2e-4, latents: 3e-2 };

async function main(): Promise<void> {
  const gpu = await createNodeGpu({ log: { info: () => {}, warn: console.warn, error: console.error } });
  if (!gpu) throw new Error("bench:train-gpu: no WebGPU adapter");
  const a = gpu.adapterInfo;
  console.log(`Adapter: ${a.vendor} / ${a.architecture} / ${a.description}`);
  console.log(
    `\nWhole training step (batches x frames per step; GPU: ${STEPS} steps or ${BUDGET_MS / 1000} s, one command buffer each; CPU: fast passes, one thread).\n`,
  );
  console.log(
    "| row | px | Gaussians | step | GPU ms/step | GPU steps/s | CPU ms/step | CPU steps/s | GPU / CPU | GPU MB | grad agreement |",
  );
  console.log("|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|");
  const head = createHeadModel();
  for (const row of ROWS) {
    const { config, px, n } = row;
    const avatar = createRandomAvatar(config, head, { count: n, seed: 1 });
    const state: AvatarTrainState = {
      config,
      count: n,
      points: Float64Array.from(avatar.points),
      weights: {
        geometry: Float64Array.from(avatar.weights.geometry),
        deformer: Float64Array.from(avatar.weights.deformer),
        gaussian: Float64Array.from(avatar.weights.gaussian),
      },
      latents: Float64Array.from(avatar.neutralLatents),
      prior: avatarPriors(avatar, head),
      canonA: bakeFrame(head, avatar.shape),
    };
    const camera = orbitCamera({ width: px, height: px, yawDeg: 15, distance: 0.62, target: [0, 0, 0] });
    const image = Float64Array.from(
      renderCpu(splatHead(2, Math.min(n, 20000)), camera, { background: BACKGROUND }).rgb,
    );
    const batches = Array.from({ length: row.batches }, (_, j) =>
      Array.from({ length: row.frames }, (_, k): StepTarget => {
        const e = (k + 1) / (row.frames + 1);
        return {
          frame: deformFrame(config, head, avatar.shape, {
            expression: [e, 1 - e],
            pose: [0, 0.1 * (e + j), 0, 0, 0, 0, 0.2 * e, 0, 0, 0, 0, 0, 0, 0, 0],
          }),
          camera,
          image,
          background: BACKGROUND,
          lambdaDssim: 0.2,
        };
      }),
    );

    // GPU: the first step for the gradients, then timed steps; the last one reads the losses (waits for the queue).
    const trainer = new GpuAvatarTrainer(
      gpu.device,
      { ...state, latentTable: state.latents },
      { width: px, height: px, framesPerBatch: row.frames, batchesPerStep: row.batches, lossEvery: STEPS + 1 },
    );
    const gpuBatches = batches.map((targets) => ({ targets, mix: neutralMix(config.categories.length) }));
    const lrs: GpuLearningRates = Object.fromEntries(
      ["geometry", "deformer", "gaussian", "points", "latents"].map((g) => [g, { lr: LR[g as keyof typeof LR] }]),
    );
    await trainer.step(gpuBatches, undefined, true);
    const gpuGrads = await trainer.readGradients();
    let t = performance.now();
    let steps = 0;
    while (steps < STEPS) {
      steps++;
      const last = steps === STEPS || performance.now() - t > BUDGET_MS;
      await trainer.step(gpuBatches, lrs, last);
      if (last) break;
    }
    const gpuMs = (performance.now() - t) / steps;
    const gpuMB = trainer.gpuBytes / 2 ** 20;
    trainer.destroy();

    let cpuMs = Number.NaN,
      agreement = "-";
    if (row.cpu) {
      const s = { ...state, points: state.points.slice(), latents: state.latents.slice() };
      const adam = new Adam([
        { name: "geometry", params: s.weights.geometry, lr: LR.geometry },
        { name: "deformer", params: s.weights.deformer, lr: LR.deformer },
        { name: "gaussian", params: s.weights.gaussian, lr: LR.gaussian },
        { name: "points", params: s.points, lr: LR.points },
        { name: "latents", params: s.latents, lr: LR.latents },
      ]);
      let cpuSteps = 0;
      t = performance.now();
      while (cpuSteps < Math.max(1, CPU_STEPS) && (cpuSteps < 1 || performance.now() - t < BUDGET_MS)) {
        const runs = batches.map((targets) => avatarTrainBatch(s, targets));
        const mean = (pick: (r: (typeof runs)[number]) => Float64Array) => {
          const out = new Float64Array(pick(runs[0]!).length);
          for (const r of runs) pick(r).forEach((v, k) => (out[k]! += v / runs.length));
          return out;
        };
        const grads = {
          geometry: mean((r) => r.grads.weights.geometry),
          deformer: mean((r) => r.grads.weights.deformer),
          gaussian: mean((r) => r.grads.weights.gaussian),
          points: mean((r) => r.grads.points),
          latents: mean((r) => r.grads.latents),
        };
        if (cpuSteps === 0) {
          // Per field: the largest difference over the field's largest, and the 99.9th percentile of them (a few
          // Gaussians on the renderer's cut-offs, the 3-sigma tile box and the 1/255 alpha floor, differ between
          // float32 and float64).
          const fields: Array<[string, ArrayLike<number>, Float64Array]> = [
            ["points", gpuGrads.points, grads.points],
            ["latents", gpuGrads.latentTable, grads.latents],
            ...(["geometry", "deformer", "gaussian"] as const).map((k): [string, ArrayLike<number>, Float64Array] => [
              k,
              gpuGrads.weights[k],
              grads[k],
            ]),
          ];
          let worst = 0,
            worstField = "",
            p999 = 0;
          for (const [name, got, want] of fields) {
            const m = want.reduce((x, v) => Math.max(x, Math.abs(v)), 1e-30);
            const d = Array.from(want, (v, k) => Math.abs(got[k]! - v) / m).sort((x, y) => y - x);
            if (d[0]! > worst) [worst, worstField] = [d[0]!, name];
            p999 = Math.max(p999, d[Math.floor(d.length / 1000)]!);
          }
          agreement = `${worst.toExponential(1)} (${worstField}); p99.9 ${p999.toExponential(1)}`;
        }
        adam.update(grads);
        cpuSteps++;
      }
      cpuMs = (performance.now() - t) / cpuSteps;
    }
    const f = (v: number, d = 1) => (Number.isFinite(v) ? v.toFixed(d) : "-");
    console.log(
      `| ${row.name} | ${px} | ${n} | ${row.batches} x ${row.frames} | ${f(gpuMs)} | ${f(1000 / gpuMs, 2)} | ${f(cpuMs)} | ${f(1000 / cpuMs, 2)} | ${f(cpuMs / gpuMs, 2)}x | ${f(gpuMB)} | ${agreement} |`,
    );
  }
  gpu.destroy();
}

await main();
