/**
 * How sharp the face is, on a scale that does not depend on the photo's size
 * or contrast: the "re-blur" measure of Crete-Roffet et al. (2007). The face
 * (brows to chin, from the landmarks) is resampled so that the eyes are
 * REFERENCE_INTEROCULAR px apart, converted to grey, blurred again with a
 * 9-tap box filter, and we measure how much of the neighbour-to-neighbour
 * variation the extra blur removes. A sharp face loses most of it (edges
 * were steep), an already blurred one loses little. Result in [0, 1]:
 * 1 - blur, higher is sharper.
 */
import sharp from "sharp";
import type { RgbImage } from "./decode";

/** Eye-corner distance the face is resampled to before measuring (pixels). */
export const REFERENCE_INTEROCULAR = 64;

/** The grey face crop, scaled to the reference inter-ocular distance: [h, w] f32 in [0, 1]. */
export async function faceCrop(
  image: RgbImage,
  landmarks: Float32Array,
): Promise<{ width: number; height: number; grey: Float32Array }> {
  const io = Math.hypot(landmarks[72]! - landmarks[90]!, landmarks[73]! - landmarks[91]!);
  let [x0, y0, x1, y1] = [Infinity, Infinity, -Infinity, -Infinity];
  // Landmarks 17-67 (brows, eyes, nose, mouth) plus the chin (8).
  for (const k of [8, ...Array.from({ length: 51 }, (_, i) => 17 + i)]) {
    x0 = Math.min(x0, landmarks[k * 2]!);
    x1 = Math.max(x1, landmarks[k * 2]!);
    y0 = Math.min(y0, landmarks[k * 2 + 1]!);
    y1 = Math.max(y1, landmarks[k * 2 + 1]!);
  }
  const left = Math.max(0, Math.floor(x0)),
    top = Math.max(0, Math.floor(y0));
  const right = Math.min(image.width, Math.ceil(x1)),
    bottom = Math.min(image.height, Math.ceil(y1));
  if (right - left < 4 || bottom - top < 4 || !(io > 1))
    throw new Error(
      `faceSharpness: face region ${left},${top}-${right},${bottom} (inter-ocular ${io.toFixed(1)} px) is too small to measure`,
    );
  const s = REFERENCE_INTEROCULAR / io;
  const width = Math.max(8, Math.round((right - left) * s)),
    height = Math.max(8, Math.round((bottom - top) * s));
  const { data } = await sharp(Buffer.from(image.rgb.buffer, image.rgb.byteOffset, image.rgb.byteLength), {
    raw: { width: image.width, height: image.height, channels: 3 },
  })
    .extract({ left, top, width: right - left, height: bottom - top })
    .resize(width, height, { fit: "fill", kernel: s < 1 ? "lanczos3" : "cubic" })
    .greyscale()
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { width, height, grey: Float32Array.from(data, (v) => v / 255) };
}

/** The re-blur measure on a grey image [h, w]: 1 - max(horizontal, vertical) blur. */
export function reblurSharpness(grey: Float32Array, width: number, height: number): number {
  const at = (x: number, y: number) =>
    grey[Math.min(height - 1, Math.max(0, y)) * width + Math.min(width - 1, Math.max(0, x))]!;
  const blurAt = (x: number, y: number, dx: number, dy: number) => {
    let s = 0;
    for (let k = -4; k <= 4; k++) s += at(x + k * dx, y + k * dy);
    return s / 9;
  };
  const direction = (dx: number, dy: number) => {
    let sumF = 0,
      sumV = 0;
    for (let y = 1; y < height - 1; y++)
      for (let x = 1; x < width - 1; x++) {
        const dF = Math.abs(at(x, y) - at(x - dx, y - dy));
        const dB = Math.abs(blurAt(x, y, dx, dy) - blurAt(x - dx, y - dy, dx, dy));
        sumF += dF;
        sumV += Math.max(0, dF - dB);
      }
    return sumF > 1e-9 ? sumV / sumF : 0;
  };
  // direction() is the share of variation the re-blur removed: that IS the sharpness per direction.
  return Math.min(direction(1, 0), direction(0, 1));
}

export async function faceSharpness(image: RgbImage, landmarks: Float32Array): Promise<number> {
  const crop = await faceCrop(image, landmarks);
  return reblurSharpness(crop.grey, crop.width, crop.height);
}
