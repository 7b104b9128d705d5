/**
 * The figures of docs/evaluation.md, on [H, W, C] float images in [0, 1] and
 * [H, W] weight masks (1 = counts, 0 = ignored; soft values weight a pixel).
 * PSNR and the plain errors are render-core/math/image-metrics.ts.
 */
import { checkImagePair, meanAbsError } from "../../../render-core/math/image-metrics";
import { ssimMap, type ImageShape } from "../../../render-core/train/losses";

/** Mean SSIM (11 x 11 Gaussian window) over the mask's weight. */
export function maskedSsim(
  pred: ArrayLike<number>,
  target: ArrayLike<number>,
  shape: ImageShape,
  mask?: ArrayLike<number>,
): number {
  checkImagePair("maskedSsim", pred, target, shape.channels, mask);
  const s = ssimMap(pred, target, shape);
  let total = 0,
    weight = 0;
  for (let p = 0; p < s.length; p++) {
    const m = mask ? mask[p]! : 1;
    total += m * s[p]!;
    weight += m;
  }
  if (weight === 0) throw new Error("maskedSsim: the mask is empty");
  return total / weight;
}

/** Mean absolute difference in 1/255 units over the mask's weight (over all pixels without one). */
export function meanAbsDiff255(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  channels: number,
  mask?: ArrayLike<number>,
): number {
  checkImagePair("meanAbsDiff255", a, b, channels, mask);
  return 255 * meanAbsError(a, b, channels, mask);
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b),
    m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export const mean = (xs: readonly number[]): number =>
  xs.length === 0 ? NaN : xs.reduce((a, x) => a + x, 0) / xs.length;

/**
 * Smoothness of a sweep of renders: the largest step between consecutive
 * renders (mean absolute difference) over the median step. 1 is perfectly
 * even; a jump shows as a large ratio. Null when the sweep barely changes
 * (median step under 0.01/255), where the ratio would only measure noise.
 */
export function sweepSmoothness(frames: readonly ArrayLike<number>[]): { ratio: number | null; steps: number[] } {
  if (frames.length < 3) throw new Error("sweepSmoothness: needs at least 3 renders");
  const steps = frames.slice(1).map((f, i) => meanAbsDiff255(f, frames[i]!, 1));
  const med = median(steps);
  return { ratio: med < 0.01 ? null : Math.max(...steps) / med, steps };
}
