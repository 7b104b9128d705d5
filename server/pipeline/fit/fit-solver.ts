/**
 * The head model as a function of the fit's parameters, evaluated only at a
 * set of surface points (the 68 landmarks, or the 478 points of Human's mesh
 * through dense-binding.ts), and the Levenberg-Marquardt solver fitHead runs
 * on it (fit-head.ts; dense-fit.ts for the dense mode).
 *
 * A point is the barycentric combination of three vertices of one face,
 * optionally moved along the face's unit normal;
 * only the vertices under the points are evaluated (template + shape and
 * fitted expression blendshapes, joints moved by the shape, the global
 * rotation and the jaw opening chained as in lbs.cpu.ts, linear blend
 * skinning), in f64, so forward-difference Jacobians are cheap. The camera
 * looks as in renderPortrait: camera = (x, -y, -z) + t, u = f x / z + cx.
 */
import { rodrigues, SHAPE_PRIOR_BOUND, type HeadModel } from "../../../render-core/head";

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

export const JAW_SIGMA = 0.15;
export const HUBER_K = 3;

/** The head model reduced to the vertices under a set of surface points (f64). */
export interface PointBasis {
  /** Surface points and reduced vertices. */
  points: number;
  n: number;
  /** [P * 3] index into the reduced vertices, and barycentric weight. */
  corner: Int32Array;
  bary: Float64Array;
  /** [P] offset along the posed face's unit normal (metres), or null when all are 0. */
  offset: Float64Array | null;
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

const basisCache = new WeakMap<HeadModel, WeakMap<object, PointBasis>>();

/**
 * The reduced head for points on `faces` [P] with barycentrics `bary` [P, 3]
 * and normal offsets `offset` [P] (metres; default 0); cached per head model
 * and `bary` array (pass the same arrays again to reuse).
 */
export function pointBasis(
  head: HeadModel,
  faces: ArrayLike<number>,
  bary: Float32Array | Float64Array,
  offset?: ArrayLike<number>,
): PointBasis {
  let perHead = basisCache.get(head);
  if (!perHead) basisCache.set(head, (perHead = new WeakMap()));
  const hit = perHead.get(bary);
  if (hit) return hit;
  const S = head.shapeNames.length,
    E = head.expressionNames.length,
    J = head.jointNames.length;
  const P = faces.length;
  if (bary.length !== P * 3) throw new Error(`pointBasis: ${P} faces need ${P * 3} barycentrics, got ${bary.length}`);
  if (offset && offset.length !== P) throw new Error(`pointBasis: ${P} faces need ${P} offsets, got ${offset.length}`);
  const exprIndex = FIT_EXPRESSIONS.map((name) => {
    const i = head.expressionNames.indexOf(name);
    if (i < 0) throw new Error(`fitHead: the head model has no expression "${name}"`);
    return i;
  });
  const Ef = exprIndex.length;
  const slot = new Map<number, number>();
  const corner = new Int32Array(P * 3),
    b = new Float64Array(P * 3);
  for (let i = 0; i < P; i++) {
    const f = faces[i];
    if (!(Number.isInteger(f) && f >= 0 && f < head.faceCount))
      throw new Error(`pointBasis: point ${i} names face ${f}; the head model has ${head.faceCount}`);
    for (let k = 0; k < 3; k++) {
      const v = head.faces[f * 3 + k];
      if (!slot.has(v)) slot.set(v, slot.size);
      corner[i * 3 + k] = slot.get(v)!;
      b[i * 3 + k] = bary[i * 3 + k];
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
  const basis: PointBasis = {
    points: P,
    n,
    corner,
    bary: b,
    offset: offset && Array.prototype.some.call(offset, (v: number) => v !== 0) ? Float64Array.from(offset) : null,
    base,
    shapeDirs,
    exprDirs,
    skin,
    exprIndex,
    jointRest: Float64Array.from(head.jointRest),
    jointShapeDirs: Float64Array.from(head.jointShapeDirs),
  };
  perHead.set(bary, basis);
  return basis;
}

/** Parameter vector layout: rotation, translation, log focal, then shape, fitted expressions, the jaw and any error modes. */
export const ROT = 0,
  TRANS = 3,
  LOGF = 6,
  SHAPE = 7;

export interface Problem {
  head: HeadModel;
  basis: PointBasis;
  S: number;
  Ef: number;
  /** Index of the jaw opening in the parameter vector; total parameter count. */
  jawAt: number;
  count: number;
  cx: number;
  cy: number;
  /** [P, 2] observed pixels. */
  obs: Float64Array;
  /** [P] sqrt(weight) / sigma_px. */
  scale: Float64Array;
  /** The points in the data term. */
  used: number[];
  shapeSigma: number;
  exprSigma: number;
  logF0: number;
  focalLogSigma: number;
  /**
   * A detector's correlated errors as K latent image-space patterns with
   * N(0, 1) coefficients, at parameters jawAt + 1 .. jawAt + K: pixel
   * offsets [K, M, 2] of the first M points per unit coefficient. The fit
   * then weighs a point set by its errors' covariance, not as independent points.
   */
  errorModes?: { count: number; points: number; px: Float64Array };
}

/** Pixel positions [P, 2] of the points for parameters `t` (out, when given, is filled and returned). */
export function projectPoints(p: Problem, t: Float64Array, out?: Float64Array): Float64Array {
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
  const P = b.points;
  const px = out ?? new Float64Array(P * 2);
  for (let i = 0; i < P; i++) {
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
    const d = b.offset ? b.offset[i] : 0;
    if (d !== 0) {
      const c0 = b.corner[i * 3] * 3,
        c1 = b.corner[i * 3 + 1] * 3,
        c2 = b.corner[i * 3 + 2] * 3;
      const e1x = posed[c1] - posed[c0],
        e1y = posed[c1 + 1] - posed[c0 + 1],
        e1z = posed[c1 + 2] - posed[c0 + 2];
      const e2x = posed[c2] - posed[c0],
        e2y = posed[c2 + 1] - posed[c0 + 1],
        e2z = posed[c2 + 2] - posed[c0 + 2];
      const nx = e1y * e2z - e1z * e2y,
        ny = e1z * e2x - e1x * e2z,
        nz = e1x * e2y - e1y * e2x;
      const k = d / (Math.hypot(nx, ny, nz) || 1);
      X += k * nx;
      Y += k * ny;
      Z += k * nz;
    }
    const cz = -Z + t[TRANS + 2];
    px[i * 2] = (f * (X + t[TRANS])) / cz + p.cx;
    px[i * 2 + 1] = (f * (-Y + t[TRANS + 1])) / cz + p.cy;
  }
  return px;
}

/**
 * Pixel positions [P, 2] the detector is expected at: the head's points plus
 * its error modes' offsets. `head`, when given, is the head's projection at
 * `t` already (the modes do not move the head).
 */
function detectorPoints(p: Problem, t: Float64Array, out: Float64Array, head?: Float64Array): Float64Array {
  if (head) out.set(head);
  else projectPoints(p, t, out);
  const m = p.errorModes;
  if (m)
    for (let k = 0; k < m.count; k++) {
      const z = t[p.jawAt + 1 + k];
      if (z === 0) continue;
      const o = k * m.points * 2;
      for (let q = 0; q < m.points * 2; q++) out[q] += z * m.px[o + q];
    }
  return out;
}

/** Residual count: two per used point, then the priors (shape, expressions, jaw, focal, error modes). */
export const residualCount = (p: Problem) => 2 * p.used.length + p.S + p.Ef + 2 + (p.errorModes?.count ?? 0);

/** Residual vector: robust, weighted point offsets, then the priors. */
function residuals(
  p: Problem,
  t: Float64Array,
  out: Float64Array,
  proj: Float64Array,
  head?: Float64Array,
): Float64Array {
  detectorPoints(p, t, proj, head);
  let q = 0;
  for (const i of p.used) {
    const dx = (proj[i * 2] - p.obs[i * 2]) * p.scale[i],
      dy = (proj[i * 2 + 1] - p.obs[i * 2 + 1]) * p.scale[i];
    const e = Math.hypot(dx, dy);
    // Huber on the point's distance: sqrt(2 rho(e)) / e scales both components.
    const s = e <= HUBER_K ? 1 : Math.sqrt(HUBER_K * (2 * e - HUBER_K)) / e;
    out[q++] = dx * s;
    out[q++] = dy * s;
  }
  for (let c = 0; c < p.S; c++) out[q++] = t[SHAPE + c] / p.shapeSigma;
  for (let c = 0; c < p.Ef; c++) out[q++] = t[SHAPE + p.S + c] / p.exprSigma;
  out[q++] = t[p.jawAt] / JAW_SIGMA;
  out[q++] = (t[LOGF] - p.logF0) / p.focalLogSigma;
  for (let k = 0; k < (p.errorModes?.count ?? 0); k++) out[q++] = t[p.jawAt + 1 + k];
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
  for (let c = 0; c < p.S; c++) [lo[SHAPE + c], hi[SHAPE + c]] = [-SHAPE_PRIOR_BOUND, SHAPE_PRIOR_BOUND];
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
  const firstMode = p.jawAt + 1;
  const head = active.some((k) => k >= firstMode) ? projectPoints(p, t) : undefined;
  for (let c = 0; c < a; c++) {
    const k = active[c],
      keep = t[k];
    const h = 1e-6 * Math.max(1, Math.abs(keep));
    t[k] = keep + h;
    residuals(p, t, r, proj, k >= firstMode ? head : undefined);
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
export function levenbergMarquardt(p: Problem, t: Float64Array, active: number[], maxIterations: number): number {
  const m = residualCount(p),
    a = active.length;
  const { lo, hi } = paramBounds(p);
  const proj = new Float64Array(p.basis.points * 2);
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
export function posteriorStd(p: Problem, t: Float64Array, idx: number[], withFocal: boolean): Float64Array {
  const all = Array.from({ length: p.count }, (_, i) => i).filter((i) => withFocal || i !== LOGF);
  const proj = new Float64Array(p.basis.points * 2);
  const r = residuals(p, t, new Float64Array(residualCount(p)), proj);
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
