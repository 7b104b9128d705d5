/** Whether two arrays hold the same elements in the same order (===); null is never equal. */
export function sameElements<T>(a: ArrayLike<T> | null, b: ArrayLike<T>): boolean {
  if (!a || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
