import { afterAll, describe, expect, it } from "vitest";
import { getTestGpu } from "../../server/gpu/test-gpu";
import { rasterizeBackwardGpu } from "./raster-grad-gpu";
import { rasterizeBackward, rasterizeTrain } from "./raster-grad";
import { createSplatCloud } from "../splats/splat-cloud";
import { createProjectedSplats } from "../raster/projected";
import { projectFwd } from "../raster/project.cpu";
import { GpuSplatRenderer } from "../raster/renderer";
import type { Camera } from "../math/camera";
import { mulberry32 } from "../math/prng";

const { gpu, skipReason } = await getTestGpu();
afterAll(() => gpu?.destroy());

describe("rasteriser backward: WGSL agrees with the CPU twin", () => {
  it("gives the same gradients for centres, conics, colours and opacities", async (ctx) => {
    if (!gpu) return ctx.skip(skipReason!);
    const n = 60,
      W = 48,
      H = 40;
    const rand = mulberry32(21);
    const cloud = createSplatCloud(n);
    for (let i = 0; i < n; i++) {
      cloud.positions.set([rand() - 0.5, rand() - 0.5, 3 + rand()], i * 3);
      cloud.scales.set([0.03 + 0.05 * rand(), 0.03 + 0.05 * rand(), 0.03], i * 3);
      cloud.rotations.set([1, rand() - 0.5, rand() - 0.5, rand() - 0.5], i * 4);
      cloud.opacities[i] = 0.2 + 0.7 * rand();
      cloud.colors.set([rand(), rand(), rand()], i * 3);
    }
    const camera: Camera = {
      width: W,
      height: H,
      fx: 50,
      fy: 50,
      cx: 24,
      cy: 20,
      worldToCamera: new Float32Array([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]),
      near: 0.01,
      far: 100,
    };
    const bg: [number, number, number] = [0.1, 0.2, 0.3];
    const dRgb = new Float32Array(W * H * 3).map(() => rand() - 0.5);
    const dAlpha = new Float32Array(W * H).map(() => rand() - 0.5);

    const renderer = new GpuSplatRenderer(gpu.device);
    renderer.setCloud(cloud);
    await renderer.render(camera, { background: bg });
    const got = await rasterizeBackwardGpu(renderer, n, camera, bg, dRgb, dAlpha);
    renderer.destroy();

    const projected = createProjectedSplats(n);
    projectFwd(cloud, camera, projected);
    const fwd = rasterizeTrain(projected, W, H, bg);
    const want = rasterizeBackward(projected, bg, fwd.tape, dRgb, dAlpha);
    for (const key of ["means2d", "conics", "colors", "opacities"] as const) {
      const scale = want[key].reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      let worst = 0;
      for (let i = 0; i < want[key].length; i++)
        worst = Math.max(worst, Math.abs(got[key][i]! - want[key][i]!) / scale);
      expect(worst, key).toBeLessThan(2e-3);
      expect(scale, key).toBeGreaterThan(1e-4);
    }
  });
});
