import { describe, expect, it } from "vitest";
import { rasterizeBackward, rasterizeTrain, type Splats2d } from "./raster-grad";
import { createSplatCloud } from "../splats/splat-cloud";
import { createProjectedSplats } from "../raster/projected";
import { projectFwd } from "../raster/project.cpu";
import { renderCpu } from "../raster/render.cpu";
import type { Camera } from "../math/camera";
import { mulberry32 } from "../math/prng";
import { worstGradientError } from "./finite-diff";

const W = 20,
  H = 18;
const bg: [number, number, number] = [0.2, 0.1, 0.3];

/** A few overlapping, partly transparent splats in the image. */
function scene(
  seed: number,
): Splats2d & { means2d: Float64Array; conics: Float64Array; colors: Float64Array; opacities: Float64Array } {
  const rand = mulberry32(seed);
  const n = 6;
  return {
    count: n,
    means2d: Float64Array.from({ length: n * 2 }, (_, k) => (k % 2 ? 4 + rand() * (H - 8) : 4 + rand() * (W - 8))),
    conics: Float64Array.from({ length: n * 3 }, (_, k) => (k % 3 === 1 ? 0.02 * (rand() - 0.5) : 0.08 + 0.1 * rand())),
    colors: Float64Array.from({ length: n * 3 }, () => rand()),
    opacities: Float64Array.from({ length: n }, () => 0.3 + 0.5 * rand()),
    depths: Float64Array.from({ length: n }, (_, i) => 1 + i * 0.1),
    radii: Int32Array.from({ length: n }, () => 12),
  };
}

describe("rasteriser backward (CPU twin, float64)", () => {
  it("matches finite differences for means, conics, colours and opacities, through colour and coverage", () => {
    const s = scene(3);
    const rand = mulberry32(8);
    const wRgb = Float64Array.from({ length: W * H * 3 }, () => rand() - 0.5);
    const wA = Float64Array.from({ length: W * H }, () => rand() - 0.5);
    const loss = () => {
      const f = rasterizeTrain(s, W, H, bg);
      return f.rgb.reduce((acc, v, i) => acc + v * wRgb[i]!, 0) + f.alpha.reduce((acc, v, i) => acc + v * wA[i]!, 0);
    };
    const { tape } = rasterizeTrain(s, W, H, bg);
    const g = rasterizeBackward(s, bg, tape, wRgb, wA);
    const worst = worstGradientError(loss, [
      { values: s.means2d, grad: g.means2d },
      { values: s.conics, grad: g.conics },
      { values: s.colors, grad: g.colors },
      { values: s.opacities, grad: g.opacities },
    ]);
    expect(worst).toBeLessThan(1e-3);
    expect(g.opacities.some((v) => Math.abs(v) > 1e-3)).toBe(true);
  });

  it("draws exactly the renderer's picture", () => {
    const cloud = createSplatCloud(40);
    const rand = mulberry32(5);
    for (let i = 0; i < 40; i++) {
      cloud.positions.set([rand() - 0.5, rand() - 0.5, 3 + rand()], i * 3);
      cloud.scales.set([0.03 + 0.05 * rand(), 0.03 + 0.05 * rand(), 0.03], i * 3);
      cloud.rotations.set([1, rand() - 0.5, rand() - 0.5, rand() - 0.5], i * 4);
      cloud.opacities[i] = 0.2 + 0.7 * rand();
      cloud.colors.set([rand(), rand(), rand()], i * 3);
    }
    const w2c = new Float32Array([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]);
    const camera: Camera = {
      width: 40,
      height: 32,
      fx: 40,
      fy: 40,
      cx: 20,
      cy: 16,
      worldToCamera: w2c,
      near: 0.01,
      far: 100,
    };
    const projected = createProjectedSplats(40);
    projectFwd(cloud, camera, projected);
    const ours = rasterizeTrain(projected, 40, 32, bg);
    const theirs = renderCpu(cloud, camera, { background: bg });
    let worst = 0;
    for (let i = 0; i < ours.rgb.length; i++) worst = Math.max(worst, Math.abs(ours.rgb[i]! - theirs.rgb[i]!));
    expect(worst).toBeLessThan(1e-5);
  });
});
