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
 */
import { rodrigues, type HeadModel } from "../../../render-core/head";
import { toModelConvention, type LandmarkConvention } from "./landmark-convention";
import type { Camera } from "../../../render-core/math/camera";

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
}

/** The expression coefficients a single photo can show, fitted by name; the jaw opening is the jaw joint. */
export const FIT_EXPRESSIONS = [
  "smileL",
  "smileR",
  "browInnerRaiseL",
  "browInnerRaiseR",
  "browOuterRaiseL",
  "browOuterRaiseR",
  "blinkL",
  "blinkR",
] as const;

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
const JAW_SIGMA = 0.15;
const HUBER_K = 3;
/** Landmark noise scale as a fraction of the inter-ocular distance (detectors are good to about 2-4 %). */
const NOISE_FRACTION = 0.02;

/** The head model reduced to the vertices under the landmarks (f64). */
interface LandmarkBasis {
  n: number;
  /** [68 * 3] index into the reduced vertices, and barycentric weight. */
  corner: Int32Array;
  bary: Float64Array;
  /** [n, 3] template, [n, 3, S] shape dirs, [n, 3, Ef] fitted expression dirs, [n, J] skin weights. */
  base: Float64Array;
  shapeDirs: Float64Array;
  exprDirs: Float64Array;
  skin: Float64Array;
  exprIndex: number[];
  /** [J, 3] rest joints and [J, 3, S] joint shape dirs. */
  jointRest: Float64Array;
  jointShapeDirs: Float64Array;
}

const basisCache = new WeakMap<HeadModel, LandmarkBasis>();

function landmarkBasis(head: HeadModel): LandmarkBasis {
  const hit = basisCache.get(head);
  if (hit) return hit;
  const S = head.shapeNames.length,
    E = head.expressionNames.length,
    J = head.jointNames.length;
  const L = head.landmarks.length;
  const exprIndex = FIT_EXPRESSIONS.map((name) => {
    const i = head.expressionNames.indexOf(name);
    if (i < 0) throw new Error(`fitHead: the head model has no expression "${name}"`);
    return i;
  });
  const Ef = exprIndex.length;
  const slot = new Map<number, number>();
  const corner = new Int32Array(L * 3),
    bary = new Float64Array(L * 3);
  for (let i = 0; i < L; i++) {
    for (let k = 0; k < 3; k++) {
      const v = head.faces[head.landmarkFaces[i] * 3 + k];
      if (!slot.has(v)) slot.set(v, slot.size);
      corner[i * 3 + k] = slot.get(v)!;
      bary[i * 3 + k] = head.landmarkBary[i * 3 + k];
    }
  }
  const n = slot.size;
  const base = new Float64Array(n * 3),
    shapeDirs = new Float64Array(n * 3 * S),
    exprDirs = new Float64Array(n * 3 * Ef),
    skin = new Float64Array(n * J);
  for (const [v, s] of slot) {
    for (let a = 0; a < 3; a++) {
      base[s * 3 + a] = head.template[v * 3 + a];
      for (let c = 0; c < S; c++) shapeDirs[(s * 3 + a) * S + c] = head.shapeDirs[(v * 3 + a) * S + c];
      for (let c = 0; c < Ef; c++) exprDirs[(s * 3 + a) * Ef + c] = head.exprDirs[(v * 3 + a) * E + exprIndex[c]];
    }
    for (let j = 0; j < J; j++) skin[s * J + j] = head.skinWeights[v * J + j];
  }
  const basis = {
    n,
    corner,
    bary,
    base,
    shapeDirs,
    exprDirs,
    skin,
    exprIndex,
    jointRest: Float64Array.from(head.jointRest),
    jointShapeDirs: Float64Array.from(head.jointShapeDirs),
  };
  basisCache.set(head, basis);
  return basis;
}

/** Parameter vector layout. */
const ROT = 0,
  TRANS = 3,
  LOGF = 6,
  SHAPE = 7;

interface Problem {
  head: HeadModel;
  basis: LandmarkBasis;
  S: number;
  Ef: number;
  /** Index of the jaw opening in the parameter vector; total parameter count. */
  jawAt: number;
  count: number;
  cx: number;
  cy: number;
  obs: Float64Array;
  /** [68] sqrt(weight) / sigma_px. */
  scale: Float64Array;
  used: number[];
  shapeSigma: number;
  exprSigma: number;
  logF0: number;
  focalLogSigma: number;
}

/** Pixel positions [68, 2] of the landmarks for parameters `t`. */
function projectLandmarks(p: Problem, t: Float64Array, out: Float64Array): Float64Array {
  const { basis: b, S, Ef, head } = p;
  const J = head.jointNames.length,
    n = b.n;
  // Joints follow the shape.
  const joints = new Float64Array(J * 3);
  for (let q = 0; q < J * 3; q++) {
    let v = b.jointRest[q];
    for (let c = 0; c < S; c++) v += b.jointShapeDirs[q * S + c] * t[SHAPE + c];
    joints[q] = v;
  }
  // Joint chain: only the root (global rotation) and the jaw are posed.
  const G = new Float64Array(J * 12),
    A = new Float64Array(J * 12);
  for (let j = 0; j < J; j++) {
    const R = j === 0 ? rodrigues(t[ROT], t[ROT + 1], t[ROT + 2]) : j === 2 ? rodrigues(t[p.jawAt], 0, 0) : null;
    const par = head.jointParents[j];
    const local = new Float64Array(12);
    for (let r = 0; r < 3; r++) {
      for (let c = 0; c < 3; c++) local[r * 4 + c] = R ? R[r * 3 + c] : r === c ? 1 : 0;
      local[r * 4 + 3] = joints[j * 3 + r] - (par >= 0 ? joints[par * 3 + r] : 0);
    }
    if (par < 0) G.set(local, j * 12);
    else
      for (let r = 0; r < 3; r++)
        for (let c = 0; c < 4; c++) {
          let v = c === 3 ? G[par * 12 + r * 4 + 3] : 0;
          for (let k = 0; k < 3; k++) v += G[par * 12 + r * 4 + k] * local[k * 4 + c];
          G[j * 12 + r * 4 + c] = v;
        }
    for (let r = 0; r < 3; r++) {
      let tr = G[j * 12 + r * 4 + 3];
      for (let k = 0; k < 3; k++) tr -= G[j * 12 + r * 4 + k] * joints[j * 3 + k];
      for (let c = 0; c < 3; c++) A[j * 12 + r * 4 + c] = G[j * 12 + r * 4 + c];
      A[j * 12 + r * 4 + 3] = tr;
    }
  }
  const posed = new Float64Array(n * 3),
    M = new Float64Array(12);
  for (let s = 0; s < n; s++) {
    const x = [0, 0, 0];
    for (let a = 0; a < 3; a++) {
      let v = b.base[s * 3 + a];
      const o = (s * 3 + a) * S,
        oe = (s * 3 + a) * Ef;
      for (let c = 0; c < S; c++) v += b.shapeDirs[o + c] * t[SHAPE + c];
      for (let c = 0; c < Ef; c++) v += b.exprDirs[oe + c] * t[SHAPE + S + c];
      x[a] = v;
    }
    M.fill(0);
    for (let j = 0; j < J; j++) {
      const w = b.skin[s * J + j];
      if (w !== 0) for (let k = 0; k < 12; k++) M[k] += w * A[j * 12 + k];
    }
    for (let r = 0; r < 3; r++)
      posed[s * 3 + r] = M[r * 4] * x[0] + M[r * 4 + 1] * x[1] + M[r * 4 + 2] * x[2] + M[r * 4 + 3];
  }
  const f = Math.exp(t[LOGF]);
  const L = b.corner.length / 3;
  for (let i = 0; i < L; i++) {
    let X = 0,
      Y = 0,
      Z = 0;
    for (let k = 0; k < 3; k++) {
      const s = b.corner[i * 3 + k],
        w = b.bary[i * 3 + k];
      X += w * posed[s * 3];
      Y += w * posed[s * 3 + 1];
      Z += w * posed[s * 3 + 2];
    }
    const cz = -Z + t[TRANS + 2];
    out[i * 2] = (f * (X + t[TRANS])) / cz + p.cx;
    out[i * 2 + 1] = (f * (-Y + t[TRANS + 1])) / cz + p.cy;
  }
  return out;
}

/** Residual vector: robust, weighted landmark offsets, then the priors. */
function residuals(p: Problem, t: Float64Array, out: Float64Array, proj: Float64Array): Float64Array {
  projectLandmarks(p, t, proj);
  let q = 0;
  for (const i of p.used) {
    const dx = (proj[i * 2] - p.obs[i * 2]) * p.scale[i],
      dy = (proj[i * 2 + 1] - p.obs[i * 2 + 1]) * p.scale[i];
    const e = Math.hypot(dx, dy);
    // Huber on the landmark's distance: sqrt(2 rho(e)) / e scales both components.
    const s = e <= HUBER_K ? 1 : Math.sqrt(HUBER_K * (2 * e - HUBER_K)) / e;
    out[q++] = dx * s;
    out[q++] = dy * s;
  }
  for (let c = 0; c < p.S; c++) out[q++] = t[SHAPE + c] / p.shapeSigma;
  for (let c = 0; c < p.Ef; c++) out[q++] = t[SHAPE + p.S + c] / p.exprSigma;
  out[q++] = t[p.jawAt] / JAW_SIGMA;
  out[q++] = (t[LOGF] - p.logF0) / p.focalLogSigma;
  return out;
}

function sumSq(r: Float64Array): number {
  let s = 0;
  for (let i = 0; i < r.length; i++) s += r[i] * r[i];
  return s;
}

/** Box bounds [lo, hi] per parameter: coefficients stay where the linear blendshapes are plausible. */
function paramBounds(p: Problem): { lo: Float64Array; hi: Float64Array } {
  const lo = new Float64Array(p.count).fill(-Infinity),
    hi = new Float64Array(p.count).fill(Infinity);
  for (let c = 0; c < p.S; c++) [lo[SHAPE + c], hi[SHAPE + c]] = [-3, 3];
  for (let c = 0; c < p.Ef; c++)
    [lo[SHAPE + p.S + c], hi[SHAPE + p.S + c]] = FIT_EXPRESSIONS[c].startsWith("blink") ? [-0.5, 1] : [-1, 2];
  [lo[p.jawAt], hi[p.jawAt]] = [0, 0.45];
  lo[TRANS + 2] = 0.05;
  return { lo, hi };
}

/** Solves the symmetric positive definite system A x = b (n x n, row-major) by Cholesky; null when not positive definite. */
function solveSpd(A: Float64Array, b: Float64Array, n: number): Float64Array | null {
  const L = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = A[i * n + j];
      for (let k = 0; k < j; k++) s -= L[i * n + k] * L[j * n + k];
      if (i === j) {
        if (!(s > 0)) return null;
        L[i * n + i] = Math.sqrt(s);
      } else L[i * n + j] = s / L[j * n + j];
    }
  }
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = b[i];
    for (let k = 0; k < i; k++) s -= L[i * n + k] * y[k];
    y[i] = s / L[i * n + i];
  }
  const x = new Float64Array(n);
  for (let i = n - 1; i >= 0; i--) {
    let s = y[i];
    for (let k = i + 1; k < n; k++) s -= L[k * n + i] * x[k];
    x[i] = s / L[i * n + i];
  }
  return x;
}

/** Forward-difference Jacobian [m, a] of the residuals over the active parameters. */
function jacobian(p: Problem, t: Float64Array, r0: Float64Array, active: number[], proj: Float64Array): Float64Array {
  const m = r0.length,
    a = active.length;
  const Jm = new Float64Array(m * a),
    r = new Float64Array(m);
  for (let c = 0; c < a; c++) {
    const k = active[c],
      keep = t[k];
    const h = 1e-6 * Math.max(1, Math.abs(keep));
    t[k] = keep + h;
    residuals(p, t, r, proj);
    t[k] = keep;
    for (let i = 0; i < m; i++) Jm[i * a + c] = (r[i] - r0[i]) / h;
  }
  return Jm;
}

/** Normal matrix J^T J [a, a] and gradient J^T r [a]. */
function normal(Jm: Float64Array, r: Float64Array, a: number): { H: Float64Array; g: Float64Array } {
  const m = r.length,
    H = new Float64Array(a * a),
    g = new Float64Array(a);
  for (let i = 0; i < m; i++) {
    const row = i * a;
    for (let c = 0; c < a; c++) {
      const v = Jm[row + c];
      if (v === 0) continue;
      g[c] += v * r[i];
      for (let d = c; d < a; d++) H[c * a + d] += v * Jm[row + d];
    }
  }
  for (let c = 0; c < a; c++) for (let d = 0; d < c; d++) H[c * a + d] = H[d * a + c];
  return { H, g };
}

/**
 * Levenberg-Marquardt (Marquardt's diagonal damping) over the active
 * parameters within box bounds: a parameter sitting on a bound that the
 * gradient pushes outward is held for that iteration (so the step the model
 * predicts is the step taken). Returns the iterations taken.
 */
function levenbergMarquardt(p: Problem, t: Float64Array, active: number[], maxIterations: number): number {
  const m = 2 * p.used.length + p.S + p.Ef + 2,
    a = active.length;
  const { lo, hi } = paramBounds(p);
  const proj = new Float64Array(p.obs.length);
  let r = residuals(p, t, new Float64Array(m), proj);
  let cost = sumSq(r);
  let lambda = 1e-3,
    it = 0;
  const trial = new Float64Array(t.length),
    rTrial = new Float64Array(m);
  while (it < maxIterations) {
    it++;
    const { H, g } = normal(jacobian(p, t, r, active, proj), r, a);
    const held = active.map((k, c) => (t[k] <= lo[k] && g[c] > 0) || (t[k] >= hi[k] && g[c] < 0));
    let improved = false;
    while (lambda < 1e12) {
      const D = Float64Array.from(H),
        rhs = g.map((v) => -v);
      for (let c = 0; c < a; c++) {
        D[c * a + c] += lambda * Math.max(H[c * a + c], 1e-9) + 1e-12;
        if (!held[c]) continue;
        for (let d = 0; d < a; d++) D[c * a + d] = D[d * a + c] = c === d ? 1 : 0;
        rhs[c] = 0;
      }
      const step = solveSpd(D, rhs, a);
      if (step) {
        trial.set(t);
        for (let c = 0; c < a; c++)
          trial[active[c]] = Math.min(hi[active[c]], Math.max(lo[active[c]], t[active[c]] + step[c]));
        residuals(p, trial, rTrial, proj);
        const c2 = sumSq(rTrial);
        if (c2 < cost) {
          const gain = (cost - c2) / Math.max(cost, 1e-300);
          t.set(trial);
          r = Float64Array.from(rTrial);
          cost = c2;
          lambda = Math.max(1e-9, lambda / 3);
          improved = true;
          if (gain < 1e-7) return it;
          break;
        }
      }
      lambda *= 4;
    }
    if (!improved) break;
  }
  return it;
}

/** Posterior standard deviations of the parameters `idx` from the normal matrix at `t` (all parameters active). */
function posteriorStd(p: Problem, t: Float64Array, idx: number[], withFocal: boolean): Float64Array {
  const all = Array.from({ length: p.count }, (_, i) => i).filter((i) => withFocal || i !== LOGF);
  const m = 2 * p.used.length + p.S + p.Ef + 2,
    proj = new Float64Array(p.obs.length);
  const r = residuals(p, t, new Float64Array(m), proj);
  const { H } = normal(jacobian(p, t, r, all, proj), r, all.length);
  const out = new Float64Array(idx.length);
  idx.forEach((k, q) => {
    const e = new Float64Array(all.length);
    e[all.indexOf(k)] = 1;
    const x = solveSpd(H, e, all.length);
    out[q] = x ? Math.sqrt(Math.max(0, x[all.indexOf(k)])) : NaN;
  });
  return out;
}

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

/** Fits the head model to 68 landmarks (pixels, iBUG order) of a width x height photo. */
export function fitHead(
  head: HeadModel,
  landmarks: Float32Array,
  size: { width: number; height: number },
  options: FitHeadOptions = {},
): HeadFit {
  const L = head.landmarks.length;
  checkLandmarks(landmarks, L, size);
  const S = head.shapeNames.length,
    J = head.jointNames.length;
  const basis = landmarkBasis(head);
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
  const rest = projectLandmarks(
    { ...p, cx: 0, cy: 0 },
    Float64Array.from({ length: p.count }, (_, i) => (i === LOGF ? 0 : i === TRANS + 2 ? 1 : 0)),
    new Float64Array(L * 2),
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

  const proj = projectLandmarks(p, t, new Float64Array(L * 2));
  const perLandmarkErrorPx = new Float32Array(L);
  for (let i = 0; i < L; i++)
    perLandmarkErrorPx[i] = Math.hypot(proj[i * 2] - p.obs[i * 2], proj[i * 2 + 1] - p.obs[i * 2 + 1]);
  const landmarkErrorPx = used.reduce((s, i) => s + perLandmarkErrorPx[i], 0) / used.length;
  const shapeIdx = Array.from({ length: S }, (_, c) => SHAPE + c);
  const shapeStd =
    options.fitShape === false
      ? new Float32Array(S).fill(p.shapeSigma)
      : Float32Array.from(posteriorStd(p, t, shapeIdx, fitFocal));

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
  };
}
