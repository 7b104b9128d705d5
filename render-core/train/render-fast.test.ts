import { describe, expect, it } from "vitest";
import { createSplatCloud } from "../splats/splat-cloud";
import { orbitCamera } from "../math/camera";
import { mulberry32 } from "../math/prng";
import { renderCpu } from "../raster/render.cpu";
import { renderRgbFast } from "./render-fast";

function cloud(n: number, seed: number) {
  const rand = mulberry32(seed);
  const c = createSplatCloud(n);
  for (let i = 0; i < n; i++) {
    c.positions.set([rand() - 0.5, rand() - 0.5, rand() - 0.5], i * 3);
    const s = 0.005 + 0.04 * rand();
    c.scales.set([s, s * (0.2 + rand()), s * 0.7], i * 3);
    const q = [rand() - 0.5, rand() - 0.5, rand() - 0.5, rand() - 0.5];
    const l = Math.hypot(...q);
    c.rotations.set(
      q.map((v) => v / l),
      i * 4,
    );
    c.colors.set([rand(), rand(), 1.3 * rand()], i * 3);
    c.opacities[i] = rand();
  }
  return c;
}

describe("renderRgbFast", () => {
  it("renders the reference renderer's image (renderCpu) within 1e-5, background and all", () => {
    const c = cloud(2500, 3);
    for (const [w, h, yaw] of [
      [120, 90, 25],
      [37, 61, -140], // a size that is not a whole number of tiles, and splats behind the camera's side
    ] as const) {
      const camera = orbitCamera({ width: w, height: h, distance: 2, yawDeg: yaw });
      const want = renderCpu(c, camera, { background: [0.2, 0.4, 0.6] }).rgb;
      const got = renderRgbFast(c, camera, { background: [0.2, 0.4, 0.6] });
      expect(got.length).toBe(want.length);
      let max = 0;
      for (let i = 0; i < want.length; i++) max = Math.max(max, Math.abs(got[i]! - want[i]!));
      expect(max).toBeLessThan(1e-5);
      // Something was drawn over the background.
      expect(want.some((v, i) => Math.abs(v - [0.2, 0.4, 0.6][i % 3]!) > 0.2)).toBe(true);
    }
  });

  it("draws a band of tile rows exactly as the whole image has it, and nothing else", () => {
    const c = cloud(2500, 5);
    const camera = orbitCamera({ width: 50, height: 70, distance: 2, yawDeg: 40 }); // 5 rows of tiles, the last short
    const whole = renderRgbFast(c, camera, { background: [0.2, 0.4, 0.6] });
    const row = 16 * 50 * 3;
    for (const [from, to] of [
      [0, 3],
      [3, 5],
      [2, 3],
    ] as const) {
      const band = renderRgbFast(c, camera, { background: [0.2, 0.4, 0.6] }, undefined, [from, to]);
      const inside = band.subarray(from * row, Math.min(to * row, band.length));
      expect(Array.from(inside)).toEqual(Array.from(whole.subarray(from * row, Math.min(to * row, whole.length))));
      expect(band.subarray(0, from * row).every((v) => v === 0)).toBe(true);
      expect(band.subarray(to * row).every((v) => v === 0)).toBe(true);
    }
    for (const bad of [
      [3, 3],
      [4, 6],
      [-1, 2],
    ] as const)
      expect(() => renderRgbFast(c, camera, {}, undefined, bad)).toThrow(/tile rows .* are not a band of the 5 rows/);
  });

  it("refuses a cloud with view-dependent colour, naming its degree", () => {
    const c = { ...cloud(4, 1), shDegree: 1 as const, shRest: new Float32Array(4 * 3 * 3) };
    expect(() => renderRgbFast(c, orbitCamera({ width: 8, height: 8, distance: 2 }))).toThrow(
      /^renderRgbFast: draws degree-0 colour only, the cloud has SH degree 1/,
    );
  });
});
