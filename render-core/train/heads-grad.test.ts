import { describe, expect, it } from "vitest";
import { appearanceHeads, appearanceHeadsBackward, positionalEncodingBackward, softmaxBackward } from "./heads-grad";
import { positionalEncoding } from "../avatar/positional-encoding";
import { applyAppearanceHeads } from "../avatar/networks";
import { COMPACT } from "../avatar/config";
import { mulberry32 } from "../math/prng";

function fdCheck(f: (x: Float64Array) => number, x: Float64Array, grad: ArrayLike<number>, eps = 1e-6): number {
  let worst = 0;
  for (let i = 0; i < x.length; i++) {
    const keep = x[i]!;
    x[i] = keep + eps;
    const up = f(x);
    x[i] = keep - eps;
    const down = f(x);
    x[i] = keep;
    const fd = (up - down) / (2 * eps);
    worst = Math.max(worst, Math.abs(fd - Number(grad[i])) / Math.max(Math.abs(fd), Math.abs(Number(grad[i])), 1e-6));
  }
  return worst;
}

describe("small backward pieces (CPU twins, float64)", () => {
  const rand = mulberry32(6);

  it("positional encoding", () => {
    const pts = Float64Array.from({ length: 9 }, () => (rand() - 0.5) * 0.3);
    const w = Float64Array.from({ length: 3 * 39 }, () => rand() - 0.5);
    const loss = (p: Float64Array) => positionalEncoding(Float32Array.from(p), 6).reduce((s, v, i) => s + v * w[i]!, 0);
    // The forward stores float32, so differences of 1e-4 are the finest it resolves.
    expect(fdCheck(loss, pts, positionalEncodingBackward(pts, 6, w), 1e-4)).toBeLessThan(2e-3);
  });

  it("appearance heads, and the float64 forward equals the runtime's", () => {
    const raw = Float64Array.from({ length: 22 }, () => 2 * (rand() - 0.5));
    const ref = applyAppearanceHeads(COMPACT, Float32Array.from(raw));
    const ours = appearanceHeads(raw, COMPACT.scaleMax);
    for (let i = 0; i < raw.length; i++) expect(ours[i]).toBeCloseTo(ref[i]!, 6);
    const w = Float64Array.from({ length: 22 }, () => rand() - 0.5);
    const loss = (x: Float64Array) => appearanceHeads(x, COMPACT.scaleMax).reduce((s, v, i) => s + v * w[i]!, 0);
    expect(fdCheck(loss, raw, appearanceHeadsBackward(raw, COMPACT.scaleMax, w))).toBeLessThan(1e-3);
  });

  it("skinning softmax", () => {
    const logits = Float64Array.from({ length: 5 }, () => 0.1 * (rand() - 0.5));
    const T = 20;
    const soft = (x: Float64Array) => {
      const m = Math.max(...x.map((v) => T * v));
      const e = x.map((v) => Math.exp(T * v - m));
      const s = e.reduce((a, b) => a + b, 0);
      return e.map((v) => v / s);
    };
    const w = Float64Array.from({ length: 5 }, () => rand() - 0.5);
    const loss = (x: Float64Array) => soft(x).reduce((s, v, i) => s + v * w[i]!, 0);
    expect(fdCheck(loss, logits, softmaxBackward(soft(logits), T, w))).toBeLessThan(1e-3);
  });
});
