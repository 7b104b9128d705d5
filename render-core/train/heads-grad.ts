/**
 * Backward of the small pieces between the avatar networks and the splats,
 * CPU twins in float64 (forwards in render-core/avatar/networks.ts and
 * positional-encoding.ts):
 *  - positional encoding: d (p, sin(2^k pi p), cos(2^k pi p)) / dp;
 *  - appearance heads: colour sigmoid, scale sigmoid x scaleMax, rotation
 *    normalisation, opacity sigmoid;
 *  - skinning softmax(T x logits).
 */
import { APPEARANCE_OUTPUTS } from "../avatar/networks";

/** d loss / d points [N, 3] from d loss / d PE [N, 3 + 6F]. */
export function positionalEncodingBackward(
  points: ArrayLike<number>,
  frequencies: number,
  dPe: ArrayLike<number>,
): Float64Array {
  const n = points.length / 3,
    D = 3 + 6 * frequencies;
  if (dPe.length !== n * D)
    throw new Error(`positionalEncodingBackward: dPe must be [${n}, ${D}], got ${dPe.length} numbers`);
  const out = new Float64Array(n * 3);
  for (let p = 0; p < n; p++) {
    for (let a = 0; a < 3; a++) {
      let g = Number(dPe[p * D + a]);
      for (let k = 0; k < frequencies; k++) {
        const f = Math.PI * 2 ** k,
          v = f * Number(points[p * 3 + a]);
        g +=
          Number(dPe[p * D + 3 + k * 6 + a]) * f * Math.cos(v) -
          Number(dPe[p * D + 3 + k * 6 + 3 + a]) * f * Math.sin(v);
      }
      out[p * 3 + a] = g;
    }
  }
  return out;
}

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/** Forward of the heads in float64 (same as applyAppearanceHeads): raw [N, 11] -> [N, 11]. */
export function appearanceHeads(raw: ArrayLike<number>, scaleMax: number): Float64Array {
  const out = new Float64Array(raw.length);
  for (let o = 0; o < raw.length; o += APPEARANCE_OUTPUTS) {
    for (let k = 0; k < 3; k++) out[o + k] = sigmoid(Number(raw[o + k]));
    for (let k = 3; k < 6; k++) out[o + k] = sigmoid(Number(raw[o + k])) * scaleMax;
    const l = Math.hypot(Number(raw[o + 6]), Number(raw[o + 7]), Number(raw[o + 8]), Number(raw[o + 9])) || 1;
    for (let k = 6; k < 10; k++) out[o + k] = Number(raw[o + k]) / l;
    out[o + 10] = sigmoid(Number(raw[o + 10]));
  }
  return out;
}

/** d loss / d raw from d loss / d heads output. */
export function appearanceHeadsBackward(
  raw: ArrayLike<number>,
  scaleMax: number,
  dOut: ArrayLike<number>,
): Float64Array {
  const d = new Float64Array(raw.length);
  for (let o = 0; o < raw.length; o += APPEARANCE_OUTPUTS) {
    for (const k of [0, 1, 2, 10]) {
      const s = sigmoid(Number(raw[o + k]));
      d[o + k] = Number(dOut[o + k]) * s * (1 - s);
    }
    for (let k = 3; k < 6; k++) {
      const s = sigmoid(Number(raw[o + k]));
      d[o + k] = Number(dOut[o + k]) * scaleMax * s * (1 - s);
    }
    // q / |q|: d = (dq - (dq . u) u) / |q|.
    const q = [6, 7, 8, 9].map((k) => Number(raw[o + k]));
    const l = Math.hypot(...q) || 1;
    const dot = [6, 7, 8, 9].reduce((s, k, j) => s + Number(dOut[o + k]) * (q[j]! / l), 0);
    for (let j = 0; j < 4; j++) d[o + 6 + j] = (Number(dOut[o + 6 + j]) - dot * (q[j]! / l)) / l;
  }
  return d;
}

/** Softmax(T x logits) of one row and its backward: d logits from d weights. */
export function softmaxBackward(
  weights: ArrayLike<number>,
  temperature: number,
  dWeights: ArrayLike<number>,
): Float64Array {
  let dot = 0;
  for (let j = 0; j < weights.length; j++) dot += Number(dWeights[j]) * Number(weights[j]);
  return Float64Array.from(
    { length: weights.length },
    (_, j) => temperature * Number(weights[j]) * (Number(dWeights[j]) - dot),
  );
}
