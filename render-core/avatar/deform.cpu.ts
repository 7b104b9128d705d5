/**
 * Deform, CPU twin of the GPU path in ./runtime-gpu.ts (kernels deformRig and
 * composeAppearance in shaders/avatar/rig.wgsl.ts): a baked avatar + one
 * frame (expression, pose) -> posed Gaussians, ready for the renderer.
 *
 * deformRig, per Gaussian:
 *   d     = sum_e dirs_e * expression_e + sum_p dirs_(E+p) * poseFeature_p
 *   M_t   = sum_j w_j A_j(frame)
 *   centre = M_t (rest + d)
 *   qRig  = quat(M_t) (x) qUnpose
 * gaussian network: d -> residual [N, 11] (so appearance follows the expression)
 * composeAppearance, per Gaussian, raw = geomRaw + residual:
 *   colour sigmoid, scale sigmoid x scaleMax, rotation qRig (x) normalise(raw), opacity sigmoid
 */
import { type AvatarModelConfig } from "./config";
import { mlpForward, type MlpForwardFn } from "./mlp";
import { APPEARANCE_OUTPUTS } from "./networks";
import { REST_STRIDE, type BakedAvatar } from "./bake.cpu";
import { blendTransform, matrixQuat, quatMul } from "./rig";
import { createSplatCloud, type SplatCloud } from "../splats/splat-cloud";

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/** deformRig for every Gaussian: fills cloud.positions, cloud.rotations (qRig) and returns d [N, 3]. */
export function deformRigCpu(
  config: AvatarModelConfig,
  baked: BakedAvatar,
  frame: Float32Array,
  cloud: SplatCloud,
): Float32Array {
  const J = config.jointCount,
    E = config.expressionCount,
    P = config.poseCorrectiveCount;
  const K = E + P,
    N = baked.count;
  const d = new Float32Array(N * 3);
  const M = new Float64Array(12);
  for (let i = 0; i < N; i++) {
    let dx = 0,
      dy = 0,
      dz = 0;
    for (let k = 0; k < K; k++) {
      const c = frame[J * 12 + k]!;
      if (c === 0) continue;
      const o = (i * K + k) * 3;
      dx += baked.dirs[o]! * c;
      dy += baked.dirs[o + 1]! * c;
      dz += baked.dirs[o + 2]! * c;
    }
    d[i * 3] = dx;
    d[i * 3 + 1] = dy;
    d[i * 3 + 2] = dz;
    const r = i * REST_STRIDE;
    const x = baked.rest[r]! + dx,
      y = baked.rest[r + 1]! + dy,
      z = baked.rest[r + 2]! + dz;
    blendTransform(frame, baked.skin, i * J, J, M);
    for (let a = 0; a < 3; a++)
      cloud.positions[i * 3 + a] = M[a * 4]! * x + M[a * 4 + 1]! * y + M[a * 4 + 2]! * z + M[a * 4 + 3]!;
    cloud.rotations.set(quatMul(matrixQuat(M), baked.rest.subarray(r + 4, r + 8)), i * 4);
  }
  return d;
}

/** composeAppearance for every Gaussian: fills colours, scales, opacities and finishes rotations. */
export function composeAppearanceCpu(
  config: AvatarModelConfig,
  baked: BakedAvatar,
  residual: Float32Array,
  cloud: SplatCloud,
): void {
  for (let i = 0; i < baked.count; i++) {
    const o = i * APPEARANCE_OUTPUTS;
    const raw = (k: number) => baked.geomRaw[o + k]! + residual[o + k]!;
    for (let k = 0; k < 3; k++) cloud.colors[i * 3 + k] = sigmoid(raw(k));
    for (let k = 0; k < 3; k++) cloud.scales[i * 3 + k] = sigmoid(raw(3 + k)) * config.scaleMax;
    const l = Math.hypot(raw(6), raw(7), raw(8), raw(9)) || 1;
    const q = quatMul(cloud.rotations.subarray(i * 4, i * 4 + 4), [raw(6) / l, raw(7) / l, raw(8) / l, raw(9) / l]);
    cloud.rotations.set(q, i * 4);
    cloud.opacities[i] = sigmoid(raw(10));
  }
}

/** The whole deform on the CPU: posed Gaussians as a SplatCloud (degree-0 colour). */
export function deformCpu(
  config: AvatarModelConfig,
  baked: BakedAvatar,
  frame: Float32Array,
  cloud = createSplatCloud(baked.count),
  forward: MlpForwardFn = mlpForward,
): SplatCloud {
  if (cloud.count !== baked.count)
    throw new Error(`deformCpu: the cloud holds ${cloud.count} splats, the avatar ${baked.count}`);
  const d = deformRigCpu(config, baked, frame, cloud);
  const g = baked.folded.gaussian;
  const residual = forward(g.spec, g.params, d, baked.count);
  composeAppearanceCpu(config, baked, residual, cloud);
  return cloud;
}
