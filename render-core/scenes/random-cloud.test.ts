import { describe, expect, it } from "vitest";
import { checkSplatCloud } from "../splats/splat-cloud";
import { randomCloud } from "./random-cloud";

describe("randomCloud", () => {
  it("makes the same cloud for the same seed and a different one for another", () => {
    const a = randomCloud(3, 500, { shDegree: 2 });
    const b = randomCloud(3, 500, { shDegree: 2 });
    checkSplatCloud(a);
    expect(a.count).toBe(500);
    expect(a.shDegree).toBe(2);
    expect(Array.from(a.positions)).toEqual(Array.from(b.positions));
    expect(Array.from(a.shRest)).toEqual(Array.from(b.shRest));
    expect(Array.from(randomCloud(4, 500).positions)).not.toEqual(Array.from(a.positions));
  });

  it("keeps centres in the box, scales positive, rotations unit and values finite", () => {
    const c = randomCloud(9, 2000, { extent: 2, maxScale: 0.3 });
    expect(c.positions.every((v) => Math.abs(v) <= 2)).toBe(true);
    expect(c.scales.every((v) => v > 0 && v <= 0.3)).toBe(true);
    expect(c.opacities.every((v) => v > 0 && v <= 1)).toBe(true);
    expect(c.colors.every((v) => v >= 0 && v <= 1)).toBe(true);
    for (let i = 0; i < c.count; i++) {
      const q = c.rotations.subarray(i * 4, i * 4 + 4);
      expect(Math.hypot(q[0]!, q[1]!, q[2]!, q[3]!)).toBeCloseTo(1, 5);
    }
  });

  it("fills a ball when asked", () => {
    const c = randomCloud(5, 3000, { shape: "sphere", extent: 1 });
    let far = 0;
    for (let i = 0; i < c.count; i++) {
      const d = Math.hypot(c.positions[i * 3]!, c.positions[i * 3 + 1]!, c.positions[i * 3 + 2]!);
      expect(d).toBeLessThanOrEqual(1);
      if (d > Math.cbrt(0.5)) far++;
    }
    // Uniform in volume: half the points lie beyond radius 0.5^(1/3); 3000 samples give a spread of about 0.01.
    expect(Math.abs(far / c.count - 0.5)).toBeLessThan(0.05);
  });

  it("refuses a bad count", () => {
    expect(() => randomCloud(1, -1)).toThrow(/^randomCloud: n must be a non-negative whole number, got -1/);
  });
});
