import { beforeAll, describe, expect, it } from "vitest";
import { FAST_NETWORKS, FAST_PASSES, fastPasses, REFERENCE_NETWORKS, REFERENCE_PASSES } from "./train-passes";
import { LOCAL_TILES } from "./raster-train-fast";
import { dssimLossFast } from "./dssim-fast";
import { dssimLoss } from "./losses";
import { projectBackwardFast, projectTrainFast } from "./project-train-fast";
import { projectBackward, projectTrain } from "./project-grad";
import { avatarTrainBatch, type AvatarTrainState, type StepTarget } from "./avatar-step";
import { COMPACT, type AvatarModelConfig } from "../avatar/config";
import { avatarPriors, createRandomAvatar } from "../avatar/avatar";
import { bakeFrame, deformFrame } from "../avatar/rig";
import { createHeadModel, type HeadModel } from "../head";
import { orbitCamera } from "../math/camera";
import { mulberry32 } from "../math/prng";

/** Largest |a - b| relative to the largest |a|. */
function relDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let scale = 0,
    diff = 0;
  for (let i = 0; i < a.length; i++) {
    scale = Math.max(scale, Math.abs(a[i]!));
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
  }
  return diff / Math.max(scale, 1e-300);
}

describe("fast projection", () => {
  it("gives the reference twin's means, conics, depths and gradients, clamped centres included", () => {
    const camera = orbitCamera({ width: 64, height: 48, yawDeg: 30, pitchDeg: 10, distance: 2 });
    const n = 200;
    const rand = mulberry32(5);
    // A fifth of the centres far to the sides, where the Jacobian's centre is clamped to the frustum.
    const g = {
      count: n,
      positions: Float64Array.from({ length: n * 3 }, (_, k) =>
        k % 15 === 0 ? 3 * (rand() - 0.5) * 2 : (rand() - 0.5) * 0.6,
      ),
      scales: Float64Array.from({ length: n * 3 }, () => 0.01 + 0.06 * rand()),
      rotations: Float64Array.from({ length: n * 4 }, () => rand() - 0.5),
    };
    const ref = projectTrain(g, camera),
      fast = projectTrainFast(g, camera);
    // Same arithmetic but for sqrt in place of hypot: a few ulps.
    expect(relDiff(ref.means2d, fast.means2d)).toBeLessThan(1e-12);
    expect(relDiff(ref.conics, fast.conics)).toBeLessThan(1e-12);
    expect(relDiff(ref.depths, fast.depths)).toBeLessThan(1e-12);
    const wM = Float64Array.from({ length: n * 2 }, () => rand() - 0.5);
    const wC = Float64Array.from({ length: n * 3 }, () => 100 * (rand() - 0.5));
    const g0 = projectBackward(g, camera, wM, wC),
      g1 = projectBackwardFast(g, camera, wM, wC);
    for (const k of ["positions", "scales", "rotations"] as const) expect(relDiff(g0[k], g1[k])).toBeLessThan(1e-10);
  });
});

describe("fast D-SSIM", () => {
  it("gives the reference twin's value and gradient, on images smaller and larger than the window", () => {
    const rand = mulberry32(2);
    for (const [W, H] of [
      [7, 9],
      [40, 23],
    ] as const) {
      const shape = { width: W, height: H, channels: 3 };
      const pred = Float64Array.from({ length: W * H * 3 }, () => rand());
      const target = pred.map((v) => Math.min(1, Math.max(0, v + 0.3 * (rand() - 0.5))));
      const ref = dssimLoss(pred, target, shape),
        fast = dssimLossFast(pred, target, shape);
      // The same sums in another order.
      expect(Math.abs(ref.value - fast.value)).toBeLessThan(1e-13);
      expect(ref.value).toBeGreaterThan(0.01);
      expect(relDiff(ref.grad, fast.grad)).toBeLessThan(1e-10);
    }
    expect(() => dssimLossFast(new Float64Array(5), new Float64Array(5), { width: 2, height: 2, channels: 3 })).toThrow(
      /dssimLossFast: images must hold 2 x 2 x 3 = 12/,
    );
  });
});

describe("avatar batch with the fast passes", () => {
  let head: HeadModel;
  beforeAll(() => {
    head = createHeadModel();
  });

  /** A random avatar of `config` and one posed target with a random picture. */
  function batchCase(config: AvatarModelConfig, count: number, size: number) {
    const a = createRandomAvatar(config, head, { count, seed: 3 });
    const s: AvatarTrainState = {
      config,
      count: a.count,
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
    const rand = mulberry32(6);
    const t: StepTarget = {
      frame: deformFrame(config, head, new Float32Array(head.shapeNames.length), {
        expression: [0.5, 0.5],
        pose: [0, 0.3, 0, 0, 0, 0, 0.25, 0, 0, 0, 0, 0, 0, 0, 0],
      }),
      camera: orbitCamera({ width: size, height: size, yawDeg: 15, distance: 0.62, target: [0, 0, 0] }),
      image: Float64Array.from({ length: size * size * 3 }, () => rand()),
      background: [0.16, 0.17, 0.2],
      lambdaDssim: 0.2,
    };
    return { s, t };
  }

  it("gives the reference twins' loss, picture and gradients", () => {
    const config: AvatarModelConfig = {
      ...COMPACT,
      categories: ["source", "hair"],
      latentDim: 4,
      geometry: { depth: 2, width: 16, skipAt: 0 },
      deformer: { depth: 1, width: 8 },
      gaussian: { depth: 1, width: 8 },
    };
    const { s, t } = batchCase(config, 400, 40);
    const ref = avatarTrainBatch(s, [t, t], REFERENCE_PASSES),
      fast = avatarTrainBatch(s, [t, t], FAST_PASSES);
    expect(Math.abs(ref.loss - fast.loss)).toBeLessThan(1e-9);
    expect(relDiff(ref.rgbs[0]!, fast.rgbs[0]!)).toBeLessThan(1e-8);
    expect(ref.rgbs[0]!.some((v, k) => Math.abs(v - t.background[k % 3]!) > 0.05)).toBe(true);
    const pairs: Array<[Float64Array, Float64Array]> = [
      [ref.grads.points, fast.grads.points],
      [ref.grads.latents, fast.grads.latents],
      [ref.grads.weights.geometry, fast.grads.weights.geometry],
      [ref.grads.weights.deformer, fast.grads.weights.deformer],
      [ref.grads.weights.gaussian, fast.grads.weights.gaussian],
    ];
    // The brief asks for 1e-3 relative; the passes agree to about 1e-8.
    for (const [r, f] of pairs) expect(relDiff(r, f)).toBeLessThan(1e-6);
  });

  it("with the compact networks (fast networks alone, then everything fast) gives the reference's gradients", () => {
    // COMPACT's own widths (64, 188 deformer outputs, a skip) on a batch off the products' 4-row blocks.
    const { s, t } = batchCase(COMPACT, 301, 32);
    const t2 = {
      ...t,
      frame: deformFrame(COMPACT, head, new Float32Array(head.shapeNames.length), { expression: [0.1, 0.9] }),
    };
    expect(FAST_PASSES.mlpForward).toBe(FAST_NETWORKS.mlpForward);
    const ref = avatarTrainBatch(s, [t, t2], REFERENCE_PASSES);
    const netsOnly = avatarTrainBatch(s, [t, t2], { ...REFERENCE_PASSES, ...FAST_NETWORKS });
    const fast = avatarTrainBatch(s, [t, t2], FAST_PASSES);
    const mixed = avatarTrainBatch(s, [t, t2], fastPasses(LOCAL_TILES, REFERENCE_NETWORKS));
    for (const other of [netsOnly, fast, mixed]) {
      expect(Math.abs(ref.loss - other.loss)).toBeLessThan(1e-9);
      // The brief's bound: 1e-6 of each field's largest. The bench measures about 3e-10 at 3,000 Gaussians.
      expect(relDiff(ref.grads.points, other.grads.points)).toBeLessThan(1e-6);
      expect(relDiff(ref.grads.latents, other.grads.latents)).toBeLessThan(1e-6);
      for (const k of ["geometry", "deformer", "gaussian"] as const)
        expect(relDiff(ref.grads.weights[k], other.grads.weights[k])).toBeLessThan(1e-6);
    }
    expect(ref.grads.latents.some((v) => Math.abs(v) > 1e-9)).toBe(true);
  });
});
