import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getTestGpu } from "../../server/gpu/test-gpu";
import { GpuAvatarTrainer } from "./avatar-step-gpu";
import { avatarTrainBatch, type AvatarTrainState, type StepTarget } from "./avatar-step";
import { Adam } from "./adam";
import { mixLatents, neutralMix, scatterLatentGrad, type LatentMix } from "./latent-mix";
import { COMPACT, type AvatarModelConfig } from "../avatar/config";
import { avatarPriors, createRandomAvatar } from "../avatar/avatar";
import { bakeFrame, deformFrame } from "../avatar/rig";
import { createHeadModel, type HeadModel } from "../head";
import { orbitCamera } from "../math/camera";
import { mulberry32 } from "../math/prng";

const { gpu, skipReason } = await getTestGpu();
afterAll(() => gpu?.destroy());

const TINY: AvatarModelConfig = {
  ...COMPACT,
  categories: ["source", "hair"],
  latentDim: 4,
  geometry: { depth: 2, width: 16, skipAt: 0 },
  deformer: { depth: 1, width: 8 },
  gaussian: { depth: 1, width: 8 },
};

let head: HeadModel;
beforeAll(() => {
  head = createHeadModel();
});

function cpuState(seed: number, n: number): AvatarTrainState {
  const a = createRandomAvatar(TINY, head, { count: n, seed });
  return {
    config: TINY,
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
}

function targets(size: number, seed: number): StepTarget[] {
  const rand = mulberry32(seed);
  const poses = [
    { expression: [0.5, 0.5], pose: [0, 0.3, 0, 0, 0, 0, 0.25, 0, 0, 0, 0, 0, 0, 0, 0] },
    { expression: [0, 1], pose: [0, -0.2, 0, 0, 0, 0, 0.1, 0, 0, 0, 0, 0, 0, 0, 0] },
  ];
  return poses.map((p, k) => ({
    frame: deformFrame(TINY, head, new Float32Array(head.shapeNames.length), p),
    camera: orbitCamera({ width: size, height: size, yawDeg: 15 - 20 * k, distance: 0.55, target: [0, 0.02, 0] }),
    image: Float64Array.from({ length: size * size * 3 }, () => rand()),
    background: [0.2, 0.2, 0.25] as [number, number, number],
    lambdaDssim: 0.2,
    ...(k === 1
      ? {
          region: {
            mask: Float64Array.from({ length: size * size }, (_, i) => (i % size < size / 2 ? 1 : 0)),
            weight: 1,
          },
        }
      : {}),
  }));
}

/** Largest difference relative to the field's largest value. */
function rel(got: ArrayLike<number>, want: ArrayLike<number>): { err: number; scale: number } {
  let err = 0,
    scale = 0;
  for (let i = 0; i < want.length; i++) {
    err = Math.max(err, Math.abs(Number(got[i]) - Number(want[i])));
    scale = Math.max(scale, Math.abs(Number(want[i])));
  }
  return { err: err / Math.max(scale, 1e-30), scale };
}

const state = (seed: number, n: number, withAppearance: boolean): AvatarTrainState => {
  const s = cpuState(seed, n);
  if (withAppearance) {
    const rand = mulberry32(seed + 100);
    s.appearance = Float64Array.from({ length: n * 3 }, () => rand() - 0.5);
  }
  return s;
};

// Two batches: the source video (neutral rows, 2 frames) and a stage-2 pair of videos 0 and 1 of
// category 1 at alpha 0.3 (table rows C + 0 and C + 1, 1 frame). The table: C neutral rows, then 2 videos.
const C = TINY.categories.length,
  L = TINY.latentDim;
const MIXES: LatentMix[] = [
  neutralMix(C),
  [
    [[0, 1]],
    [
      [C, 0.7],
      [C + 1, 0.3],
    ],
  ],
];
function table(s: AvatarTrainState, seed: number): Float64Array {
  const rand = mulberry32(seed);
  const t = new Float64Array((C + 2) * L);
  t.set(s.latents);
  for (let k = C * L; k < t.length; k++) t[k] = rand() - 0.5;
  return t;
}

/** The CPU reference of a step over MIXES: each batch's gradients, averaged, latents scattered to the table. */
function cpuStep(s: AvatarTrainState, tab: Float64Array, batches: StepTarget[][]) {
  const B = batches.length;
  const runs = batches.map((ts, j) => avatarTrainBatch({ ...s, latents: mixLatents(tab, L, MIXES[j]!) }, ts));
  const mean = (pick: (r: (typeof runs)[number]) => Float64Array) => {
    const out = new Float64Array(pick(runs[0]!).length);
    for (const r of runs) pick(r).forEach((v, k) => (out[k]! += v / B));
    return out;
  };
  const dTable = new Float64Array(tab.length);
  runs.forEach((r, j) =>
    scatterLatentGrad(
      r.grads.latents.map((v) => v / B),
      L,
      MIXES[j]!,
      dTable,
    ),
  );
  return {
    losses: runs.map((r) => r.loss),
    grads: {
      points: mean((r) => r.grads.points),
      geometry: mean((r) => r.grads.weights.geometry),
      deformer: mean((r) => r.grads.weights.deformer),
      gaussian: mean((r) => r.grads.weights.gaussian),
      latentTable: dTable,
      ...(s.appearance ? { appearance: mean((r) => r.grads.appearance) } : {}),
    } as Record<string, Float64Array>,
  };
}

const OPTIONS = { framesPerBatch: 2, batchesPerStep: 2 };

describe("GPU training step agrees with the CPU twin (avatarTrainBatch)", () => {
  it("gives the same gradients for points, networks, latent table and colour residual over two batches", async (ctx) => {
    if (!gpu) return ctx.skip(skipReason!);
    const size = 24;
    const s = state(3, 120, true);
    const tab = table(s, 9);
    const ts = targets(size, 1);
    const batches = [ts, [targets(size, 2)[1]!]];
    const want = cpuStep(s, tab, batches);
    const trainer = new GpuAvatarTrainer(
      gpu.device,
      { ...s, latentTable: tab },
      { width: size, height: size, ...OPTIONS },
    );
    const losses = await trainer.step(
      batches.map((targets, j) => ({ targets, mix: MIXES[j]! })),
      undefined,
      true,
    );
    const got = await trainer.readGradients();
    trainer.destroy();
    const flat: Record<string, Float64Array | undefined> = {
      ...got.weights,
      points: got.points,
      latentTable: got.latentTable,
      appearance: got.appearance,
    };
    const report: Record<string, number> = {};
    for (const [name, w] of Object.entries(want.grads)) {
      const r = rel(flat[name]!, w);
      report[name] = r.err;
      expect(r.scale, name).toBeGreaterThan(1e-6);
    }
    console.log("GPU vs CPU gradients, largest difference over each field's largest:", report);
    // float32 against float64 through the whole chain: measured 2e-6 at worst here; 1e-3 leaves room for other drivers.
    for (const [name, err] of Object.entries(report)) expect(err, name).toBeLessThan(1e-3);
    expect(losses).toHaveLength(1);
    losses![0]!.batches.forEach((b, j) => expect(b.loss).toBeCloseTo(want.losses[j]!, 5));
  }, 120_000);

  it("after several Adam steps holds the parameters the CPU reaches, and reads the loss every N steps", async (ctx) => {
    if (!gpu) return ctx.skip(skipReason!);
    const size = 24,
      steps = 6,
      every = 3;
    const s = state(5, 100, true);
    const tab = table(s, 4);
    const batches = [targets(size, 3), [targets(size, 4)[0]!]];
    const lr = { geometry: 1e-2, deformer: 1e-3, gaussian: 5e-3, points: 2e-4, appearance: 2e-2, latents: 3e-2 };
    const trainer = new GpuAvatarTrainer(
      gpu.device,
      { ...s, latentTable: tab },
      { width: size, height: size, ...OPTIONS, lossEvery: every },
    );
    const adam = new Adam([
      { name: "geometry", params: s.weights.geometry, lr: lr.geometry },
      { name: "deformer", params: s.weights.deformer, lr: lr.deformer },
      { name: "gaussian", params: s.weights.gaussian, lr: lr.gaussian },
      { name: "points", params: s.points, lr: lr.points },
      { name: "appearance", params: s.appearance!, lr: lr.appearance },
      { name: "latentTable", params: tab, lr: lr.latents },
    ]);
    const cpuLosses: number[][] = [],
      gpuLosses: number[][] = [];
    // Per parameter, its largest CPU gradient over the steps relative to its field's largest.
    const live: Record<string, Float64Array> = {};
    const lrs = Object.fromEntries(Object.entries(lr).map(([k, v]) => [k, { lr: v }]));
    for (let it = 0; it < steps; it++) {
      const ref = cpuStep(s, tab, batches);
      cpuLosses.push(ref.losses);
      for (const [name, g] of Object.entries(ref.grads)) {
        const top = g.reduce((m, v) => Math.max(m, Math.abs(v)), 1e-300);
        const l = (live[name] ??= new Float64Array(g.length));
        g.forEach((v, k) => (l[k] = Math.max(l[k]!, Math.abs(v) / top)));
      }
      adam.update(ref.grads);
      const read = await trainer.step(
        batches.map((targets, j) => ({ targets, mix: MIXES[j]! })),
        lrs,
      );
      // Nothing comes back between read-backs; at each, the window's steps in order.
      expect(read === null).toBe((it + 1) % every !== 0);
      for (const r of read ?? []) gpuLosses[r.step] = r.batches.map((b) => b.loss);
    }
    const got = await trainer.readState();
    trainer.destroy();
    expect(gpuLosses.length).toBe(steps);
    let lossErr = 0;
    cpuLosses.forEach((ls, it) =>
      ls.forEach((l, j) => (lossErr = Math.max(lossErr, Math.abs(gpuLosses[it]![j]! - l)))),
    );
    // Parameters, in units of the most a parameter can move in these steps (lr x steps). Adam moves every
    // parameter by about lr whatever its gradient's size (eps 1e-15), so a gradient under float32's resolution of
    // its field (a unit whose softplus underflows to 0 in float32 but not in float64: gradients of 1e-13 on the CPU,
    // 0 on the GPU) walks on the CPU and not on the GPU. Those parameters are counted, not compared.
    const report: Record<string, number> = {};
    let below = 0,
      total = 0;
    const pairs: Array<[string, Float64Array, Float64Array, number]> = [
      ["geometry", got.weights.geometry, s.weights.geometry, lr.geometry],
      ["deformer", got.weights.deformer, s.weights.deformer, lr.deformer],
      ["gaussian", got.weights.gaussian, s.weights.gaussian, lr.gaussian],
      ["points", got.points, s.points, lr.points],
      ["appearance", got.appearance!, s.appearance!, lr.appearance],
      ["latentTable", got.latentTable, tab, lr.latents],
    ];
    for (const [name, g, w, rate] of pairs) {
      let worst = 0;
      for (let i = 0; i < w.length; i++) {
        total++;
        const l = live[name]![i]!;
        if (l > 0 && l < 1e-6) below++;
        else worst = Math.max(worst, Math.abs(g[i]! - w[i]!) / (rate * steps));
      }
      report[name] = worst;
    }
    console.log(
      `after ${steps} Adam steps, largest |GPU - CPU| / (lr x steps):`,
      report,
      `(${below} of ${total} parameters with non-zero gradients under 1e-6 of their field's left out); largest loss difference`,
      lossErr,
    );
    for (const [name, err] of Object.entries(report)) expect(err, name).toBeLessThan(1e-2);
    expect(below).toBeLessThan(total * 0.05);
    expect(lossErr).toBeLessThan(1e-5);
    expect(cpuLosses.at(-1)![0]!).toBeLessThan(cpuLosses[0]![0]!);
  }, 180_000);
});
