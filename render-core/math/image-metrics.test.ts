import { describe, expect, it } from "vitest";
import { PSNR_CEILING_DB, checkImagePair, maskedPsnr, meanAbsError, mse, psnr, psnrFromMse } from "./image-metrics";

const image = (n: number, f: (i: number) => number) => Float64Array.from({ length: n }, (_, i) => f(i));

describe("image metrics", () => {
  it("PSNR of an even error of 0.1 is 20 dB, of 0.01 is 40 dB, and identical images hit the ceiling", () => {
    const a = image(12, () => 0.5);
    expect(
      psnr(
        a,
        image(12, () => 0.6),
      ),
    ).toBeCloseTo(20, 4);
    expect(
      psnr(
        a,
        image(12, () => 0.49),
      ),
    ).toBeCloseTo(40, 4);
    expect(psnr(a, a)).toBe(PSNR_CEILING_DB);
    expect(psnrFromMse(1)).toBe(0);
    expect(psnrFromMse(1e-3)).toBeCloseTo(30, 10);
  });

  it("mean squared and absolute errors weigh pixels by the mask", () => {
    const a = image(4 * 3, () => 0.5);
    const b = Float64Array.from(a);
    b.fill(0.6, 0, 3); // pixel 0 off by 0.1 in every channel
    expect(mse(a, b, 3)).toBeCloseTo(0.01 / 4, 10);
    expect(mse(a, b, 3, [1, 0, 0, 0])).toBeCloseTo(0.01, 10);
    expect(mse(a, b, 3, [0.5, 0.5, 0, 0])).toBeCloseTo(0.005, 10);
    expect(meanAbsError(a, b, 3)).toBeCloseTo(0.025, 7);
    expect(meanAbsError(a, b, 3, [0, 0, 0, 0])).toBe(0);
  });

  it("masked PSNR counts only the mask's pixels", () => {
    const a = image(4 * 3, () => 0.5);
    const b = Float64Array.from(a);
    b.fill(0.6, 0, 3);
    expect(maskedPsnr(a, b, 3)).toBeCloseTo(10 * Math.log10(1 / (0.01 / 4)), 4);
    expect(maskedPsnr(a, b, 3, [1, 0, 0, 0])).toBeCloseTo(20, 4);
    expect(maskedPsnr(a, b, 3, [0, 1, 1, 1])).toBe(100);
    expect(() => maskedPsnr(a, b, 3, [0, 0, 0, 0])).toThrow(/maskedPsnr: the mask is empty/);
    expect(() => maskedPsnr(a, b.subarray(3), 3)).toThrow(/maskedPsnr: images differ in size/);
  });

  it("refuses images of different sizes and masks of the wrong size, naming the caller", () => {
    expect(() => checkImagePair("Owner.method", [0, 0], [0], 1)).toThrow(
      /^Owner.method: images differ in size \(2 and 1 numbers\)/,
    );
    expect(() => checkImagePair("Owner.method", [0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0], 3, [1])).toThrow(
      /the mask holds 1 pixels, the images 2/,
    );
    expect(() => psnr([], [])).toThrow(/mse: the images are empty/);
  });
});
