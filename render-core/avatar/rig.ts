/**
 * The per-frame inputs of bake and deform, built on the CPU for both back
 * ends (a few hundred numbers), and the small rotation helpers that the CPU
 * twins share with their WGSL kernels (shaders/avatar/rig.wgsl.ts has the
 * same functions).
 *
 * Frame buffer layout, f32: [ A [J, 12] | expression [E] | pose features [P] ]
 *   A_j         the head's joint transforms (row-major 3x4) for the frame's pose
 *   expression  the config's E coefficients (head expressions first, zero past them)
 *   pose feat.  per non-global joint, its rotation matrix minus identity (9 each), as in FLAME
 * The bake frame holds only A for the canonical pose (jaw open).
 */
import { type AvatarModelConfig } from "./config";
import { canonicalParams, createHeadParams, jointTransforms, rodrigues, type HeadModel } from "../head";

export interface AvatarPose {
  /** Head expression coefficients (head.expressionNames order; shorter is zero-padded). */
  expression?: ArrayLike<number>;
  /** [15] axis-angle per joint, radians. */
  pose?: ArrayLike<number>;
  /** [3] metres. */
  translation?: ArrayLike<number>;
}

export function frameSize(config: AvatarModelConfig): number {
  return config.jointCount * 12 + config.expressionCount + config.poseCorrectiveCount;
}

/** The deform frame for a pose (see the layout above). */
export function deformFrame(
  config: AvatarModelConfig,
  head: HeadModel,
  shape: Float32Array,
  frame: AvatarPose,
): Float32Array {
  const J = config.jointCount,
    E = config.expressionCount,
    P = config.poseCorrectiveCount;
  const params = createHeadParams(head, {
    shape,
    ...(frame.pose ? { pose: frame.pose } : {}),
    ...(frame.translation ? { translation: frame.translation } : {}),
  });
  const out = new Float32Array(frameSize(config));
  out.set(jointTransforms(head, params));
  const expr = frame.expression ?? [];
  if (expr.length > E) throw new Error(`deformFrame: ${expr.length} expression coefficients, the avatar has ${E}`);
  for (let e = 0; e < expr.length; e++) {
    if (!Number.isFinite(expr[e])) throw new Error(`deformFrame: expression[${e}] is ${expr[e]}`);
    out[J * 12 + e] = expr[e]!;
  }
  if (P > 0) {
    for (let j = 1; j < J; j++) {
      const R = rodrigues(params.pose[j * 3]!, params.pose[j * 3 + 1]!, params.pose[j * 3 + 2]!);
      for (let k = 0; k < 9; k++) out[J * 12 + E + (j - 1) * 9 + k] = R[k]! - (k % 4 === 0 ? 1 : 0);
    }
  }
  return out;
}

/** The bake frame: joint transforms of the canonical pose for the person's shape, [J, 12]. */
export function bakeFrame(head: HeadModel, shape: Float32Array): Float32Array {
  return jointTransforms(head, canonicalParams(head, shape));
}

/** M = sum_j w_j A_j (3x4 row-major) for one point; w read from weights[wo..wo+J). */
export function blendTransform(
  A: ArrayLike<number>,
  weights: ArrayLike<number>,
  wo: number,
  J: number,
  out: Float64Array,
): Float64Array {
  out.fill(0);
  for (let j = 0; j < J; j++) {
    const w = weights[wo + j]!;
    for (let k = 0; k < 12; k++) out[k] += w * A[j * 12 + k]!;
  }
  return out;
}

/**
 * Unit quaternion (w, x, y, z) of the rotation nearest a 3x4 blend of
 * rotations, w >= 0. Shepperd's branches; rotations under 120 degrees (all a
 * head makes) take the first.
 */
export function matrixQuat(m: ArrayLike<number>): [number, number, number, number] {
  const m00 = m[0]!,
    m01 = m[1]!,
    m02 = m[2]!,
    m10 = m[4]!,
    m11 = m[5]!,
    m12 = m[6]!,
    m20 = m[8]!,
    m21 = m[9]!,
    m22 = m[10]!;
  const tr = m00 + m11 + m22;
  let q: [number, number, number, number];
  if (tr > 0) {
    const s = Math.sqrt(tr + 1) * 2;
    q = [s / 4, (m21 - m12) / s, (m02 - m20) / s, (m10 - m01) / s];
  } else if (m00 > m11 && m00 > m22) {
    const s = Math.sqrt(1 + m00 - m11 - m22) * 2;
    q = [(m21 - m12) / s, s / 4, (m01 + m10) / s, (m02 + m20) / s];
  } else if (m11 > m22) {
    const s = Math.sqrt(1 + m11 - m00 - m22) * 2;
    q = [(m02 - m20) / s, (m01 + m10) / s, s / 4, (m12 + m21) / s];
  } else {
    const s = Math.sqrt(1 + m22 - m00 - m11) * 2;
    q = [(m10 - m01) / s, (m02 + m20) / s, (m12 + m21) / s, s / 4];
  }
  const l = Math.hypot(...q) * (q[0] < 0 ? -1 : 1);
  return [q[0] / l, q[1] / l, q[2] / l, q[3] / l];
}

/** Hamilton product a (x) b of (w, x, y, z) quaternions: rotate by b, then by a. */
export function quatMul(a: ArrayLike<number>, b: ArrayLike<number>): [number, number, number, number] {
  const [aw, ax, ay, az] = [a[0]!, a[1]!, a[2]!, a[3]!];
  const [bw, bx, by, bz] = [b[0]!, b[1]!, b[2]!, b[3]!];
  return [
    aw * bw - ax * bx - ay * by - az * bz,
    aw * bx + ax * bw + ay * bz - az * by,
    aw * by - ax * bz + ay * bw + az * bx,
    aw * bz + ax * by - ay * bx + az * bw,
  ];
}
