/**
 * Faces with face-api: SSD-MobileNet boxes, 68 landmarks and the 128-d
 * descriptor per face (and, when asked, AgeGenderNet's apparent age and
 * gender), in the decoded image's pixels.
 *
 * Tight crops (a face touching the frame) defeat the detector, so the image
 * is detected again with a replicated border around it when nothing is
 * found or the face touches an edge, and the coordinates are mapped back
 * (they may then lie a little outside the image). The border is not added
 * up front: it shrinks every face in the detector's 512 px input, and small
 * faces in full-body photos get lost.
 */
import sharp from "sharp";
import type { Box } from "./types";
import type { RgbImage } from "./decode";
import type { FaceApiAge, FaceApiFace, Models } from "./models";

export interface DetectedFace {
  box: Box;
  score: number;
  /** [68, 2] f32 pixels, iBUG order; the image's top-left corner is (0, 0), the centre of pixel (i, j) is (i + 0.5, j + 0.5). */
  landmarks: Float32Array;
  descriptor: Float32Array;
  /** AgeGenderNet's estimate, with DetectOptions.ageAndGender only: years, and the probability of `gender` (0.5-1). */
  age?: { years: number; gender: "male" | "female"; genderProbability: number };
}

export interface DetectOptions {
  /** Lowest detector score kept (0-1). */
  minScore: number;
  /** "auto": pad only when nothing is found or the best face touches an edge; "always": pad first (renders tight around a head). */
  pad: "auto" | "always";
  /** Border on each side, as a fraction of the image's longer side. Default 0.25. */
  padFraction?: number;
  /** Also run AgeGenderNet on each face (the age slider's measurement; no analysis needs it). */
  ageAndGender?: boolean;
}

async function runFaceApi(
  models: Models,
  image: RgbImage,
  minScore: number,
  ageAndGender = false,
): Promise<DetectedFace[]> {
  const { tf, faceapi } = models;
  const t = tf.tensor3d(image.rgb, [image.height, image.width, 3], "int32");
  try {
    const withLandmarks = faceapi
      .detectAllFaces(t, new faceapi.SsdMobilenetv1Options({ minConfidence: minScore, maxResults: 50 }))
      .withFaceLandmarks();
    const found: Array<FaceApiFace & Partial<FaceApiAge>> = ageAndGender
      ? await withLandmarks.withAgeAndGender().withFaceDescriptors()
      : await withLandmarks.withFaceDescriptors();
    return found.map((f) => ({
      box: { x: f.detection.box.x, y: f.detection.box.y, width: f.detection.box.width, height: f.detection.box.height },
      score: f.detection.score,
      landmarks: Float32Array.from(f.landmarks.positions.flatMap((p) => [p.x, p.y])),
      descriptor: Float32Array.from(f.descriptor),
      ...(f.age !== undefined
        ? { age: { years: f.age, gender: f.gender!, genderProbability: f.genderProbability! } }
        : {}),
    }));
  } finally {
    t.dispose();
  }
}

/** The image with `pad` pixels of replicated border on every side. */
export async function padImage(image: RgbImage, pad: number): Promise<RgbImage> {
  const { data, info } = await sharp(Buffer.from(image.rgb.buffer, image.rgb.byteOffset, image.rgb.byteLength), {
    raw: { width: image.width, height: image.height, channels: 3 },
  })
    .extend({ top: pad, bottom: pad, left: pad, right: pad, extendWith: "copy" })
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, rgb: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}

function shift(f: DetectedFace, d: number): DetectedFace {
  return { ...f, box: { ...f.box, x: f.box.x - d, y: f.box.y - d }, landmarks: f.landmarks.map((v) => v - d) };
}

const touchesEdge = (b: Box, image: RgbImage) => {
  const m = 0.02 * Math.max(image.width, image.height);
  return b.x < m || b.y < m || b.x + b.width > image.width - m || b.y + b.height > image.height - m;
};

/** All faces, best score first, and whether the padded image gave them. */
export async function detectFaces(
  models: Models,
  image: RgbImage,
  o: DetectOptions,
): Promise<{ faces: DetectedFace[]; padded: boolean }> {
  const pad = Math.max(8, Math.round((o.padFraction ?? 0.25) * Math.max(image.width, image.height)));
  const padded = async () =>
    (await runFaceApi(models, await padImage(image, pad), o.minScore, o.ageAndGender)).map((f) => shift(f, pad));
  const byScore = (a: DetectedFace, b: DetectedFace) => b.score - a.score;
  if (o.pad === "always") return { faces: (await padded()).sort(byScore), padded: true };
  const plain = (await runFaceApi(models, image, o.minScore, o.ageAndGender)).sort(byScore);
  if (plain.length > 0 && !touchesEdge(plain[0]!.box, image)) return { faces: plain, padded: false };
  const withBorder = (await padded()).sort(byScore);
  // Keep the padded result only when it is at least as sure of its best face.
  if (withBorder.length > 0 && (plain.length === 0 || withBorder[0]!.score >= plain[0]!.score))
    return { faces: withBorder, padded: true };
  return { faces: plain, padded: false };
}
