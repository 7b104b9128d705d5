/**
 * Training step benchmark (npm run bench:train): steps per second of one
 * training step on one image: project -> rasterise -> (1 - 0.2) L1 + 0.2
 * D-SSIM -> rasteriser backward -> projection backward -> Adam over centres,
 * scales, rotations, colours and opacities: the splat part of the work the
 * trainer does per image (render-core/train/avatar-step.ts).
 *
 * Paths, measured in one run on the same scene, in interleaved rounds:
 *  - old: the reference twins (project-grad.ts, raster-grad.ts, losses.ts), today's code;
 *  - new: the fast passes (train-passes.ts) on this thread;
 *  - new, tiles on a pool: the same with the rasteriser's tiles shared with helper threads (TilePool).
 * The first step's gradients of each new path are compared with the old
 * path's: the largest difference over each field, relative to the field's
 * largest old gradient, is printed, so a wrong fast path cannot pass unseen.
 * A second table times the trainer's whole batch (avatarTrainBatch: networks
 * and rigs included, 3 frames) at the compact model: old (the reference
 * passes and the reference networks, mlp-grad.ts and rig-grad.ts), the fast
 * passes with the reference networks, and new (everything fast); a third
 * table splits one batch of each into its parts (ms per part, from timers
 * around every pass; "rest" is avatar-step.ts's own loops, heads and loss).
 *
 * Scene: a seeded splat head (render-core/scenes/splat-head.ts) seen by the
 * dataset's camera (0.62 m, 30 deg, yaw 15); the target is another seed's head.
 *
 * Env: BENCH_CONFIGS ("128x3000,256x20000": px x Gaussians), BENCH_STEPS (most rounds per row, 20),
 *      BENCH_ROW_BUDGET_S (seconds per row, 15; at least 2 rounds), BENCH_THREADS (default: cores),
 *      BENCH_AVATAR=0 skips the avatar tables, BENCH_AVATAR_CONFIGS ("128x3000,256x20000").
 */
import os from "node:os";
import { orbitCamera, type Camera } from "../render-core/math/camera";
import { splatHead } from "../render-core/scenes/splat-head";
import { renderCpu } from "../render-core/raster/render.cpu";
import { Adam } from "../render-core/train/adam";
import { radiusOf } from "../render-core/train/avatar-step";
import { l1Loss } from "../render-core/train/losses";
import { fastPasses, REFERENCE_NETWORKS, REFERENCE_PASSES, type TrainPasses } from "../render-core/train/train-passes";
import { LOCAL_TILES } from "../render-core/train/raster-train-fast";
import { TilePool } from "../server/pipeline/train/tile-pool";

const CONFIGS = (process.env.BENCH_CONFIGS ?? "128x3000,256x20000").split(",").map((c) => {
  const [px, n] = c.split("x").map(Number);
  if (!(px! > 0 && n! > 0)) throw new Error(`bench:train: BENCH_CONFIGS entries are PXxGAUSSIANS, got "${c}"`);
  return { px: px!, n: n! };
});
const MAX_STEPS = Number(process.env.BENCH_STEPS ?? 20);
const BUDGET_MS = Number(process.env.BENCH_ROW_BUDGET_S ?? 15) * 1000;
const THREADS = Number(process.env.BENCH_THREADS ?? os.availableParallelism());
const AVATAR = process.env.BENCH_AVATAR !== "0";
const AVATAR_CONFIGS = (process.env.BENCH_AVATAR_CONFIGS ?? "128x3000,256x20000").split(",").map((c) => {
  const [px, n] = c.split("x").map(Number);
  return { px: px!, n: n! };
});
const BACKGROUND: [number, number, number] = [0.16, 0.17, 0.2];
const LAMBDA_DSSIM = 0.2;

interface Params {
  count: number;
  positions: Float64Array;
  scales: Float64Array;
  rotations: Float64Array;
  colors: Float64Array;
  opacities: Float64Array;
}

interface StepGrads {
  positions: Float64Array;
  scales: Float64Array;
  rotations: Float64Array;
  colors: Float64Array;
  opacities: Float64Array;
}

function paramsOf(seed: number, n: number): Params {
  const c = splatHead(seed, n);
  return {
    count: n,
    positions: Float64Array.from(c.positions),
    scales: Float64Array.from(c.scales),
    rotations: Float64Array.from(c.rotations),
    colors: Float64Array.from(c.colors),
    opacities: Float64Array.from(c.opacities),
  };
}

function cloneParams(p: Params): Params {
  return {
    count: p.count,
    positions: p.positions.slice(),
    scales: p.scales.slice(),
    rotations: p.rotations.slice(),
    colors: p.colors.slice(),
    opacities: p.opacities.slice(),
  };
}

function adamFor(p: Params): Adam {
  return new Adam([
    { name: "positions", params: p.positions, lr: 1e-5 },
    { name: "scales", params: p.scales, lr: 1e-5 },
    { name: "rotations", params: p.rotations, lr: 1e-3 },
    { name: "colors", params: p.colors, lr: 1e-3 },
    { name: "opacities", params: p.opacities, lr: 1e-3 },
  ]);
}

/** One training step; returns the loss and the gradients it applied. */
function step(passes: TrainPasses, p: Params, adam: Adam, camera: Camera, target: Float64Array) {
  const n = p.count;
  const geometry = { count: n, positions: p.positions, scales: p.scales, rotations: p.rotations };
  const proj = passes.project(geometry, camera);
  const radii = new Int32Array(n);
  for (let i = 0; i < n; i++) radii[i] = proj.depths[i]! > camera.near ? radiusOf(proj.conics, i) : 0;
  const splats = { count: n, ...proj, colors: p.colors, opacities: p.opacities, radii };
  const { width: W, height: H } = camera;
  const img = passes.rasterize(splats, W, H, BACKGROUND);
  const shape = { width: W, height: H, channels: 3 };
  const l1 = l1Loss(img.rgb, target, shape),
    ds = passes.dssim(img.rgb, target, shape);
  const dRgb = new Float64Array(l1.grad.length);
  for (let k = 0; k < dRgb.length; k++) dRgb[k] = (1 - LAMBDA_DSSIM) * l1.grad[k]! + LAMBDA_DSSIM * ds.grad[k]!;
  const gs = passes.rasterizeBackward(splats, BACKGROUND, img.tape, dRgb);
  const gg = passes.projectBackward(geometry, camera, gs.means2d, gs.conics);
  const grads: StepGrads = { ...gg, colors: gs.colors, opacities: gs.opacities };
  adam.update(grads as unknown as Record<string, Float64Array>);
  return { loss: (1 - LAMBDA_DSSIM) * l1.value + LAMBDA_DSSIM * ds.value, rgb: img.rgb, grads };
}

/** Largest |new - old| over each field relative to the field's largest |old|, and the worst field. */
function agreement(
  oldG: Record<string, Float64Array>,
  newG: Record<string, Float64Array>,
): { worst: number; field: string } {
  let worst = 0,
    field = "";
  for (const k of Object.keys(oldG)) {
    const a = oldG[k]!,
      b = newG[k]!;
    let scale = 0,
      diff = 0;
    for (let i = 0; i < a.length; i++) {
      scale = Math.max(scale, Math.abs(a[i]!));
      diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    }
    const rel = diff / Math.max(scale, 1e-30);
    if (!(rel <= worst)) [worst, field] = [rel, k];
  }
  return { worst, field };
}

interface Path {
  name: string;
  threads: number;
  passes: TrainPasses;
}

/** Median of the per-step times. */
function median(xs: number[]): number {
  const a = [...xs].sort((x, y) => x - y);
  return a.length % 2 ? a[(a.length - 1) / 2]! : (a[a.length / 2 - 1]! + a[a.length / 2]!) / 2;
}

/**
 * Times the paths in interleaved rounds (one step of each per round), so that
 * a change in the machine's load hits every path alike; the first round is
 * the warm-up and gives the gradients compared.
 */
function measureRow(
  paths: Path[],
  run: (passes: TrainPasses, k: number) => { grads: Record<string, Float64Array>; rgb: Float64Array },
): Array<{ path: Path; ms: number; steps: number; agreement?: { worst: number; field: string }; imageDiff?: number }> {
  const firsts = paths.map((p, k) => run(p.passes, k));
  const times: number[][] = paths.map(() => []);
  const t0 = performance.now();
  while (times[0]!.length < MAX_STEPS && (times[0]!.length < 2 || performance.now() - t0 < BUDGET_MS)) {
    paths.forEach((p, k) => {
      const t = performance.now();
      run(p.passes, k);
      times[k]!.push(performance.now() - t);
    });
  }
  return paths.map((path, k) => ({
    path,
    ms: median(times[k]!),
    steps: times[k]!.length,
    ...(k > 0
      ? {
          agreement: agreement(firsts[0]!.grads, firsts[k]!.grads),
          imageDiff: firsts[0]!.rgb.reduce((acc, v, i) => Math.max(acc, Math.abs(v - firsts[k]!.rgb[i]!)), 0),
        }
      : {}),
  }));
}

function printRows(config: string, rows: ReturnType<typeof measureRow>): void {
  const base = rows[0]!.ms;
  for (const r of rows)
    console.log(
      `| ${config} | ${r.path.name} | ${r.path.threads} | ${r.steps} | ${r.ms.toFixed(1)} | ${(1000 / r.ms).toFixed(2)} | ${(base / r.ms).toFixed(2)} | ${r.agreement ? `${r.agreement.worst.toExponential(1)} (${r.agreement.field})` : "reference"} | ${r.imageDiff !== undefined ? r.imageDiff.toExponential(1) : ""} |`,
    );
}

const pool = THREADS > 1 ? new TilePool(THREADS - 1) : null;
await pool?.ready();
const paths: Path[] = [
  { name: "old (reference twins)", threads: 1, passes: REFERENCE_PASSES },
  { name: "new", threads: 1, passes: fastPasses() },
  ...(pool ? [{ name: "new, tiles on a pool", threads: pool.threads, passes: fastPasses(pool) }] : []),
];
console.log(
  `bench:train: ${os.cpus()[0]?.model ?? "cpu"}, ${os.availableParallelism()} cores, Node ${process.version}, load ${os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(" ")}`,
);
console.log("\nSplat step (one image): project, rasterise, L1 + D-SSIM, backward, Adam; median ms per step.\n");
console.log(
  "| config | path | threads | steps | ms/step | steps/s | x old | grad agreement (worst field) | image max diff |",
);
console.log("|---|---|---:|---:|---:|---:|---:|---|---:|");
for (const { px, n } of CONFIGS) {
  const camera = orbitCamera({ width: px, height: px, yawDeg: 15, distance: 0.62, target: [0, 0, 0] });
  const student = paramsOf(1, n);
  const target = Float64Array.from(renderCpu(splatHead(2, n), camera, { background: BACKGROUND }).rgb);
  // Each path trains its own copy from the same start.
  const states = paths.map(() => {
    const p = cloneParams(student);
    return { p, adam: adamFor(p) };
  });
  const rows = measureRow(paths, (passes, k) => {
    const r = step(passes, states[k]!.p, states[k]!.adam, camera, target);
    return { grads: r.grads as unknown as Record<string, Float64Array>, rgb: r.rgb };
  });
  printRows(`${px} px, ${n}`, rows);
}
await pool?.close();

/**
 * Wraps every pass of a set with a timer: ms per pass name, summed over calls.
 * The wrapper costs two performance.now() calls per pass call (about 20 per batch).
 */
function timedPasses(passes: TrainPasses): { passes: TrainPasses; ms: Map<string, number> } {
  const ms = new Map<string, number>();
  const out: Record<string, unknown> = { name: passes.name };
  for (const [key, fn] of Object.entries(passes)) {
    if (typeof fn !== "function") continue;
    out[key] = (...args: unknown[]) => {
      const t = performance.now();
      const r = (fn as (...a: unknown[]) => unknown)(...args);
      ms.set(key, (ms.get(key) ?? 0) + performance.now() - t);
      return r;
    };
  }
  return { passes: out as unknown as TrainPasses, ms };
}

/** The parts of a batch, in the order they run, as the third table names them. */
const PARTS: Array<[string, string[]]> = [
  ["networks fwd", ["mlpForward"]],
  ["networks bwd", ["mlpBackward"]],
  ["rigs", ["bakeRig", "bakeRigBackward", "deformRig", "deformRigBackward"]],
  ["project", ["project", "projectBackward"]],
  ["rasterise", ["rasterize", "rasterizeBackward"]],
  ["D-SSIM", ["dssim"]],
];

/**
 * The trainer's whole batch (avatarTrainBatch: networks, rigs, heads, the
 * passes above, 3 frames) at the compact model: what a creation gains.
 */
async function avatarSection(): Promise<void> {
  const { avatarTrainBatch } = await import("../render-core/train/avatar-step");
  const { COMPACT } = await import("../render-core/avatar/config");
  const { avatarPriors, createRandomAvatar } = await import("../render-core/avatar/avatar");
  const { bakeFrame, deformFrame } = await import("../render-core/avatar/rig");
  const { createHeadModel } = await import("../render-core/head");
  const { DEFAULT_GEMM } = await import("../render-core/train/gemm");
  const head = createHeadModel();
  const config = COMPACT;
  const avatarPaths: Path[] = [
    { name: "old (reference passes and networks)", threads: 1, passes: REFERENCE_PASSES },
    { name: "fast passes, reference networks", threads: 1, passes: fastPasses(LOCAL_TILES, REFERENCE_NETWORKS) },
    { name: "new (fast passes and networks)", threads: 1, passes: fastPasses() },
  ];
  console.log(
    `\nAvatar batch (avatarTrainBatch, ${config.categories.length} categories, COMPACT networks, 3 frames; the fast networks' products on ${DEFAULT_GEMM.name}): median ms per batch.\n`,
  );
  console.log(
    "| config | path | threads | batches | ms/batch | batches/s | x old | grad agreement (worst field) | image max diff |",
  );
  console.log("|---|---|---:|---:|---:|---:|---:|---|---:|");
  const breakdowns: string[] = [];
  for (const { px, n } of AVATAR_CONFIGS) {
    const a = createRandomAvatar(config, head, { count: n, seed: 1 });
    const state = {
      config,
      count: n,
      points: Float64Array.from(a.points),
      weights: {
        geometry: Float64Array.from(a.weights.geometry),
        deformer: Float64Array.from(a.weights.deformer),
        gaussian: Float64Array.from(a.weights.gaussian),
      },
      latents: Float64Array.from(a.neutralLatents),
      prior: avatarPriors(a, head),
      canonA: bakeFrame(head, a.shape),
    };
    const camera = orbitCamera({ width: px, height: px, yawDeg: 15, distance: 0.62, target: [0, 0, 0] });
    const image = Float64Array.from(renderCpu(splatHead(2, n), camera, { background: BACKGROUND }).rgb);
    const targets = [0.2, 0.5, 0.8].map((e) => ({
      frame: deformFrame(config, head, a.shape, {
        expression: [e, 1 - e],
        pose: [0, 0.1 * e, 0, 0, 0, 0, 0.2 * e, 0, 0, 0, 0, 0, 0, 0, 0],
      }),
      camera,
      image,
      background: BACKGROUND,
      lambdaDssim: LAMBDA_DSSIM,
    }));
    const rows = measureRow(avatarPaths, (passes) => {
      const r = avatarTrainBatch(state, targets, passes);
      return {
        grads: { points: r.grads.points, latents: r.grads.latents, ...r.grads.weights },
        rgb: r.rgbs[0]!,
      };
    });
    printRows(`${px} px, ${n}`, rows);
    // One more batch per path with a timer around every pass.
    for (const path of avatarPaths) {
      const timed = timedPasses(path.passes);
      const t = performance.now();
      avatarTrainBatch(state, targets, timed.passes);
      const total = performance.now() - t;
      const parts = PARTS.map(([, keys]) => keys.reduce((acc, k) => acc + (timed.ms.get(k) ?? 0), 0));
      const rest = total - parts.reduce((x, y) => x + y, 0);
      breakdowns.push(
        `| ${px} px, ${n} | ${path.name} | ${total.toFixed(0)} | ${[...parts, rest].map((v) => v.toFixed(0)).join(" | ")} |`,
      );
    }
  }
  console.log("\nOne batch of each path split into its parts (ms; one batch, so noisier than the medians above).\n");
  console.log(`| config | path | total | ${PARTS.map(([name]) => name).join(" | ")} | rest |`);
  console.log(`|---|---|---:|${PARTS.map(() => "---:|").join("")}---:|`);
  for (const line of breakdowns) console.log(line);
}

if (AVATAR) await avatarSection();
