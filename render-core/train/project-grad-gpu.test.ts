import { afterAll, describe, expect, it } from "vitest";
import { getTestGpu } from "../../server/gpu/test-gpu";
import { projectBackwardGpu } from "./project-grad-gpu";
import { projectBackward } from "./project-grad";
import { createSplatCloud } from "../splats/splat-cloud";
import { packGaussians } from "../raster/project";
import { createBufferFrom } from "../gpu/buffers";
import { BufferUsage } from "../gpu/flags";
import { orbitCamera } from "../math/camera";
import { mulberry32 } from "../math/prng";

const { gpu, skipReason } = await getTestGpu();
afterAll(() => gpu?.destroy());

describe("projection backward: WGSL agrees with the CPU twin", () => {
  it("gives the same centre, scale and quaternion gradients (clamped centres included)", async (ctx) => {
    if (!gpu) return ctx.skip(skipReason!);
    const n = 50;
    const rand = mulberry32(31);
    const cloud = createSplatCloud(n);
    for (let i = 0; i < n; i++) {
      const far = i % 10 === 0;
      cloud.positions.set([far ? 2.5 : (rand() - 0.5) * 0.6, (rand() - 0.5) * 0.6, (rand() - 0.5) * 0.6], i * 3);
      cloud.scales.set([0.02 + 0.06 * rand(), 0.02 + 0.06 * rand(), 0.02 + 0.06 * rand()], i * 3);
      cloud.rotations.set(
        [1 + 0.6 * (rand() - 0.5), 0.6 * (rand() - 0.5), 0.6 * (rand() - 0.5), 0.6 * (rand() - 0.5)],
        i * 4,
      );
    }
    const camera = orbitCamera({ width: 64, height: 48, yawDeg: 30, pitchDeg: 10, distance: 2 });
    const dIn = new Float32Array(n * 9).map((_, k) =>
      k % 9 < 2 ? rand() - 0.5 : k % 9 < 5 ? 100 * (rand() - 0.5) : 0,
    );
    const gaussians = createBufferFrom(gpu.device, "test.gaussians", packGaussians(cloud), BufferUsage.STORAGE);
    const dInBuf = createBufferFrom(gpu.device, "test.dIn", dIn, BufferUsage.STORAGE);
    const got = await projectBackwardGpu(gpu.device, gaussians, n, camera, dInBuf);
    gaussians.destroy();
    dInBuf.destroy();
    const dMeans = Float64Array.from({ length: n * 2 }, (_, k) => dIn[Math.floor(k / 2) * 9 + (k % 2)]!);
    const dConics = Float64Array.from({ length: n * 3 }, (_, k) => dIn[Math.floor(k / 3) * 9 + 2 + (k % 3)]!);
    const want = projectBackward(
      { count: n, positions: cloud.positions, scales: cloud.scales, rotations: cloud.rotations },
      camera,
      dMeans,
      dConics,
    );
    for (const key of ["positions", "scales", "rotations"] as const) {
      let worst = 0;
      for (let i = 0; i < want[key].length; i++)
        worst = Math.max(worst, Math.abs(got[key][i]! - want[key][i]!) / Math.max(1e-3, Math.abs(want[key][i]!)));
      expect(worst, key).toBeLessThan(2e-3);
    }
  });
});
