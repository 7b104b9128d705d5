import { afterAll, describe, expect, it } from "vitest";
import { getTestGpu } from "../../server/gpu/test-gpu";
import { lossGradGpu } from "./losses-gpu";
import { dssimLoss, l1Loss } from "./losses";
import { mse } from "../math/image-metrics";
import { mulberry32 } from "../math/prng";

const { gpu, skipReason } = await getTestGpu();
afterAll(() => gpu?.destroy());

describe("image losses: WGSL agrees with the CPU twin", () => {
  it("gives the same D-SSIM + L1 + masked L1 gradient, and the same loss values", async (ctx) => {
    if (!gpu) return ctx.skip(skipReason!);
    const shape = { width: 37, height: 23, channels: 3 };
    const rand = mulberry32(12);
    const target = new Float32Array(37 * 23 * 3).map(() => rand());
    const pred = target.map((v) => Math.min(1, Math.max(0, v + 0.3 * (rand() - 0.5))));
    const mask = new Float32Array(37 * 23).map((_, p) => (p % 37 < 12 ? 1 : 0));
    const ds = dssimLoss(pred, target, shape),
      l1 = l1Loss(pred, target, shape),
      r = l1Loss(pred, target, shape, mask);
    const want = ds.grad.map((v, i) => 0.2 * v + 0.8 * l1.grad[i]! + 0.5 * r.grad[i]!);
    const got = await lossGradGpu(gpu.device, pred, target, shape, 0.8, 0.2, { mask, weight: 0.5 });
    const scale = want.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    let worst = 0;
    for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got.grad[i]! - want[i]!) / scale);
    // float32 window sums of squares: 1e-4 of the largest gradient.
    expect(worst).toBeLessThan(1e-4);
    expect(got.ssim).toBeCloseTo(1 - ds.value, 5);
    expect(got.l1).toBeCloseTo(l1.value, 6);
    expect(got.regionL1).toBeCloseTo(r.value, 6);
    expect(got.mse).toBeCloseTo(mse(pred, target), 6);
  });
});
