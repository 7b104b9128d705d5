/**
 * softplus(100 s) / 100 and its slope sigmoid(100 s) for a whole layer, for
 * the fast MLP pass (mlp-train-fast.ts): a table instead of exp and log1p per
 * unit, which took longer than the layer's matrix product on the SIMD kernel
 * (most pre-activations of a compact avatar sit within |100 s| < 37, where
 * neither is negligible).
 *
 * With t = 100 s: softplus100(s) = sp(t) / 100, sp(t) = max(t, 0) + log1p(e^-|t|),
 * and the slope is sigmoid(t). On t in [-37, 37], sp and sigmoid are cubic
 * Hermite interpolants of nodes 1/64 apart (value and derivative at each
 * node: sp' = sigmoid, sigmoid' = sigmoid (1 - sigmoid)); the error is at most
 * h^4 / 384 times the fourth derivative's bound (0.125), 2e-11 (checked by the
 * test). Outside, t is clamped to the range and the excess above 37 added
 * back: sp(-37) and the sigmoid's distance from 0 or 1 at +-37 are below
 * 1e-16, which the reference's own sums round away (37 + 1e-16 = 37,
 * 1 + 1e-16 = 1). Both interpolants are C1, so finite differences see a
 * smooth function.
 *
 * No branches per unit: the clamp is written with abs. Math.min, Math.max and
 * a sign test were each mispredicted on units of random sign; the branch-free
 * form took half the time. The table is 152 KiB.
 */

const T_MAX = 37;
const PER_UNIT = 64;
/** Nodes on [-37, 37] and one more, so t = 37 can take the last interval with r = 0. */
const NODES = 2 * T_MAX * PER_UNIT + 2;
const H = 1 / PER_UNIT;

/** [NODES, 4]: sp, h sp', sigmoid, h sigmoid' at t = -37 + k / 64. */
const TABLE = (() => {
  const table = new Float64Array(NODES * 4);
  for (let k = 0; k < NODES; k++) {
    const t = -T_MAX + k * H,
      e = Math.exp(-Math.abs(t)),
      sig = t >= 0 ? 1 / (1 + e) : e / (1 + e);
    table[k * 4] = Math.max(t, 0) + Math.log1p(e);
    table[k * 4 + 1] = sig * H;
    table[k * 4 + 2] = sig;
    table[k * 4 + 3] = sig * (1 - sig) * H;
  }
  return table;
})();

/** Bound on the absolute error of 100 softplus100 and of the slope (checked by the test). */
export const SOFTPLUS_TABLE_ERROR = 2e-11;

/**
 * In place over rows [B, cols]: y[k] holds the pre-activation less the bias;
 * on return y[k] = softplus100(y[k] + bias[col]) and slope[k] = sigmoid(100 (y[k] + bias[col])).
 * `slope` null: the values only (a forward pass with no backward after it, such as a bake; about a third less).
 */
export function softplus100Layer(
  y: Float64Array,
  slope: Float64Array | null,
  bias: Float64Array,
  rows: number,
  cols: number,
): void {
  for (let b = 0, k = 0; b < rows; b++)
    for (let o = 0; o < cols; o++, k++) {
      const t = 100 * (y[k]! + bias[o]!);
      // Clamped to [-37, 37] as (|t + 37| - |t - 37|) / 2; the excess above 37 as (|t - 37| + t - 37) / 2.
      const above = t - T_MAX;
      const tc = 0.5 * (Math.abs(t + T_MAX) - Math.abs(above));
      const x = (tc + T_MAX) * PER_UNIT,
        i = x | 0,
        r = x - i,
        j = i * 4;
      // Cubic Hermite basis on [node i, node i + 1]. NaN gives i = 0 and r = NaN: NaN out.
      const r1 = 1 - r,
        rr = r * r,
        r1r1 = r1 * r1;
      const h00 = (1 + 2 * r) * r1r1,
        h10 = r * r1r1,
        h01 = rr * (3 - 2 * r),
        h11 = -rr * r1;
      const sp = h00 * TABLE[j]! + h10 * TABLE[j + 1]! + h01 * TABLE[j + 4]! + h11 * TABLE[j + 5]!;
      y[k] = (sp + 0.5 * (Math.abs(above) + above)) * 0.01;
      if (slope) slope[k] = h00 * TABLE[j + 2]! + h10 * TABLE[j + 3]! + h01 * TABLE[j + 6]! + h11 * TABLE[j + 7]!;
    }
}
