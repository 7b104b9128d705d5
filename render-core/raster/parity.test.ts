/**
 * GPU vs CPU twin: projection stage and whole images (ARCHITECTURE: PSNR >= 40 dB).
 */
import { afterAll, describe, expect, it } from "vitest";
import { getTestGpu } from "../../server/gpu/test-gpu";
import { Readback } from "../gpu/readback";
import { createSplatCloud, type SplatCloud } from "../splats/splat-cloud";
import type { Camera } from "../math/camera";
import type { RenderOptions } from "./camera";
import { createProjectedSplats } from "./projected";
import { readProjected } from "./project";
import { GpuSplatRenderer } from "./renderer";
import { projectFwd as projectCpu } from "./project.cpu";
import { renderCpu } from "./render.cpu";
import { splatHead } from "../scenes/splat-head";
import { orbitCamera } from "../math/camera";
import { psnr } from "../math/image-metrics";

const { gpu, skipReason } = await getTestGpu();
afterAll(() => gpu?.destroy());
const debug = { fillGarbage: true, checkFinite: true };

/** A seeded blob of splats around (0, 0, 4) with SH of the given degree. */
function blob(n: number, seed: number, shDegree: 0 | 1 | 2 | 3 = 0): SplatCloud {
  const c = createSplatCloud(n, shDegree);
  let s = seed >>> 0;
  const rnd = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
  const sc = 0.5 / Math.cbrt(n);
  for (let i = 0; i < n; i++) {
    c.positions.set([(rnd() - 0.5) * 2.4, (rnd() - 0.5) * 2.4, 4 + (rnd() - 0.5) * 2], i * 3);
    c.scales.set([sc * (0.3 + 2 * rnd()), sc * (0.3 + 2 * rnd()), sc * (0.3 + 2 * rnd())], i * 3);
    const q = [rnd() - 0.5, rnd() - 0.5, rnd() - 0.5, rnd() - 0.5];
    const l = Math.hypot(...q);
    c.rotations.set(
      q.map((v) => v / l),
      i * 4,
    );
    c.colors.set([rnd(), rnd(), rnd()], i * 3);
    c.opacities[i] = 0.1 + 0.9 * rnd();
  }
  for (let i = 0; i < c.shRest.length; i++) c.shRest[i] = (rnd() - 0.5) * 0.3;
  return c;
}

function camera(size: number, yaw = 0): Camera {
  // Rotate about y around the blob centre (0, 0, 4).
  const c = Math.cos(yaw);
  const s = Math.sin(yaw);
  // R = rotY(yaw); t chosen so the blob centre stays at camera (0, 0, 4).
  const R = [c, 0, s, 0, 1, 0, -s, 0, c];
  const t = [-R[2] * 4, -R[5] * 4, 4 - R[8] * 4];
  return {
    width: size,
    height: size,
    fx: size * 0.9,
    fy: size * 0.9,
    cx: size / 2 + 0.3,
    cy: size / 2 - 0.2,
    near: 0.01,
    far: 100,
    worldToCamera: new Float32Array([
      R[0],
      R[1],
      R[2],
      t[0],
      R[3],
      R[4],
      R[5],
      t[1],
      R[6],
      R[7],
      R[8],
      t[2],
      0,
      0,
      0,
      1,
    ]),
  };
}

describe("GPU renderer vs CPU twin", () => {
  it("projectFwd matches the CPU twin to 1e-4 relative on visible splats", async (ctx) => {
    if (!gpu) return ctx.skip(skipReason!);
    const cloud = blob(3000, 11, 3);
    const cam = camera(96, 0.3);
    const r = new GpuSplatRenderer(gpu.device, { debug });
    r.setCloud(cloud);
    await r.render(cam);
    const o = r.outputs;
    const n = cloud.count;
    const [s2d, radii, touched] = await new Readback(gpu.device).read([
      { buffer: o.splats2d, bytes: n * 48 },
      { buffer: o.radii, bytes: n * 4 },
      { buffer: o.tilesTouched, bytes: n * 4 },
    ]);
    const got = readProjected(n, new Float32Array(s2d), new Int32Array(radii), new Uint32Array(touched));
    const want = createProjectedSplats(n);
    projectCpu(cloud, cam, want);
    // f32 (GPU) vs f64 (CPU) arithmetic: a few ulps per op over ~50 ops of
    // well-conditioned maths stays far below 1e-4 relative; |x| < 1e-3 is compared absolutely.
    const close = (a: number, b: number) => Math.abs(a - b) <= 1e-4 * Math.max(Math.abs(b), 1e-3);
    let radiusMismatch = 0;
    for (let i = 0; i < n; i++) {
      if (got.radii[i] !== want.radii[i]) {
        radiusMismatch++;
        continue;
      }
      if (want.radii[i] === 0) continue;
      for (const [g, w, k] of [
        [got.means2d, want.means2d, 2],
        [got.conics, want.conics, 3],
        [got.colors, want.colors, 3],
        [got.depths, want.depths, 1],
        [got.opacities, want.opacities, 1],
      ] as const) {
        // A conic entry's error scales with the whole conic (b near 0 inherits the
        // rounding of a and c), so conics compare against their largest entry.
        const scale =
          k === 3 && g === got.conics
            ? Math.max(Math.abs(w[i * 3]), Math.abs(w[i * 3 + 1]), Math.abs(w[i * 3 + 2]))
            : 0;
        for (let j = 0; j < k; j++) {
          const ok =
            scale > 0 ? Math.abs(g[i * k + j] - w[i * k + j]) <= 1e-4 * scale : close(g[i * k + j], w[i * k + j]);
          expect(ok, `splat ${i} component ${j}: ${g[i * k + j]} vs ${w[i * k + j]}`).toBe(true);
        }
      }
      expect(got.tilesTouched[i]).toBe(want.tilesTouched[i]);
    }
    // A radius is a ceil(): f32 rounding can flip it when 3 sigma lands within ~1e-6 of an integer.
    expect(radiusMismatch).toBeLessThanOrEqual(Math.ceil(n * 1e-3));
    r.destroy();
  });

  const scenes: Array<[string, () => SplatCloud, number, number]> = [
    ["2k splats, SH 0, 64 px", () => blob(2000, 1, 0), 64, 0],
    ["5k splats, SH 1, 96 px", () => blob(5000, 2, 1), 96, 0.4],
    ["10k splats, SH 3, 128 px", () => blob(10000, 3, 3), 128, -0.5],
  ];
  for (const [name, make, size, yaw] of scenes) {
    it(`renders a random scene (${name}) within 40 dB PSNR of renderCpu`, async (ctx) => {
      if (!gpu) return ctx.skip(skipReason!);
      const cloud = make();
      const cam = camera(size, yaw);
      const opts: RenderOptions = { background: [0.2, 0.3, 0.4] };
      const r = new GpuSplatRenderer(gpu.device, { debug });
      r.setCloud(cloud);
      const g = await r.render(cam, opts);
      const c = renderCpu(cloud, cam, opts);
      // The contract's bar (ARCHITECTURE.md): the two back ends differ only by f32 vs f64 rounding and exp().
      expect(psnr(g.rgb, c.rgb)).toBeGreaterThanOrEqual(40);
      expect(psnr(g.alpha, c.alpha)).toBeGreaterThanOrEqual(40);
      r.destroy();
    });
  }

  it("renders the splat head within 40 dB PSNR of renderCpu", async (ctx) => {
    if (!gpu) return ctx.skip(skipReason!);
    const cloud = splatHead(1, 8000);
    const cam = orbitCamera({ width: 96, height: 96, distance: 0.7, yawDeg: 25, pitchDeg: 10 });
    const r = new GpuSplatRenderer(gpu.device, { debug });
    r.setCloud(cloud);
    const g = await r.render(cam);
    const c = renderCpu(cloud, cam);
    // The head fills a good part of the frame: the comparison is not of two empty images.
    expect(c.alpha.filter((a) => a > 0.9).length).toBeGreaterThan(96 * 96 * 0.2);
    expect(psnr(g.rgb, c.rgb)).toBeGreaterThanOrEqual(40);
    r.destroy();
  });

  it("agrees with renderCpu on an empty scene and on splats behind the camera", async (ctx) => {
    if (!gpu) return ctx.skip(skipReason!);
    const behind = blob(500, 4);
    for (let i = 0; i < behind.count; i++) behind.positions[i * 3 + 2] = -4;
    const r = new GpuSplatRenderer(gpu.device, { debug });
    for (const cloud of [createSplatCloud(0), behind]) {
      r.setCloud(cloud);
      const g = await r.render(camera(48), { background: [1, 0, 0] });
      const c = renderCpu(cloud, camera(48), { background: [1, 0, 0] });
      // Nothing is drawn: both must be exactly the background.
      expect(g.rgb).toEqual(c.rgb);
      expect(g.alpha).toEqual(c.alpha);
    }
    r.destroy();
  });
});
