import { describe, expect, it } from "vitest";
import {
  alignedFaceCrop,
  applySimilarity,
  cropTemplate,
  fitSimilarity,
  fivePoints,
  similarityScale,
  type Similarity,
} from "./align";

/** 68 landmarks whose five alignment points are `points` ([5, 2]): each eye's six points on its centre. */
function landmarksFor(points: ArrayLike<number>): Float32Array {
  const lm = new Float32Array(136);
  const set = (i: number, k: number) => lm.set([points[k * 2]!, points[k * 2 + 1]!], i * 2);
  for (let i = 36; i <= 41; i++) set(i, 0);
  for (let i = 42; i <= 47; i++) set(i, 1);
  set(30, 2);
  set(48, 3);
  set(54, 4);
  return lm;
}

const inverse = (s: Similarity): Similarity => {
  const det = s.a ** 2 + s.b ** 2;
  const a = s.a / det,
    b = -s.b / det;
  return { a, b, tx: -(a * s.tx - b * s.ty), ty: -(b * s.tx + a * s.ty) };
};

describe("face crop alignment", () => {
  it("recovers a known similarity from five points", () => {
    const truth: Similarity = { a: 2.1 * Math.cos(0.3), b: 2.1 * Math.sin(0.3), tx: 14, ty: -7 };
    const from = [10, 20, 50, 22, 31, 45, 14, 70, 47, 69];
    const to = from.flatMap((_, i) => (i % 2 ? [] : applySimilarity(truth, from[i]!, from[i + 1]!)));
    const got = fitSimilarity(from, to);
    for (const k of ["a", "b", "tx", "ty"] as const) expect(got[k]).toBeCloseTo(truth[k], 9);
    expect(similarityScale(got)).toBeCloseTo(2.1, 9);
  });

  it("documents the template it aligns to: InsightFace's 112 px points, +0.5 for pixel centres", () => {
    const t = cropTemplate({ size: 112, loosen: 1 });
    expect(Array.from(t.slice(0, 4))).toEqual([38.7946, 52.1963, 74.0318, 52.0014].map((v) => expect.closeTo(v, 9)));
    // The second recogniser's crop: twice the size, the points drawn 1.15 times toward the centre (56 -> 112).
    const f = cropTemplate({ size: 224, loosen: 1.15 });
    expect(f[0]).toBeCloseTo(((38.7946 - 56) / 1.15 + 56) * 2, 9);
    expect(() => cropTemplate({ size: 5, loosen: 1 })).toThrow(/size must be a whole number/);
  });

  it.each([
    ["a small face (warped up 1.7 times)", 1.7],
    ["a large face (shrunk 3.4 times, filtered first)", 1 / 3.4],
  ])("puts the eyes where the template says, on the pixels: %s", async (_, scale) => {
    // Crop px per image px = scale, turned 25 degrees: dark discs on the eyes (7.5 crop px radius), grey elsewhere.
    const spec = { size: 224, loosen: 1.15 };
    const template = cropTemplate(spec);
    const toImage = inverse({ a: scale * Math.cos(0.44), b: scale * Math.sin(0.44), tx: -30, ty: 10 });
    const points = new Float64Array(10);
    for (let k = 0; k < 5; k++) points.set(applySimilarity(toImage, template[k * 2]!, template[k * 2 + 1]!), k * 2);
    const W = 760,
      H = 700,
      radius = 7.5 / scale;
    const rgb = new Uint8Array(W * H * 3).fill(150);
    for (let y = 0; y < H; y++)
      for (let x = 0; x < W; x++)
        for (const e of [0, 1])
          if (Math.hypot(x + 0.5 - points[e * 2]!, y + 0.5 - points[e * 2 + 1]!) < radius)
            rgb.fill(0, (y * W + x) * 3, (y * W + x) * 3 + 3);
    const { crop, residualPx, transform } = await alignedFaceCrop(
      { width: W, height: H, rgb },
      landmarksFor(points),
      spec,
    );
    expect(crop.width).toBe(224);
    expect(similarityScale(transform)).toBeCloseTo(scale, 2);
    // The five points are an exact similarity image of the template; the shrink step rounds the size (< 0.1 px).
    expect(residualPx).toBeLessThan(0.1);
    for (const e of [0, 1]) {
      let sx = 0,
        sy = 0,
        sw = 0;
      for (let y = 0; y < crop.height; y++)
        for (let x = e * 112; x < (e + 1) * 112; x++) {
          const w = (150 - crop.rgb[(y * crop.width + x) * 3]!) / 150;
          sx += w * (x + 0.5);
          sy += w * (y + 0.5);
          sw += w;
        }
      // Resampling blurs a disc's edge symmetrically: its centre stays within a fraction of a crop pixel.
      expect(Math.hypot(sx / sw - template[e * 2]!, sy / sw - template[e * 2 + 1]!)).toBeLessThan(0.3);
    }
  });

  it("refuses landmarks that are not 68 points", () => {
    expect(() => fivePoints(new Float32Array(10))).toThrow(/need 68 landmarks/);
  });
});
