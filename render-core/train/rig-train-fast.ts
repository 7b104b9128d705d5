/**
 * Fast twins of the rig training passes (rig-grad.ts: the reference, with the
 * derivation): bakeRigTrain, bakeRigBackward, deformRigTrain and
 * deformRigBackward, one Gaussian at a time in scalars and reused small
 * arrays instead of arrays, closures and Array methods per Gaussian.
 *
 * Two changes of interface, both to save work: bakeRigBackwardFast takes the
 * forward's result instead of recomputing it, and deformRigBackwardFast adds
 * into the caller's sums (a batch sums its frames' gradients). The
 * quaternion norms use sqrt in place of Math.hypot: a few ulps apart.
 */
import { type AvatarModelConfig } from "../avatar/config";
import { REST_STRIDE } from "../avatar/bake.cpu";
import type { BakeRigInputs, RigGrad, RigOutputs, RigState } from "./rig-grad";

export interface BakedRig {
  /** [N, 8] un-posed centre (xyz, 0) and un-posing quaternion (w x y z). */
  rest: Float64Array;
  /** [N, J] skinning weights. */
  skin: Float64Array;
  /** [N, (E + P) * 3] blendshape and corrective directions. */
  dirs: Float64Array;
}

/** [12] blended transform of the Gaussian being processed. */
const M = new Float64Array(12);
/** [12] its gradient. */
const dM = new Float64Array(12);

/** M = sum_j skin[i, j] A_j (rig-grad.ts blend), into M. */
function blendInto(frame: ArrayLike<number>, skin: ArrayLike<number>, i: number, J: number): void {
  M.fill(0);
  for (let j = 0; j < J; j++) {
    const w = Number(skin[i * J + j]);
    for (let k = 0; k < 12; k++) M[k]! += w * Number(frame[j * 12 + k]);
  }
}

/**
 * Backward of raw = (s/4, (m21 - m12)/s, (m02 - m20)/s, (m10 - m01)/s), s = 2 sqrt(tr + 1),
 * normalised by l: adds d M into dM from d of the normalised quaternion (q0..q3 = raw / l).
 */
function quatOfMBackward(
  s: number,
  l: number,
  q0: number,
  q1: number,
  q2: number,
  q3: number,
  d0: number,
  d1: number,
  d2: number,
  d3: number,
): void {
  const along = d0 * q0 + d1 * q1 + d2 * q2 + d3 * q3;
  const r0 = (d0 - along * q0) / l,
    r1 = (d1 - along * q1) / l,
    r2 = (d2 - along * q2) / l,
    r3 = (d3 - along * q3) / l;
  const ss = s * s;
  let ds = r0 / 4;
  dM[9]! += r1 / s;
  dM[6]! -= r1 / s;
  ds -= (r1 * (M[9]! - M[6]!)) / ss;
  dM[2]! += r2 / s;
  dM[8]! -= r2 / s;
  ds -= (r2 * (M[2]! - M[8]!)) / ss;
  dM[4]! += r3 / s;
  dM[1]! -= r3 / s;
  ds -= (r3 * (M[4]! - M[1]!)) / ss;
  // s = 2 sqrt(tr + 1), so ds/dtr = 2 / s.
  const dTrace = (ds * 2) / s;
  dM[0]! += dTrace;
  dM[5]! += dTrace;
  dM[10]! += dTrace;
}

/** deformRigTrain (rig-grad.ts): posed centres, rig orientations and expression offsets. */
export function deformRigTrainFast(config: AvatarModelConfig, state: RigState, frame: ArrayLike<number>): RigOutputs {
  const J = config.jointCount,
    K = config.expressionCount + config.poseCorrectiveCount,
    N = state.count;
  const { rest, skin, dirs } = state;
  const positions = new Float64Array(N * 3),
    rotations = new Float64Array(N * 4),
    offsets = new Float64Array(N * 3);
  const coef = new Float64Array(K);
  for (let k = 0; k < K; k++) coef[k] = Number(frame[J * 12 + k]);
  for (let i = 0; i < N; i++) {
    let d0 = 0,
      d1 = 0,
      d2 = 0;
    for (let k = 0, o = i * K * 3; k < K; k++, o += 3) {
      const c = coef[k]!;
      d0 += Number(dirs[o]) * c;
      d1 += Number(dirs[o + 1]) * c;
      d2 += Number(dirs[o + 2]) * c;
    }
    offsets[i * 3] = d0;
    offsets[i * 3 + 1] = d1;
    offsets[i * 3 + 2] = d2;
    const r = i * REST_STRIDE;
    const y0 = Number(rest[r]) + d0,
      y1 = Number(rest[r + 1]) + d1,
      y2 = Number(rest[r + 2]) + d2;
    blendInto(frame, skin, i, J);
    for (let a = 0; a < 3; a++)
      positions[i * 3 + a] = M[a * 4]! * y0 + M[a * 4 + 1]! * y1 + M[a * 4 + 2]! * y2 + M[a * 4 + 3]!;
    const s = 2 * Math.sqrt(M[0]! + M[5]! + M[10]! + 1);
    const p0 = s / 4,
      p1 = (M[9]! - M[6]!) / s,
      p2 = (M[2]! - M[8]!) / s,
      p3 = (M[4]! - M[1]!) / s;
    const l = Math.sqrt(p0 * p0 + p1 * p1 + p2 * p2 + p3 * p3);
    const aw = p0 / l,
      ax = p1 / l,
      ay = p2 / l,
      az = p3 / l;
    const bw = Number(rest[r + 4]),
      bx = Number(rest[r + 5]),
      by = Number(rest[r + 6]),
      bz = Number(rest[r + 7]);
    rotations[i * 4] = aw * bw - ax * bx - ay * by - az * bz;
    rotations[i * 4 + 1] = aw * bx + ax * bw + ay * bz - az * by;
    rotations[i * 4 + 2] = aw * by - ax * bz + ay * bw + az * bx;
    rotations[i * 4 + 3] = aw * bz + ax * by - ay * bx + az * bw;
  }
  return { positions, rotations, offsets };
}

/** deformRigBackward (rig-grad.ts), adding each Gaussian's gradients into `acc` ([N, 8], [N, J], [N, K * 3]). */
export function deformRigBackwardFast(
  config: AvatarModelConfig,
  state: RigState,
  frame: ArrayLike<number>,
  dPositions: ArrayLike<number>,
  dRotations: ArrayLike<number>,
  dOffsets: ArrayLike<number> | undefined,
  acc: RigGrad,
): void {
  const J = config.jointCount,
    K = config.expressionCount + config.poseCorrectiveCount,
    N = state.count;
  const { rest, skin, dirs } = state;
  if (acc.rest.length !== N * REST_STRIDE || acc.skin.length !== N * J || acc.dirs.length !== N * K * 3)
    throw new Error(`deformRigBackwardFast: acc must be [${N}, ${REST_STRIDE}], [${N}, ${J}], [${N}, ${K * 3}]`);
  const coef = new Float64Array(K);
  for (let k = 0; k < K; k++) coef[k] = Number(frame[J * 12 + k]);
  for (let i = 0; i < N; i++) {
    let d0 = 0,
      d1 = 0,
      d2 = 0;
    for (let k = 0, o = i * K * 3; k < K; k++, o += 3) {
      const c = coef[k]!;
      d0 += Number(dirs[o]) * c;
      d1 += Number(dirs[o + 1]) * c;
      d2 += Number(dirs[o + 2]) * c;
    }
    const r = i * REST_STRIDE;
    const y0 = Number(rest[r]) + d0,
      y1 = Number(rest[r + 1]) + d1,
      y2 = Number(rest[r + 2]) + d2;
    blendInto(frame, skin, i, J);
    // centre = M y + t.
    const x0 = Number(dPositions[i * 3]),
      x1 = Number(dPositions[i * 3 + 1]),
      x2 = Number(dPositions[i * 3 + 2]);
    for (let a = 0; a < 3; a++) {
      const dx = a === 0 ? x0 : a === 1 ? x1 : x2;
      dM[a * 4] = dx * y0;
      dM[a * 4 + 1] = dx * y1;
      dM[a * 4 + 2] = dx * y2;
      dM[a * 4 + 3] = dx;
    }
    const dy0 = M[0]! * x0 + M[4]! * x1 + M[8]! * x2,
      dy1 = M[1]! * x0 + M[5]! * x1 + M[9]! * x2,
      dy2 = M[2]! * x0 + M[6]! * x1 + M[10]! * x2;
    // Orientation: q = qT (x) qU, qT = quat(M) normalised.
    const s = 2 * Math.sqrt(M[0]! + M[5]! + M[10]! + 1);
    const p0 = s / 4,
      p1 = (M[9]! - M[6]!) / s,
      p2 = (M[2]! - M[8]!) / s,
      p3 = (M[4]! - M[1]!) / s;
    const l = Math.sqrt(p0 * p0 + p1 * p1 + p2 * p2 + p3 * p3);
    const aw = p0 / l,
      ax = p1 / l,
      ay = p2 / l,
      az = p3 / l;
    const bw = Number(rest[r + 4]),
      bx = Number(rest[r + 5]),
      by = Number(rest[r + 6]),
      bz = Number(rest[r + 7]);
    const q0 = Number(dRotations[i * 4]),
      q1 = Number(dRotations[i * 4 + 1]),
      q2 = Number(dRotations[i * 4 + 2]),
      q3 = Number(dRotations[i * 4 + 3]);
    // Hamilton product partials (rig-grad.ts quatMulBackward).
    acc.rest[r + 4]! += q0 * aw + q1 * ax + q2 * ay + q3 * az;
    acc.rest[r + 5]! += -q0 * ax + q1 * aw + q2 * az - q3 * ay;
    acc.rest[r + 6]! += -q0 * ay - q1 * az + q2 * aw + q3 * ax;
    acc.rest[r + 7]! += -q0 * az + q1 * ay - q2 * ax + q3 * aw;
    quatOfMBackward(
      s,
      l,
      aw,
      ax,
      ay,
      az,
      q0 * bw + q1 * bx + q2 * by + q3 * bz,
      -q0 * bx + q1 * bw - q2 * bz + q3 * by,
      -q0 * by + q1 * bz + q2 * bw - q3 * bx,
      -q0 * bz - q1 * by + q2 * bx + q3 * bw,
    );
    for (let j = 0; j < J; j++) {
      let g = 0;
      for (let k = 0; k < 12; k++) g += dM[k]! * Number(frame[j * 12 + k]);
      acc.skin[i * J + j]! += g;
    }
    acc.rest[r]! += dy0;
    acc.rest[r + 1]! += dy1;
    acc.rest[r + 2]! += dy2;
    const e0 = dy0 + (dOffsets ? Number(dOffsets[i * 3]) : 0),
      e1 = dy1 + (dOffsets ? Number(dOffsets[i * 3 + 1]) : 0),
      e2 = dy2 + (dOffsets ? Number(dOffsets[i * 3 + 2]) : 0);
    for (let k = 0, o = i * K * 3; k < K; k++, o += 3) {
      const c = coef[k]!;
      acc.dirs[o]! += e0 * c;
      acc.dirs[o + 1]! += e1 * c;
      acc.dirs[o + 2]! += e2 * c;
    }
  }
}

/** bakeRigTrain (rig-grad.ts): points and deformer output -> rest, skin, dirs. */
export function bakeRigTrainFast(config: AvatarModelConfig, x: BakeRigInputs): BakedRig {
  const E = config.expressionCount,
    P = config.poseCorrectiveCount,
    J = config.jointCount,
    T = config.skinningTemperature;
  const D = E * 3 + P * 3 + 3 + J,
    PS = E * 3 + J,
    K = E + P,
    N = x.count;
  const { prior, deformerRaw: raw, canonA, points } = x;
  const rest = new Float64Array(N * REST_STRIDE),
    skin = new Float64Array(N * J),
    dirs = new Float64Array(N * K * 3);
  const logits = new Float64Array(J);
  for (let i = 0; i < N; i++) {
    const di = i * K * 3,
      ri = i * D,
      pi = i * PS;
    for (let k = 0; k < E * 3; k++) dirs[di + k] = Number(prior[pi + k]) + Number(raw[ri + k]);
    for (let k = 0; k < P * 3; k++) dirs[di + E * 3 + k] = Number(raw[ri + E * 3 + k]);
    // Skinning: softmax(T logits + log prior).
    let mx = -Infinity;
    for (let j = 0; j < J; j++) {
      const v = T * Number(raw[ri + D - J + j]) + Math.log(Number(prior[pi + E * 3 + j]) + 1e-6);
      logits[j] = v;
      if (v > mx) mx = v;
    }
    let sum = 0;
    for (let j = 0; j < J; j++) {
      const e = Math.exp(logits[j]! - mx);
      logits[j] = e;
      sum += e;
    }
    for (let j = 0; j < J; j++) skin[i * J + j] = logits[j]! / sum;
    blendInto(canonA, skin, i, J);
    const o = ri + K * 3;
    const q0 = Number(points[i * 3]) + Number(raw[o]) - M[3]!,
      q1 = Number(points[i * 3 + 1]) + Number(raw[o + 1]) - M[7]!,
      q2 = Number(points[i * 3 + 2]) + Number(raw[o + 2]) - M[11]!;
    // rest = M^-1 q through the adjugate (rig-grad.ts invert3).
    const a = M[0]!,
      b = M[1]!,
      c = M[2]!,
      d = M[4]!,
      e = M[5]!,
      f = M[6]!,
      g = M[8]!,
      h = M[9]!,
      k = M[10]!;
    const det = a * (e * k - f * h) - b * (d * k - f * g) + c * (d * h - e * g);
    const r = i * REST_STRIDE;
    rest[r] = ((e * k - f * h) / det) * q0 + ((c * h - b * k) / det) * q1 + ((b * f - c * e) / det) * q2;
    rest[r + 1] = ((f * g - d * k) / det) * q0 + ((a * k - c * g) / det) * q1 + ((c * d - a * f) / det) * q2;
    rest[r + 2] = ((d * h - e * g) / det) * q0 + ((b * g - a * h) / det) * q1 + ((a * e - b * d) / det) * q2;
    const s = 2 * Math.sqrt(a + e + k + 1);
    const p0 = s / 4,
      p1 = (h - f) / s,
      p2 = (c - g) / s,
      p3 = (d - b) / s;
    const l = Math.sqrt(p0 * p0 + p1 * p1 + p2 * p2 + p3 * p3);
    rest[r + 4] = p0 / l;
    rest[r + 5] = -p1 / l;
    rest[r + 6] = -p2 / l;
    rest[r + 7] = -p3 / l;
  }
  return { rest, skin, dirs };
}

/** bakeRigBackward (rig-grad.ts) from the forward's result: d points [N, 3] and d deformer output [N, D]. */
export function bakeRigBackwardFast(
  config: AvatarModelConfig,
  x: BakeRigInputs,
  baked: BakedRig,
  dRest: ArrayLike<number>,
  dSkin: ArrayLike<number>,
  dDirs: ArrayLike<number>,
): { points: Float64Array; deformerRaw: Float64Array } {
  const E = config.expressionCount,
    P = config.poseCorrectiveCount,
    J = config.jointCount,
    T = config.skinningTemperature;
  const D = E * 3 + P * 3 + 3 + J,
    K = E + P,
    N = x.count;
  const { canonA } = x;
  const { rest, skin } = baked;
  const dPoints = new Float64Array(N * 3),
    dRaw = new Float64Array(N * D);
  const dw = new Float64Array(J);
  for (let i = 0; i < N; i++) {
    const ri = i * D,
      r = i * REST_STRIDE;
    for (let k = 0; k < K * 3; k++) dRaw[ri + k] = Number(dDirs[i * K * 3 + k]);
    blendInto(canonA, skin, i, J);
    const a = M[0]!,
      b = M[1]!,
      c = M[2]!,
      d = M[4]!,
      e = M[5]!,
      f = M[6]!,
      g = M[8]!,
      h = M[9]!,
      k = M[10]!;
    const det = a * (e * k - f * h) - b * (d * k - f * g) + c * (d * h - e * g);
    // rest = M^-1 (p + offset - t): d (p + offset) = M^-T d rest.
    const r0 = Number(dRest[r]),
      r1 = Number(dRest[r + 1]),
      r2 = Number(dRest[r + 2]);
    const g0 = ((e * k - f * h) / det) * r0 + ((f * g - d * k) / det) * r1 + ((d * h - e * g) / det) * r2,
      g1 = ((c * h - b * k) / det) * r0 + ((a * k - c * g) / det) * r1 + ((b * g - a * h) / det) * r2,
      g2 = ((b * f - c * e) / det) * r0 + ((c * d - a * f) / det) * r1 + ((a * e - b * d) / det) * r2;
    const x0 = rest[r]!,
      x1 = rest[r + 1]!,
      x2 = rest[r + 2]!;
    for (let a2 = 0; a2 < 3; a2++) {
      const gv = a2 === 0 ? g0 : a2 === 1 ? g1 : g2;
      dPoints[i * 3 + a2] = gv;
      dRaw[ri + K * 3 + a2] = gv;
      dM[a2 * 4] = -gv * x0;
      dM[a2 * 4 + 1] = -gv * x1;
      dM[a2 * 4 + 2] = -gv * x2;
      dM[a2 * 4 + 3] = -gv;
    }
    // qUnpose = conj(normalise(raw(M))).
    const s = 2 * Math.sqrt(a + e + k + 1);
    const p0 = s / 4,
      p1 = (h - f) / s,
      p2 = (c - g) / s,
      p3 = (d - b) / s;
    const l = Math.sqrt(p0 * p0 + p1 * p1 + p2 * p2 + p3 * p3);
    quatOfMBackward(
      s,
      l,
      p0 / l,
      p1 / l,
      p2 / l,
      p3 / l,
      Number(dRest[r + 4]),
      -Number(dRest[r + 5]),
      -Number(dRest[r + 6]),
      -Number(dRest[r + 7]),
    );
    // M = sum_j w_j A_j, w = softmax(T logits + log prior).
    let dot = 0;
    for (let j = 0; j < J; j++) {
      let t = 0;
      for (let q = 0; q < 12; q++) t += dM[q]! * Number(canonA[j * 12 + q]);
      const v = Number(dSkin[i * J + j]) + t;
      dw[j] = v;
      dot += v * skin[i * J + j]!;
    }
    for (let j = 0; j < J; j++) dRaw[ri + D - J + j] = T * skin[i * J + j]! * (dw[j]! - dot);
  }
  return { points: dPoints, deformerRaw: dRaw };
}
