/**
 * The dense stage of fitHead: the head model fitted to Human's 478-point
 * mesh (analysis.mesh) through the dense binding (dense-binding.ts, the
 * table in render-core/head/human-mesh-binding.json), from the 68-point fit
 * as the start. Human's errors are strongly correlated between points (a few
 * smooth patterns carry most of them), so the table's error modes are
 * fitted beside the head as latent N(0, 1) coefficients (fit-solver.ts
 * errorModes): shape only explains what those patterns do not. Each point's
 * own remaining noise (the table's `noise`, floored) scales its residual;
 * the face oval (Human's silhouette) has weight 0.25 as the 68-point jaw
 * contour. Huber-robust as the 68-point fit. Held-out check: a first fit on
 * a seeded random 80 % of the points, the head's mean reprojection error on
 * the other 20 %; then the fit is refined on all of them.
 */
import { mulberry32 } from "../../../render-core/math/prng";
import { eyeLineFrame } from "./landmark-convention";
import { FACE_OPENINGS, FACE_OVAL, MESH_POINTS, denseBinding, type DenseBindingTable } from "./dense-binding";
import {
  FIT_EXPRESSIONS,
  ROT,
  SHAPE,
  TRANS,
  levenbergMarquardt,
  pointBasis,
  projectPoints,
  type Problem,
} from "./fit-solver";

export interface DenseOptions {
  /** Share of the usable points held out of the first fit to measure the error on unseen points; 0 skips it. Default 0.2. */
  heldOutFraction?: number;
  /** Seed of the held-out draw. Default 1. */
  heldOutSeed?: number;
  /** Multiplies every point's noise beyond the error modes (the table's in-sample `noise` under-states it, and what the modes miss is still correlated). Default 4, chosen on rendered heads outside the table's and the tests' seeds. */
  meshSigmaScale?: number;
  /** Weight of the face-oval points. Default 0.25. */
  ovalWeight?: number;
  /** The binding table. Default HUMAN_MESH_BINDING (render-core/head/human-mesh-binding.json); the calibration passes the one it just measured. */
  binding?: DenseBindingTable;
  /** Refit each eye's lid closure on Human's eye contours after the dense fit (refineLids). Default true. */
  refineLids?: boolean;
}

export interface DenseReport {
  /** Points in the final fit (usable in the table, finite in the input). */
  usedPoints: number;
  /** Mean reprojection error over the points used (pixels). */
  pointErrorPx: number;
  /** [478] reprojection error per point (pixels, of the final fit; NaN where the table has no binding). */
  perPointErrorPx: Float32Array;
  /** The lid opening's mismatch with Human's eye contours before and after refineLids (area / width^2, x 100; equal when off). */
  lidErrorPx: [number, number];
  /** Mean reprojection error on the held-out points of the first fit (pixels); null when none were held out. */
  heldOutErrorPx: number | null;
  heldOutPoints: number;
  iterations: number;
}

/** Noise floor of a point, inter-ocular units: Human's pixel rounding on its 320 px crop, and the render's own aliasing. */
const NOISE_FLOOR = 0.01;
const OVAL_WEIGHT = 0.25;

/** Refuses a mesh that is not Human's [478, 3] in this image's pixels. */
export function checkMesh(mesh: Float32Array, size: { width: number; height: number }): void {
  if (!(mesh instanceof Float32Array) || mesh.length !== MESH_POINTS * 3)
    throw new Error(
      `fitHead: mesh must be a Float32Array [${MESH_POINTS}, 3] (${MESH_POINTS * 3} numbers), got ${mesh instanceof Float32Array ? mesh.length : typeof mesh}`,
    );
  let outside = 0,
    bad = 0;
  for (let i = 0; i < MESH_POINTS; i++) {
    const u = mesh[i * 3],
      v = mesh[i * 3 + 1];
    if (!Number.isFinite(u) || !Number.isFinite(v)) bad++;
    else if (u < -0.5 * size.width || u > 1.5 * size.width || v < -0.5 * size.height || v > 1.5 * size.height)
      outside++;
  }
  if (bad > MESH_POINTS / 2) throw new Error(`fitHead: ${bad} of ${MESH_POINTS} mesh points are not finite`);
  if (outside > MESH_POINTS / 2)
    throw new Error(
      `fitHead: ${outside} of ${MESH_POINTS} mesh points lie far outside the ${size.width} x ${size.height} image; are they in pixels of this image?`,
    );
}

/**
 * Refines `t` (the 68-point fit's parameters) on the mesh points. `base` is
 * the 68-point problem (priors, principal point); `active` the parameters
 * fitted after the rigid stage. Returns the dense problem and its full
 * parameters (error modes included, for the posterior) and the report.
 */
export function fitDense(
  base: Problem,
  t: Float64Array,
  mesh: Float32Array,
  landmarks: Float32Array,
  active: number[],
  maxIterations: number,
  o: DenseOptions = {},
): { problem: Problem; params: Float64Array; report: DenseReport } {
  const binding = denseBinding(base.head, o.binding);
  const { cos, sin, io } = eyeLineFrame(landmarks);
  const basis = pointBasis(base.head, binding.faces, binding.bary, binding.offset);
  const heldOutFraction = o.heldOutFraction ?? 0.2;
  if (!(heldOutFraction >= 0 && heldOutFraction <= 0.5))
    throw new Error(`fitHead: heldOutFraction must be in [0, 0.5], got ${heldOutFraction}`);
  const sigmaScale = o.meshSigmaScale ?? 4;
  const ovalWeight = o.ovalWeight ?? OVAL_WEIGHT;
  if (!(sigmaScale > 0) || !(ovalWeight >= 0)) throw new Error("fitHead: meshSigmaScale must be > 0, ovalWeight >= 0");
  const oval = new Set(FACE_OVAL);
  const obs = new Float64Array(MESH_POINTS * 2),
    scale = new Float64Array(MESH_POINTS);
  const usable: number[] = [];
  for (let i = 0; i < MESH_POINTS; i++) {
    obs[i * 2] = mesh[i * 3];
    obs[i * 2 + 1] = mesh[i * 3 + 1];
    const w = oval.has(i) ? ovalWeight : 1;
    if (!binding.usable[i] || !Number.isFinite(obs[i * 2] + obs[i * 2 + 1]) || w === 0) continue;
    const sigma = sigmaScale * Math.hypot(NOISE_FLOOR, binding.table.noise[i]) * io;
    scale[i] = Math.sqrt(w) / sigma;
    usable.push(i);
  }
  if (usable.length < 50) throw new Error(`fitHead: only ${usable.length} mesh points are usable (need 50)`);
  // Human's error modes as pixel offsets: the table's eye-line frame turned to this photo's.
  const K = binding.modeCount;
  const modesPx = new Float64Array(K * MESH_POINTS * 2);
  for (let q = 0; q < K * MESH_POINTS; q++) {
    const fx = binding.modes[q * 2] * io,
      fy = binding.modes[q * 2 + 1] * io;
    modesPx[q * 2] = cos * fx - sin * fy;
    modesPx[q * 2 + 1] = sin * fx + cos * fy;
  }
  const p: Problem = {
    ...base,
    basis,
    obs,
    scale,
    used: usable,
    count: base.count + K,
    errorModes: { count: K, points: MESH_POINTS, px: modesPx },
  };
  const modeIds = Array.from({ length: K }, (_, k) => base.jawAt + 1 + k);
  const all = [...active, ...modeIds];
  const tt = new Float64Array(p.count);
  tt.set(t);
  const rigid = [ROT, ROT + 1, ROT + 2, TRANS, TRANS + 1, TRANS + 2];
  let iterations = 0;
  let heldOutErrorPx: number | null = null;
  let heldOut: number[] = [];
  if (heldOutFraction > 0) {
    // Fisher-Yates with a fixed seed: the same photo gives the same split.
    const order = usable.slice(),
      rand = mulberry32(o.heldOutSeed ?? 1);
    for (let k = order.length - 1; k > 0; k--) {
      const j = Math.floor(rand() * (k + 1));
      [order[k], order[j]] = [order[j], order[k]];
    }
    heldOut = order.slice(0, Math.round(heldOutFraction * order.length));
    const out = new Set(heldOut);
    p.used = usable.filter((i) => !out.has(i));
    const first = Float64Array.from(tt);
    iterations += levenbergMarquardt(p, first, rigid, maxIterations);
    iterations += levenbergMarquardt(p, first, all, maxIterations);
    const proj = projectPoints(p, first);
    heldOutErrorPx =
      heldOut.reduce((s, i) => s + Math.hypot(proj[i * 2] - obs[i * 2], proj[i * 2 + 1] - obs[i * 2 + 1]), 0) /
      heldOut.length;
    tt.set(first);
    p.used = usable;
  } else iterations += levenbergMarquardt(p, tt, rigid, maxIterations);
  iterations += levenbergMarquardt(p, tt, all, maxIterations);
  const lidErrorPx = refineLids(p, tt, obs, o.refineLids !== false);
  t.set(tt.subarray(0, base.count));
  const proj = projectPoints(p, tt);
  const perPointErrorPx = new Float32Array(MESH_POINTS).fill(NaN);
  for (let i = 0; i < MESH_POINTS; i++)
    if (binding.table.face[i] >= 0 && Number.isFinite(obs[i * 2] + obs[i * 2 + 1]))
      perPointErrorPx[i] = Math.hypot(proj[i * 2] - obs[i * 2], proj[i * 2 + 1] - obs[i * 2 + 1]);
  const pointErrorPx = usable.reduce((s, i) => s + perPointErrorPx[i], 0) / usable.length;
  return {
    problem: p,
    params: tt,
    report: {
      usedPoints: usable.length,
      pointErrorPx,
      perPointErrorPx,
      lidErrorPx,
      heldOutErrorPx,
      heldOutPoints: heldOut.length,
      iterations,
    },
  };
}

/** The lid parameters refineLids fits (range -0.5 to 1 as fit-solver's bounds: below 0 opens the eye wider). */
const LID_EXPRESSIONS = ["blinkL", "blinkR"] as const;
const LID_GRID = 61;
/**
 * Human's eye opening (contour area over squared width) to the model lid loop's: Human draws the visible
 * opening, which is narrower than the model's slit and moves less. Measured on rendered heads with known lids
 * (16 heads, seeds 400-415, random blink, squint and smile, 32 eyes): a least-squares line, residual 0.061 against a spread of 0.083.
 */
export const LID_OPENING_MAP = { offset: -0.1677, slope: 1.4862 };

const loopBases = new WeakMap<object, ReturnType<typeof pointBasis>[]>();

/** Each lid loop's vertices as a point basis (a face holding the vertex, weight 1 on it). */
function lidLoopBases(head: Problem["head"]): ReturnType<typeof pointBasis>[] {
  const hit = loopBases.get(head);
  if (hit) return hit;
  const faceOf = new Int32Array(head.vertexCount).fill(-1),
    corner = new Int8Array(head.vertexCount);
  for (let f = 0; f < head.faceCount; f++)
    for (let k = 0; k < 3; k++)
      if (faceOf[head.faces[f * 3 + k]] < 0) [faceOf[head.faces[f * 3 + k]], corner[head.faces[f * 3 + k]]] = [f, k];
  const out = head.eyeLoops.map((loop) => {
    const bary = new Float32Array(loop.length * 3);
    loop.forEach((v, q) => (bary[q * 3 + corner[v]] = 1));
    return pointBasis(
      head,
      Array.from(loop, (v) => faceOf[v]),
      bary,
    );
  });
  loopBases.set(head, out);
  return out;
}

/** A closed polygon's opening: its area over its squared width along x (pixels [N, 2]), with its centroid. */
export function openingRatio(px: ArrayLike<number>): { ratio: number; x: number; y: number } {
  const n = px.length / 2;
  let area = 0,
    x0 = Infinity,
    x1 = -Infinity,
    mx = 0,
    my = 0;
  for (let i = 0, j = n - 1; i < n; j = i++) {
    area += px[j * 2] * px[i * 2 + 1] - px[i * 2] * px[j * 2 + 1];
    x0 = Math.min(x0, px[i * 2]);
    x1 = Math.max(x1, px[i * 2]);
    mx += px[i * 2] / n;
    my += px[i * 2 + 1] / n;
  }
  const w = Math.max(1e-6, x1 - x0);
  return { ratio: Math.abs(area) / 2 / (w * w), x: mx, y: my };
}

/**
 * The dense fit leaves the lids where the 68-point start put them: the
 * binding's eye-contour points barely move with a blink (the calibration
 * bound them to lid skin the blink hardly moves), so the fit cannot see how
 * open an eye is. Here each eye's blink is refitted alone so that the model's
 * lid loop, projected, has the opening (area / width^2) that Human's eye
 * contour maps to (LID_OPENING_MAP), by a grid search over its range. Returns
 * the opening's error before and after (ratio units x 100, mean of both eyes).
 */
function refineLids(p: Problem, t: Float64Array, mesh: Float64Array, apply: boolean): [number, number] {
  const bases = lidLoopBases(p.head);
  const human = FACE_OPENINGS.slice(0, 2).map((ids) => {
    const q = new Float64Array(ids.length * 2);
    ids.forEach((id, k) => q.set([mesh[id * 2], mesh[id * 2 + 1]], k * 2));
    return openingRatio(q);
  });
  if (human.some((h) => !Number.isFinite(h.ratio))) return [NaN, NaN];
  const model = (e: number, tt: Float64Array) => openingRatio(projectPoints({ ...p, basis: bases[e] }, tt));
  // Which Human contour is which loop: the nearer centroid.
  const m0 = model(0, t);
  const swap = Math.hypot(m0.x - human[0].x, m0.y - human[0].y) > Math.hypot(m0.x - human[1].x, m0.y - human[1].y);
  const target = (e: number) => LID_OPENING_MAP.offset + LID_OPENING_MAP.slope * human[swap ? 1 - e : e].ratio;
  const err = (tt: Float64Array) => 50 * [0, 1].reduce((s, e) => s + Math.abs(model(e, tt).ratio - target(e)), 0);
  const before = err(t);
  if (!apply) return [before, before];
  [0, 1].forEach((e) => {
    // blinkL closes the subject's left (+x) eye.
    const loop = p.head.eyeLoops[e];
    const side = Array.from(loop).reduce((s, v) => s + p.head.template[v * 3], 0);
    const name = LID_EXPRESSIONS[side > 0 ? 0 : 1];
    const c = (FIT_EXPRESSIONS as readonly string[]).indexOf(name);
    if (c < 0) return;
    const at = SHAPE + p.S + c;
    const tt = Float64Array.from(t);
    let best = t[at],
      bestCost = Infinity;
    for (let g = 0; g < LID_GRID; g++) {
      tt[at] = -0.5 + (1.5 * g) / (LID_GRID - 1);
      const d = Math.abs(model(e, tt).ratio - target(e));
      if (d < bestCost) [best, bestCost] = [tt[at], d];
    }
    t[at] = best;
  });
  return [before, err(t)];
}
