/**
 * Backward of deformRig (render-core/avatar/deform.cpu.ts), CPU twin in
 * float64: posed centres, rig orientations and expression offsets ->
 * un-posed centres, un-posing quaternions, skinning weights and
 * blendshape / corrective directions of each Gaussian.
 *
 *   d = sum_k dirs_k c_k,  y = rest + d,  M = sum_j w_j A_j,  centre = M y,
 *   qRig = quat(M) (x) qUnpose
 * quat(M) is differentiated on Shepperd's first branch (trace > 0), the one
 * every head rotation takes (under 120 degrees; render-core/avatar/rig.ts).
 */
import { type AvatarModelConfig } from "../avatar/config";
import { REST_STRIDE } from "../avatar/bake.cpu";
import { quatMul } from "../avatar/rig";

export interface RigState {
  count: number;
  /** [N, 8] un-posed centre (xyz, 0) and un-posing quaternion (w x y z). */
  rest: ArrayLike<number>;
  /** [N, J] skinning weights. */
  skin: ArrayLike<number>;
  /** [N, (E + P) * 3] directions. */
  dirs: ArrayLike<number>;
}

export interface RigOutputs {
  positions: Float64Array;
  rotations: Float64Array;
  offsets: Float64Array;
}

export interface RigGrad {
  rest: Float64Array;
  skin: Float64Array;
  dirs: Float64Array;
}

/** Backward of the Hamilton product q = a (x) b: d a and d b from d q. */
export function quatMulBackward(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  dq: ArrayLike<number>,
): { da: number[]; db: number[] } {
  const [aw, ax, ay, az] = [a[0]!, a[1]!, a[2]!, a[3]!];
  const [bw, bx, by, bz] = [b[0]!, b[1]!, b[2]!, b[3]!];
  const [d0, d1, d2, d3] = [dq[0]!, dq[1]!, dq[2]!, dq[3]!];
  // q = (aw bw - ax bx - ay by - az bz, aw bx + ax bw + ay bz - az by, aw by - ax bz + ay bw + az bx, aw bz + ax by - ay bx + az bw)
  return {
    da: [
      d0 * bw + d1 * bx + d2 * by + d3 * bz,
      -d0 * bx + d1 * bw - d2 * bz + d3 * by,
      -d0 * by + d1 * bz + d2 * bw - d3 * bx,
      -d0 * bz - d1 * by + d2 * bx + d3 * bw,
    ],
    db: [
      d0 * aw + d1 * ax + d2 * ay + d3 * az,
      -d0 * ax + d1 * aw + d2 * az - d3 * ay,
      -d0 * ay - d1 * az + d2 * aw + d3 * ax,
      -d0 * az + d1 * ay - d2 * ax + d3 * aw,
    ],
  };
}

function blend(frame: ArrayLike<number>, skin: ArrayLike<number>, i: number, J: number): Float64Array {
  const M = new Float64Array(12);
  for (let j = 0; j < J; j++) for (let k = 0; k < 12; k++) M[k]! += Number(skin[i * J + j]) * Number(frame[j * 12 + k]);
  return M;
}

/** Shepperd's first branch, unnormalised: (s / 4, (m21 - m12) / s, (m02 - m20) / s, (m10 - m01) / s), s = 2 sqrt(trace + 1). */
function rawQuat(M: Float64Array): { raw: number[]; s: number } {
  const s = 2 * Math.sqrt(M[0]! + M[5]! + M[10]! + 1);
  return { raw: [s / 4, (M[9]! - M[6]!) / s, (M[2]! - M[8]!) / s, (M[4]! - M[1]!) / s], s };
}

export function deformRigTrain(config: AvatarModelConfig, state: RigState, frame: ArrayLike<number>): RigOutputs {
  const J = config.jointCount,
    K = config.expressionCount + config.poseCorrectiveCount,
    N = state.count;
  const out: RigOutputs = {
    positions: new Float64Array(N * 3),
    rotations: new Float64Array(N * 4),
    offsets: new Float64Array(N * 3),
  };
  for (let i = 0; i < N; i++) {
    const d = [0, 0, 0];
    for (let k = 0; k < K; k++)
      for (let a = 0; a < 3; a++) d[a]! += Number(state.dirs[(i * K + k) * 3 + a]) * Number(frame[J * 12 + k]);
    out.offsets.set(d, i * 3);
    const y = [0, 1, 2].map((a) => Number(state.rest[i * REST_STRIDE + a]) + d[a]!);
    const M = blend(frame, state.skin, i, J);
    for (let r = 0; r < 3; r++)
      out.positions[i * 3 + r] = M[r * 4]! * y[0]! + M[r * 4 + 1]! * y[1]! + M[r * 4 + 2]! * y[2]! + M[r * 4 + 3]!;
    const { raw } = rawQuat(M);
    const l = Math.hypot(...raw);
    const qU = [4, 5, 6, 7].map((k) => Number(state.rest[i * REST_STRIDE + k]));
    out.rotations.set(
      quatMul(
        raw.map((v) => v / l),
        qU,
      ),
      i * 4,
    );
  }
  return out;
}

export function deformRigBackward(
  config: AvatarModelConfig,
  state: RigState,
  frame: ArrayLike<number>,
  dPositions: ArrayLike<number>,
  dRotations: ArrayLike<number>,
  dOffsets?: ArrayLike<number>,
): RigGrad {
  const J = config.jointCount,
    K = config.expressionCount + config.poseCorrectiveCount,
    N = state.count;
  const g: RigGrad = {
    rest: new Float64Array(N * REST_STRIDE),
    skin: new Float64Array(N * J),
    dirs: new Float64Array(N * K * 3),
  };
  for (let i = 0; i < N; i++) {
    const d = [0, 0, 0];
    for (let k = 0; k < K; k++)
      for (let a = 0; a < 3; a++) d[a]! += Number(state.dirs[(i * K + k) * 3 + a]) * Number(frame[J * 12 + k]);
    const y = [0, 1, 2].map((a) => Number(state.rest[i * REST_STRIDE + a]) + d[a]!);
    const M = blend(frame, state.skin, i, J);
    const dM = new Float64Array(12);
    const dx = [0, 1, 2].map((r) => Number(dPositions[i * 3 + r]));
    const dy = [0, 0, 0];
    for (let r = 0; r < 3; r++) {
      for (let c = 0; c < 3; c++) {
        dM[r * 4 + c]! += dx[r]! * y[c]!;
        dy[c]! += M[r * 4 + c]! * dx[r]!;
      }
      dM[r * 4 + 3]! += dx[r]!;
    }
    // Orientation: q = qT (x) qU; Hamilton product partials.
    const { raw, s } = rawQuat(M);
    const l = Math.hypot(...raw);
    const qT = raw.map((v) => v / l);
    const qU = [4, 5, 6, 7].map((k) => Number(state.rest[i * REST_STRIDE + k]));
    const dq = [0, 1, 2, 3].map((k) => Number(dRotations[i * 4 + k]));
    const { da: dA, db: dB } = quatMulBackward(qT, qU, dq);
    for (let k = 0; k < 4; k++) g.rest[i * REST_STRIDE + 4 + k] = dB[k]!;
    // Normalisation, then the raw components -> M.
    const along = dA.reduce((acc, v, k) => acc + v * qT[k]!, 0);
    const dRaw = dA.map((v, k) => (v - along * qT[k]!) / l);
    let ds = dRaw[0]! / 4;
    const pairs: Array<[number, number, number]> = [
      [1, 9, 6],
      [2, 2, 8],
      [3, 4, 1],
    ]; // raw index, plus entry, minus entry
    for (const [k, plus, minus] of pairs) {
      dM[plus]! += dRaw[k]! / s;
      dM[minus]! -= dRaw[k]! / s;
      ds -= (dRaw[k]! * (M[plus]! - M[minus]!)) / (s * s);
    }
    const dTrace = (ds * 2) / s; // s = 2 sqrt(tr + 1), so ds/dtr = 2 / s
    dM[0]! += dTrace;
    dM[5]! += dTrace;
    dM[10]! += dTrace;
    for (let j = 0; j < J; j++) for (let k = 0; k < 12; k++) g.skin[i * J + j]! += dM[k]! * Number(frame[j * 12 + k]);
    const dd = [0, 1, 2].map((a) => dy[a]! + (dOffsets ? Number(dOffsets[i * 3 + a]) : 0));
    for (let a = 0; a < 3; a++) g.rest[i * REST_STRIDE + a] = dy[a]!;
    for (let k = 0; k < K; k++)
      for (let a = 0; a < 3; a++) g.dirs[(i * K + k) * 3 + a] = dd[a]! * Number(frame[J * 12 + k]);
  }
  return g;
}

export interface BakeRigInputs {
  count: number;
  /** [N, 3] canonical points. */
  points: ArrayLike<number>;
  /** [N, D] deformer output (raw). */
  deformerRaw: ArrayLike<number>;
  /** [N, E * 3 + J] head priors (avatarPriors). */
  prior: ArrayLike<number>;
  /** [J, 12] canonical joint transforms (bakeFrame). */
  canonA: ArrayLike<number>;
}

/** bakeRig (render-core/avatar/bake.cpu.ts) in float64: points and deformer output -> rest, skin, dirs. */
export function bakeRigTrain(
  config: AvatarModelConfig,
  x: BakeRigInputs,
): { rest: Float64Array; skin: Float64Array; dirs: Float64Array } {
  const E = config.expressionCount,
    P = config.poseCorrectiveCount,
    J = config.jointCount,
    T = config.skinningTemperature;
  const D = E * 3 + P * 3 + 3 + J,
    PS = E * 3 + J,
    K = E + P,
    N = x.count;
  const rest = new Float64Array(N * REST_STRIDE),
    skin = new Float64Array(N * J),
    dirs = new Float64Array(N * K * 3);
  for (let i = 0; i < N; i++) {
    for (let k = 0; k < E * 3; k++)
      dirs[i * K * 3 + k] = Number(x.prior[i * PS + k]) + Number(x.deformerRaw[i * D + k]);
    for (let k = 0; k < P * 3; k++) dirs[i * K * 3 + E * 3 + k] = Number(x.deformerRaw[i * D + E * 3 + k]);
    const logits = Array.from(
      { length: J },
      (_, j) => T * Number(x.deformerRaw[i * D + D - J + j]) + Math.log(Number(x.prior[i * PS + E * 3 + j]) + 1e-6),
    );
    const mx = Math.max(...logits);
    const e = logits.map((v) => Math.exp(v - mx));
    const sum = e.reduce((a, b) => a + b, 0);
    for (let j = 0; j < J; j++) skin[i * J + j] = e[j]! / sum;
    const M = blend(x.canonA, skin, i, J);
    const o = i * D + K * 3;
    const q = [0, 1, 2].map((a) => Number(x.points[i * 3 + a]) + Number(x.deformerRaw[o + a]) - M[a * 4 + 3]!);
    const inv = invert3(M);
    for (let r = 0; r < 3; r++)
      rest[i * REST_STRIDE + r] = inv[r * 3]! * q[0]! + inv[r * 3 + 1]! * q[1]! + inv[r * 3 + 2]! * q[2]!;
    const { raw } = rawQuat(M);
    const l = Math.hypot(...raw);
    rest.set([raw[0]! / l, -raw[1]! / l, -raw[2]! / l, -raw[3]! / l], i * REST_STRIDE + 4);
  }
  return { rest, skin, dirs };
}

function invert3(M: ArrayLike<number>): number[] {
  const [a, b, c, d, e, f, g, h, k] = [M[0]!, M[1]!, M[2]!, M[4]!, M[5]!, M[6]!, M[8]!, M[9]!, M[10]!];
  const det = a * (e * k - f * h) - b * (d * k - f * g) + c * (d * h - e * g);
  return [
    e * k - f * h,
    c * h - b * k,
    b * f - c * e,
    f * g - d * k,
    a * k - c * g,
    c * d - a * f,
    d * h - e * g,
    b * g - a * h,
    a * e - b * d,
  ].map((v) => v / det);
}

/** Backward of bakeRigTrain: d points [N, 3] and d deformer output [N, D]. */
export function bakeRigBackward(
  config: AvatarModelConfig,
  x: BakeRigInputs,
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
  const fwd = bakeRigTrain(config, x);
  const dPoints = new Float64Array(N * 3),
    dRaw = new Float64Array(N * D);
  for (let i = 0; i < N; i++) {
    for (let k = 0; k < K * 3; k++) dRaw[i * D + k] = Number(dDirs[i * K * 3 + k]);
    const M = blend(x.canonA, fwd.skin, i, J);
    const inv = invert3(M);
    const dM = new Float64Array(12);
    // rest = M^-1 (p + offset - t): g = M^-T d rest.
    const dr = [0, 1, 2].map((a) => Number(dRest[i * REST_STRIDE + a]));
    const gv = [0, 1, 2].map((c) => inv[c]! * dr[0]! + inv[3 + c]! * dr[1]! + inv[6 + c]! * dr[2]!);
    const x0 = [0, 1, 2].map((a) => fwd.rest[i * REST_STRIDE + a]!);
    for (let r = 0; r < 3; r++) {
      dPoints[i * 3 + r] = gv[r]!;
      dRaw[i * D + K * 3 + r] = gv[r]!;
      for (let c = 0; c < 3; c++) dM[r * 4 + c]! -= gv[r]! * x0[c]!;
      dM[r * 4 + 3]! -= gv[r]!;
    }
    // qUnpose = conj(normalise(raw(M))).
    const { raw, s } = rawQuat(M);
    const l = Math.hypot(...raw);
    const qT = raw.map((v) => v / l);
    const dqT = [4, 5, 6, 7].map((k, j) => (j === 0 ? 1 : -1) * Number(dRest[i * REST_STRIDE + k]));
    const along = dqT.reduce((acc, v, k) => acc + v * qT[k]!, 0);
    const dRawQ = dqT.map((v, k) => (v - along * qT[k]!) / l);
    let ds = dRawQ[0]! / 4;
    for (const [k, plus, minus] of [
      [1, 9, 6],
      [2, 2, 8],
      [3, 4, 1],
    ] as const) {
      dM[plus]! += dRawQ[k]! / s;
      dM[minus]! -= dRawQ[k]! / s;
      ds -= (dRawQ[k]! * (M[plus]! - M[minus]!)) / (s * s);
    }
    const dTrace = (ds * 2) / s;
    dM[0]! += dTrace;
    dM[5]! += dTrace;
    dM[10]! += dTrace;
    // M = sum_j w_j A_j, w = softmax(T logits + log prior).
    const dw = Array.from(
      { length: J },
      (_, j) => Number(dSkin[i * J + j]) + dM.reduce((acc, v, k) => acc + v * Number(x.canonA[j * 12 + k]), 0),
    );
    const w = fwd.skin.subarray(i * J, (i + 1) * J);
    let dot = 0;
    for (let j = 0; j < J; j++) dot += dw[j]! * w[j]!;
    for (let j = 0; j < J; j++) dRaw[i * D + D - J + j] = T * w[j]! * (dw[j]! - dot);
  }
  return { points: dPoints, deformerRaw: dRaw };
}
