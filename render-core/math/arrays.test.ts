import { describe, expect, it } from "vitest";
import { percentile } from "./arrays";

describe("percentile", () => {
  it("takes the nearest rank from below, whatever the order, and NaN for nothing", () => {
    const xs = [50, 10, 40, 20, 30, 100, 90, 60, 80, 70];
    expect(percentile(xs, 50)).toBe(60);
    expect(percentile(xs, 95)).toBe(100);
    expect(percentile(xs, 0)).toBe(10);
    expect(percentile(xs, 100)).toBe(100);
    expect(xs[0]).toBe(50); // the input is not sorted in place
    expect(percentile([], 50)).toBeNaN();
  });
});
