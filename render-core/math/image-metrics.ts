/**
 * Image error metrics: mean squared error, PSNR and mean absolute error, on
 * float images in [0, 1] with `channels` numbers per pixel ([H, W, C] or any
 * flat layout), optionally weighted by a [H, W] mask (1 counts, 0 is
 * ignored, soft values weight a pixel). One definition for training's
 * progress figures, evaluation and the tests that compare renders.
 */

/** PSNR of identical images: a finite ceiling keeps means and JSON reports finite. */
export const PSNR_CEILING_DB = 100;

/** Throws, naming `owner`, unless the images have one size and the mask one weight per pixel. */
export function checkImagePair(
  owner: string,
  pred: ArrayLike<number>,
  target: ArrayLike<number>,
  channels: number,
  mask?: ArrayLike<number>,
): void {
  if (pred.length !== target.length)
    throw new Error(`${owner}: images differ in size (${pred.length} and ${target.length} numbers)`);
  if (mask && mask.length * channels !== pred.length)
    throw new Error(`${owner}: the mask holds ${mask.length} pixels, the images ${pred.length / channels}`);
}

/** Mask-weighted sums of the per-number error: squared or absolute. */
function weightedError(
  owner: string,
  pred: ArrayLike<number>,
  target: ArrayLike<number>,
  channels: number,
  mask: ArrayLike<number> | undefined,
  squared: boolean,
): { sum: number; weight: number } {
  checkImagePair(owner, pred, target, channels, mask);
  let sum = 0,
    weight = 0;
  for (let p = 0; p < pred.length / channels; p++) {
    const m = mask ? mask[p]! : 1;
    if (m === 0) continue;
    weight += m * channels;
    for (let c = 0; c < channels; c++) {
      const d = pred[p * channels + c]! - target[p * channels + c]!;
      sum += m * (squared ? d * d : Math.abs(d));
    }
  }
  return { sum, weight };
}

/** Mean squared error over the mask's weight (all numbers without a mask); an empty mask is an error. */
export function mse(
  pred: ArrayLike<number>,
  target: ArrayLike<number>,
  channels = 1,
  mask?: ArrayLike<number>,
): number {
  const { sum, weight } = weightedError("mse", pred, target, channels, mask, true);
  if (weight === 0) throw new Error(`mse: ${mask ? "the mask is" : "the images are"} empty`);
  return sum / weight;
}

/** Mean absolute error over the mask's weight; 0 where nothing counts. */
export function meanAbsError(
  pred: ArrayLike<number>,
  target: ArrayLike<number>,
  channels = 1,
  mask?: ArrayLike<number>,
): number {
  const { sum, weight } = weightedError("meanAbsError", pred, target, channels, mask, false);
  return weight === 0 ? 0 : sum / weight;
}

/** PSNR in dB for a peak of 1; at most PSNR_CEILING_DB. */
export function psnrFromMse(meanSquaredError: number): number {
  return Math.min(PSNR_CEILING_DB, 10 * Math.log10(1 / Math.max(meanSquaredError, 10 ** (-PSNR_CEILING_DB / 10))));
}

/** PSNR in dB (peak 1) of two images of the same size. */
export function psnr(pred: ArrayLike<number>, target: ArrayLike<number>): number {
  return psnrFromMse(mse(pred, target));
}

/** PSNR in dB (peak 1) of the mask-weighted mean squared error. */
export function maskedPsnr(
  pred: ArrayLike<number>,
  target: ArrayLike<number>,
  channels: number,
  mask?: ArrayLike<number>,
): number {
  const { sum, weight } = weightedError("maskedPsnr", pred, target, channels, mask, true);
  if (weight === 0) throw new Error("maskedPsnr: the mask is empty");
  return psnrFromMse(sum / weight);
}
