/**
 * A landmark detector's 68 points are not the head model's: face-api puts
 * the jaw contour on the face's lower silhouette, the lip contours tighter,
 * the nostril base higher... (measured on the project's rendered portraits,
 * where the model's own landmarks are known). A LandmarkConvention is the
 * detector's mean offset from the model per landmark, linear in the head's
 * yaw, in a frame that the detector's own points define (x along the eye
 * line toward the image's right, y down, unit the outer-eye-corner
 * distance): subtracting it maps detector landmarks to the model's
 * convention before the fit. Tables are made by server/cli/calibrate-landmarks.ts.
 */
import faceApiTable from "./face-api-convention.json";

export interface LandmarkConvention {
  /** Which detector, and how the table was made. */
  name: string;
  portraits: number;
  /** [68, 2] mean offset (detector - model) at yaw 0, inter-ocular units, eye-line frame. */
  offset: number[];
  /** [68, 2] change of the offset per degree of yaw. */
  perYawDeg: number[];
  /** RMS over landmarks of what the table leaves unexplained, inter-ocular units (on its own portraits). */
  residual: number;
}

/** face-api 1.7.15's 68-point model (the analyse stage's detector). */
export const FACE_API_CONVENTION: LandmarkConvention = faceApiTable;

/** The eye-line frame of a landmark set: origin between the eye centres, unit x along the eye line, and the outer-corner distance. */
export function eyeLineFrame(landmarks: ArrayLike<number>): {
  ox: number;
  oy: number;
  cos: number;
  sin: number;
  io: number;
} {
  const mean = (from: number, a: number) => {
    let s = 0;
    for (let i = from; i < from + 6; i++) s += landmarks[i * 2 + a];
    return s / 6;
  };
  const rx = mean(36, 0),
    ry = mean(36, 1),
    lx = mean(42, 0),
    ly = mean(42, 1);
  const ang = Math.atan2(ly - ry, lx - rx);
  const io = Math.hypot(landmarks[45 * 2] - landmarks[36 * 2], landmarks[45 * 2 + 1] - landmarks[36 * 2 + 1]);
  return { ox: (rx + lx) / 2, oy: (ry + ly) / 2, cos: Math.cos(ang), sin: Math.sin(ang), io };
}

/** Detector landmarks [68, 2] (pixels) moved to the model's convention for a head at `yawDeg`. */
export function toModelConvention(
  landmarks: Float32Array,
  convention: LandmarkConvention,
  yawDeg: number,
): Float32Array {
  const n = landmarks.length / 2;
  if (convention.offset.length !== n * 2 || convention.perYawDeg.length !== n * 2)
    throw new Error(
      `toModelConvention: the ${convention.name} table has ${convention.offset.length / 2} landmarks, the input ${n}`,
    );
  const { cos, sin, io } = eyeLineFrame(landmarks);
  const out = new Float32Array(landmarks.length);
  for (let i = 0; i < n; i++) {
    const fx = (convention.offset[i * 2] + convention.perYawDeg[i * 2] * yawDeg) * io;
    const fy = (convention.offset[i * 2 + 1] + convention.perYawDeg[i * 2 + 1] * yawDeg) * io;
    // Frame -> image: rotate by the eye line's angle.
    out[i * 2] = landmarks[i * 2] - (cos * fx - sin * fy);
    out[i * 2 + 1] = landmarks[i * 2 + 1] - (sin * fx + cos * fy);
  }
  return out;
}
