/**
 * Separable box blur of interleaved 8-bit pixels with an integer radius, edges
 * clamped: a cheap prefilter (the photo before it is minified into a texture)
 * and a cheap smoothing (a younger skin). Blurs the first three channels of
 * every `stride`-byte pixel and keeps the rest (alpha) as it was.
 */
export function boxBlur(data: Uint8Array, width: number, height: number, stride: number, radius: number): Uint8Array {
  if (data.length !== width * height * stride)
    throw new Error(`boxBlur: ${data.length} bytes is not ${width} x ${height} x ${stride}`);
  const W = width,
    H = height;
  const pass = (src: Float32Array, horizontal: boolean) => {
    const out = new Float32Array(src.length);
    const n = horizontal ? W : H,
      lines = horizontal ? H : W;
    for (let l = 0; l < lines; l++)
      for (let k = 0; k < 3; k++) {
        const at = (j: number) => (horizontal ? l * W + j : j * W + l) * 3 + k;
        let sum = 0;
        for (let j = -radius; j <= radius; j++) sum += src[at(Math.min(n - 1, Math.max(0, j)))]!;
        for (let j = 0; j < n; j++) {
          out[at(j)] = sum / (2 * radius + 1);
          sum += src[at(Math.min(n - 1, j + radius + 1))]! - src[at(Math.max(0, j - radius))]!;
        }
      }
    return out;
  };
  const rgb = new Float32Array(W * H * 3);
  for (let i = 0; i < W * H; i++) for (let k = 0; k < 3; k++) rgb[i * 3 + k] = data[i * stride + k]!;
  const blurred = pass(pass(rgb, true), false);
  const out = Uint8Array.from(data);
  for (let i = 0; i < W * H; i++) for (let k = 0; k < 3; k++) out[i * stride + k] = Math.round(blurred[i * 3 + k]!);
  return out;
}
