/**
 * Densification as in the reference (PERSE-METHOD.md section 2): prune the
 * Gaussians that never showed (never drawn, or never reached `pruneOpacity`
 * since the last step), then up-sample to the schedule's next count by copying
 * survivors with a jitter whose radius shrinks at every step. A copy keeps its
 * parent's anchor on the head model, so it inherits the parent's priors, and
 * its colour residual, so it starts the colour its parent had learned.
 */
import { gaussian, mulberry32 } from "../../../render-core/math/prng";

export interface PointSet {
  count: number;
  /** [N, 3] canonical centres. */
  points: Float64Array;
  anchorFace: Uint32Array;
  anchorBary: Float32Array;
  /** [N, 3] per-Gaussian colour residual, when the set has one. */
  appearance?: Float64Array;
}

export interface DensifyOptions {
  /** Count after up-sampling. */
  target: number;
  /** A Gaussian survives if its largest opacity since the last step reached this. */
  pruneOpacity: number;
  /** Standard deviation of the copies' offset, metres. */
  jitter: number;
  seed: number;
}

export interface DensifyResult extends PointSet {
  pruned: number;
  added: number;
}

/** `maxOpacity[i]` < 0 means "never drawn". Keeps at least one Gaussian. */
export function densify(set: PointSet, maxOpacity: ArrayLike<number>, o: DensifyOptions): DensifyResult {
  if (maxOpacity.length !== set.count)
    throw new Error(`densify: ${maxOpacity.length} opacities for ${set.count} Gaussians`);
  if (!Number.isInteger(o.target) || o.target < 1)
    throw new Error(`densify: target must be a positive integer, got ${o.target}`);
  let keep: number[] = [];
  for (let i = 0; i < set.count; i++) if (Number(maxOpacity[i]) >= o.pruneOpacity) keep.push(i);
  if (keep.length === 0) {
    // Nothing reached the threshold: keep the most opaque one rather than an empty avatar.
    let best = 0;
    for (let i = 1; i < set.count; i++) if (Number(maxOpacity[i]) > Number(maxOpacity[best])) best = i;
    keep = [best];
  }
  const n = Math.max(o.target, keep.length);
  const out: DensifyResult = {
    count: n,
    points: new Float64Array(n * 3),
    anchorFace: new Uint32Array(n),
    anchorBary: new Float32Array(n * 3),
    ...(set.appearance ? { appearance: new Float64Array(n * 3) } : {}),
    pruned: set.count - keep.length,
    added: n - keep.length,
  };
  const rand = mulberry32(o.seed),
    normal = gaussian(rand);
  for (let j = 0; j < n; j++) {
    const from = j < keep.length ? keep[j]! : keep[Math.floor(rand() * keep.length)]!;
    const jitter = j < keep.length ? 0 : o.jitter;
    for (let a = 0; a < 3; a++) out.points[j * 3 + a] = set.points[from * 3 + a]! + jitter * normal();
    out.anchorFace[j] = set.anchorFace[from]!;
    out.anchorBary.set(set.anchorBary.subarray(from * 3, from * 3 + 3), j * 3);
    if (set.appearance) out.appearance!.set(set.appearance.subarray(from * 3, from * 3 + 3), j * 3);
  }
  return out;
}
