/**
 * The conditioning vector: for every category c (in config order), the block
 * [one-hot(c) over the categories, latent of c]. A category that an edit does
 * not touch takes its neutral latent, so each block always says which
 * category it is and where that category sits in its latent space.
 */
import { conditioningSize, type AvatarModelConfig } from "./config";

/** Per category, its current latent: [categories, latentDim] f32. */
export type LatentState = Float32Array;

/** Builds the conditioning vector [C * (C + L)] f32 from the per-category latents. */
export function buildConditioning(
  config: AvatarModelConfig,
  latents: LatentState,
  out = new Float32Array(conditioningSize(config)),
): Float32Array {
  const C = config.categories.length,
    L = config.latentDim;
  if (latents.length !== C * L)
    throw new Error(`buildConditioning: latents must hold ${C} x ${L} = ${C * L} numbers, got ${latents.length}`);
  if (out.length !== conditioningSize(config))
    throw new Error(`buildConditioning: out must hold ${conditioningSize(config)} numbers, got ${out.length}`);
  out.fill(0);
  for (let c = 0; c < C; c++) {
    const base = c * (C + L);
    out[base + c] = 1;
    out.set(latents.subarray(c * L, (c + 1) * L), base + C);
  }
  return out;
}

/** Latents with category `category` moved to lerp(a, b, alpha); the others unchanged. */
export function lerpCategory(
  config: AvatarModelConfig,
  latents: LatentState,
  category: string,
  a: Float32Array,
  b: Float32Array,
  alpha: number,
): LatentState {
  const c = config.categories.indexOf(category);
  if (c < 0) throw new Error(`lerpCategory: unknown category "${category}" (have ${config.categories.join(", ")})`);
  const L = config.latentDim;
  if (a.length !== L || b.length !== L)
    throw new Error(`lerpCategory: anchors must hold ${L} numbers, got ${a.length} and ${b.length}`);
  const out = latents.slice();
  for (let k = 0; k < L; k++) out[c * L + k] = a[k]! + (b[k]! - a[k]!) * alpha;
  return out;
}

/** A category's anchors, in bundle order. */
export function categoryAnchors<A extends { category: string }>(anchors: readonly A[], category: string): A[] {
  return anchors.filter((a) => a.category === category);
}

/**
 * The editor's slider model: per category a position s in [-1, 1] that moves
 * from the category's first anchor (s = -1) through the neutral latent (0,
 * the person as photographed) to its second anchor (s = 1), linearly on
 * each side. Categories without a position, or without anchors, stay neutral.
 */
export function sliderLatents(
  config: AvatarModelConfig,
  neutral: LatentState,
  anchors: ReadonlyArray<{ category: string; latent: Float32Array }>,
  positions: ReadonlyMap<string, number> | Record<string, number>,
): LatentState {
  const get = (k: string) => (positions instanceof Map ? positions.get(k) : (positions as Record<string, number>)[k]);
  const out = neutral.slice();
  const L = config.latentDim;
  config.categories.forEach((category, c) => {
    const s = get(category);
    if (typeof s !== "number" || !Number.isFinite(s) || s === 0) return;
    const list = categoryAnchors(anchors, category);
    const target = s < 0 ? list[0] : (list[1] ?? list[0]);
    if (!target) return;
    const t = Math.min(1, Math.abs(s));
    for (let k = 0; k < L; k++) out[c * L + k] = neutral[c * L + k]! + (target.latent[k]! - neutral[c * L + k]!) * t;
  });
  return out;
}
