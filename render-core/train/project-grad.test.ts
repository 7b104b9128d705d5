import { describe, expect, it } from "vitest";
import { projectBackward, projectTrain, type SplatGeometry } from "./project-grad";
import { createSplatCloud } from "../splats/splat-cloud";
import { createProjectedSplats } from "../raster/projected";
import { projectFwd } from "../raster/project.cpu";
import { orbitCamera } from "../math/camera";
import { mulberry32 } from "../math/prng";
import { worstGradientError } from "./finite-diff";

const camera = orbitCamera({ width: 64, height: 48, yawDeg: 30, pitchDeg: 10, distance: 2 });

function geometry(
  seed: number,
  n = 6,
): SplatGeometry & { positions: Float64Array; scales: Float64Array; rotations: Float64Array } {
  const rand = mulberry32(seed);
  return {
    count: n,
    // Most inside the view; the last two far to the side, where the Jacobian's centre is clamped.
    positions: Float64Array.from({ length: n * 3 }, (_, k) =>
      k === (n - 1) * 3 ? 2.5 : k === (n - 2) * 3 + 1 ? -2.2 : (rand() - 0.5) * 0.6,
    ),
    scales: Float64Array.from({ length: n * 3 }, () => 0.02 + 0.06 * rand()),
    rotations: Float64Array.from({ length: n * 4 }, (_, k) => (k % 4 === 0 ? 1 : 0) + 0.6 * (rand() - 0.5)),
  };
}

describe("projection backward (CPU twin, float64)", () => {
  it("projects as the renderer does", () => {
    const g = geometry(2, 5);
    const cloud = createSplatCloud(5);
    cloud.positions.set(g.positions);
    cloud.scales.set(g.scales);
    cloud.rotations.set(g.rotations);
    const ref = createProjectedSplats(5);
    projectFwd(cloud, camera, ref);
    const ours = projectTrain(g, camera);
    for (let i = 0; i < 5; i++) {
      if (ref.radii[i] === 0) continue;
      for (let k = 0; k < 2; k++) expect(ours.means2d[i * 2 + k]).toBeCloseTo(ref.means2d[i * 2 + k]!, 3);
      for (let k = 0; k < 3; k++)
        expect(
          Math.abs(ours.conics[i * 3 + k]! - ref.conics[i * 3 + k]!) / Math.max(1e-3, Math.abs(ref.conics[i * 3 + k]!)),
        ).toBeLessThan(1e-4);
    }
  });

  it("matches finite differences for centres, scales and rotations (clamped centres included)", () => {
    const g = geometry(7);
    const rand = mulberry32(3);
    const wM = Float64Array.from({ length: g.count * 2 }, () => rand() - 0.5);
    const wC = Float64Array.from({ length: g.count * 3 }, () => 100 * (rand() - 0.5));
    const loss = () => {
      const p = projectTrain(g, camera);
      return p.means2d.reduce((s, v, i) => s + v * wM[i]!, 0) + p.conics.reduce((s, v, i) => s + v * wC[i]!, 0);
    };
    const grad = projectBackward(g, camera, wM, wC);
    const worst = worstGradientError(loss, [
      { values: g.positions, grad: grad.positions },
      { values: g.scales, grad: grad.scales },
      { values: g.rotations, grad: grad.rotations },
    ]);
    expect(worst).toBeLessThan(1e-3);
  });
});
