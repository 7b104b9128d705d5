/** Seeded random splat clouds for tests and benchmarks. */
import { createSplatCloud, shRestCount, type SplatCloud } from "../splats/splat-cloud";
import { mulberry32 } from "../math/prng";

export interface RandomCloudOptions {
  /** Half-size of the cube (or radius of the ball) the centres fill, world units. Default 0.5. */
  extent?: number;
  /** Where centres go: uniformly in a cube or in a ball. Default "box". */
  shape?: "box" | "sphere";
  /** Largest standard deviation along a local axis, world units; each axis draws from [0.1, 1] x this. Default extent / 10. */
  maxScale?: number;
  /** SH degree of the cloud; higher-order coefficients are uniform in [-0.2, 0.2]. Default 0. */
  shDegree?: 0 | 1 | 2 | 3;
}

/** `n` splats with random centres, anisotropic scales, rotations, colours and opacities in [0.1, 1]; deterministic for `seed`. */
export function randomCloud(seed: number, n: number, options: RandomCloudOptions = {}): SplatCloud {
  if (!Number.isInteger(n) || n < 0) throw new Error(`randomCloud: n must be a non-negative whole number, got ${n}`);
  const extent = options.extent ?? 0.5;
  const maxScale = options.maxScale ?? extent / 10;
  const degree = options.shDegree ?? 0;
  const sphere = (options.shape ?? "box") === "sphere";
  const r = mulberry32(seed);
  const c = createSplatCloud(n, degree);
  for (let i = 0; i < n; i++) {
    let x: number, y: number, z: number;
    // Rejection sampling keeps the ball uniform (about 1.9 tries a point).
    do {
      x = r() * 2 - 1;
      y = r() * 2 - 1;
      z = r() * 2 - 1;
    } while (sphere && x * x + y * y + z * z > 1);
    c.positions[i * 3] = x * extent;
    c.positions[i * 3 + 1] = y * extent;
    c.positions[i * 3 + 2] = z * extent;
    for (let k = 0; k < 3; k++) c.scales[i * 3 + k] = maxScale * (0.1 + 0.9 * r());
    const q = [r() - 0.5, r() - 0.5, r() - 0.5, r() - 0.5];
    const l = Math.hypot(q[0]!, q[1]!, q[2]!, q[3]!) || 1;
    for (let k = 0; k < 4; k++) c.rotations[i * 4 + k] = q[k]! / l;
    c.opacities[i] = 0.1 + 0.9 * r();
    for (let k = 0; k < 3; k++) c.colors[i * 3 + k] = r();
  }
  const K = shRestCount(degree);
  for (let k = 0; k < n * K * 3; k++) c.shRest[k] = (r() - 0.5) * 0.4;
  return c;
}
