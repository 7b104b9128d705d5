import { describe, expect, it } from "vitest";
import { gaussian, mulberry32 } from "../math/prng";
import { OneEuroFilter, createSampleFilter } from "./one-euro";

const std = (xs: number[]) => {
  const m = xs.reduce((s, x) => s + x, 0) / xs.length;
  return Math.sqrt(xs.reduce((s, x) => s + (x - m) ** 2, 0) / xs.length);
};

describe("OneEuroFilter", () => {
  it("passes a constant exactly, at any sampling", () => {
    const f = new OneEuroFilter(3, { minCutoff: 1, beta: 2 });
    const c = Float32Array.of(0.3, -1.7, 123.456);
    let t = 0;
    const rand = mulberry32(1);
    for (let k = 0; k < 200; k++) {
      t += 0.005 + 0.1 * rand();
      expect(Array.from(f.filter(c, t))).toEqual(Array.from(c));
    }
  });

  it("lags a step with the time constant 1 / (2 pi minCutoff) when beta is 0", () => {
    const fc = 1,
      dt = 1 / 120,
      tau = 1 / (2 * Math.PI * fc);
    const f = new OneEuroFilter(1, { minCutoff: fc });
    f.filter([0], 0);
    let y = 0;
    const n = Math.round(tau / dt); // 19 samples = 0.158 s
    for (let k = 1; k <= n; k++) y = f.filter([1], k * dt)[0];
    // Exactly the discrete exponential smoother, and close to 1 - e^-1 at t = tau.
    expect(y).toBeCloseTo(1 - (tau / (tau + dt)) ** n, 6);
    expect(Math.abs(y - (1 - Math.exp(-(n * dt) / tau)))).toBeLessThan(0.015);
    expect(Math.abs(y - (1 - Math.exp(-1)))).toBeLessThan(0.02);
    console.log(`one-euro: step after tau = ${(n * dt).toFixed(3)} s: ${y.toFixed(4)} (1 - 1/e = 0.6321)`);
  });

  it("reduces the jitter of a noisy constant and follows a ramp with less lag as beta grows", () => {
    const fps = 30,
      sigma = 0.05,
      n = 900;
    const noise = gaussian(mulberry32(2));
    const measure = (beta: number) => {
      const f = new OneEuroFilter(1, { minCutoff: 1, beta, dCutoff: 1 });
      const raw: number[] = [],
        out: number[] = [];
      for (let k = 0; k < n; k++) {
        const x = 0.5 + sigma * noise();
        raw.push(x);
        out.push(f.filter([x], k / fps)[0]);
      }
      // Steady state only (after 1 s).
      const jitter = std(out.slice(fps)) / std(raw.slice(fps));
      // A clean ramp of 1 unit / s: its steady lag.
      const g = new OneEuroFilter(1, { minCutoff: 1, beta, dCutoff: 1 });
      let y = 0;
      for (let k = 0; k <= 3 * fps; k++) y = g.filter([k / fps], k / fps)[0];
      const lag = 3 - y;
      return { jitter, lag };
    };
    const plain = measure(0),
      fast = measure(1);
    console.log(
      `one-euro at 30 fps, minCutoff 1 Hz: jitter kept ${plain.jitter.toFixed(3)} (beta 0), ${fast.jitter.toFixed(3)} (beta 1); ramp lag ${plain.lag.toFixed(4)} s (beta 0), ${fast.lag.toFixed(4)} s (beta 1)`,
    );
    // beta 0: the exponential smoother's theory, sqrt(alpha / (2 - alpha)) of the noise and a lag of tau.
    const a = OneEuroFilter.alpha(1, 1 / fps);
    expect(plain.jitter).toBeCloseTo(Math.sqrt(a / (2 - a)), 1);
    expect(plain.jitter).toBeLessThan(0.35);
    expect(plain.lag).toBeCloseTo(1 / (2 * Math.PI), 3);
    // beta 1: the ramp (speed 1) raises the cutoff to about 2 Hz, halving the lag; jitter is still cut by 2.5x or more.
    expect(fast.lag).toBeLessThan(0.6 * plain.lag);
    expect(fast.lag).toBeCloseTo(1 / (2 * Math.PI * 2), 2);
    expect(fast.jitter).toBeLessThan(0.4);
  });

  it("restarts when time goes backwards, holds on a repeated time, refuses bad input", () => {
    const f = new OneEuroFilter(2);
    f.filter([0, 0], 1);
    const a = f.filter([1, 1], 1.1)[0];
    expect(f.filter([5, 5], 1.1)[0]).toBe(a);
    expect(Array.from(f.filter([3, 4], 0.5))).toEqual([3, 4]);
    expect(() => f.filter([1], 2)).toThrow(/2/);
    expect(() => f.filter([NaN, 1], 2)).toThrow(/NaN/);
    expect(() => new OneEuroFilter(2, { minCutoff: 0 })).toThrow(/minCutoff/);
  });
});

describe("createSampleFilter", () => {
  it("smooths expression, pose and translation together and keeps their shapes", () => {
    const f = createSampleFilter(24, { minCutoff: 1 });
    const zero = { expression: new Float32Array(24), pose: new Float32Array(15), translation: new Float32Array(3) };
    f.filter(zero, 0);
    const step = {
      expression: new Float32Array(24).fill(1),
      pose: new Float32Array(15).fill(0.2),
      translation: new Float32Array(3).fill(0.01),
    };
    const y = f.filter(step, 1 / 30);
    const a = OneEuroFilter.alpha(1, 1 / 30);
    expect(y.expression.length).toBe(24);
    expect(y.pose.length).toBe(15);
    expect(y.translation.length).toBe(3);
    expect(y.expression[5]).toBeCloseTo(a, 6);
    expect(y.pose[6]).toBeCloseTo(0.2 * a, 6);
    expect(y.translation[2]).toBeCloseTo(0.01 * a, 6);
  });
});
