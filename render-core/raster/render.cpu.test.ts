import { describe, expect, it } from "vitest";
import { createSplatCloud, type SplatCloud } from "../splats/splat-cloud";
import { orbitCamera } from "../math/camera";
import type { Camera } from "../math/camera";
import { RASTER } from "./config";
import { createProjectedSplats } from "./projected";
import { projectFwd } from "./project.cpu";
import { CpuSplatRenderer, renderCpu } from "./render.cpu";

/** A 64x64 camera at the origin looking down +z (identity world-to-camera). */
function frontCamera(size = 64, f = 64): Camera {
  const m = new Float32Array(16);
  m[0] = m[5] = m[10] = m[15] = 1;
  return {
    width: size,
    height: size,
    fx: f,
    fy: f,
    cx: size / 2,
    cy: size / 2,
    worldToCamera: m,
    near: 0.01,
    far: 100,
  };
}

function cloudOf(
  splats: Array<{
    p: [number, number, number];
    s: number | [number, number, number];
    o: number;
    c: [number, number, number];
  }>,
): SplatCloud {
  const cloud = createSplatCloud(splats.length);
  splats.forEach((sp, i) => {
    cloud.positions.set(sp.p, i * 3);
    cloud.scales.set(typeof sp.s === "number" ? [sp.s, sp.s, sp.s] : sp.s, i * 3);
    cloud.opacities[i] = sp.o;
    cloud.colors.set(sp.c, i * 3);
  });
  return cloud;
}

const px = (img: { rgb: Float32Array; width: number }, x: number, y: number) =>
  Array.from(img.rgb.subarray((y * img.width + x) * 3, (y * img.width + x) * 3 + 3));

describe("CPU rasteriser", () => {
  it("draws one isotropic Gaussian with the expected peak, 1-sigma value and radius", () => {
    const cam = frontCamera();
    const z = 2,
      s = 0.1,
      op = 0.8;
    // Centre exactly on the centre of pixel (32, 32): u = 32.5.
    const cloud = cloudOf([{ p: [(0.5 * z) / cam.fx, (0.5 * z) / cam.fy, z], s, o: op, c: [1, 0.5, 0.25] }]);
    const img = renderCpu(cloud, cam, { background: [0, 0, 0] });
    // Peak: alpha = opacity there (power 0), colour weighted by it.
    expect(px(img, 32, 32)[0]).toBeCloseTo(op * 1, 5);
    expect(px(img, 32, 32)[2]).toBeCloseTo(op * 0.25, 5);
    // Screen variance = (f s / z)^2 + low-pass; at 1 sigma along x: opacity * exp(-1/2).
    const variance = ((cam.fx * s) / z) ** 2 + RASTER.LOWPASS;
    const sigma = Math.sqrt(variance);
    const dx = Math.round(sigma);
    const expected = op * Math.exp((-0.5 * dx * dx) / variance);
    expect(px(img, 32 + dx, 32)[0]).toBeCloseTo(expected, 4);
    const projected = createProjectedSplats(1);
    projectFwd(cloud, cam, projected);
    // 3DGS's radius: 3 sqrt(mid + sqrt(max(0.1, mid^2 - det))); isotropic: mid^2 = det.
    expect(projected.radii[0]).toBe(Math.ceil(3 * Math.sqrt(variance + Math.sqrt(0.1))));
    expect(img.alpha[32 * 64 + 32]).toBeCloseTo(op, 5);
    expect(img.depth[32 * 64 + 32]).toBeCloseTo(z, 4);
  });

  it("composites the nearer of two overlapping splats in front, whatever their array order", () => {
    const cam = frontCamera();
    const near = {
      p: [0, 0, 2] as [number, number, number],
      s: 0.2,
      o: 0.99,
      c: [1, 0, 0] as [number, number, number],
    };
    const far = { p: [0, 0, 3] as [number, number, number], s: 0.3, o: 0.99, c: [0, 0, 1] as [number, number, number] };
    for (const order of [
      [near, far],
      [far, near],
    ]) {
      const img = renderCpu(cloudOf(order), cam);
      const [r, , b] = px(img, 32, 32);
      expect(r).toBeGreaterThan(0.98);
      expect(b).toBeLessThan(0.02);
    }
  });

  it("shows nothing for splats behind the camera, beyond far, or with zero opacity", () => {
    const cam = frontCamera();
    const cloud = cloudOf([
      { p: [0, 0, -2], s: 0.5, o: 1, c: [1, 1, 1] },
      { p: [0, 0, 200], s: 50, o: 1, c: [1, 1, 1] },
      { p: [0, 0, 2], s: 0.3, o: 0, c: [1, 1, 1] },
    ]);
    const img = renderCpu(cloud, cam, { background: [0.1, 0.2, 0.3] });
    for (let i = 0; i < 64 * 64; i++) {
      expect(img.alpha[i]).toBe(0);
      expect(img.rgb[i * 3 + 2]).toBeCloseTo(0.3, 6);
    }
  });

  it("renders an empty scene as the background", () => {
    const img = renderCpu(createSplatCloud(0), frontCamera(40), { background: [0.25, 0.5, 1] });
    expect(img.width).toBe(40);
    expect(Array.from(new Set(img.rgb.filter((_, i) => i % 3 === 1)))).toEqual([0.5]);
    expect(img.alpha.every((a) => a === 0)).toBe(true);
  });

  it("renders a huge splat seamlessly across tile borders: every pixel equals the analytic Gaussian", () => {
    const cam = frontCamera(96);
    const z = 2,
      s = 1.5,
      op = 0.6;
    const img = renderCpu(cloudOf([{ p: [0, 0, z], s, o: op, c: [0, 1, 0] }]), cam);
    const variance = ((cam.fx * s) / z) ** 2 + RASTER.LOWPASS;
    let worst = 0;
    for (let y = 0; y < 96; y++) {
      for (let x = 0; x < 96; x++) {
        const dx = x + 0.5 - cam.cx,
          dy = y + 0.5 - cam.cy;
        const want = op * Math.exp((-0.5 * (dx * dx + dy * dy)) / variance);
        worst = Math.max(worst, Math.abs(px(img, x, y)[1]! - want));
      }
    }
    // float32 storage of conic and output: ~1e-7 relative; 1e-5 leaves room, a seam would be >> 1e-3.
    expect(worst).toBeLessThan(1e-5);
    // It reaches the corner tiles too (0.6 exp(-0.5 (67 px / 48 px)^2) = 0.225).
    expect(px(img, 0, 0)[1]).toBeGreaterThan(0.2);
  });

  it("clamps a splat's alpha at 0.99 and stops compositing below transmittance 1e-4", () => {
    const cam = frontCamera();
    const one = renderCpu(cloudOf([{ p: [0, 0, 2], s: 0.3, o: 1, c: [1, 1, 1] }]), cam);
    expect(one.alpha[32 * 64 + 32]).toBeCloseTo(RASTER.ALPHA_MAX, 6);
    // Two opaque layers reach T = 1e-4 exactly: the second would take T below T_MIN... 0.01 * 0.01 = 1e-4 is not below.
    const layers = Array.from({ length: 4 }, (_, k) => ({
      p: [0, 0, 2 + k] as [number, number, number],
      s: 0.5 + k * 0.2,
      o: 1,
      c: [k === 3 ? 1 : 0, 0, 0] as [number, number, number],
    }));
    const stack = new CpuSplatRenderer().renderFrame(cloudOf(layers), cam);
    // T after 2 layers = 1e-4; the third would give 1e-6 < T_MIN: compositing stops, the red fourth never counts.
    expect(stack.image.rgb[(32 * 64 + 32) * 3]).toBe(0);
    expect(stack.lastIsect[32 * 64 + 32]! - stack.bins.tileRanges[(2 * 4 + 2) * 2]!).toBe(2);
  });

  it("changes colour with the view direction for SH degree 1", () => {
    const cloud = createSplatCloud(1, 1);
    cloud.positions.set([0, 0, 0]);
    cloud.scales.set([0.05, 0.05, 0.05]);
    cloud.opacities[0] = 1;
    cloud.colors.set([0.5, 0.5, 0.5]);
    // Red gains basis(2) * coefficient = (-C1 d.x) * (-1) = C1 d.x, d = unit camera-to-splat direction.
    cloud.shRest.set([0, 0, 0, 0, 0, 0, -1, 0, 0]);
    const left = renderCpu(cloud, orbitCamera({ width: 32, height: 32, distance: 1, yawDeg: -60 }));
    const right = renderCpu(cloud, orbitCamera({ width: 32, height: 32, distance: 1, yawDeg: 60 }));
    const r = (img: typeof left) => img.rgb[(16 * 32 + 16) * 3]!;
    // Camera at yaw -60 sits on -x: d.x = +sin 60, red = 0.5 + 0.42; at yaw +60 it is 0.5 - 0.42.
    expect(r(left)).toBeGreaterThan(r(right) + 0.6);
    expect(Math.abs(left.rgb[(16 * 32 + 16) * 3 + 1]! - right.rgb[(16 * 32 + 16) * 3 + 1]!)).toBeLessThan(1e-6);
  });

  it("refuses a camera of impossible size and a malformed cloud", () => {
    expect(() => renderCpu(createSplatCloud(1), { ...frontCamera(), width: 0 })).toThrow(/camera size/);
    const bad = createSplatCloud(2);
    bad.positions = new Float32Array(3);
    expect(() => renderCpu(bad, frontCamera())).toThrow(/positions must be a Float32Array of length 6/);
  });
});
