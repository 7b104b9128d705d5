/** Levenshtein distance between two strings (case-sensitive): how "did you mean" finds the nearest name. */
export function editDistance(a: string, b: string): number {
  const d = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = d[0]!;
    d[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = d[j]!;
      d[j] = Math.min(up + 1, d[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return d[b.length]!;
}
