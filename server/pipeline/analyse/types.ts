/**
 * What the analyse stage finds in a portrait. Its own file so that the
 * stage's parts (detect, mesh, matte, overlay, refusal) can name these types
 * without importing analyse.ts, which imports them.
 */
import type { HeadRotation } from "./rotation";

export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface PortraitAnalysis {
  /** The decoded image the coordinates refer to. */
  width: number;
  height: number;
  /** The face's box (face-api's detector; may reach past the image's edge on a tight crop). */
  box: Box;
  /** Detector score in [0, 1]. */
  score: number;
  /** Faces that count (background faces smaller than otherFaceRatio are ignored): 1 for an accepted portrait. */
  faces: number;
  /** [68, 2] f32 pixels, iBUG 300-W order; the image's top-left corner is (0, 0), the centre of pixel (i, j) is (i + 0.5, j + 0.5). */
  landmarks: Float32Array;
  /** [128] f32 face-api descriptor (Euclidean distance < 0.6: same person). */
  descriptor: Float32Array;
  /** Degrees, renderer convention: yaw > 0 turns the face toward the SUBJECT'S LEFT (the image's right), pitch > 0 nods down, roll > 0 tilts the head toward the subject's right shoulder (the image's left). */
  rotation: HeadRotation;
  /** Distance between the eye-corner landmarks 36 and 45, pixels. */
  interocularPx: number;
  /** Re-blur sharpness of the face resampled to 64 px between the eyes, in [0, 1]; higher is sharper. */
  sharpness: number;
  /** [H, W] f32 person coverage in [0, 1] at the decoded image's resolution (MediaPipe selfie segmentation, guided-filter edge; includes hair). */
  matte: Float32Array | null;
  /** [478, 3] f32 Human's face mesh in pixels (z: depth, negative toward the camera), or null when Human did not find the face. */
  mesh: Float32Array | null;
  /** Milliseconds per step: models (waiting for the one-time load), detect, rotation, sharpness, mesh, matte, total. */
  timings: Record<string, number>;
}
