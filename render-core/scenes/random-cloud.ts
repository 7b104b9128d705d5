/** Seeded random splat clouds for tests and benchmarks. */
import { createSplatCloud, shRestCount, type SplatCloud } from "../splats/splat-cloud";
import { mulberry32 } from "../math/prng";

export interface RandomCloudOptions {
  /** Half-size of the cube the centres fill, world units. Default 0.5. */
  extent?: number;
  /** Largest standard deviation along an axis. Default extent / 10. */
  maxScale?: number;
  shDegree?: 0 | 1 | 2 | 3;
}

export function randomCloud(seed: number, n: number, options: RandomCloudOptions = {}): SplatCloud {
  const extent = options.extent ?? 0.5;
  const maxScale = options.maxScale ?? extent / 10;
  const degree = options.shDegree ?? 0;
  const r = mulberry32(seed);
  const c = createSplatCloud(n, degree);
  for (let i = 0; i < n; i++) {
    c.positions.set([(r() * 2 - 1) * extent, (r() * 2 - 1) * extent, (r() * 2 - 1) * extent], i * 3);
    c.scales.set([maxScale * (0.1 + 0.9 * r()), maxScale * (0.1 + 0.9 * r()), maxScale * (0.1 + 0.9 * r())], i * 3);
    const q = [r() - 0.5, r() - 0.5, r() - 0.5, r() - 0.5];
    const l = Math.hypot(q[0]!, q[1]!, q[2]!, q[3]!) || 1;
    c.rotations.set([q[0]! / l, q[1]! / l, q[2]! / l, q[3]! / l], i * 4);
    c.opacities[i] = 0.1 + 0.9 * r();
    c.colors.set([r(), r(), r()], i * 3);
  }
  const K = shRestCount(degree);
  for (let k = 0; k < n * K * 3; k++) c.shRest[k] = (r() - 0.5) * 0.4;
  return c;
}
