import { afterAll, describe, expect, it } from "vitest";
import { getTestGpu } from "../../server/gpu/test-gpu";
import { appearanceHeadsBackwardGpu, positionalEncodingBackwardGpu } from "./heads-grad-gpu";
import { appearanceHeadsBackward, positionalEncodingBackward } from "./heads-grad";
import { mulberry32 } from "../math/prng";

const { gpu, skipReason } = await getTestGpu();
afterAll(() => gpu?.destroy());

const worst = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let w = 0;
  for (let i = 0; i < b.length; i++)
    w = Math.max(w, Math.abs(Number(a[i]) - Number(b[i])) / Math.max(1, Math.abs(Number(b[i]))));
  return w;
};

describe("heads and positional-encoding backward: WGSL agrees with the CPU twins", () => {
  it("appearance heads", async (ctx) => {
    if (!gpu) return ctx.skip(skipReason!);
    const rand = mulberry32(5);
    const raw = new Float32Array(100 * 11).map(() => 3 * (rand() - 0.5));
    const d = new Float32Array(100 * 11).map(() => rand() - 0.5);
    expect(
      worst(await appearanceHeadsBackwardGpu(gpu.device, raw, 0.0175, d), appearanceHeadsBackward(raw, 0.0175, d)),
    ).toBeLessThan(1e-5);
  });

  it("positional encoding (6 frequencies)", async (ctx) => {
    if (!gpu) return ctx.skip(skipReason!);
    const rand = mulberry32(6);
    const pts = new Float32Array(100 * 3).map(() => (rand() - 0.5) * 0.3);
    const d = new Float32Array(100 * 39).map(() => rand() - 0.5);
    // |d/dp| reaches 32 pi: compare relative to the largest gradient.
    const want = positionalEncodingBackward(pts, 6, d);
    const got = await positionalEncodingBackwardGpu(gpu.device, pts, 6, d);
    const scale = want.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    let w = 0;
    for (let i = 0; i < want.length; i++) w = Math.max(w, Math.abs(got[i]! - want[i]!) / scale);
    expect(w).toBeLessThan(1e-4);
  });
});
