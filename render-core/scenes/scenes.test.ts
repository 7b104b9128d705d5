import { describe, expect, it } from "vitest";
import { checkSplatCloud } from "../splats/splat-cloud";
import { randomCloud } from "./random-cloud";
import { splatHead } from "./splat-head";

describe("generated scenes", () => {
  it("make the same random cloud for the same seed and a different one for another", () => {
    const a = randomCloud(3, 500, { shDegree: 2 });
    const b = randomCloud(3, 500, { shDegree: 2 });
    checkSplatCloud(a);
    expect(Array.from(a.positions)).toEqual(Array.from(b.positions));
    expect(Array.from(a.shRest)).toEqual(Array.from(b.shRest));
    expect(Array.from(randomCloud(4, 500).positions)).not.toEqual(Array.from(a.positions));
  });

  it("make a head-sized, finite, deterministic splat head", () => {
    const head = splatHead(7, 20_000);
    checkSplatCloud(head);
    expect(head.count).toBe(20_000);
    const lo = [Infinity, Infinity, Infinity], hi = [-Infinity, -Infinity, -Infinity];
    for (let i = 0; i < head.count * 3; i++) {
      expect(Number.isFinite(head.positions[i]!)).toBe(true);
      lo[i % 3] = Math.min(lo[i % 3]!, head.positions[i]!);
      hi[i % 3] = Math.max(hi[i % 3]!, head.positions[i]!);
    }
    // About 0.2 m tall with the neck and hair, 0.15-0.2 m wide and deep: a human head in metres.
    expect(hi[1]! - lo[1]!).toBeGreaterThan(0.2);
    expect(hi[1]! - lo[1]!).toBeLessThan(0.4);
    expect(hi[0]! - lo[0]!).toBeGreaterThan(0.12);
    expect(hi[0]! - lo[0]!).toBeLessThan(0.25);
    expect(head.opacities.every((o) => o > 0.8 && o <= 1)).toBe(true);
    expect(Array.from(splatHead(7, 20_000).colors)).toEqual(Array.from(head.colors));
  });
});
