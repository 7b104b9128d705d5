/** Whether two arrays hold the same elements in the same order (===); null is never equal. */
export function sameElements<T>(a: ArrayLike<T> | null, b: ArrayLike<T>): boolean {
  if (!a || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The p-th percentile (0-100) by nearest rank from below, as the benches report them; NaN for no values. */
export function percentile(xs: readonly number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
}
