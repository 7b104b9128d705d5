import { afterAll, describe, expect, it } from "vitest";
import { getTestGpu } from "../../server/gpu/test-gpu";
import { lossGradGpu } from "./losses-gpu";
import { dssimLoss, l1Loss } from "./losses";
import { mulberry32 } from "../math/prng";

const { gpu, skipReason } = await getTestGpu();
afterAll(() => gpu?.destroy());

describe("image losses: WGSL agrees with the CPU twin", () => {
  it("gives the same D-SSIM + L1 gradient and mean SSIM", async (ctx) => {
    if (!gpu) return ctx.skip(skipReason!);
    const shape = { width: 37, height: 23, channels: 3 };
    const rand = mulberry32(12);
    const target = new Float32Array(37 * 23 * 3).map(() => rand());
    const pred = target.map((v) => Math.min(1, Math.max(0, v + 0.3 * (rand() - 0.5))));
    const ds = dssimLoss(pred, target, shape),
      l1 = l1Loss(pred, target, shape);
    const want = ds.grad.map((v, i) => 0.2 * v + 0.8 * l1.grad[i]!);
    const got = await lossGradGpu(gpu.device, pred, target, shape, 0.8, 0.2);
    const scale = want.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    let worst = 0;
    for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got.grad[i]! - want[i]!) / scale);
    expect(worst).toBeLessThan(1e-4);
    expect(got.ssim).toBeCloseTo(1 - ds.value, 5);
  });
});
