/**
 * NeRF-style positional encoding of 3-d points: (p, sin(2^k pi p), cos(2^k pi p))
 * for k < frequencies, per axis: 3 + 3 * 2 * F numbers (F = 6 -> 39).
 * Layout per point: [x y z | sin(f0 x) sin(f0 y) sin(f0 z) cos(f0 x) cos(f0 y) cos(f0 z) | f1 ... ].
 */
export function positionalEncoding(
  points: Float32Array,
  frequencies: number,
  out = new Float32Array((points.length / 3) * (3 + 6 * frequencies)),
): Float32Array {
  const n = points.length / 3;
  if (!Number.isInteger(n)) throw new Error(`positionalEncoding: points must be [N, 3], got ${points.length} numbers`);
  const D = 3 + 6 * frequencies;
  if (out.length !== n * D) throw new Error(`positionalEncoding: out must hold ${n * D} numbers, got ${out.length}`);
  for (let p = 0; p < n; p++) {
    const o = p * D;
    for (let a = 0; a < 3; a++) out[o + a] = points[p * 3 + a]!;
    for (let k = 0; k < frequencies; k++) {
      const f = Math.PI * 2 ** k;
      for (let a = 0; a < 3; a++) {
        const v = f * points[p * 3 + a]!;
        out[o + 3 + k * 6 + a] = Math.sin(v);
        out[o + 3 + k * 6 + 3 + a] = Math.cos(v);
      }
    }
  }
  return out;
}
