import { beforeAll, describe, expect, it } from "vitest";
import { avatarTrainBatch, avatarTrainStep, type AvatarTrainState, type StepTarget } from "./avatar-step";
import { Adam } from "./adam";
import { COMPACT, type AvatarModelConfig } from "../avatar/config";
import { avatarPriors, createRandomAvatar } from "../avatar/avatar";
import { bakeFrame, deformFrame } from "../avatar/rig";
import { createHeadModel, type HeadModel } from "../head";
import { orbitCamera } from "../math/camera";
import { mulberry32 } from "../math/prng";
import { psnr } from "../math/image-metrics";

/** A small config so a whole step runs in milliseconds. */
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

function state(seed: number, n: number): AvatarTrainState {
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

function target(s: AvatarTrainState, size: number, image?: Float64Array): StepTarget {
  const frame = deformFrame(TINY, head, new Float32Array(head.shapeNames.length), {
    expression: [0.5, 0.5],
    pose: [0, 0.3, 0, 0, 0, 0, 0.25, 0, 0, 0, 0, 0, 0, 0, 0],
  });
  const camera = orbitCamera({ width: size, height: size, yawDeg: 15, distance: 0.55, target: [0, 0.02, 0] });
  const t: StepTarget = {
    frame,
    camera,
    image: image ?? new Float64Array(size * size * 3),
    background: [0.2, 0.2, 0.25],
    lambdaDssim: 0.2,
  };
  return t;
}

describe("avatar training step (CPU twin)", () => {
  it("gives gradients for latents, weights and points that match finite differences", () => {
    const s = state(3, 60);
    const rand = mulberry32(1);
    const t = target(
      s,
      20,
      Float64Array.from({ length: 20 * 20 * 3 }, () => rand()),
    );
    const base = avatarTrainStep(s, t);
    const eps = 1e-6;
    let worst = 0,
      checked = 0;
    const probe = (arr: Float64Array, k: number, analytic: number) => {
      const keep = arr[k]!;
      arr[k] = keep + eps;
      const up = avatarTrainStep(s, t).loss;
      arr[k] = keep - eps;
      const down = avatarTrainStep(s, t).loss;
      arr[k] = keep;
      const fd = (up - down) / (2 * eps);
      if (Math.abs(fd) < 1e-9 && Math.abs(analytic) < 1e-9) return;
      checked++;
      // Relative, with an absolute floor: tiny gradients sit at the finite differences' noise level.
      worst = Math.max(worst, Math.abs(fd - analytic) / Math.max(Math.abs(fd), Math.abs(analytic), 1e-6));
    };
    for (let k = 0; k < s.latents.length; k++) probe(s.latents, k, base.grads.latents[k]!);
    for (const name of ["geometry", "deformer", "gaussian"] as const)
      for (let k = 0; k < s.weights[name].length; k += 29) probe(s.weights[name], k, base.grads.weights[name][k]!);
    for (let k = 0; k < 30; k += 4) probe(s.points, k, base.grads.points[k]!);
    expect(checked).toBeGreaterThan(20);
    expect(worst).toBeLessThan(1e-3);
  }, 60_000);

  it("learns: a few Adam steps toward another avatar's picture lower the loss and raise PSNR", () => {
    const teacher = state(5, 150);
    teacher.latents = teacher.latents.map((v, k) => v + (k % 2 ? 1 : -1));
    const size = 24;
    const picture = avatarTrainStep(teacher, target(teacher, size)).rgb;
    const student = state(5, 150);
    const t = target(student, size, picture);
    const adam = new Adam([
      { name: "latents", params: student.latents, lr: 0.05 },
      { name: "geometry", params: student.weights.geometry, lr: 0.01 },
      { name: "gaussian", params: student.weights.gaussian, lr: 0.005 },
    ]);
    const first = avatarTrainStep(student, t);
    const start = psnr(first.rgb, picture);
    let last = first;
    for (let it = 0; it < 25; it++) {
      last = avatarTrainStep(student, t);
      adam.update({
        latents: last.grads.latents,
        geometry: last.grads.weights.geometry,
        gaussian: last.grads.weights.gaussian,
      });
    }
    const end = psnr(avatarTrainStep(student, t).rgb, picture);
    console.log(
      `avatar step: loss ${first.loss.toFixed(4)} -> ${last.loss.toFixed(4)}, PSNR ${start.toFixed(1)} -> ${end.toFixed(1)} dB in 25 steps`,
    );
    expect(last.loss).toBeLessThan(0.7 * first.loss);
    expect(end).toBeGreaterThan(start + 2);
  }, 120_000);

  it("a batch of frames gives the mean of the single-frame losses and gradients", () => {
    const s = state(4, 80);
    const rand = mulberry32(2);
    const t1 = target(
      s,
      16,
      Float64Array.from({ length: 16 * 16 * 3 }, () => rand()),
    );
    const t2: StepTarget = {
      ...t1,
      frame: deformFrame(TINY, head, new Float32Array(head.shapeNames.length), {
        expression: [0, 1],
        pose: [0, -0.2, 0, 0, 0, 0, 0.1, 0, 0, 0, 0, 0, 0, 0, 0],
      }),
      image: Float64Array.from({ length: 16 * 16 * 3 }, () => rand()),
    };
    const a = avatarTrainStep(s, t1),
      b = avatarTrainStep(s, t2),
      batch = avatarTrainBatch(s, [t1, t2]);
    expect(batch.loss).toBeCloseTo((a.loss + b.loss) / 2, 12);
    const same = (x: Float64Array, y: Float64Array, z: Float64Array) => {
      let worst = 0,
        scale = 1e-12;
      for (let k = 0; k < x.length; k++) {
        worst = Math.max(worst, Math.abs(x[k]! - (y[k]! + z[k]!) / 2));
        scale = Math.max(scale, Math.abs(x[k]!));
      }
      return worst / scale;
    };
    expect(same(batch.grads.latents, a.grads.latents, b.grads.latents)).toBeLessThan(1e-10);
    expect(same(batch.grads.points, a.grads.points, b.grads.points)).toBeLessThan(1e-10);
    for (const name of ["geometry", "deformer", "gaussian"] as const)
      expect(same(batch.grads.weights[name], a.grads.weights[name], b.grads.weights[name])).toBeLessThan(1e-10);
    expect(batch.visible.reduce((n, v) => n + v, 0)).toBeGreaterThan(40);
  });
});
