/**
 * The photo as the fit stage reads it (the analyse stage's decoded RgbImage:
 * [H, W, 3] u8 RGB, row-major from the top-left pixel) and the few pixel
 * operations it needs.
 */
import type { RgbImage } from "../analyse/decode";

export type { RgbImage };

/** Throws a specific error unless `image` is a well-formed RgbImage (and `matte`, when given, matches it). */
export function checkImage(owner: string, image: RgbImage, matte?: Float32Array | null): void {
  if (!image || typeof image !== "object")
    throw new Error(`${owner}: image must be an object { width, height, rgb }, got ${String(image)}`);
  const { width, height, rgb } = image;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 8 || height < 8)
    throw new Error(`${owner}: image size must be whole numbers >= 8, got ${width} x ${height}`);
  if (!(rgb instanceof Uint8Array) || rgb.length !== width * height * 3)
    throw new Error(
      `${owner}: image.rgb must be a Uint8Array of ${width * height * 3} bytes (${width} x ${height} x 3), got ${rgb instanceof Uint8Array ? rgb.length : typeof rgb}`,
    );
  if (matte && matte.length !== width * height)
    throw new Error(`${owner}: matte needs ${width * height} values (${width} x ${height}), got ${matte.length}`);
}

/**
 * Bilinear RGB in [0, 1] at pixel coordinates (u, v), where the centre of
 * pixel (i, j) is (i + 0.5, j + 0.5) as in the renderer; clamped at the edges.
 */
export function sampleRgb(
  image: RgbImage,
  u: number,
  v: number,
  out: Float64Array | number[] = new Float64Array(3),
): Float64Array | number[] {
  const { width: W, height: H, rgb } = image;
  const x = Math.min(Math.max(u - 0.5, 0), W - 1),
    y = Math.min(Math.max(v - 0.5, 0), H - 1);
  const x0 = Math.floor(x),
    y0 = Math.floor(y);
  const x1 = Math.min(x0 + 1, W - 1),
    y1 = Math.min(y0 + 1, H - 1);
  const fx = x - x0,
    fy = y - y0;
  for (let k = 0; k < 3; k++) {
    const a = rgb[(y0 * W + x0) * 3 + k],
      b = rgb[(y0 * W + x1) * 3 + k];
    const c = rgb[(y1 * W + x0) * 3 + k],
      d = rgb[(y1 * W + x1) * 3 + k];
    out[k] = ((a * (1 - fx) + b * fx) * (1 - fy) + (c * (1 - fx) + d * fx) * fy) / 255;
  }
  return out;
}

/** Nearest matte value at pixel coordinates (u, v); 0 outside the image. */
export function sampleMatte(matte: Float32Array, width: number, height: number, u: number, v: number): number {
  const i = Math.floor(u),
    j = Math.floor(v);
  if (i < 0 || j < 0 || i >= width || j >= height) return 0;
  return matte[j * width + i];
}

/** Per-channel median of RGB triples (each channel on its own: robust to a few outliers). */
export function medianRgb(samples: ArrayLike<number>[]): [number, number, number] {
  if (samples.length === 0) throw new Error("medianRgb: no samples");
  const out: [number, number, number] = [0, 0, 0];
  for (let k = 0; k < 3; k++) {
    const xs = samples.map((s) => s[k]).sort((a, b) => a - b);
    const m = xs.length >> 1;
    out[k] = xs.length % 2 ? xs[m] : (xs[m - 1] + xs[m]) / 2;
  }
  return out;
}

/** Rec. 601 luma of an RGB triple. */
export function luma(c: ArrayLike<number>): number {
  return 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2];
}
