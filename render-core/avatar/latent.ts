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

/** Per category, the indices (among its anchors) of the anchors at a slider's -1 and +1 ends. */
export type SliderEndsByCategory =
  ReadonlyMap<string, readonly [number, number]> | Record<string, readonly [number, number]>;

/** The anchors at a category's slider ends: the chosen ones where they exist, else its first two (or its one, twice). */
export function sliderEndAnchors<A>(list: readonly A[], chosen: readonly [number, number] | undefined): [A, A] | null {
  if (list.length === 0) return null;
  const pick = (index: number | undefined, fallback: number) =>
    list[
      Number.isInteger(index) && index! >= 0 && index! < list.length ? index! : Math.min(fallback, list.length - 1)
    ]!;
  return [pick(chosen?.[0], 0), pick(chosen?.[1], 1)];
}

/**
 * The editor's slider model: per category a position s in [-1, 1] that moves
 * from the anchor at its left end (s = -1) through the neutral latent (0,
 * the person as photographed) to the anchor at its right end (s = 1),
 * linearly on each side. The ends are the category's first two anchors
 * unless `ends` picks others (so every anchor is reachable). Categories
 * without a position, or without anchors, stay neutral.
 */
export function sliderLatents(
  config: AvatarModelConfig,
  neutral: LatentState,
  anchors: ReadonlyArray<{ category: string; latent: Float32Array }>,
  positions: ReadonlyMap<string, number> | Record<string, number>,
  ends: SliderEndsByCategory = {},
): LatentState {
  const get = <T>(m: ReadonlyMap<string, T> | Record<string, T>, k: string): T | undefined =>
    m instanceof Map ? m.get(k) : (m as Record<string, T>)[k];
  const out = neutral.slice();
  const L = config.latentDim;
  config.categories.forEach((category, c) => {
    const s = get(positions, category);
    if (typeof s !== "number" || !Number.isFinite(s) || s === 0) return;
    const pair = sliderEndAnchors(categoryAnchors(anchors, category), get(ends, category));
    if (!pair) return;
    const target = s < 0 ? pair[0] : pair[1];
    const t = Math.min(1, Math.abs(s));
    for (let k = 0; k < L; k++) out[c * L + k] = neutral[c * L + k]! + (target.latent[k]! - neutral[c * L + k]!) * t;
  });
  return out;
}
