/**
 * The latents a training batch sees, as a mix of rows of one latent table,
 * and the way their gradient goes back to those rows. CPU twin of
 * shaders/train/latents.wgsl.ts (host ./latents-gpu.ts); the trainer
 * (server/pipeline/train/trainer.ts latentsFor) builds the same mixes:
 *
 *   latents[c] = sum_s weight_s table[row_s]     (at most two rows per category)
 *   dTable[row_s] += weight_s dLatents[c]
 *
 * The trainer's table: rows 0..C-1 the neutral latents, row C + v video v's. A
 * source batch takes every neutral row; video v of category c takes row C + v
 * for c; a stage-2 pair (a, b) at alpha takes (C + a, 1 - alpha), (C + b, alpha).
 */

/** Per category, one or two (table row, weight) pairs. */
export type LatentMix = ReadonlyArray<ReadonlyArray<readonly [row: number, weight: number]>>;

/** Floats per category in a packed mix: row0, weight0, row1, weight1. */
export const MIX_STRIDE = 4;

/** Every category reads its own neutral row: the mix of a source batch. */
export function neutralMix(categories: number): LatentMix {
  return Array.from({ length: categories }, (_, c) => [[c, 1] as const]);
}

/** Checks a mix against C categories and R rows: 1-2 pairs, rows in range, no row twice (the scatter adds without atomics). */
export function checkMix(owner: string, mix: LatentMix, C: number, R: number): void {
  if (mix.length !== C) throw new Error(`${owner}: the mix has ${mix.length} categories, the model ${C}`);
  const seen = new Set<number>();
  mix.forEach((pairs, c) => {
    if (pairs.length < 1 || pairs.length > 2)
      throw new Error(`${owner}: category ${c} mixes ${pairs.length} rows (1 or 2 allowed)`);
    for (const [row, w] of pairs) {
      if (!Number.isInteger(row) || row < 0 || row >= R)
        throw new Error(`${owner}: category ${c} reads row ${row}, the table has ${R}`);
      if (!Number.isFinite(w)) throw new Error(`${owner}: category ${c} has weight ${w}`);
      if (seen.has(row)) throw new Error(`${owner}: row ${row} appears twice in one mix`);
      seen.add(row);
    }
  });
}

/** latents [C, L] of a mix over table [R, L]. */
export function mixLatents(table: ArrayLike<number>, L: number, mix: LatentMix): Float64Array {
  const out = new Float64Array(mix.length * L);
  mix.forEach((pairs, c) => {
    for (const [row, w] of pairs) for (let k = 0; k < L; k++) out[c * L + k]! += w * Number(table[row * L + k]);
  });
  return out;
}

/** Adds the mix's share of dLatents [C, L] into dTable [R, L]. */
export function scatterLatentGrad(dLatents: ArrayLike<number>, L: number, mix: LatentMix, dTable: Float64Array): void {
  mix.forEach((pairs, c) => {
    for (const [row, w] of pairs) for (let k = 0; k < L; k++) dTable[row * L + k]! += w * Number(dLatents[c * L + k]);
  });
}

/** [C, MIX_STRIDE] f32 for the GPU: row0, weight0, row1, weight1 (weight1 = 0 when a category reads one row). */
export function packMix(mix: LatentMix): Float32Array<ArrayBuffer> {
  const out = new Float32Array(mix.length * MIX_STRIDE);
  mix.forEach((pairs, c) => {
    pairs.forEach(([row, w], s) => out.set([row, w], c * MIX_STRIDE + 2 * s));
  });
  return out;
}
