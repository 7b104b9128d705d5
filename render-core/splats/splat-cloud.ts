/**
 * A cloud of 3D Gaussians in structure-of-arrays form: the one in-memory
 * representation every stage (formats, renderer, avatar runtime, training)
 * reads and writes. All arrays are tightly packed, splat-major.
 */
export interface SplatCloud {
  /** Number of splats N. */
  count: number;
  /** [N, 3] f32 world-space centres. */
  positions: Float32Array;
  /** [N, 3] f32 standard deviations along the local axes, world units (linear, not log). */
  scales: Float32Array;
  /** [N, 4] f32 unit quaternions, (w, x, y, z) order. */
  rotations: Float32Array;
  /** [N] f32 opacity in [0, 1] (already activated, not a logit). */
  opacities: Float32Array;
  /** [N, 3] f32 base colour, RGB in [0, 1] (the degree-0 SH term evaluated: 0.5 + SH_C0 * f_dc). */
  colors: Float32Array;
  /** Spherical-harmonics degree of shRest: 0 (colour only) to 3. */
  shDegree: 0 | 1 | 2 | 3;
  /** [N, (shDegree+1)^2 - 1, 3] f32 higher-order SH coefficients (3DGS f_rest, channel-minor); empty when shDegree is 0. */
  shRest: Float32Array;
}

/** Number of higher-order SH coefficients per colour channel for a degree. */
export function shRestCount(degree: number): number {
  return (degree + 1) * (degree + 1) - 1;
}

/** Allocates a zeroed cloud of `count` splats (rotations set to identity, opacities 1). */
export function createSplatCloud(count: number, shDegree: 0 | 1 | 2 | 3 = 0): SplatCloud {
  if (!Number.isInteger(count) || count < 0) {
    throw new Error(`createSplatCloud: count must be a non-negative integer, got ${count}`);
  }
  const rotations = new Float32Array(count * 4);
  for (let i = 0; i < count; i++) rotations[i * 4] = 1;
  return {
    count,
    positions: new Float32Array(count * 3),
    scales: new Float32Array(count * 3),
    rotations,
    opacities: new Float32Array(count).fill(1),
    colors: new Float32Array(count * 3),
    shDegree,
    shRest: new Float32Array(count * shRestCount(shDegree) * 3),
  };
}

/** Throws with the offending field if the arrays do not match `count` and `shDegree`. */
export function checkSplatCloud(cloud: SplatCloud, owner = "SplatCloud"): void {
  const n = cloud.count;
  const want: Array<[keyof SplatCloud, number]> = [
    ["positions", n * 3],
    ["scales", n * 3],
    ["rotations", n * 4],
    ["opacities", n],
    ["colors", n * 3],
    ["shRest", n * shRestCount(cloud.shDegree) * 3],
  ];
  for (const [name, len] of want) {
    const arr = cloud[name] as Float32Array;
    if (!(arr instanceof Float32Array) || arr.length !== len) {
      throw new Error(
        `${owner}: ${String(name)} must be a Float32Array of length ${len} for ${n} splats, got ${arr?.length}`,
      );
    }
  }
}

/** Centre and radius of the bounding sphere of the splats' centres (radius of an empty cloud: 1). */
export function splatBounds(cloud: SplatCloud): { centre: [number, number, number]; radius: number } {
  if (cloud.count === 0) return { centre: [0, 0, 0], radius: 1 };
  const lo = [Infinity, Infinity, Infinity];
  const hi = [-Infinity, -Infinity, -Infinity];
  for (let i = 0; i < cloud.count * 3; i++) {
    const k = i % 3;
    const v = cloud.positions[i]!;
    if (v < lo[k]!) lo[k] = v;
    if (v > hi[k]!) hi[k] = v;
  }
  const centre: [number, number, number] = [(lo[0]! + hi[0]!) / 2, (lo[1]! + hi[1]!) / 2, (lo[2]! + hi[2]!) / 2];
  return { centre, radius: Math.max(1e-3, Math.hypot(hi[0]! - lo[0]!, hi[1]! - lo[1]!, hi[2]! - lo[2]!) / 2) };
}
