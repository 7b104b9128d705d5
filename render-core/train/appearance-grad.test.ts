import { beforeAll, describe, expect, it } from "vitest";
import { avatarTrainBatch, type AvatarTrainState, type StepTarget } from "./avatar-step";
import { appearanceBackward, appearanceForward } from "./appearance-grad";
import { worstGradientError } from "./finite-diff";
import { Adam } from "./adam";
import { COMPACT, type AvatarModelConfig } from "../avatar/config";
import { avatarPriors, createRandomAvatar } from "../avatar/avatar";
import { bakeFrame, deformFrame } from "../avatar/rig";
import { createHeadModel, type HeadModel } from "../head";
import { orbitCamera } from "../math/camera";
import { mulberry32 } from "../math/prng";
import { psnr } from "../math/image-metrics";

/** A small config so a batch runs in milliseconds (avatar-step.test.ts's). */
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

function state(seed: number, n: number, appearance?: Float64Array): AvatarTrainState {
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
    ...(appearance ? { appearance } : {}),
  };
}

/** Two frames (a batch, so the residual's gradient is a sum over frames) against seeded noise pictures. */
function targets(size: number, seed: number): StepTarget[] {
  const rand = mulberry32(seed);
  const shape = new Float32Array(head.shapeNames.length);
  return [
    { expression: [0.5, 0.5], pose: [0, 0.3, 0, 0, 0, 0, 0.25, 0, 0, 0, 0, 0, 0, 0, 0] },
    { expression: [0, 1], pose: [0, -0.2, 0, 0, 0, 0, 0.1, 0, 0, 0, 0, 0, 0, 0, 0] },
  ].map((p) => ({
    frame: deformFrame(TINY, head, shape, p),
    camera: orbitCamera({ width: size, height: size, yawDeg: 15, distance: 0.55, target: [0, 0.02, 0] }),
    image: Float64Array.from({ length: size * size * 3 }, () => rand()),
    background: [0.2, 0.2, 0.25] as [number, number, number],
    lambdaDssim: 0.2,
  }));
}

describe("per-Gaussian appearance residual in training", () => {
  it("gives dLoss/dAppearance that matches finite differences over a batch of frames", () => {
    const rand = mulberry32(3);
    const N = 60;
    const appearance = Float64Array.from({ length: N * 3 }, () => 2 * rand() - 1);
    const s = state(3, N, appearance);
    const t = targets(20, 1);
    const grad = avatarTrainBatch(s, t).grads.appearance;
    expect(grad.length).toBe(N * 3);
    let nonZero = 0;
    for (const g of grad) if (Math.abs(g) > 1e-7) nonZero++;
    expect(nonZero).toBeGreaterThan(30); // visible Gaussians, every channel
    // Relative with a 1e-6 floor (finite-diff.ts): the same tolerance as the other avatar gradients.
    expect(worstGradientError(() => avatarTrainBatch(s, t).loss, [{ values: appearance, grad, step: 2 }])).toBeLessThan(
      1e-3,
    );
  }, 60_000);

  it("adds to the colour logits only: a residual of zeros trains exactly as none", () => {
    const t = targets(16, 2);
    const none = avatarTrainBatch(state(4, 50), t);
    const zero = avatarTrainBatch(state(4, 50, new Float64Array(150)), t);
    expect(zero.loss).toBe(none.loss);
    expect(Array.from(zero.grads.weights.geometry)).toEqual(Array.from(none.grads.weights.geometry));
    // The residual's gradient is the geometry output's colour gradient; forward adds without touching the input.
    const raw = Float64Array.from({ length: 22 }, (_, k) => k);
    const out = appearanceForward(raw, [1, 2, 3, 4, 5, 6]);
    expect(Array.from(out)).toEqual([1, 3, 5, 3, 4, 5, 6, 7, 8, 9, 10, 15, 17, 19, 14, 15, 16, 17, 18, 19, 20, 21]);
    expect(raw[0]).toBe(0);
    expect(Array.from(appearanceBackward(raw))).toEqual([0, 1, 2, 11, 12, 13]);
    expect(() => appearanceBackward(new Float64Array(5))).toThrow(/dGeomRaw must be \[N, 11\], got 5/);
  });

  it("learns per-Gaussian detail the network alone does not: Adam on the residual fits a noise picture better", () => {
    // Target: the same avatar with every Gaussian's colour pushed by its own random amount (detail no small
    // network holds); the student trains its networks, with and without a residual.
    const N = 150,
      size = 24;
    const rand = mulberry32(9);
    const teacher = state(
      5,
      N,
      Float64Array.from({ length: N * 3 }, () => 3 * (rand() - 0.5)),
    );
    const t = targets(size, 3).map((x) => ({ ...x, image: avatarTrainBatch(teacher, [x]).rgbs[0]! }));
    const fit = (withResidual: boolean) => {
      const s = state(5, N, withResidual ? new Float64Array(N * 3) : undefined);
      const groups = [
        { name: "geometry", params: s.weights.geometry, lr: 0.01 },
        { name: "gaussian", params: s.weights.gaussian, lr: 0.005 },
        ...(withResidual ? [{ name: "appearance", params: s.appearance!, lr: 0.05 }] : []),
      ];
      const adam = new Adam(groups);
      for (let it = 0; it < 30; it++) {
        const r = avatarTrainBatch(s, t);
        adam.update({
          geometry: r.grads.weights.geometry,
          gaussian: r.grads.weights.gaussian,
          appearance: r.grads.appearance,
        });
      }
      const r = avatarTrainBatch(s, t);
      return { loss: r.loss, psnr: psnr(r.rgbs[0]!, t[0]!.image) };
    };
    const without = fit(false),
      withRes = fit(true);
    console.log(
      `appearance residual: loss ${without.loss.toFixed(4)} -> ${withRes.loss.toFixed(4)}, PSNR ${without.psnr.toFixed(1)} -> ${withRes.psnr.toFixed(1)} dB (30 steps)`,
    );
    expect(withRes.loss).toBeLessThan(0.8 * without.loss);
    expect(withRes.psnr).toBeGreaterThan(without.psnr + 1);
  }, 120_000);
});
