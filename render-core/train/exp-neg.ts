/**
 * exp(p) for p <= 0, cheaper than Math.exp and smooth, for the training
 * rasteriser's inner loop (one call per splat and pixel, forward and backward).
 *
 * exp(p) = 2^(-k/16) * exp(-r) with k = floor(-16 p log2 e) and
 * r = -p - k ln2/16 in [0, ln2/16): a 193-entry table of 2^(-k/16) and a
 * degree-4 Taylor polynomial of exp(-r). Relative error <= (r^5/120) e^r <=
 * (ln2/16)^5/120 2^(1/16) = 1.33e-9; the polynomial's slope is within r^4/24 = 1.5e-7
 * of the true one, so finite differences see a smooth function. The table
 * covers p >= -12 (alpha = opacity exp(p) < 1/255 below -5.6 for opacities
 * <= 1); further out, Math.exp.
 */
const STEPS = 16;
const RANGE = 12;
const LOG2E_STEPS = Math.LOG2E * STEPS;
const LN2_STEPS = Math.LN2 / STEPS;
/** [RANGE * STEPS + 1] 2^(-k/16). */
const POW2 = Float64Array.from({ length: RANGE * STEPS + 1 }, (_, k) => 2 ** (-k / STEPS));

/** Bound on |expNeg(p) / exp(p) - 1| for p in [-12, 0] (stated above; checked by the test). */
export const EXP_NEG_REL_ERROR = (LN2_STEPS ** 5 / 120) * 2 ** (1 / STEPS);

export function expNeg(p: number): number {
  const t = -p * LOG2E_STEPS;
  if (!(t < RANGE * STEPS)) return Math.exp(p);
  const k = t | 0;
  const r = -p - k * LN2_STEPS;
  return POW2[k]! * (1 - r * (1 - r * (0.5 - r * (1 / 6 - r * (1 / 24)))));
}
