/**
 * "Drive with camera": per webcam frame, Human's 478-point face mesh
 * (468 MediaPipe points + 2 x 5 iris points, [x, y, z] in video pixels, z the
 * depth in the same pixel units, negative toward the camera, relative) turned
 * into the head model's expression coefficients, jaw opening, head rotation
 * and gaze: a ClipSample. Each mesh point sits on the head model where the
 * dense binding puts it (head/human-mesh-binding.ts: a face, barycentric
 * weights and a normal offset per point, the table the server's photo fit
 * uses), so the model predicts every point; per frame:
 *
 *  1. Perspective: a webcam at arm's length is no orthographic camera (the
 *     nose is 20 % nearer than the ears). Each point's x and y are scaled
 *     about the frame's centre by its depth over the head's, 1 - s z / f,
 *     with z the model's own prediction at the last pose (not Human's noisy
 *     z) and f from an assumed field of view (`fovDeg`, 60): what is left is
 *     a weak-perspective view. Without this step the head's angles were off
 *     by 2-3 degrees and turned heads read as expressions.
 *  2. Rigid pose: a scaled orthographic (weak-perspective) fit of the bound
 *     points that neither the expressions nor the jaw move (forehead, nose
 *     bridge, temples, cheekbones: chosen from the model itself; not the face
 *     oval, which slides over the skin as the head turns) onto those
 *     points, m = s F R Y + t with F = diag(1, -1, -1) (the model's +y up,
 *     +z toward the camera to the image's y down, depth away; Human's z has
 *     its own scale, fitted while calibrating, then held), x and y weighted
 *     1 and z `depthWeight`: Gauss-Newton on rotation, scale and translation
 *     from the last frame's pose (a linear affine fit, POS, on a first frame),
 *     alternating with step 1 until the pose settles (1-3 rounds on video).
 *  3. Expression: with the pose removed (points taken back to the model's
 *     frame), what is left of each point's offset from the person's neutral is
 *     linear in the 24 expression coefficients (the blendshapes at the bound
 *     points; on the jaw they turn with it) plus a jaw column (the derivative
 *     of the bound points by the jaw angle at the current opening): a
 *     ridge-regularised least squares in 25 unknowns (weights from the
 *     binding's per-point noise; ridge = (noisePx / s)^2 / priorSigma^2, a
 *     MAP estimate) whose expression block is a combination of 27
 *     precomputed 24 x 24 matrices, solved within the coefficients' ranges
 *     (0..1, jaw 0..0.45 rad) by an active set started from the last frame's,
 *     then step 1 and this solve again at the new expression and jaw
 *     (`jawIterations`).
 *  4. Gaze: the ten iris points (bound to the eyeballs) give one x and y
 *     rotation for both eye joints (each eye turning about its own centre) by
 *     two Gauss-Newton steps; a blinking eye does not count (its lid hides the
 *     iris), with both closed the gaze is held.
 *
 * The person's neutral: Human on a real face is not the template (identity,
 * Human's own bias per face). The first `calibrationFrames` frames are
 * ASSUMED NEUTRAL (mouth closed, no expression, looking at the screen; the
 * head may move): each usable point's offset from the template after the
 * rigid fit, in the model's frame, and its per-axis median over the frames
 * (robust to a blink) become the person's neutral, which turns with the head
 * and the jaw afterwards; the frames are read again with that neutral (three
 * passes) so later frames are read exactly as the calibration read them; the
 * eyeballs' centres move with their iris points. recalibrate() starts over.
 * Until then solve() gives the head pose with a neutral face (`calibrating`).
 * What calibration cannot remove: a face much deeper or flatter than the
 * template is partly taken for Human's depth scale, and the rigid fit of a
 * strong identity to the template carries a constant tilt (1-2 degrees of
 * pitch in the tests), both visible as lower accuracy on turned heads.
 *
 * Head rotation: the fitted rotation r (axis-angle) goes `globalShare` (0.4)
 * to the global joint and the rest to the neck, along the same axis, so the
 * two compose exactly to the fitted rotation; 0.4 / 0.6 is poseFromControls'
 * split of a turn, so camera-driven and slider-driven heads bend the neck
 * alike (all on the neck joint would kink the neck at large turns, all on the
 * global joint would swing the neck's base). Translation stays 0: the avatar
 * stays where the viewer put it (DriveSolve carries the scale).
 *
 * Feed the camera's frame as captured (not mirrored): +x of the model is the
 * subject's left, the image's right in an unmirrored frame.
 *
 * Cost: about 0.3 ms per frame in Node on this project's 2-core machine
 * (docs/animation.md, "Driving from a camera: the solver"); the scratch arrays
 * are allocated once per driver, a few small ones per frame.
 */
import { JOINT_COUNT, MeshPart, rodrigues, type HeadModel } from "../head";
import { FACE_OVAL, MESH_POINTS, denseBinding, type DenseBindingTable } from "../head/human-mesh-binding";
import type { ClipSample } from "./clip";

export interface FaceDriveOptions {
  /** Frames taken as the person's neutral face before expressions are solved (0: the template is the neutral). Default 15. */
  calibrationFrames?: number;
  /** Weight of Human's depth (z) against x and y, in the rigid fit and the expression solve. Default 0.3. */
  depthWeight?: number;
  /** Share of the head rotation on the global joint, the rest on the neck. Default 0.4 (poseFromControls' turn). */
  globalShare?: number;
  /** The detector's assumed noise per coordinate, pixels: with `priorSigma` it sets the ridge. Default 1. */
  noisePx?: number;
  /** Prior standard deviation of each coefficient (and the jaw, radians) about 0. Default 0.5. */
  priorSigma?: number;
  /** The expression coefficients solved (names of head.expressionNames); the others stay 0. Default all. */
  expressions?: readonly string[];
  /** Solve the eye joints from the iris points. Default true. */
  gaze?: boolean;
  /** Linearisations of the jaw per frame (each a 25-unknown solve). Default 2. */
  jawIterations?: number;
  /**
   * The camera's horizontal field of view, degrees, for the perspective of the mesh's x and y (the principal
   * point is taken at the frame's centre); 0 fits the weak-perspective model alone. Default 60 (laptop webcams
   * are about 55-70).
   */
  fovDeg?: number;
  /** The binding table. Default HUMAN_MESH_BINDING. */
  binding?: DenseBindingTable;
}

export interface DriveSolve {
  /** Expression, pose (global + neck, jaw, eyes) and translation (0) for the head model. */
  sample: ClipSample;
  /** The fit's scale: image pixels per metre of the model. */
  scale: number;
  /** RMS image distance (x, y) between the mesh's points and the fitted model's, pixels. */
  residualPx: number;
  /** Time this solve took, milliseconds. */
  ms: number;
  /** True while the first frames are taken as the neutral face: the sample then has the pose only. */
  calibrating: boolean;
}

export interface FaceDriver {
  /** One frame: Human's mesh [478, 3] in pixels of a width x height frame; null when the mesh is unusable. */
  solve(mesh: Float32Array, width: number, height: number): DriveSolve | null;
  /** Forgets the person's neutral: the next `calibrationFrames` frames are taken as it again. */
  recalibrate(): void;
  /** Whether the neutral has been measured. */
  readonly calibrated: boolean;
}

/** Coefficient range of every expression: each blendshape is one-sided (its opposite is another shape or not a face). */
export const DRIVE_EXPRESSION_RANGE: readonly [number, number] = [0, 1];
/** Jaw opening range, radians (the photo fit's bound). */
export const DRIVE_JAW_RANGE: readonly [number, number] = [0, 0.45];
/** Largest eye rotation about x or y, radians. */
export const DRIVE_GAZE_LIMIT = 0.5;

/** A bound point counts as rigid when no expression moves its vertices more than this (metres per unit) and the jaw does not own them. */
const STABLE_EXPR_M = 0.0002;
const STABLE_JAW = 0.01;
/** Relative weight of the face oval's points (they slide over the skin as the head turns), as in the dense photo fit. */
const OVAL_WEIGHT = 0.25;
/** Noise floor of a point's weight, inter-ocular units (the table's `noise`). */
const NOISE_FLOOR = 0.01;
/** Smallest face (width and height of its points) taken as a face, pixels. */
const MIN_FACE_PX = 12;
/** Human's iris points: 468-472 and 473-477 (centre, then four around it). */
const IRIS_FIRST = 468;
/** Blink above which an eye's gaze is held (the lid hides the iris). */
const GAZE_HOLD_BLINK = 0.5;
const RIGID_STEPS_FIRST = 5,
  RIGID_STEPS = 1,
  RIGID_ROUNDS = 8,
  RIGID_SETTLED = 5e-5;
/** Rounds of the calibration's neutral (each re-reads the calibration frames with the last neutral). */
const CALIBRATION_PASSES = 3;

/** Solves the symmetric positive definite n x n system A x = b in place of x (row-major A, destroyed); false when not positive definite. */
function choleskySolve(A: Float64Array, b: Float64Array, x: Float64Array, n: number): boolean {
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = A[i * n + j];
      for (let k = 0; k < j; k++) s -= A[i * n + k] * A[j * n + k];
      if (i === j) {
        if (!(s > 0)) return false;
        A[i * n + i] = Math.sqrt(s);
      } else A[i * n + j] = s / A[j * n + j];
    }
  }
  for (let i = 0; i < n; i++) {
    let s = b[i];
    for (let k = 0; k < i; k++) s -= A[i * n + k] * x[k];
    x[i] = s / A[i * n + i];
  }
  for (let i = n - 1; i >= 0; i--) {
    let s = x[i];
    for (let k = i + 1; k < n; k++) s -= A[k * n + i] * x[k];
    x[i] = s / A[i * n + i];
  }
  return true;
}

/** Axis-angle of a row-major rotation (angles below pi). */
export function rotationToAxisAngle(R: ArrayLike<number>, out: Float64Array = new Float64Array(3)): Float64Array {
  const c = Math.min(1, Math.max(-1, (R[0] + R[4] + R[8] - 1) / 2));
  const th = Math.acos(c);
  const s = Math.sin(th);
  const k = th < 1e-6 ? 0.5 : s > 1e-9 ? th / (2 * s) : 0;
  out[0] = k * (R[7] - R[5]);
  out[1] = k * (R[2] - R[6]);
  out[2] = k * (R[3] - R[1]);
  return out;
}

/**
 * Minimises 0.5 x^T N x - b^T x over lo <= x <= hi (N symmetric positive
 * definite, n x n row-major) by an active set (free variables solved
 * exactly, violators fixed at their bound, fixed ones freed when the gradient
 * pulls them inside), then a few projected Gauss-Seidel sweeps. `state` is
 * the starting active set (-1 at lo, 1 at hi, 0 free; the last solve's is a
 * good guess) and is left as the final one. `x` holds the result; scratch
 * arrays of n * n and 3 n.
 */
function boxQp(
  N: Float64Array,
  b: Float64Array,
  lo: Float64Array,
  hi: Float64Array,
  n: number,
  x: Float64Array,
  work: Float64Array,
  state: Int8Array,
  idx: Int32Array,
  rhs: Float64Array,
  sol: Float64Array,
): void {
  // Start from the given active set (the last frame's): a variable marked at a bound starts there.
  for (let round = 0; round < 12; round++) {
    let m = 0;
    for (let i = 0; i < n; i++) if (state[i] === 0) idx[m++] = i;
    for (let i = 0; i < n; i++) if (state[i] !== 0) x[i] = state[i] < 0 ? lo[i] : hi[i];
    if (m > 0) {
      for (let p = 0; p < m; p++) {
        const i = idx[p];
        let r = b[i];
        for (let j = 0; j < n; j++) if (state[j] !== 0) r -= N[i * n + j] * x[j];
        rhs[p] = r;
        for (let q = 0; q < m; q++) work[p * m + q] = N[i * n + idx[q]];
      }
      if (!choleskySolve(work, rhs, sol, m)) break;
      for (let p = 0; p < m; p++) x[idx[p]] = sol[p];
    }
    let changed = false;
    for (let p = 0; p < m; p++) {
      const i = idx[p];
      if (x[i] < lo[i]) {
        state[i] = -1;
        x[i] = lo[i];
        changed = true;
      } else if (x[i] > hi[i]) {
        state[i] = 1;
        x[i] = hi[i];
        changed = true;
      }
    }
    if (changed) continue;
    // All free variables are inside: free a bound one whose gradient points inward (the most violating one).
    let worst = -1,
      worstG = 1e-15;
    for (let i = 0; i < n; i++) {
      if (state[i] === 0) continue;
      let g = -b[i];
      for (let j = 0; j < n; j++) g += N[i * n + j] * x[j];
      const pull = state[i] < 0 ? -g : g;
      if (pull > worstG) [worst, worstG] = [i, pull];
    }
    if (worst < 0) return;
    state[worst] = 0;
  }
  // Polish (and the fallback when the active set cycles): projected Gauss-Seidel, monotone in the cost.
  for (let sweep = 0; sweep < 20; sweep++)
    for (let i = 0; i < n; i++) {
      let g = -b[i];
      for (let j = 0; j < n; j++) g += N[i * n + j] * x[j];
      x[i] = Math.min(hi[i], Math.max(lo[i], x[i] - g / N[i * n + i]));
    }
}

/** The driver: precomputes the bound points' bases for `head` and keeps the pose, jaw and neutral between frames. */
export function createFaceDriver(head: HeadModel, options: FaceDriveOptions = {}): FaceDriver {
  const calibrationFrames = options.calibrationFrames ?? 15;
  const wz = options.depthWeight ?? 0.3;
  const globalShare = options.globalShare ?? 0.4;
  const noisePx = options.noisePx ?? 1;
  const priorSigma = options.priorSigma ?? 0.5;
  const jawIterations = options.jawIterations ?? 2;
  const gazeOn = options.gaze !== false;
  const fovDeg = options.fovDeg ?? 60;
  if (!(fovDeg >= 0 && fovDeg < 170)) throw new Error(`createFaceDriver: fovDeg must be in [0, 170), got ${fovDeg}`);
  if (!(Number.isInteger(calibrationFrames) && calibrationFrames >= 0 && calibrationFrames <= 600))
    throw new Error(`createFaceDriver: calibrationFrames must be a whole number in [0, 600], got ${calibrationFrames}`);
  if (!(wz >= 0 && wz <= 1)) throw new Error(`createFaceDriver: depthWeight must be in [0, 1], got ${wz}`);
  if (!(globalShare >= 0 && globalShare <= 1))
    throw new Error(`createFaceDriver: globalShare must be in [0, 1], got ${globalShare}`);
  if (!(noisePx > 0) || !(priorSigma > 0))
    throw new Error(`createFaceDriver: noisePx and priorSigma must be > 0, got ${noisePx} and ${priorSigma}`);
  if (!(Number.isInteger(jawIterations) && jawIterations >= 1 && jawIterations <= 5))
    throw new Error(`createFaceDriver: jawIterations must be a whole number in [1, 5], got ${jawIterations}`);
  const binding = denseBinding(head, options.binding);
  const E = head.expressionNames.length;
  const solved = [...new Set(options.expressions ?? head.expressionNames)].map((name) => {
    const e = head.expressionNames.indexOf(name);
    if (e < 0) throw new Error(`createFaceDriver: the head model has no expression "${name}"`);
    return e;
  });
  const Es = solved.length,
    n1 = Es + 1; // unknowns: the solved coefficients, then the jaw
  const blinkAt = [head.expressionNames.indexOf("blinkL"), head.expressionNames.indexOf("blinkR")];
  const J = JOINT_COUNT;
  const jawJoint = [head.jointRest[6], head.jointRest[7], head.jointRest[8]];

  // ---- the bound points ---------------------------------------------------------------------------------------
  const oval = new Set(FACE_OVAL);
  const facePts: number[] = [],
    irisPts: [number[], number[]] = [[], []];
  for (let i = 0; i < MESH_POINTS; i++) {
    if (!binding.usable[i]) continue;
    const f = binding.faces[i];
    const part = head.vertexPart[head.faces[f * 3]];
    // Human's iris points turn with the eyeball; its lid contour points the binding put on the eyeball (the ray
    // through the lid's edge hit the eyeball) follow the lids in a real face, not the eye: left out.
    if (part === MeshPart.eyeballLeft || part === MeshPart.eyeballRight) {
      if (i >= IRIS_FIRST) irisPts[part === MeshPart.eyeballLeft ? 0 : 1].push(i);
    } else facePts.push(i);
  }
  const n = facePts.length;
  if (n < 100) throw new Error(`createFaceDriver: only ${n} mesh points are usable (need 100)`);
  /** Template bound point (offset included) per mesh point, [478, 3]. */
  const X0 = new Float64Array(MESH_POINTS * 3);
  /** Jaw lever per face point (sum of bary * jaw weight * (vertex - jaw joint), offset included), [n, 3]; mean jaw weight [n]. */
  const lever0 = new Float64Array(n * 3),
    jawW = new Float64Array(n);
  /** Expression blendshapes at the face points: the part the jaw does not carry and the part it turns, [n, 3, Es]. */
  const Bh = new Float64Array(n * 3 * Es),
    Bj = new Float64Array(n * 3 * Es);
  const weight = new Float64Array(n);
  const stable: number[] = [];
  const verts = head.template,
    faces = head.faces;
  for (let i = 0; i < MESH_POINTS; i++) {
    if (binding.table.face[i] < 0) continue;
    const f = binding.faces[i];
    const a = faces[f * 3] * 3,
      b = faces[f * 3 + 1] * 3,
      c = faces[f * 3 + 2] * 3;
    const e1 = [0, 1, 2].map((k) => verts[b + k] - verts[a + k]),
      e2 = [0, 1, 2].map((k) => verts[c + k] - verts[a + k]);
    const nrm = [e1[1] * e2[2] - e1[2] * e2[1], e1[2] * e2[0] - e1[0] * e2[2], e1[0] * e2[1] - e1[1] * e2[0]];
    const ns = binding.offset[i] / (Math.hypot(nrm[0], nrm[1], nrm[2]) || 1);
    for (let k = 0; k < 3; k++)
      X0[i * 3 + k] =
        binding.bary[i * 3] * verts[a + k] +
        binding.bary[i * 3 + 1] * verts[b + k] +
        binding.bary[i * 3 + 2] * verts[c + k] +
        ns * nrm[k];
  }
  facePts.forEach((i, q) => {
    const f = binding.faces[i];
    let maxDisp = 0,
      maxJaw = 0,
      wbar = 0;
    for (let k = 0; k < 3; k++) {
      const v = faces[f * 3 + k],
        bk = binding.bary[i * 3 + k];
      const w = head.skinWeights[v * J + 2];
      maxJaw = Math.max(maxJaw, w);
      wbar += bk * w;
      for (let ax = 0; ax < 3; ax++) {
        lever0[q * 3 + ax] += bk * w * (verts[v * 3 + ax] - jawJoint[ax]);
        for (let s = 0; s < Es; s++) {
          const d = head.exprDirs[(v * 3 + ax) * E + solved[s]];
          Bh[(q * 3 + ax) * Es + s] += bk * (1 - w) * d;
          Bj[(q * 3 + ax) * Es + s] += bk * w * d;
        }
      }
      for (let e = 0; e < E; e++)
        maxDisp = Math.max(
          maxDisp,
          Math.hypot(
            head.exprDirs[v * 3 * E + e],
            head.exprDirs[(v * 3 + 1) * E + e],
            head.exprDirs[(v * 3 + 2) * E + e],
          ),
        );
    }
    // The normal offset turns with the jaw as the face's vertices do (on average).
    const off = [0, 1, 2].map(
      (ax) =>
        X0[i * 3 + ax] - [0, 1, 2].reduce((s, k) => s + binding.bary[i * 3 + k] * verts[faces[f * 3 + k] * 3 + ax], 0),
    );
    for (let ax = 0; ax < 3; ax++) lever0[q * 3 + ax] += wbar * off[ax];
    jawW[q] = wbar;
    const sigma = Math.hypot(NOISE_FLOOR, binding.table.noise[i]);
    weight[q] = (oval.has(i) ? OVAL_WEIGHT : 1) / (sigma * sigma);
    if (!oval.has(i) && maxDisp < STABLE_EXPR_M && maxJaw < STABLE_JAW) stable.push(q);
  });
  if (stable.length < 12) throw new Error(`createFaceDriver: only ${stable.length} rigid points (need 12)`);
  // Weights relative to their mean (so the ridge's noise is per point).
  const meanW = weight.reduce((s, w) => s + w, 0) / n;
  for (let q = 0; q < n; q++) weight[q] /= meanW;
  const stableIdx = Int32Array.from(stable);

  // K_ab = sum_q w_q B1[a]^T B2[b] for (B1, B2) in (h, h), (h, j), (j, j): the expression block for any 3 x 3 metric.
  const E2 = Es * Es;
  const Khh = new Float64Array(9 * E2),
    Khj = new Float64Array(9 * E2),
    Kjj = new Float64Array(9 * E2);
  const onJaw = new Uint8Array(n);
  for (let q = 0; q < n; q++) {
    const w = weight[q];
    let jaw = false;
    for (let k = 0; k < 3 * Es; k++) if (Bj[q * 3 * Es + k] !== 0) jaw = true;
    onJaw[q] = jaw || jawW[q] > 0 ? 1 : 0;
    for (let a = 0; a < 3; a++)
      for (let b = 0; b < 3; b++) {
        const o = (a * 3 + b) * E2;
        const ha = (q * 3 + a) * Es,
          hb = (q * 3 + b) * Es;
        for (let e = 0; e < Es; e++) {
          const bhe = w * Bh[ha + e],
            bje = w * Bj[ha + e];
          if (bhe !== 0)
            for (let g = 0; g < Es; g++) {
              Khh[o + e * Es + g] += bhe * Bh[hb + g];
              Khj[o + e * Es + g] += bhe * Bj[hb + g];
            }
          if (bje !== 0) for (let g = 0; g < Es; g++) Kjj[o + e * Es + g] += bje * Bj[hb + g];
        }
      }
  }

  // Sparse per point (blendshapes are local): the solved coefficients that move it, each with its (Bh, Bj) columns.
  const colStart = new Int32Array(n + 1);
  const cols: number[] = [],
    vals: number[] = [];
  for (let q = 0; q < n; q++) {
    for (let s = 0; s < Es; s++) {
      const v = [0, 1, 2].map((a) => Bh[(q * 3 + a) * Es + s]).concat([0, 1, 2].map((a) => Bj[(q * 3 + a) * Es + s]));
      if (v.every((x) => x === 0)) continue;
      cols.push(s);
      vals.push(...v);
    }
    colStart[q + 1] = cols.length;
  }
  const colIdx = Int32Array.from(cols),
    colVal = Float64Array.from(vals);

  // Iris points per eye and the eye joints' centres.
  const eyes = irisPts.map((pts, e) => {
    const rest = [head.jointRest[(3 + e) * 3], head.jointRest[(3 + e) * 3 + 1], head.jointRest[(3 + e) * 3 + 2]];
    return { pts: Int32Array.from(pts), rest, centre: rest.slice(), gaze: new Float64Array(2) };
  });

  // ---- state ---------------------------------------------------------------------------------------------------
  /** The person's neutral per mesh point (template + calibrated offset), [478, 3]; jaw levers with it. */
  const Xn = Float64Array.from(X0);
  const lever = Float64Array.from(lever0);
  const calibMeshes = new Float32Array(Math.max(1, calibrationFrames) * MESH_POINTS * 3);
  const calibSize = new Float64Array(Math.max(1, calibrationFrames) * 2);
  let calibCount = 0;
  let calibrated = calibrationFrames === 0;
  const R = new Float64Array(9);
  let scale = 0,
    depthScale = 0;
  /** Human's depth scale over its x, y scale: free while calibrating, then the calibration's median (1 without one). */
  let zRatio = 1,
    zFixed = calibrationFrames === 0;
  const t = new Float64Array(3);
  let havePose = false;
  const coef = new Float64Array(Es);
  let jaw = 0;
  let cx = 0,
    cy = 0,
    focal = 0;

  // Scratch.
  const Y = new Float64Array(MESH_POINTS * 3); // observed points in the model's frame
  const obs = new Float64Array(MESH_POINTS * 3); // the mesh flattened to weak perspective
  const depthRatio = new Float64Array(MESH_POINTS).fill(1);
  const p3 = new Float64Array(3);
  const pred = new Float64Array(MESH_POINTS * 3);
  const faceSlot = new Int32Array(MESH_POINTS).fill(-1);
  facePts.forEach((i, q) => (faceSlot[i] = q));
  const Nmat = new Float64Array(n1 * n1),
    Nee = new Float64Array(E2),
    rhs = new Float64Array(n1),
    lo = new Float64Array(n1),
    hi = new Float64Array(n1),
    x = new Float64Array(n1);
  const qpWork = new Float64Array(n1 * n1),
    qpState = new Int8Array(n1),
    qpIdx = new Int32Array(n1),
    qpRhs = new Float64Array(n1),
    qpSol = new Float64Array(n1);
  const H8 = new Float64Array(64),
    g8 = new Float64Array(8),
    d8 = new Float64Array(8),
    rows = new Float64Array(24),
    res3 = new Float64Array(3);
  const Wm = new Float64Array(9),
    M = new Float64Array(9),
    Rt = new Float64Array(9),
    Rd = new Float64Array(9),
    tmp9 = new Float64Array(9),
    rv = new Float64Array(3);

  const resetCalibration = () => {
    calibCount = 0;
    zRatio = 1;
    zFixed = calibrationFrames === 0;
    calibrated = calibrationFrames === 0;
    Xn.set(X0);
    lever.set(lever0);
    havePose = false;
    coef.fill(0);
    jaw = 0;
    qpState.fill(0);
    for (const eye of eyes) {
      eye.gaze.fill(0);
      eye.centre = eye.rest.slice();
    }
  };

  /** Linear affine (POS) start of the rigid fit on the stable points; false when degenerate. */
  function initPose(mesh: Float64Array): boolean {
    let sw = 0;
    const my = [0, 0, 0],
      mu = [0, 0, 0];
    for (const q of stableIdx) {
      const i = facePts[q],
        w = weight[q];
      sw += w;
      for (let a = 0; a < 3; a++) {
        my[a] += w * Xn[i * 3 + a];
        mu[a] += w * mesh[i * 3 + a];
      }
    }
    for (let a = 0; a < 3; a++) {
      my[a] /= sw;
      mu[a] /= sw;
    }
    const C = new Float64Array(9),
      bu = [0, 0, 0],
      bv = [0, 0, 0];
    for (const q of stableIdx) {
      const i = facePts[q],
        w = weight[q];
      const y = [0, 1, 2].map((a) => Xn[i * 3 + a] - my[a]);
      const u = mesh[i * 3] - mu[0],
        v = mesh[i * 3 + 1] - mu[1];
      for (let a = 0; a < 3; a++) {
        bu[a] += w * u * y[a];
        bv[a] += w * v * y[a];
        for (let b = 0; b < 3; b++) C[a * 3 + b] += w * y[a] * y[b];
      }
    }
    const A0 = new Float64Array(3),
      A1 = new Float64Array(3);
    if (!choleskySolve(Float64Array.from(C), Float64Array.from(bu), A0, 3)) return false;
    if (!choleskySolve(Float64Array.from(C), Float64Array.from(bv), A1, 3)) return false;
    const l0 = Math.hypot(A0[0], A0[1], A0[2]),
      l1 = Math.hypot(A1[0], A1[1], A1[2]);
    if (!(l0 > 1e-6 && l1 > 1e-6)) return false;
    // u = s r1 . y + tu, v = -s r2 . y + tv.
    const r1 = [A0[0] / l0, A0[1] / l0, A0[2] / l0];
    let r2 = [-A1[0] / l1, -A1[1] / l1, -A1[2] / l1];
    const d = r1[0] * r2[0] + r1[1] * r2[1] + r1[2] * r2[2];
    r2 = [r2[0] - d * r1[0], r2[1] - d * r1[1], r2[2] - d * r1[2]];
    const l2 = Math.hypot(r2[0], r2[1], r2[2]);
    if (!(l2 > 1e-6)) return false;
    r2 = r2.map((v) => v / l2);
    const r3 = [r1[1] * r2[2] - r1[2] * r2[1], r1[2] * r2[0] - r1[0] * r2[2], r1[0] * r2[1] - r1[1] * r2[0]];
    R.set([...r1, ...r2, ...r3]);
    scale = (l0 + l1) / 2;
    t[0] = mu[0] - scale * (r1[0] * my[0] + r1[1] * my[1] + r1[2] * my[2]);
    t[1] = mu[1] + scale * (r2[0] * my[0] + r2[1] * my[1] + r2[2] * my[2]);
    depthScale = zFixed ? zRatio * scale : scale;
    t[2] = mu[2] + depthScale * (r3[0] * my[0] + r3[1] * my[1] + r3[2] * my[2]);
    return true;
  }

  /**
   * Gauss-Newton steps of the rigid fit on the stable points: rotation, scale, translation and the depth's own
   * scale (Human's z is on the face's scale only roughly); the last step's size (radians, relative scale).
   */
  function refinePose(mesh: Float64Array, steps: number): number {
    let size = Infinity;
    for (let it = 0; it < steps; it++) {
      H8.fill(0);
      g8.fill(0);
      for (const q of stableIdx) {
        const i = facePts[q],
          w = weight[q];
        const y0 = Xn[i * 3],
          y1 = Xn[i * 3 + 1],
          y2 = Xn[i * 3 + 2];
        const q0 = R[0] * y0 + R[1] * y1 + R[2] * y2,
          q1 = R[3] * y0 + R[4] * y1 + R[5] * y2,
          q2 = R[6] * y0 + R[7] * y1 + R[8] * y2;
        // Rows d(model point)/d(rotation increment, scale, translation, depth scale) and the residuals.
        rows[0] = 0;
        rows[1] = scale * q2;
        rows[2] = -scale * q1;
        rows[3] = q0;
        rows[4] = 1;
        rows[5] = rows[6] = rows[7] = 0;
        rows[8] = scale * q2;
        rows[9] = 0;
        rows[10] = -scale * q0;
        rows[11] = -q1;
        rows[12] = 0;
        rows[13] = 1;
        rows[14] = rows[15] = 0;
        rows[16] = -depthScale * q1;
        rows[17] = depthScale * q0;
        rows[18] = zFixed ? -zRatio * q2 : 0;
        rows[19] = rows[20] = rows[21] = 0;
        rows[22] = 1;
        rows[23] = zFixed ? 0 : -q2;
        res3[0] = mesh[i * 3] - (scale * q0 + t[0]);
        res3[1] = mesh[i * 3 + 1] - (-scale * q1 + t[1]);
        res3[2] = mesh[i * 3 + 2] - (-depthScale * q2 + t[2]);
        for (let a = 0; a < 3; a++) {
          const ww = w * (a === 2 ? wz : 1);
          if (ww === 0) continue;
          for (let c = 0; c < 8; c++) {
            const rc = rows[a * 8 + c];
            if (rc === 0) continue;
            g8[c] += ww * rc * res3[a];
            for (let d = c; d < 8; d++) H8[c * 8 + d] += ww * rc * rows[a * 8 + d];
          }
        }
      }
      // Depth unobserved: keep its translation and scale; a fixed depth ratio: no depth scale of its own.
      if (wz === 0) H8[6 * 8 + 6] = H8[7 * 8 + 7] = 1;
      else if (zFixed) H8[7 * 8 + 7] = 1;
      for (let c = 0; c < 8; c++) for (let d = 0; d < c; d++) H8[c * 8 + d] = H8[d * 8 + c];
      if (!choleskySolve(H8, g8, d8, 8)) return Infinity;
      const dR = rodrigues(d8[0], d8[1], d8[2]);
      for (let r = 0; r < 3; r++)
        for (let c = 0; c < 3; c++)
          tmp9[r * 3 + c] = dR[r * 3] * R[c] + dR[r * 3 + 1] * R[3 + c] + dR[r * 3 + 2] * R[6 + c];
      R.set(tmp9);
      scale += d8[3];
      t[0] += d8[4];
      t[1] += d8[5];
      t[2] += d8[6];
      depthScale = zFixed ? zRatio * scale : depthScale + d8[7];
      size = Math.max(Math.hypot(d8[0], d8[1], d8[2]), Math.abs(d8[3]) / Math.max(1e-9, scale));
    }
    return size;
  }

  /** The mesh points taken back to the model's frame with the current pose: Y = R^T F (m - t) / (s, s, depth scale). */
  function toModel(mesh: Float64Array, ids: ArrayLike<number>): void {
    for (let p = 0; p < ids.length; p++) {
      const i = ids[p];
      const a = (mesh[i * 3] - t[0]) / scale,
        b = -(mesh[i * 3 + 1] - t[1]) / scale,
        c = -(mesh[i * 3 + 2] - t[2]) / depthScale;
      Y[i * 3] = R[0] * a + R[3] * b + R[6] * c;
      Y[i * 3 + 1] = R[1] * a + R[4] * b + R[7] * c;
      Y[i * 3 + 2] = R[2] * a + R[5] * b + R[8] * c;
    }
  }
  const allIds = Int32Array.from([...facePts, ...irisPts[0], ...irisPts[1]]);
  const faceIds = Int32Array.from(facePts);

  /** sum_ab M_ab K_ab into out (Es x Es), added. */
  function combine(K: Float64Array, m: Float64Array, out: Float64Array, transpose: boolean): void {
    for (let ab = 0; ab < 9; ab++) {
      const v = m[ab];
      if (v === 0) continue;
      const o = ab * E2;
      if (!transpose) for (let k = 0; k < E2; k++) out[k] += v * K[o + k];
      else for (let e = 0; e < Es; e++) for (let g = 0; g < Es; g++) out[e * Es + g] += v * K[o + g * Es + e];
    }
  }

  /** One linearised expression + jaw solve at the current jaw; updates coef and jaw. */
  function solveExpression(): void {
    const cj = Math.cos(jaw),
      sj = Math.sin(jaw);
    // W' = R^T diag(1, 1, wz) R = I - (1 - wz) r3 r3^T (r3: R's third row, the view direction in the model's frame).
    for (let a = 0; a < 3; a++)
      for (let b = 0; b < 3; b++) Wm[a * 3 + b] = (a === b ? 1 : 0) - (1 - wz) * R[6 + a] * R[6 + b];
    // Jaw rotation about x and its derivative.
    Rt.set([1, 0, 0, 0, cj, -sj, 0, sj, cj]);
    Rd.set([0, 0, 0, 0, -sj, -cj, 0, cj, -sj]);
    Nee.fill(0);
    combine(Khh, Wm, Nee, false);
    // M = W' Rt for the cross terms; Rt^T W' Rt for the jaw's own.
    for (let a = 0; a < 3; a++)
      for (let b = 0; b < 3; b++) {
        let s = 0;
        for (let k = 0; k < 3; k++) s += Wm[a * 3 + k] * Rt[k * 3 + b];
        M[a * 3 + b] = s;
      }
    combine(Khj, M, Nee, false);
    combine(Khj, M, Nee, true);
    for (let a = 0; a < 3; a++)
      for (let b = 0; b < 3; b++) {
        let s = 0;
        for (let k = 0; k < 3; k++) s += Rt[k * 3 + a] * M[k * 3 + b];
        tmp9[a * 3 + b] = s;
      }
    combine(Kjj, tmp9, Nee, false);
    rhs.fill(0);
    let njj = 0;
    const nej = qpRhs; // reuse: Es entries of the jaw column's cross terms
    nej.fill(0);
    for (let q = 0; q < n; q++) {
      const i = facePts[q],
        w = weight[q];
      const l1 = lever[q * 3 + 1],
        l2 = lever[q * 3 + 2];
      // Residual against the neutral turned by the current jaw (points off the jaw have no lever).
      const r0 = Y[i * 3] - Xn[i * 3],
        r1 = Y[i * 3 + 1] - (Xn[i * 3 + 1] + (cj - 1) * l1 - sj * l2),
        r2 = Y[i * 3 + 2] - (Xn[i * 3 + 2] + sj * l1 + (cj - 1) * l2);
      const w0 = w * (Wm[0] * r0 + Wm[1] * r1 + Wm[2] * r2),
        w1 = w * (Wm[3] * r0 + Wm[4] * r1 + Wm[5] * r2),
        w2 = w * (Wm[6] * r0 + Wm[7] * r1 + Wm[8] * r2);
      const c0 = colStart[q],
        c1 = colStart[q + 1];
      if (!onJaw[q]) {
        for (let c = c0; c < c1; c++) {
          const o = c * 6;
          rhs[colIdx[c]] += w0 * colVal[o] + w1 * colVal[o + 1] + w2 * colVal[o + 2];
        }
        continue;
      }
      // Rt^T W' r for the turned part; the jaw column d/d(jaw) Rt (lever + Bj c) at the current coefficients.
      const t0 = Rt[0] * w0 + Rt[3] * w1 + Rt[6] * w2,
        t1 = Rt[1] * w0 + Rt[4] * w1 + Rt[7] * w2,
        t2 = Rt[2] * w0 + Rt[5] * w1 + Rt[8] * w2;
      let b0 = lever[q * 3],
        b1 = l1,
        b2 = l2;
      for (let c = c0; c < c1; c++) {
        const o = c * 6;
        rhs[colIdx[c]] += w0 * colVal[o] + w1 * colVal[o + 1] + w2 * colVal[o + 2];
        rhs[colIdx[c]] += t0 * colVal[o + 3] + t1 * colVal[o + 4] + t2 * colVal[o + 5];
        const k = coef[colIdx[c]];
        if (k === 0) continue;
        b0 += k * colVal[o + 3];
        b1 += k * colVal[o + 4];
        b2 += k * colVal[o + 5];
      }
      const j0 = Rd[0] * b0 + Rd[1] * b1 + Rd[2] * b2,
        j1 = Rd[3] * b0 + Rd[4] * b1 + Rd[5] * b2,
        j2 = Rd[6] * b0 + Rd[7] * b1 + Rd[8] * b2;
      const v0 = w * (Wm[0] * j0 + Wm[1] * j1 + Wm[2] * j2),
        v1 = w * (Wm[3] * j0 + Wm[4] * j1 + Wm[5] * j2),
        v2 = w * (Wm[6] * j0 + Wm[7] * j1 + Wm[8] * j2);
      rhs[Es] += j0 * w0 + j1 * w1 + j2 * w2;
      njj += j0 * v0 + j1 * v1 + j2 * v2;
      const u0 = Rt[0] * v0 + Rt[3] * v1 + Rt[6] * v2,
        u1 = Rt[1] * v0 + Rt[4] * v1 + Rt[7] * v2,
        u2 = Rt[2] * v0 + Rt[5] * v1 + Rt[8] * v2;
      for (let c = c0; c < c1; c++) {
        const o = c * 6;
        nej[colIdx[c]] +=
          v0 * colVal[o] +
          v1 * colVal[o + 1] +
          v2 * colVal[o + 2] +
          u0 * colVal[o + 3] +
          u1 * colVal[o + 4] +
          u2 * colVal[o + 5];
      }
    }
    // The system in (c, d jaw), ridge toward 0 for both.
    const sigma = noisePx / scale;
    const lambda = (sigma * sigma) / (priorSigma * priorSigma);
    for (let e = 0; e < Es; e++) {
      for (let g = 0; g < Es; g++) Nmat[e * n1 + g] = Nee[e * Es + g];
      Nmat[e * n1 + e] += lambda + 1e-12;
      Nmat[e * n1 + Es] = Nmat[Es * n1 + e] = nej[e];
      lo[e] = DRIVE_EXPRESSION_RANGE[0];
      hi[e] = DRIVE_EXPRESSION_RANGE[1];
    }
    Nmat[Es * n1 + Es] = njj + lambda + 1e-12;
    // Unknown: the coefficients themselves and the jaw's step; the residual was taken at jaw, coef = 0 for Bh, Bj.
    rhs[Es] -= lambda * jaw;
    lo[Es] = DRIVE_JAW_RANGE[0] - jaw;
    hi[Es] = DRIVE_JAW_RANGE[1] - jaw;
    boxQp(Nmat, rhs, lo, hi, n1, x, qpWork, qpState, qpIdx, qpRhs, qpSol);
    for (let e = 0; e < Es; e++) coef[e] = x[e];
    jaw = Math.min(DRIVE_JAW_RANGE[1], Math.max(DRIVE_JAW_RANGE[0], jaw + x[Es]));
  }

  /**
   * The gaze from the iris points: one x and y rotation for both eye joints (the eyes look at the same point; at
   * a screen's distance they converge by a few degrees), two Gauss-Newton steps from the last gaze, each eye
   * about its own centre. An eye whose blink is above GAZE_HOLD_BLINK does not count (its lid hides the iris);
   * with both closed the gaze is held.
   */
  function solveGaze(): void {
    const sigma = noisePx / scale;
    const lambda = (sigma * sigma) / (priorSigma * priorSigma);
    const open = eyes.map((eye, e) => {
      if (eye.pts.length < 3) return false;
      const s = blinkAt[e] >= 0 ? solved.indexOf(blinkAt[e]) : -1;
      return !(s >= 0 && coef[s] > GAZE_HOLD_BLINK);
    });
    if (!open[0] && !open[1]) return;
    const gaze = eyes[0].gaze;
    for (let it = 0; it < 2; it++) {
      let h00 = lambda,
        h01 = 0,
        h11 = lambda,
        g0 = -lambda * gaze[0],
        g1 = -lambda * gaze[1];
      const Rg = rodrigues(gaze[0], gaze[1], 0);
      for (let e = 0; e < 2; e++) {
        if (!open[e]) continue;
        const c = eyes[e].centre;
        for (const i of eyes[e].pts) {
          const v0 = Xn[i * 3] - c[0],
            v1 = Xn[i * 3 + 1] - c[1],
            v2 = Xn[i * 3 + 2] - c[2];
          const p0 = Rg[0] * v0 + Rg[1] * v1 + Rg[2] * v2,
            p1 = Rg[3] * v0 + Rg[4] * v1 + Rg[5] * v2,
            p2 = Rg[6] * v0 + Rg[7] * v1 + Rg[8] * v2;
          const r0 = Y[i * 3] - c[0] - p0,
            r1 = Y[i * 3 + 1] - c[1] - p1,
            r2 = Y[i * 3 + 2] - c[2] - p2;
          // Small extra rotations about x and y (left of the current one): e_x x p = (0, -p2, p1), e_y x p = (p2, 0, -p0).
          const x0 = Wm[1] * -p2 + Wm[2] * p1,
            x1 = Wm[4] * -p2 + Wm[5] * p1,
            x2 = Wm[7] * -p2 + Wm[8] * p1;
          const y0 = Wm[0] * p2 - Wm[2] * p0,
            y1 = Wm[3] * p2 - Wm[5] * p0,
            y2 = Wm[6] * p2 - Wm[8] * p0;
          h00 += -p2 * x1 + p1 * x2;
          h01 += p2 * x0 - p0 * x2;
          h11 += p2 * y0 - p0 * y2;
          g0 += r0 * x0 + r1 * x1 + r2 * x2;
          g1 += r0 * y0 + r1 * y1 + r2 * y2;
        }
      }
      const det = h00 * h11 - h01 * h01;
      if (!(det > 0)) break;
      const dx = (h11 * g0 - h01 * g1) / det,
        dy = (h00 * g1 - h01 * g0) / det;
      // Compose the small rotation with the current one, keep its x and y.
      const Rn = rodrigues(dx, dy, 0);
      for (let r = 0; r < 3; r++)
        for (let k = 0; k < 3; k++)
          tmp9[r * 3 + k] = Rn[r * 3] * Rg[k] + Rn[r * 3 + 1] * Rg[3 + k] + Rn[r * 3 + 2] * Rg[6 + k];
      rotationToAxisAngle(tmp9, rv);
      gaze[0] = Math.min(DRIVE_GAZE_LIMIT, Math.max(-DRIVE_GAZE_LIMIT, rv[0]));
      gaze[1] = Math.min(DRIVE_GAZE_LIMIT, Math.max(-DRIVE_GAZE_LIMIT, rv[1]));
    }
    eyes[1].gaze.set(gaze);
  }

  /** Mesh point i (face point q, or -1 for an iris point) as the model has it now, in the model's frame, into out. */
  function predict(i: number, q: number, out: Float64Array): void {
    out[0] = Xn[i * 3];
    out[1] = Xn[i * 3 + 1];
    out[2] = Xn[i * 3 + 2];
    if (q < 0) return;
    let d0 = 0,
      d1 = 0,
      d2 = 0;
    for (let c = colStart[q]; c < colStart[q + 1]; c++) {
      const k = coef[colIdx[c]];
      if (k === 0) continue;
      const o = c * 6;
      out[0] += k * colVal[o];
      out[1] += k * colVal[o + 1];
      out[2] += k * colVal[o + 2];
      d0 += k * colVal[o + 3];
      d1 += k * colVal[o + 4];
      d2 += k * colVal[o + 5];
    }
    if (!onJaw[q]) return;
    // + Rt (lever + Bj c) - lever.
    const cj = Math.cos(jaw),
      sj = Math.sin(jaw);
    const l1 = lever[q * 3 + 1],
      l2 = lever[q * 3 + 2];
    out[0] += d0;
    out[1] += cj * (l1 + d1) - sj * (l2 + d2) - l1;
    out[2] += sj * (l1 + d1) + cj * (l2 + d2) - l2;
  }

  /** Every mesh point as the model has it now (pred), for the perspective factors. */
  function updatePrediction(): void {
    for (const i of allIds) {
      predict(i, faceSlot[i], p3);
      pred[i * 3] = p3[0];
      pred[i * 3 + 1] = p3[1];
      pred[i * 3 + 2] = p3[2];
    }
  }

  /**
   * The mesh's x and y as a weak-perspective camera would see them: each point's offset from the principal point
   * times its depth over the head centre's, 1 - s z / f with z the model's prediction toward the camera at the
   * current pose (z as given: Human's depth is already on the face's scale).
   */
  function flatten(mesh: Float32Array): void {
    for (const i of allIds) {
      let k = 1;
      if (focal > 0 && havePose) {
        const qz = R[6] * pred[i * 3] + R[7] * pred[i * 3 + 1] + R[8] * pred[i * 3 + 2];
        k = Math.min(1.5, Math.max(0.5, 1 - (scale * qz) / focal));
      }
      depthRatio[i] = k;
      obs[i * 3] = cx + (mesh[i * 3] - cx) * k;
      obs[i * 3 + 1] = cy + (mesh[i * 3 + 1] - cy) * k;
      obs[i * 3 + 2] = mesh[i * 3 + 2];
    }
  }

  /** RMS x, y pixel residual of the fitted model (in perspective) over the face points. */
  function residualPixels(mesh: Float32Array): number {
    let s2 = 0;
    for (let q = 0; q < n; q++) {
      const i = facePts[q];
      predict(i, q, p3);
      const k = depthRatio[i];
      const u = scale * (R[0] * p3[0] + R[1] * p3[1] + R[2] * p3[2]) + t[0],
        v = -scale * (R[3] * p3[0] + R[4] * p3[1] + R[5] * p3[2]) + t[1];
      s2 += (cx + (u - cx) / k - mesh[i * 3]) ** 2 + (cy + (v - cy) / k - mesh[i * 3 + 1]) ** 2;
    }
    return Math.sqrt(s2 / n);
  }

  /** The rigid pose of a frame (perspective factors at the pose, refined); false when it fails or the face is tiny. */
  function fitRigid(mesh: Float32Array, width: number, height: number): boolean {
    cx = width / 2;
    cy = height / 2;
    focal = fovDeg > 0 ? width / 2 / Math.tan((fovDeg * Math.PI) / 360) : 0;
    updatePrediction();
    // Weak-perspective pose, then the perspective factors at that pose and the pose again, until the pose settles
    // (one or two rounds between video frames; more after a jump).
    if (!havePose) {
      flatten(mesh);
      if (!initPose(obs)) return false;
      refinePose(obs, RIGID_STEPS_FIRST);
      havePose = Number.isFinite(scale) && scale > 0;
      if (!havePose) return false;
    }
    for (let round = 0; round < RIGID_ROUNDS; round++) {
      flatten(mesh);
      if (refinePose(obs, RIGID_STEPS) < RIGID_SETTLED) break;
    }
    // A face under a few pixels across, or a failed fit, is no face.
    havePose =
      scale * 0.06 > 4 && depthScale > 0 && Number.isFinite(t[0] + t[1] + t[2] + R[0] + R[4] + R[8] + depthScale);
    return havePose;
  }

  /**
   * The neutral from the calibration frames: each frame's points in the model's frame after its rigid fit, their
   * offsets from the template, the per-axis median over the frames. Repeated with that neutral in the fit (the rigid
   * fit and the perspective factors depend on it) so later frames are read exactly as the calibration read them.
   */
  function finishCalibration(): void {
    const offsets = new Float64Array(calibCount * MESH_POINTS * 3);
    const vals = new Float64Array(calibCount),
      ratios: number[] = [];
    zFixed = false;
    for (let pass = 0; pass < CALIBRATION_PASSES; pass++) {
      let good = 0;
      for (let f = 0; f < calibCount; f++) {
        havePose = false;
        coef.fill(0);
        jaw = 0;
        if (
          !fitRigid(
            calibMeshes.subarray(f * MESH_POINTS * 3, (f + 1) * MESH_POINTS * 3),
            calibSize[f * 2],
            calibSize[f * 2 + 1],
          )
        )
          continue;
        toModel(obs, allIds);
        for (const i of allIds)
          for (let a = 0; a < 3; a++) offsets[(good * MESH_POINTS + i) * 3 + a] = Y[i * 3 + a] - X0[i * 3 + a];
        if (pass === CALIBRATION_PASSES - 1) ratios.push(depthScale / scale);
        good++;
      }
      if (good === 0) break;
      const m = good >> 1;
      for (const i of allIds)
        for (let a = 0; a < 3; a++) {
          const v = vals.subarray(0, good);
          for (let f = 0; f < good; f++) v[f] = offsets[(f * MESH_POINTS + i) * 3 + a];
          v.sort();
          Xn[i * 3 + a] = X0[i * 3 + a] + (good % 2 ? v[m] : 0.5 * (v[m - 1] + v[m]));
        }
      facePts.forEach((i, q) => {
        for (let a = 0; a < 3; a++) lever[q * 3 + a] = lever0[q * 3 + a] + jawW[q] * (Xn[i * 3 + a] - X0[i * 3 + a]);
      });
    }
    // The person's eyeballs sit where their iris points moved (the iris turns about the eyeball's centre).
    for (const eye of eyes)
      for (let a = 0; a < 3; a++) {
        let m = 0;
        for (const i of eye.pts) m += (Xn[i * 3 + a] - X0[i * 3 + a]) / eye.pts.length;
        eye.centre[a] = eye.rest[a] + m;
      }
    if (ratios.length > 0) {
      ratios.sort((a, b) => a - b);
      zRatio = ratios[ratios.length >> 1];
    }
    zFixed = true;
    calibrated = true;
    havePose = false; // the neutral moved: start the pose afresh
  }

  function solve(mesh: Float32Array, width: number, height: number): DriveSolve | null {
    const t0 = performance.now();
    if (!(mesh instanceof Float32Array) || mesh.length !== MESH_POINTS * 3)
      throw new Error(
        `FaceDriver.solve: mesh must be a Float32Array [${MESH_POINTS}, 3] (${MESH_POINTS * 3} numbers), got ${mesh instanceof Float32Array ? mesh.length : typeof mesh}`,
      );
    if (!(width > 0 && height > 0)) throw new Error(`FaceDriver.solve: frame size ${width} x ${height}`);
    let inside = 0;
    for (const i of allIds) {
      const u = mesh[i * 3],
        v = mesh[i * 3 + 1],
        z = mesh[i * 3 + 2];
      if (!Number.isFinite(u) || !Number.isFinite(v) || !Number.isFinite(z)) return null;
      if (u >= -0.25 * width && u <= 1.25 * width && v >= -0.25 * height && v <= 1.25 * height) inside++;
    }
    if (inside < allIds.length / 2) return null;
    // A face a few pixels across (or collapsed points) is no face.
    let x0 = Infinity,
      x1 = -Infinity,
      y0 = Infinity,
      y1 = -Infinity;
    for (const i of faceIds) {
      x0 = Math.min(x0, mesh[i * 3]);
      x1 = Math.max(x1, mesh[i * 3]);
      y0 = Math.min(y0, mesh[i * 3 + 1]);
      y1 = Math.max(y1, mesh[i * 3 + 1]);
    }
    if (x1 - x0 < MIN_FACE_PX || y1 - y0 < MIN_FACE_PX) return null;
    if (!fitRigid(mesh, width, height)) return null;
    const calibrating = !calibrated;
    if (calibrating) {
      calibMeshes.set(mesh, calibCount * MESH_POINTS * 3);
      calibSize[calibCount * 2] = width;
      calibSize[calibCount * 2 + 1] = height;
      calibCount++;
      coef.fill(0);
      jaw = 0;
      if (calibCount >= calibrationFrames) {
        // This frame's pose again with the calibrated neutral (the last pass's pose if that fails).
        finishCalibration();
        const keep = [Float64Array.from(R), scale, Float64Array.from(t), depthScale] as const;
        if (!fitRigid(mesh, width, height)) {
          R.set(keep[0]);
          scale = keep[1];
          t.set(keep[2]);
          depthScale = keep[3];
        }
      }
    } else {
      // Each pass: the perspective at the last expression and jaw, the points in the model's frame, one linearised solve.
      for (let k = 0; k < jawIterations; k++) {
        if (k > 0) {
          updatePrediction();
          flatten(mesh);
        }
        toModel(obs, gazeOn ? allIds : faceIds);
        solveExpression();
      }
      if (gazeOn) solveGaze();
    }
    const sample: ClipSample = {
      expression: new Float32Array(E),
      pose: new Float32Array(J * 3),
      translation: new Float32Array(3),
    };
    if (!calibrating) for (let s = 0; s < Es; s++) sample.expression[solved[s]] = coef[s];
    rotationToAxisAngle(R, rv);
    for (let a = 0; a < 3; a++) {
      sample.pose[a] = globalShare * rv[a];
      sample.pose[3 + a] = (1 - globalShare) * rv[a];
    }
    sample.pose[6] = jaw;
    if (!calibrating && gazeOn)
      for (let e = 0; e < 2; e++) {
        sample.pose[(3 + e) * 3] = eyes[e].gaze[0];
        sample.pose[(3 + e) * 3 + 1] = eyes[e].gaze[1];
      }
    const residualPx = residualPixels(mesh);
    return { sample, scale, residualPx, ms: performance.now() - t0, calibrating };
  }

  return {
    solve,
    recalibrate: resetCalibration,
    get calibrated() {
      return calibrated;
    },
  };
}
