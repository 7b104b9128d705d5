import { describe, expect, it } from "vitest";
import { dssimLoss, gaussianWindow, l1Loss, type ImageShape, type LossResult } from "./losses";
import { mulberry32 } from "../math/prng";

/** Central finite differences of `loss` at a few coordinates; returns the worst relative error against `grad`. */
function checkGradient(loss: (x: Float64Array) => LossResult, x: Float64Array, coords: number[], eps = 1e-6): number {
  const { grad } = loss(x);
  let worst = 0;
  for (const i of coords) {
    const plus = x.slice(),
      minus = x.slice();
    plus[i]! += eps;
    minus[i]! -= eps;
    const fd = (loss(plus).value - loss(minus).value) / (2 * eps);
    worst = Math.max(worst, Math.abs(fd - grad[i]!) / Math.max(Math.abs(fd), Math.abs(grad[i]!), 1e-9));
  }
  return worst;
}

describe("image losses (CPU twins, float64)", () => {
  const shape: ImageShape = { width: 16, height: 12, channels: 3 };
  const rand = mulberry32(4);
  const target = Float64Array.from({ length: 16 * 12 * 3 }, () => rand());
  const pred = target.map((v) => Math.min(1, Math.max(0, v + 0.2 * (rand() - 0.5))));
  const coords = [0, 5, 47, 100, 333, 575];

  it("uses the reference's normalised 11-tap window", () => {
    const g = gaussianWindow();
    expect(g.length).toBe(11);
    expect(g.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    expect(g[5]).toBeGreaterThan(g[4]!);
  });

  it("D-SSIM is 0 for identical images, grows with difference, and its gradient matches finite differences", () => {
    expect(dssimLoss(target, target, shape).value).toBeCloseTo(0, 12);
    const v = dssimLoss(pred, target, shape).value;
    expect(v).toBeGreaterThan(0.01);
    expect(checkGradient((x) => dssimLoss(x, target, shape), pred, coords)).toBeLessThan(1e-3);
  });

  it("L1 (masked) gradient matches finite differences away from kinks", () => {
    const mask = Float64Array.from({ length: 16 * 12 }, (_, p) => (p % 7 === 0 ? 0 : 0.5 + 0.5 * ((p % 3) / 2)));
    const r = l1Loss(pred, target, shape, mask);
    expect(r.value).toBeGreaterThan(0);
    // Keep coordinates where |pred - target| is not tiny (|x| is not differentiable at 0).
    const safe = coords.filter((i) => Math.abs(pred[i]! - target[i]!) > 1e-3);
    expect(checkGradient((x) => l1Loss(x, target, shape, mask), pred, safe)).toBeLessThan(1e-3);
    expect(() => l1Loss(pred, target.subarray(1), shape)).toThrow(/16 x 12 x 3 = 576 numbers/);
  });
});
