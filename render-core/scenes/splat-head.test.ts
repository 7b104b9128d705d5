import { describe, expect, it } from "vitest";
import { checkSplatCloud } from "../splats/splat-cloud";
import { frameQuat, splatHead } from "./splat-head";
import { mulberry32 } from "../math/prng";

/** Rotates v by the unit quaternion q = (w, x, y, z). */
function rotate(q: Float32Array, v: [number, number, number]): [number, number, number] {
  const [w, x, y, z] = [q[0]!, q[1]!, q[2]!, q[3]!];
  const r = [
    [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
    [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
    [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)],
  ];
  return r.map((row) => row[0]! * v[0] + row[1]! * v[1] + row[2]! * v[2]) as [number, number, number];
}

describe("splatHead", () => {
  const head = splatHead(7, 20_000);

  it("is deterministic for a seed, with the requested count and finite values", () => {
    checkSplatCloud(head);
    expect(head.count).toBe(20_000);
    const again = splatHead(7, 20_000);
    expect(Array.from(again.positions)).toEqual(Array.from(head.positions));
    expect(Array.from(again.colors)).toEqual(Array.from(head.colors));
    expect(Array.from(splatHead(8, 20_000).positions)).not.toEqual(Array.from(head.positions));
    for (const arr of [head.positions, head.scales, head.rotations, head.opacities, head.colors]) {
      expect(arr.every((v) => Number.isFinite(v))).toBe(true);
    }
    expect(head.opacities.every((o) => o > 0.9 && o <= 1)).toBe(true);
    expect(head.colors.every((v) => v >= 0 && v <= 1)).toBe(true);
  });

  it("has the bounding box of a human head with a short neck, in metres", () => {
    const lo = [Infinity, Infinity, Infinity],
      hi = [-Infinity, -Infinity, -Infinity];
    for (let i = 0; i < head.count * 3; i++) {
      lo[i % 3] = Math.min(lo[i % 3]!, head.positions[i]!);
      hi[i % 3] = Math.max(hi[i % 3]!, head.positions[i]!);
    }
    // Crown about 0.12 (plus hair), neck cut at -0.16; ear to ear about 0.17; nose tip to back about 0.22.
    expect(hi[1]).toBeGreaterThan(0.11);
    expect(hi[1]).toBeLessThan(0.14);
    expect(lo[1]).toBeGreaterThan(-0.165);
    expect(hi[0]! - lo[0]!).toBeGreaterThan(0.15);
    expect(hi[0]! - lo[0]!).toBeLessThan(0.2);
    expect(hi[2]! - lo[2]!).toBeGreaterThan(0.19);
    expect(hi[2]! - lo[2]!).toBeLessThan(0.25);
  });

  it("puts dark hair on the crown and lighter skin on the face", () => {
    let crown = 0,
      crownDark = 0,
      face = 0,
      faceSkin = 0;
    for (let i = 0; i < head.count; i++) {
      const [x, y, z] = [head.positions[i * 3]!, head.positions[i * 3 + 1]!, head.positions[i * 3 + 2]!];
      const lum = (head.colors[i * 3]! + head.colors[i * 3 + 1]! + head.colors[i * 3 + 2]!) / 3;
      if (y > 0.1) {
        crown++;
        if (lum < 0.25) crownDark++;
      }
      // Cheeks, below the eyes and beside the nose.
      if (z > 0.06 && y < -0.015 && y > -0.04 && Math.abs(x) > 0.03 && Math.abs(x) < 0.05) {
        face++;
        if (head.colors[i * 3]! > 0.45) faceSkin++;
      }
    }
    expect(crownDark / crown).toBeGreaterThan(0.95);
    expect(faceSkin / face).toBeGreaterThan(0.95);
  });

  it("orients each splat's local z along the surface normal it is given", () => {
    const rand = mulberry32(3);
    const q = new Float32Array(4);
    for (let i = 0; i < 2000; i++) {
      let n: [number, number, number] = [rand() - 0.5, rand() - 0.5, rand() - 0.5];
      if (i < 3)
        n = (
          [
            [0, 1, 0],
            [0, -1, 0],
            [0, 0, -1],
          ] as const
        )[i]!.slice() as [number, number, number];
      const l = Math.hypot(...n);
      n = [n[0] / l, n[1] / l, n[2] / l];
      frameQuat(n[0], n[1], n[2], rand() * 6, q, 0);
      const z = rotate(q, [0, 0, 1]);
      // float32 quaternion: about 1e-7 per component.
      expect(Math.hypot(z[0] - n[0], z[1] - n[1], z[2] - n[2])).toBeLessThan(1e-6);
    }
  });

  it("refuses a bad count", () => {
    expect(() => splatHead(1, 0)).toThrow(/^splatHead: n must be a positive whole number, got 0/);
  });
});
