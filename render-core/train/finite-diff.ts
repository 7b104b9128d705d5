/**
 * The gradient check every backward test uses: central finite differences of
 * a scalar loss, nudging entries of parameter arrays in place, against the
 * analytic gradients. The error is relative, with an absolute floor so that
 * gradients at the finite differences' noise level do not count.
 */
export interface GradientCase {
  /** Nudged in place and restored. */
  values: Float64Array;
  grad: ArrayLike<number>;
  /** Check every step-th entry (default 1). */
  step?: number;
  /** Entries to leave out (padding, kinks). */
  skip?: (k: number) => boolean;
}

export function worstGradientError(
  loss: () => number,
  cases: readonly GradientCase[],
  eps = 1e-6,
  floor = 1e-6,
): number {
  let worst = 0;
  for (const { values, grad, step = 1, skip } of cases) {
    for (let k = 0; k < values.length; k += step) {
      if (skip?.(k)) continue;
      const keep = values[k]!;
      values[k] = keep + eps;
      const up = loss();
      values[k] = keep - eps;
      const down = loss();
      values[k] = keep;
      const fd = (up - down) / (2 * eps);
      const analytic = Number(grad[k]);
      worst = Math.max(worst, Math.abs(fd - analytic) / Math.max(Math.abs(fd), Math.abs(analytic), floor));
    }
  }
  return worst;
}
