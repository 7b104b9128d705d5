import { describe, expect, it } from "vitest";
import { dssimLoss, ssimMap } from "../../../render-core/train/losses";
import { dilateMask } from "../train/trainer";
import { maskedSsim, meanAbsDiff255, median, sweepSmoothness } from "./metrics";

const image = (n: number, f: (i: number) => number) => Float32Array.from({ length: n }, (_, i) => f(i));

describe("evaluation metrics", () => {
  it("SSIM: the map's mean is 1 - D-SSIM, and a mask picks its pixels", () => {
    const shape = { width: 12, height: 10, channels: 3 };
    const a = image(360, (i) => 0.5 + 0.4 * Math.sin(i * 0.37)),
      b = image(360, (i) => 0.5 + 0.4 * Math.sin(i * 0.37 + 0.2));
    const map = ssimMap(a, b, shape);
    expect(map.reduce((s, v) => s + v, 0) / map.length).toBeCloseTo(1 - dssimLoss(a, b, shape).value, 10);
    const mask = Array.from({ length: 120 }, (_, p) => (p === 17 ? 1 : 0));
    expect(maskedSsim(a, b, shape, mask)).toBeCloseTo(map[17]!, 12);
    expect(maskedSsim(a, a, shape)).toBeCloseTo(1, 12);
  });

  it("mean absolute change is in 1/255 and ignores masked-out pixels", () => {
    const a = image(6, () => 0),
      b = image(6, (i) => (i < 3 ? 10 / 255 : 0));
    expect(meanAbsDiff255(a, b, 3)).toBeCloseTo(5, 5);
    expect(meanAbsDiff255(a, b, 3, [0, 1])).toBe(0);
    expect(meanAbsDiff255(a, b, 3, [1, 0])).toBeCloseTo(10, 5);
  });

  it("smoothness is 1 for an even sweep, large for a jump, and null for no change", () => {
    const even = Array.from({ length: 21 }, (_, s) => image(16, () => s / 20));
    expect(sweepSmoothness(even).ratio).toBeCloseTo(1, 6);
    const jump = Array.from({ length: 21 }, (_, s) => image(16, () => s / 40 + (s >= 10 ? 0.25 : 0)));
    expect(sweepSmoothness(jump).ratio).toBeCloseTo(11, 4);
    expect(sweepSmoothness(Array.from({ length: 5 }, () => image(16, () => 0.5))).ratio).toBeNull();
    expect(median([3, 1, 2, 10])).toBe(2.5);
  });

  it("dilation grows a region by a square of the radius, clipped at the border", () => {
    const inside = new Array(25).fill(0);
    inside[0] = 1;
    const grown = dilateMask(inside, 5, 1);
    expect([...grown]).toEqual([1, 1, 0, 0, 0, 1, 1, 0, 0, 0, ...new Array(15).fill(0)]);
    expect(dilateMask(inside, 5, 4).every((v) => v === 1)).toBe(true);
  });
});
