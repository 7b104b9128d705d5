/**
 * Landmarks -> head parameters: the project's head model (render-core/head)
 * fitted to the 68 iBUG landmarks of one photo by Levenberg-Marquardt.
 *
 * Model: landmark i = sum_k bary_ik * LBS(template + shapeDirs.shape +
 * exprDirs.expression) at the three vertices of its bound face, posed with a
 * global rotation (root joint) and the jaw, seen by a pinhole camera with the
 * world axes turned as in renderPortrait (camera x = world x, y = -world y,
 * z = -world z), a translation and one focal length (principal point at the
 * image centre). Only the ~200 vertices under the landmarks are evaluated, in
 * f64, so forward-difference Jacobians are cheap.
 *
 * Unknowns: rotation (3), translation (3), log focal (1), shape (24), the
 * expressions a photo shows (smile, brow raises, blinks: 8) and the jaw
 * opening (1). Priors: shape and expression N(0, sigma^2), jaw N(0, 0.15 rad),
 * log focal N(log f0, 0.4) with f0 from a 40 degree field of view across the
 * longer image side. Residuals are landmark distances in units of 2 % of the
 * inter-ocular distance, Huber-robust beyond 3 units; the jaw contour (0-16)
 * has weight 0.25 (detectors place it on the silhouette, the model binds it
 * to fixed surface points). Coarse to fine: rigid pose first (focal fixed at
 * its prior), then everything. A detector's landmarks go through its
 * LandmarkConvention first (landmark-convention.ts), at the fitted yaw.
 * The model and the solver live in fit-solver.ts. With Human's mesh
 * (options.mesh) this fit only starts the dense one (dense-fit.ts).
 */
import { rodrigues, type HeadModel } from "../../../render-core/head";
import { toModelConvention, type LandmarkConvention } from "./landmark-convention";
import type { Camera } from "../../../render-core/math/camera";
import { checkMesh, fitDense, type DenseOptions, type DenseReport } from "./dense-fit";
import {
  FIT_EXPRESSIONS,
  LOGF,
  ROT,
  SHAPE,
  TRANS,
  levenbergMarquardt,
  pointBasis,
  posteriorStd,
  projectPoints,
  type Problem,
} from "./fit-solver";

export { FIT_EXPRESSIONS };

export interface HeadFit {
  shape: Float32Array; // [24]
  expression: Float32Array; // [24]
  /** Global head rotation (axis-angle, the head's root joint) in pose[0..2] and the jaw in pose[6..8]; the translation in metres is the camera's (worldToCamera), camera looking from +z as in renderPortrait. */
  pose: Float32Array; // [J * 3], usable with createHeadParams
  /** Fitted pinhole camera (focal fitted, principal point at the image centre), world->camera. */
  camera: Camera;
  /** [68, 2] the landmarks fitted (pixels): the input, moved to the model's convention when a convention was given. */
  landmarks: Float32Array;
  /** Mean reprojection error over the landmarks used (weight > 0). */
  landmarkErrorPx: number;
  perLandmarkErrorPx: Float32Array; // [68]
  /** Distance between the observed outer eye corners (36, 45), the 300-W normaliser. */
  interocularPx: number;
  /** Levenberg-Marquardt iterations over both stages. */
  iterations: number;
  /** Euler angles of the global rotation, R = Ry(yaw) Rx(pitch) Rz(roll) as in renderPortrait. */
  rotation: { yawDeg: number; pitchDeg: number; rollDeg: number };
  /** [24] posterior standard deviation of each shape coefficient (Laplace approximation at the optimum): near the prior's sigma means the landmarks do not see it. */
  shapeStd: Float32Array;
  // The three below are always set by fitHead; optional for fits built by hand (tests).
  /** "dense" when fitted to Human's 478-point mesh (options.mesh), "landmarks68" otherwise. */
  mode?: "dense" | "landmarks68";
  /** Dense mode: mean reprojection error (pixels) on the 20 % of mesh points held out of a first fit; null otherwise. */
  heldOutErrorPx?: number | null;
  /** Dense mode: the mesh points' errors and the held-out figures; null otherwise. */
  dense?: DenseReport | null;
}

export interface FitHeadOptions {
  /** [68] landmark weights (0 drops one). Default 0.25 on the jaw contour (0-16), 1 elsewhere. */
  weights?: ArrayLike<number>;
  /** Landmark noise (standard deviation) as a fraction of the inter-ocular distance; sets the data term's weight against the priors. Default 0.02. */
  landmarkSigma?: number;
  /** Prior standard deviation of the shape coefficients (their unit is about one population sigma). Default 1. */
  shapeSigma?: number;
  /** Prior standard deviation of the fitted expression coefficients. Default 0.7. */
  expressionSigma?: number;
  /** Prior centre of the focal length, as a field of view across the longer image side in degrees. Default 40. */
  fovPriorDeg?: number;
  /** Prior standard deviation of log(focal). Default 0.4. */
  focalLogSigma?: number;
  /** A known focal length in pixels: not fitted. */
  focalPx?: number;
  /** Fit shape and expression (false: rigid pose and focal only). Default true. */
  fitShape?: boolean;
  /**
   * The detector's landmark convention (e.g. FACE_API_CONVENTION): its mean
   * offsets from the model's points are removed (at the yaw of a first rigid
   * fit) before fitting. Default none: the landmarks are taken as the model's.
   */
  convention?: LandmarkConvention;
  /** Iteration cap per stage. Default 60. */
  maxIterations?: number;
  /**
   * Human's mesh [478, 3] (analysis.mesh, pixels): when given, the fit is
   * dense (dense-fit.ts): the 68-point fit is only its start, and every
   * shape coefficient is fitted to the mesh points under its prior.
   */
  mesh?: Float32Array | null;
  /** Dense mode's held-out draw and point weights. */
  dense?: DenseOptions;
}

/**
 * Shape coefficients that 68 landmarks pin down (measured over 16 rendered
 * portraits, docs/portrait-fitting.md): RMS error <= 0.35 where the truth's
 * RMS is about 0.5. The others trade off against each other, the pose, the
 * focal length or are not seen at all (ears, neck, head depth, crown).
 */
export const IDENTIFIABLE_SHAPES = [
  "chinHeight",
  "cheekFullness",
  "noseLength",
  "eyeSpacing",
  "eyeTilt",
  "browHeight",
  "lipFullness",
  "mouthWidth",
] as const;

const JAW_CONTOUR_WEIGHT = 0.25;
/** Landmark noise scale as a fraction of the inter-ocular distance (detectors are good to about 2-4 %). */
const NOISE_FRACTION = 0.02;

/** Euler angles (degrees) of an axis-angle for R = Ry(yaw) Rx(pitch) Rz(roll). */
export function axisAngleToEuler(
  x: number,
  y: number,
  z: number,
): { yawDeg: number; pitchDeg: number; rollDeg: number } {
  const R = rodrigues(x, y, z);
  const DEG = 180 / Math.PI;
  return {
    yawDeg: Math.atan2(R[2], R[8]) * DEG,
    pitchDeg: Math.asin(Math.min(1, Math.max(-1, -R[5]))) * DEG,
    rollDeg: Math.atan2(R[3], R[4]) * DEG,
  };
}

function checkLandmarks(landmarks: Float32Array, count: number, size: { width: number; height: number }): void {
  if (!(landmarks instanceof Float32Array) || landmarks.length !== count * 2)
    throw new Error(
      `fitHead: landmarks must be a Float32Array [${count}, 2] (${count * 2} numbers), got ${landmarks instanceof Float32Array ? landmarks.length : typeof landmarks}`,
    );
  for (let i = 0; i < landmarks.length; i++)
    if (!Number.isFinite(landmarks[i]))
      throw new Error(`fitHead: landmark ${i >> 1} has a non-finite coordinate (${landmarks[i]})`);
  const { width, height } = size;
  if (!(width > 0 && height > 0 && Number.isFinite(width) && Number.isFinite(height)))
    throw new Error(`fitHead: image size must be positive, got ${width} x ${height}`);
  let outside = 0;
  for (let i = 0; i < count; i++) {
    const u = landmarks[i * 2],
      v = landmarks[i * 2 + 1];
    if (u < -0.5 * width || u > 1.5 * width || v < -0.5 * height || v > 1.5 * height) outside++;
  }
  if (outside > count / 2)
    throw new Error(
      `fitHead: ${outside} of ${count} landmarks lie far outside the ${width} x ${height} image; are they in pixels of this image?`,
    );
}

/**
 * Fits the head model to 68 landmarks (pixels, iBUG order) of a width x
 * height photo, then to Human's mesh when options.mesh is given.
 */
export function fitHead(
  head: HeadModel,
  landmarks: Float32Array,
  size: { width: number; height: number },
  options: FitHeadOptions = {},
): HeadFit {
  const L = head.landmarks.length;
  checkLandmarks(landmarks, L, size);
  if (options.mesh) checkMesh(options.mesh, size);
  const S = head.shapeNames.length,
    J = head.jointNames.length;
  const basis = pointBasis(head, head.landmarkFaces, head.landmarkBary);
  const Ef = basis.exprIndex.length;
  const weights = options.weights
    ? Float64Array.from(options.weights)
    : Float64Array.from({ length: L }, (_, i) => (i <= 16 ? JAW_CONTOUR_WEIGHT : 1));
  if (weights.length !== L || weights.some((w) => !(w >= 0) || !Number.isFinite(w)))
    throw new Error(`fitHead: weights must be ${L} finite numbers >= 0`);
  const used = Array.from({ length: L }, (_, i) => i).filter((i) => weights[i] > 0);
  if (used.length < 6) throw new Error(`fitHead: at least 6 landmarks need a positive weight, got ${used.length}`);
  const obs = Float64Array.from(landmarks);
  const mean = (ids: number[], a: number) => ids.reduce((s, i) => s + obs[i * 2 + a], 0) / ids.length;
  const interocularPx = Math.hypot(obs[45 * 2] - obs[36 * 2], obs[45 * 2 + 1] - obs[36 * 2 + 1]);
  if (!(interocularPx >= 4))
    throw new Error(
      `fitHead: the outer eye corners (landmarks 36 and 45) are ${interocularPx.toFixed(2)} px apart; a face needs at least 4 px`,
    );
  const landmarkSigma = options.landmarkSigma ?? NOISE_FRACTION;
  if (!(landmarkSigma > 0 && landmarkSigma < 1))
    throw new Error(`fitHead: landmarkSigma must be in (0, 1), got ${landmarkSigma}`);
  const sigmaPx = landmarkSigma * interocularPx;
  const { width, height } = size;
  const maxSide = Math.max(width, height);
  const fovPrior = ((options.fovPriorDeg ?? 40) * Math.PI) / 180;
  if (!(fovPrior > 0.05 && fovPrior < 3))
    throw new Error(`fitHead: fovPriorDeg must be in (3, 170), got ${options.fovPriorDeg}`);
  if (options.focalPx !== undefined && !(options.focalPx > 0))
    throw new Error(`fitHead: focalPx must be > 0, got ${options.focalPx}`);
  const f0 = options.focalPx ?? maxSide / 2 / Math.tan(fovPrior / 2);
  const jawAt = SHAPE + S + Ef;
  const p: Problem = {
    head,
    basis,
    S,
    Ef,
    jawAt,
    count: jawAt + 1,
    cx: width / 2,
    cy: height / 2,
    obs,
    scale: Float64Array.from(weights, (w) => Math.sqrt(w) / sigmaPx),
    used,
    shapeSigma: options.shapeSigma ?? 1,
    exprSigma: options.expressionSigma ?? 0.7,
    logF0: Math.log(f0),
    focalLogSigma: options.focalLogSigma ?? 0.4,
  };
  if (!(p.shapeSigma > 0 && p.exprSigma > 0 && p.focalLogSigma > 0))
    throw new Error("fitHead: prior sigmas must be > 0");

  // Initial guess: roll from the eye line, depth from the eye distance, centred on the landmarks.
  const t = new Float64Array(p.count);
  t[LOGF] = Math.log(f0);
  const rEye = [36, 37, 38, 39, 40, 41],
    lEye = [42, 43, 44, 45, 46, 47];
  const roll = -Math.atan2(mean(lEye, 1) - mean(rEye, 1), mean(lEye, 0) - mean(rEye, 0));
  t[ROT + 2] = roll;
  const rest = projectPoints(
    { ...p, cx: 0, cy: 0 },
    Float64Array.from({ length: p.count }, (_, i) => (i === LOGF ? 0 : i === TRANS + 2 ? 1 : 0)),
  );
  // With focal 1 at distance 1 from the origin, `rest` is the model in metres (camera axes): scale = f / depth.
  const modelEye = Math.hypot(rest[45 * 2] - rest[36 * 2], rest[45 * 2 + 1] - rest[36 * 2 + 1]);
  const depth = (f0 * modelEye) / interocularPx;
  const all = Array.from({ length: L }, (_, i) => i);
  const restMean = (a: number) => all.reduce((s, i) => s + rest[i * 2 + a], 0) / L;
  t[TRANS + 2] = depth;
  t[TRANS] = ((mean(all, 0) - p.cx) * depth) / f0 - restMean(0);
  t[TRANS + 1] = ((mean(all, 1) - p.cy) * depth) / f0 - restMean(1);

  const maxIt = options.maxIterations ?? 60;
  const rigid = [ROT, ROT + 1, ROT + 2, TRANS, TRANS + 1, TRANS + 2];
  let iterations = levenbergMarquardt(p, t, rigid, maxIt);
  if (options.convention) {
    // The detector's offsets depend on the yaw: a rigid fit on the yaw-0 correction tells it.
    p.obs = Float64Array.from(toModelConvention(landmarks, options.convention, 0));
    iterations += levenbergMarquardt(p, t, rigid, maxIt);
    p.obs = Float64Array.from(
      toModelConvention(landmarks, options.convention, axisAngleToEuler(t[ROT], t[ROT + 1], t[ROT + 2]).yawDeg),
    );
    iterations += levenbergMarquardt(p, t, rigid, maxIt);
  }
  const fitFocal = options.focalPx === undefined;
  const full = Array.from({ length: p.count }, (_, i) => i).filter(
    (i) => (fitFocal || i !== LOGF) && (options.fitShape !== false || i < SHAPE),
  );
  iterations += levenbergMarquardt(p, t, full, maxIt);
  let dense: ReturnType<typeof fitDense> | null = null;
  if (options.mesh) {
    dense = fitDense(p, t, options.mesh, landmarks, full, maxIt, options.dense);
    iterations += dense.report.iterations;
  }

  const proj = projectPoints(p, t);
  const perLandmarkErrorPx = new Float32Array(L);
  for (let i = 0; i < L; i++)
    perLandmarkErrorPx[i] = Math.hypot(proj[i * 2] - p.obs[i * 2], proj[i * 2 + 1] - p.obs[i * 2 + 1]);
  const landmarkErrorPx = used.reduce((s, i) => s + perLandmarkErrorPx[i], 0) / used.length;
  const shapeIdx = Array.from({ length: S }, (_, c) => SHAPE + c);
  const shapeStd =
    options.fitShape === false
      ? new Float32Array(S).fill(p.shapeSigma)
      : Float32Array.from(
          dense
            ? posteriorStd(dense.problem, dense.params, shapeIdx, fitFocal)
            : posteriorStd(p, t, shapeIdx, fitFocal),
        );

  const expression = new Float32Array(head.expressionNames.length);
  basis.exprIndex.forEach((e, c) => (expression[e] = t[SHAPE + S + c]));
  const pose = new Float32Array(J * 3);
  pose.set([t[ROT], t[ROT + 1], t[ROT + 2]], 0);
  pose[2 * 3] = t[jawAt];
  const f = Math.exp(t[LOGF]);
  const worldToCamera = new Float32Array([
    1,
    0,
    0,
    t[TRANS],
    0,
    -1,
    0,
    t[TRANS + 1],
    0,
    0,
    -1,
    t[TRANS + 2],
    0,
    0,
    0,
    1,
  ]);
  return {
    shape: Float32Array.from(t.subarray(SHAPE, SHAPE + S)),
    expression,
    pose,
    camera: { width, height, fx: f, fy: f, cx: p.cx, cy: p.cy, worldToCamera, near: 0.01, far: 1000 },
    landmarks: Float32Array.from(p.obs),
    landmarkErrorPx,
    perLandmarkErrorPx,
    interocularPx,
    iterations,
    rotation: axisAngleToEuler(t[ROT], t[ROT + 1], t[ROT + 2]),
    shapeStd,
    mode: dense ? "dense" : "landmarks68",
    heldOutErrorPx: dense?.report.heldOutErrorPx ?? null,
    dense: dense?.report ?? null,
  };
}
