/**
 * The aligned face crop a face recogniser reads: five points taken from the
 * 68 iBUG landmarks the analysis already finds (face-api), a least-squares
 * similarity transform (scale, rotation, shift; no shear, no mirror) onto a
 * fixed template, and a bilinear warp into a square crop.
 *
 * The template (docs/likeness.md) is the five-point layout of the common
 * 112 x 112 face-recognition crop (InsightFace's):
 *   eye centres        (38.29, 51.70) and (73.53, 51.50)   image left, image right
 *   nose tip           (56.03, 71.74)
 *   mouth corners      (41.55, 92.37) and (70.73, 92.20)
 * in pixel-index coordinates (pixel (i, j)'s centre at (i, j), as OpenCV
 * warps it); this project's convention puts the centre at (i + 0.5, j + 0.5),
 * so cropTemplate adds 0.5. A crop of another size scales it; `loosen` > 1
 * shrinks the points toward the centre (more margin round the face).
 * Eye centre = mean of landmarks 36-41 (the image's left eye) and 42-47;
 * nose tip = 30; mouth corners = 48, 54.
 */
import sharp from "sharp";
import { checkImage, sampleRgb, type RgbImage } from "../fit/image";

/** [5, 2] the 112 px template's points, pixel-index coordinates (OpenCV's convention). */
const TEMPLATE_112 = [
  [38.2946, 51.6963],
  [73.5318, 51.5014],
  [56.0252, 71.7366],
  [41.5493, 92.3655],
  [70.7299, 92.2041],
] as const;

/** What a recogniser's crop looks like. */
export interface CropSpec {
  /** Side in pixels. */
  size: number;
  /** 1: the template as it is; > 1: the face smaller in the crop, by this factor. */
  loosen: number;
}

/** [5, 2] f64 the template's points for `spec`, in this project's pixel convention (centre of pixel (i, j) at (i + 0.5, j + 0.5)). */
export function cropTemplate(spec: CropSpec): Float64Array {
  if (!(Number.isInteger(spec.size) && spec.size >= 16 && spec.size <= 1024 && spec.loosen >= 0.5 && spec.loosen <= 4))
    throw new Error(
      `cropTemplate: size must be a whole number in [16, 1024] and loosen in [0.5, 4], got ${JSON.stringify(spec)}`,
    );
  return Float64Array.from(
    TEMPLATE_112.flatMap((p) => p.map((v) => ((v + 0.5 - 56) / spec.loosen + 56) * (spec.size / 112))),
  );
}

/** Names of the five points, in the template's order. */
export const CROP_POINTS = [
  "eye (image left)",
  "eye (image right)",
  "nose tip",
  "mouth (image left)",
  "mouth (image right)",
];

/** [5, 2] f64 the five alignment points of 68 iBUG landmarks ([68, 2] pixels). */
export function fivePoints(landmarks: ArrayLike<number>): Float64Array {
  if (landmarks.length !== 136)
    throw new Error(`fivePoints: need 68 landmarks ([68, 2] = 136 values), got ${landmarks.length} values`);
  const mean = (from: number, to: number, k: number) => {
    let s = 0;
    for (let i = from; i <= to; i++) s += landmarks[i * 2 + k]!;
    return s / (to - from + 1);
  };
  const at = (i: number, k: number) => landmarks[i * 2 + k]!;
  return Float64Array.from([
    mean(36, 41, 0),
    mean(36, 41, 1),
    mean(42, 47, 0),
    mean(42, 47, 1),
    at(30, 0),
    at(30, 1),
    at(48, 0),
    at(48, 1),
    at(54, 0),
    at(54, 1),
  ]);
}

/** A similarity transform: q = [a -b; b a] p + [tx, ty]. */
export interface Similarity {
  a: number;
  b: number;
  tx: number;
  ty: number;
}

export const applySimilarity = (s: Similarity, x: number, y: number): [number, number] => [
  s.a * x - s.b * y + s.tx,
  s.b * x + s.a * y + s.ty,
];

/** Scale of a similarity (crop pixels per image pixel). */
export const similarityScale = (s: Similarity): number => Math.hypot(s.a, s.b);

/** The least-squares similarity taking points `from` ([N, 2]) onto `to` ([N, 2]), N >= 2 (closed form). */
export function fitSimilarity(from: ArrayLike<number>, to: ArrayLike<number>): Similarity {
  const n = from.length / 2;
  if (from.length !== to.length || n < 2 || !Number.isInteger(n))
    throw new Error(`fitSimilarity: need two equal lists of >= 2 points, got ${from.length} and ${to.length} values`);
  let fx = 0,
    fy = 0,
    qx = 0,
    qy = 0;
  for (let i = 0; i < n; i++) {
    fx += from[i * 2]!;
    fy += from[i * 2 + 1]!;
    qx += to[i * 2]!;
    qy += to[i * 2 + 1]!;
  }
  [fx, fy, qx, qy] = [fx / n, fy / n, qx / n, qy / n];
  let dot = 0,
    cross = 0,
    norm = 0;
  for (let i = 0; i < n; i++) {
    const px = from[i * 2]! - fx,
      py = from[i * 2 + 1]! - fy;
    const ux = to[i * 2]! - qx,
      uy = to[i * 2 + 1]! - qy;
    dot += px * ux + py * uy;
    cross += px * uy - py * ux;
    norm += px * px + py * py;
  }
  if (!(norm > 1e-9)) throw new Error("fitSimilarity: the source points all coincide");
  const a = dot / norm,
    b = cross / norm;
  return { a, b, tx: qx - (a * fx - b * fy), ty: qy - (b * fx + a * fy) };
}

export interface AlignedCrop {
  /** [size, size, 3] u8 RGB. */
  crop: RgbImage;
  /** Image pixels -> crop pixels. */
  transform: Similarity;
  /** RMS distance (crop pixels) between the five mapped points and the template: large means an odd face or bad landmarks. */
  residualPx: number;
}

/**
 * The aligned crop of the face whose 68 landmarks are given (image pixels).
 * Faces much larger than the crop are first shrunk with a Lanczos filter
 * (sharp), so the bilinear warp never skips pixels (aliasing).
 */
export async function alignedFaceCrop(
  image: RgbImage,
  landmarks: ArrayLike<number>,
  spec: CropSpec,
): Promise<AlignedCrop> {
  checkImage("alignedFaceCrop", image);
  const points = fivePoints(landmarks);
  const template = cropTemplate(spec);
  const S = spec.size;
  let transform = fitSimilarity(points, template);
  let src = image;
  let pre = 1;
  // At most 2 image pixels per crop pixel in the warp itself.
  if (similarityScale(transform) < 0.5) {
    const width = Math.max(8, Math.round(image.width * 2 * similarityScale(transform)));
    const height = Math.max(8, Math.round((image.height * width) / image.width));
    const { data } = await sharp(Buffer.from(image.rgb.buffer, image.rgb.byteOffset, image.rgb.byteLength), {
      raw: { width: image.width, height: image.height, channels: 3 },
    })
      .resize(width, height, { kernel: "lanczos3", fit: "fill" })
      .raw()
      .toBuffer({ resolveWithObject: true });
    src = { width, height, rgb: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
    pre = width / image.width;
    transform = fitSimilarity(
      points.map((v, i) => v * (i % 2 ? height / image.height : pre)),
      template,
    );
  }
  // Crop pixel centre (u, v) -> source pixel: the inverse similarity.
  const det = transform.a ** 2 + transform.b ** 2;
  const out = new Uint8Array(S * S * 3);
  const rgb = new Float64Array(3);
  for (let y = 0; y < S; y++)
    for (let x = 0; x < S; x++) {
      const u = x + 0.5 - transform.tx,
        v = y + 0.5 - transform.ty;
      const sx = (transform.a * u + transform.b * v) / det,
        sy = (-transform.b * u + transform.a * v) / det;
      sampleRgb(src, sx, sy, rgb);
      for (let k = 0; k < 3; k++) out[(y * S + x) * 3 + k] = Math.round(rgb[k]! * 255);
    }
  // Report the transform from the ORIGINAL image's pixels.
  const full: Similarity =
    pre === 1
      ? transform
      : {
          a: transform.a * pre,
          b: transform.b * pre,
          tx: transform.tx,
          ty: transform.ty,
        };
  let sq = 0;
  for (let i = 0; i < 5; i++) {
    const [x, y] = applySimilarity(full, points[i * 2]!, points[i * 2 + 1]!);
    sq += (x - template[i * 2]!) ** 2 + (y - template[i * 2 + 1]!) ** 2;
  }
  return {
    crop: { width: S, height: S, rgb: out },
    transform: full,
    residualPx: Math.sqrt(sq / 5),
  };
}
