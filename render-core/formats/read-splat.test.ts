import { describe, expect, it } from "vitest";
import { randomCloud } from "../scenes/random-cloud";
import { readSplat } from "./read-splat";
import { writeSplat } from "./write-splat";

function worst(a: Float32Array, b: Float32Array): number {
  let w = 0;
  for (let i = 0; i < a.length; i++) w = Math.max(w, Math.abs(a[i]! - b[i]!));
  return w;
}

describe("readSplat and writeSplat", () => {
  it("round-trip within the format's 8-bit quantisation", () => {
    const c = randomCloud(2, 200);
    const bytes = writeSplat(c);
    expect(bytes.length).toBe(200 * 32);
    const back = readSplat(bytes);
    // float32 fields are stored as is.
    expect(worst(back.positions, c.positions)).toBe(0);
    expect(worst(back.scales, c.scales)).toBe(0);
    // 8-bit colour and opacity: at most half a step, 1/510.
    expect(worst(back.colors, c.colors)).toBeLessThanOrEqual(1 / 510 + 1e-7);
    expect(worst(back.opacities, c.opacities)).toBeLessThanOrEqual(1 / 510 + 1e-7);
    // Rotation components: half a step of 1/128 each, renormalised on read;
    // the sign of q is free, but the writer keeps it, so compare directly.
    expect(worst(back.rotations, c.rotations)).toBeLessThan(1 / 100);
    for (let i = 0; i < back.count; i++) {
      const q = back.rotations.subarray(i * 4, i * 4 + 4);
      expect(Math.hypot(q[0]!, q[1]!, q[2]!, q[3]!)).toBeCloseTo(1, 6);
    }
  });

  it("store the rotation as round(q * 128 + 128) clamped, in w x y z order", () => {
    const c = randomCloud(1, 1);
    c.rotations.set([1, 0, 0, 0]);
    expect(Array.from(writeSplat(c).subarray(28, 32))).toEqual([255, 128, 128, 128]);
    c.rotations.set([0.5, -0.5, 0.5, -0.5]);
    expect(Array.from(writeSplat(c).subarray(28, 32))).toEqual([192, 64, 192, 64]);
  });
});

describe("readSplat refuses", () => {
  it("an empty file", () => {
    expect(() => readSplat(new Uint8Array(0))).toThrow(/^readSplat: the file is empty/);
  });

  it("a length that is not a multiple of 32", () => {
    expect(() => readSplat(new Uint8Array(65))).toThrow(/^readSplat: 65 bytes is not a whole number of 32-byte splats/);
  });

  it("a non-finite position or scale, naming the splat", () => {
    const bytes = writeSplat(randomCloud(3, 2));
    new DataView(bytes.buffer).setFloat32(32 + 4, Infinity, true);
    expect(() => readSplat(bytes)).toThrow(/^readSplat: splat 1 has a non-finite position/);
    const b2 = writeSplat(randomCloud(3, 2));
    new DataView(b2.buffer).setFloat32(12, NaN, true);
    expect(() => readSplat(b2)).toThrow(/^readSplat: splat 0 has a non-finite scale/);
  });

  it("a negative scale", () => {
    const bytes = writeSplat(randomCloud(3, 1));
    new DataView(bytes.buffer).setFloat32(16, -0.5, true);
    expect(() => readSplat(bytes)).toThrow(/^readSplat: splat 0 has a negative scale \(-0.5\)/);
  });

  it("a zero rotation", () => {
    const bytes = writeSplat(randomCloud(3, 1));
    bytes.set([128, 128, 128, 128], 28);
    expect(() => readSplat(bytes)).toThrow(/^readSplat: splat 0 has a zero rotation/);
  });

  it("more splats than options.maxSplats", () => {
    expect(() => readSplat(new Uint8Array(32 * 5), { maxSplats: 4 })).toThrow(
      /^readSplat: 5 splats is more than the limit of 4/,
    );
  });
});
