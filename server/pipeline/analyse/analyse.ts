/**
 * The "analyse" stage: one decoded portrait -> the face the avatar will be
 * built from (box, 68 landmarks, identity descriptor, head rotation, Human's
 * 478-point mesh, a person matte), or a PortraitRefusal that tells the user
 * what to change. Checks, in order (each needs the previous one's result):
 *   no-face     face-api finds no face (also after padding a tight crop)
 *   many-faces  another face at least otherFaceRatio as wide as the main one
 *   too-small   eye corners (landmarks 36, 45) closer than minInterocularPx
 *   blurred     re-blur sharpness of the face below minSharpness
 *   turned      |yaw| or |pitch| (fitted from the landmarks) above the limits
 * The thresholds and what they were measured on: docs/portrait-analysis.md.
 */
import { DEFAULT_DECODE_LIMITS, checkRgbImage, type RgbImage } from "./decode";
import { detectFaces, type DetectedFace } from "./detect";
import { personMatte } from "./matte";
import { faceMesh } from "./mesh";
import { exclusive, getModels } from "./models";
import { PortraitRefusal } from "./refusal";
import { fitHeadRotation } from "./rotation";
import { faceSharpness } from "./sharpness";
import type { Box, PortraitAnalysis } from "./types";

export { analysisOverlayPng, refusalOverlayPng } from "./overlay";
export type { Box, PortraitAnalysis } from "./types";

export interface AnalyseThresholds {
  /** Lowest detector score for the main face, in [0, 1]. Default 0.3: a face turned 65 degrees still scores 0.3-0.45, and is then refused as turned, which says more than "no face". */
  minScore: number;
  /** Lowest detector score for another face to count. Default 0.5 (below it SSD's false positives on texture appear). */
  minOtherScore: number;
  /** Another face counts when its box is at least this fraction of the main face's width. Default 0.5: people beside you count, a crowd behind you does not. */
  otherFaceRatio: number;
  /** Smallest eye-corner distance (landmarks 36-45), pixels. Default 40 (the face is then about 100 px wide). */
  minInterocularPx: number;
  /** Smallest re-blur sharpness of the face. Default 0.35: sharp photos and renders measure 0.48-0.62, a Gaussian blur of 2 px at 64 px between the eyes brings them to 0.23-0.41. */
  minSharpness: number;
  /** Largest |yaw|, degrees. Default 35: beyond it one cheek and ear are hidden. */
  maxYawDeg: number;
  /** Largest |pitch|, degrees. Default 30: frontal renders of the head model already read +4 to +10 (face-api's landmark convention), and people photographed from above or below are common. */
  maxPitchDeg: number;
}

export const ANALYSE_THRESHOLDS: AnalyseThresholds = Object.freeze({
  minScore: 0.3,
  minOtherScore: 0.5,
  otherFaceRatio: 0.5,
  minInterocularPx: 40,
  minSharpness: 0.35,
  maxYawDeg: 35,
  maxPitchDeg: 30,
});

function resolveThresholds(o: Partial<AnalyseThresholds> | undefined): AnalyseThresholds {
  const t = { ...ANALYSE_THRESHOLDS, ...o };
  for (const [k, v] of Object.entries(t))
    if (!(typeof v === "number" && Number.isFinite(v) && v >= 0))
      throw new Error(`analysePortrait: threshold ${k} must be a number >= 0, got ${v}`);
  return t;
}

const interocular = (lm: Float32Array) => Math.hypot(lm[36 * 2]! - lm[45 * 2]!, lm[36 * 2 + 1]! - lm[45 * 2 + 1]!);
const round = (v: number, digits = 0) => Number(v.toFixed(digits));
/** |value| for a message about exceeding `limit`: whole degrees, or one decimal where rounding would show the limit itself. */
const over = (v: number, limit: number) =>
  Math.round(Math.abs(v)) > limit ? Math.round(Math.abs(v)) : Math.abs(v).toFixed(1);

/** The main face: the widest sure face (score >= minOtherScore), else the best-scoring one. */
function mainFace(faces: DetectedFace[], th: AnalyseThresholds): DetectedFace {
  const sure = faces.filter((f) => f.score >= th.minOtherScore);
  return sure.length ? sure.reduce((a, b) => (b.box.width > a.box.width ? b : a)) : faces[0]!;
}

/** Loads the models now (server start-up, tests) instead of on the first portrait; resolves to their load times in ms. */
export async function loadAnalyseModels(): Promise<Record<string, number>> {
  return { ...(await getModels()).loadMs };
}

export async function analysePortrait(
  image: RgbImage,
  options?: Partial<AnalyseThresholds>,
): Promise<PortraitAnalysis> {
  checkRgbImage(image, "analysePortrait");
  const th = resolveThresholds(options);
  const timings: Record<string, number> = {};
  const t0 = performance.now();
  const timed = async <T>(name: string, f: () => Promise<T> | T): Promise<T> => {
    const s = performance.now();
    const r = await f();
    timings[name] = round(performance.now() - s);
    return r;
  };
  const models = await timed("models", getModels);
  return exclusive(async () => {
    const { faces } = await timed("detect", () => detectFaces(models, image, { minScore: th.minScore, pad: "auto" }));
    if (faces.length === 0)
      throw new PortraitRefusal(
        "no-face",
        "We could not find a face in this photo. Use a photo where your whole face is visible and looking at the camera, in good light, with nothing covering it.",
      );
    const main = mainFace(faces, th);
    const others = faces.filter(
      (f) => f !== main && f.score >= th.minOtherScore && f.box.width >= th.otherFaceRatio * main.box.width,
    );
    if (others.length > 0)
      throw new PortraitRefusal(
        "many-faces",
        `We found ${others.length + 1} faces. Upload a portrait with only you in it (or crop it).`,
        [main, ...others].map((f) => f.box),
        { faces: others.length + 1 },
      );

    const io = interocular(main.landmarks);
    if (io < th.minInterocularPx) {
      const scaled =
        Math.max(image.width, image.height) >= DEFAULT_DECODE_LIMITS.maxSide
          ? ` Large photos are scaled down to ${DEFAULT_DECODE_LIMITS.maxSide} pixels, so crop yours around your head and shoulders before uploading.`
          : "";
      throw new PortraitRefusal(
        "too-small",
        `The face is too small (inter-ocular ${round(io)} px, need ${th.minInterocularPx}): use a closer or larger photo.${scaled}`,
        [main.box],
        { interocularPx: round(io, 1), minInterocularPx: th.minInterocularPx },
      );
    }
    const sharpness = await timed("sharpness", () => faceSharpness(image, main.landmarks));
    if (sharpness < th.minSharpness)
      throw new PortraitRefusal(
        "blurred",
        `The face is blurred (sharpness ${sharpness.toFixed(2)}, need ${th.minSharpness}): use a sharp photo. Hold the camera still, let it focus on the face, and avoid digital zoom.`,
        [main.box],
        { sharpness: round(sharpness, 3), minSharpness: th.minSharpness },
      );

    const fit = await timed("rotation", () => fitHeadRotation(main.landmarks, models.landmarks3d));
    const rotation = { yawDeg: round(fit.yawDeg, 1), pitchDeg: round(fit.pitchDeg, 1), rollDeg: round(fit.rollDeg, 1) };
    if (Math.abs(fit.yawDeg) > th.maxYawDeg)
      throw new PortraitRefusal(
        "turned",
        `The face is turned too far (yaw ${over(fit.yawDeg, th.maxYawDeg)} degrees, at most ${th.maxYawDeg}): use a photo looking at the camera.`,
        [main.box],
        { yawDeg: rotation.yawDeg, maxYawDeg: th.maxYawDeg },
      );
    if (Math.abs(fit.pitchDeg) > th.maxPitchDeg)
      throw new PortraitRefusal(
        "turned",
        `The head is tilted too far ${fit.pitchDeg > 0 ? "down" : "up"} (pitch ${over(fit.pitchDeg, th.maxPitchDeg)} degrees, at most ${th.maxPitchDeg}): use a photo looking straight at the camera.`,
        [main.box],
        { pitchDeg: rotation.pitchDeg, maxPitchDeg: th.maxPitchDeg },
      );

    const mesh = await timed("mesh", () => faceMesh(models, image, main.box));
    const matte = await timed("matte", () => personMatte(models, image));
    timings.total = round(performance.now() - t0);
    return {
      width: image.width,
      height: image.height,
      box: main.box,
      score: main.score,
      faces: 1,
      landmarks: main.landmarks,
      descriptor: main.descriptor,
      rotation,
      interocularPx: io,
      sharpness,
      matte,
      mesh: mesh?.mesh ?? null,
      timings,
    };
  });
}

/** The person matte alone: an upload's stored analysis holds everything else. */
export async function portraitMatte(image: RgbImage): Promise<Float32Array> {
  checkRgbImage(image, "portraitMatte");
  const models = await getModels();
  return exclusive(() => personMatte(models, image));
}

/**
 * The descriptor of the largest face, for identity checks on renders (128-512 px,
 * tight around a head): the image is padded before detecting. Null when no face is found.
 */
export async function faceDescriptor(
  image: RgbImage,
): Promise<{ descriptor: Float32Array; box: Box; score: number } | null> {
  checkRgbImage(image, "faceDescriptor");
  const models = await getModels();
  return exclusive(async () => {
    const { faces } = await detectFaces(models, image, { minScore: ANALYSE_THRESHOLDS.minScore, pad: "always" });
    if (faces.length === 0) return null;
    const f = faces.reduce((a, b) => (b.box.width * b.box.height > a.box.width * a.box.height ? b : a));
    return { descriptor: f.descriptor, box: f.box, score: f.score };
  });
}

/** Euclidean distance between two face-api descriptors; below 0.6 is the usual "same person". */
export function descriptorDistance(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length || a.length === 0)
    throw new Error(
      `descriptorDistance: descriptors must have the same non-zero length, got ${a.length} and ${b.length}`,
    );
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i]! - b[i]!) ** 2;
  return Math.sqrt(s);
}
