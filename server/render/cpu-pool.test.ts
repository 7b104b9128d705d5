import { afterAll, describe, expect, it } from "vitest";
import { createSplatCloud } from "../../render-core/splats/splat-cloud";
import { orbitCamera } from "../../render-core/math/camera";
import { mulberry32 } from "../../render-core/math/prng";
import { renderCpu } from "../../render-core/raster/render.cpu";
import { CpuRenderPool } from "./cpu-pool";

const pool = new CpuRenderPool({ threads: 2 });
afterAll(() => pool.close());

describe("CPU render pool", () => {
  it("renders exactly the image renderCpu renders, with two threads", async () => {
    const rand = mulberry32(5);
    const cloud = createSplatCloud(3000);
    for (let i = 0; i < cloud.count; i++) {
      cloud.positions.set([rand() - 0.5, rand() - 0.5, rand() - 0.5], i * 3);
      const s = 0.01 + 0.03 * rand();
      cloud.scales.set([s, s * 0.5, s], i * 3);
      cloud.colors.set([rand(), rand(), rand()], i * 3);
      cloud.opacities[i] = rand();
    }
    const camera = orbitCamera({ width: 150, height: 110, distance: 2.5, yawDeg: 20 });
    const want = renderCpu(cloud, camera, { background: [0.2, 0.3, 0.4] });
    const got = await pool.render(cloud, camera, { background: [0.2, 0.3, 0.4] });
    expect(got.width).toBe(150);
    expect(Array.from(got.rgb)).toEqual(Array.from(want.rgb));
    expect(Array.from(got.depth)).toEqual(Array.from(want.depth));
    // Something was drawn: not all background.
    expect(got.alpha.some((a) => a > 0.5)).toBe(true);
  });
});
