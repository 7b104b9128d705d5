/**
 * Bake, CPU twin of the GPU path in ./runtime-gpu.ts (kernel bakeRig in
 * shaders/avatar/rig.wgsl.ts): latents -> per-Gaussian data that does not
 * change until a latent does. Runs once per latent change, shared by every
 * viewer of an avatar.
 *
 *   1. conditioning = buildConditioning(latents); fold it into the biases of
 *      all three networks (./fold.ts)
 *   2. geometry(PE(point))  -> geomRaw [N, 11] (pre-activation appearance);
 *      addAppearance: geomRaw[:, 0..2] += avatar.appearance (per-Gaussian colour residual)
 *   3. deformer(point)      -> raw [N, E*3 + P*3 + 3 + J]
 *   4. per Gaussian (bakeRig):
 *        dirs   = [prior blendshapes + raw blendshapes | raw pose correctives]   [(E + P) * 3]
 *        w      = softmax(T * logits + log(prior skin + 1e-6))   (the head's weights are the prior)
 *        M_c    = sum_j w_j A_j(canonical pose)
 *        rest   = M_c^-1 (point + offset)     un-posed from the jaw-open canonical pose
 *        qUnpose = conj(quat(M_c))             so a Gaussian's orientation un-poses with it
 *   rest is stored as [x, y, z, 0, qw, qx, qy, qz].
 */
import { conditioningSize, type AvatarModelConfig } from "./config";
import { buildConditioning } from "./latent";
import { mlpForward, type MlpForwardFn } from "./mlp";
import { FoldPlan, type FoldedMlp } from "./fold";
import { APPEARANCE_CHANNELS, APPEARANCE_OUTPUTS, deformerOutputs } from "./networks";
import { positionalEncoding } from "./positional-encoding";
import { avatarSpecs, type Avatar } from "./avatar";
import { blendTransform, matrixQuat } from "./rig";

/** Skin prior floor: log(1e-6) keeps a joint the head never uses out of reach of small logits. */
export const SKIN_PRIOR_FLOOR = 1e-6;
export const REST_STRIDE = 8;

export interface FoldedNetworks {
  geometry: FoldedMlp;
  deformer: FoldedMlp;
  gaussian: FoldedMlp;
}

export interface BakedAvatar {
  count: number;
  /** [N, 8] f32 un-posed centre (xyz, 0) and un-posing quaternion (w x y z). */
  rest: Float32Array;
  /** [N, J] f32 skinning weights. */
  skin: Float32Array;
  /** [N, 11] f32 geometry network output before activations, plus the appearance residual on the colour channels. */
  geomRaw: Float32Array;
  /** [N, (E + P) * 3] f32 expression blendshapes then pose correctives. */
  dirs: Float32Array;
  /** The networks with this bake's conditioning folded in (deform runs `gaussian` per frame). */
  folded: FoldedNetworks;
}

export type FoldPlans = Record<keyof FoldedNetworks, FoldPlan>;

/** Fold plans of the three networks: made once per set of weights (the costly part of a fold). */
export function foldPlans(avatar: Avatar): FoldPlans {
  const specs = avatarSpecs(avatar.config);
  const T = conditioningSize(avatar.config);
  return {
    geometry: new FoldPlan(specs.geometry, avatar.weights.geometry, T),
    deformer: new FoldPlan(specs.deformer, avatar.weights.deformer, T),
    gaussian: new FoldPlan(specs.gaussian, avatar.weights.gaussian, T),
  };
}

/** Step 1: the networks with the conditioning of `latents` folded into their biases. */
export function foldNetworks(avatar: Avatar, latents: Float32Array, plans = foldPlans(avatar)): FoldedNetworks {
  const cond = buildConditioning(avatar.config, latents);
  return {
    geometry: plans.geometry.apply(cond),
    deformer: plans.deformer.apply(cond),
    gaussian: plans.gaussian.apply(cond),
  };
}

/**
 * Step 2's second half for Gaussians [from, to), the CPU twin of the
 * addAppearance kernel: geomRaw [N, 11] += appearance [N, 3] on the colour
 * channels, in place. Latent edits act through the network, the residual is
 * the same under every latent.
 */
export function addAppearanceCpu(
  geomRaw: Float32Array | Float64Array,
  appearance: ArrayLike<number>,
  from = 0,
  to = appearance.length / APPEARANCE_CHANNELS,
): void {
  const A = APPEARANCE_OUTPUTS,
    R = APPEARANCE_CHANNELS;
  if (appearance.length * A !== geomRaw.length * R)
    throw new Error(
      `addAppearanceCpu: appearance holds ${appearance.length} numbers, geomRaw's ${geomRaw.length / A} Gaussians need ${(geomRaw.length / A) * R}`,
    );
  for (let i = from; i < to; i++) for (let k = 0; k < R; k++) geomRaw[i * A + k]! += Number(appearance[i * R + k]);
}

/** Step 4 for Gaussians [from, to): the CPU twin of the bakeRig kernel. */
export function bakeRigCpu(
  config: AvatarModelConfig,
  points: Float32Array,
  deformerRaw: Float32Array,
  prior: Float32Array,
  canonA: Float32Array,
  out: Pick<BakedAvatar, "rest" | "skin" | "dirs">,
  from = 0,
  to = points.length / 3,
): void {
  const E = config.expressionCount,
    P = config.poseCorrectiveCount,
    J = config.jointCount,
    T = config.skinningTemperature;
  const D = deformerOutputs(config),
    PS = E * 3 + J,
    DS = (E + P) * 3;
  const M = new Float64Array(12),
    w = new Float64Array(J);
  for (let i = from; i < to; i++) {
    const raw = i * D;
    for (let k = 0; k < E * 3; k++) out.dirs[i * DS + k] = prior[i * PS + k]! + deformerRaw[raw + k]!;
    for (let k = 0; k < P * 3; k++) out.dirs[i * DS + E * 3 + k] = deformerRaw[raw + E * 3 + k]!;
    let max = -Infinity;
    for (let j = 0; j < J; j++) {
      w[j] = T * deformerRaw[raw + D - J + j]! + Math.log(prior[i * PS + E * 3 + j]! + SKIN_PRIOR_FLOOR);
      max = Math.max(max, w[j]!);
    }
    let sum = 0;
    for (let j = 0; j < J; j++) sum += w[j] = Math.exp(w[j]! - max);
    for (let j = 0; j < J; j++) out.skin[i * J + j] = w[j]! / sum;
    blendTransform(canonA, out.skin, i * J, J, M);
    const o = raw + (E + P) * 3;
    const px = points[i * 3]! + deformerRaw[o]! - M[3]!,
      py = points[i * 3 + 1]! + deformerRaw[o + 1]! - M[7]!,
      pz = points[i * 3 + 2]! + deformerRaw[o + 2]! - M[11]!;
    // Inverse of the 3x3 part by cofactors (a blend of rotations with non-negative weights: well conditioned).
    const [a, b, c, d, e, f, g, h, k] = [M[0]!, M[1]!, M[2]!, M[4]!, M[5]!, M[6]!, M[8]!, M[9]!, M[10]!];
    const det = a * (e * k - f * h) - b * (d * k - f * g) + c * (d * h - e * g);
    const inv = [
      e * k - f * h,
      c * h - b * k,
      b * f - c * e,
      f * g - d * k,
      a * k - c * g,
      c * d - a * f,
      d * h - e * g,
      b * g - a * h,
      a * e - b * d,
    ];
    for (let r = 0; r < 3; r++)
      out.rest[i * REST_STRIDE + r] = (inv[r * 3]! * px + inv[r * 3 + 1]! * py + inv[r * 3 + 2]! * pz) / det;
    out.rest[i * REST_STRIDE + 3] = 0;
    const q = matrixQuat(M);
    out.rest.set([q[0], -q[1], -q[2], -q[3]], i * REST_STRIDE + 4);
  }
}

/**
 * The whole bake on the CPU. `prior` from avatarPriors(), `canonA` from
 * bakeFrame(). Float64 accumulation inside the networks, float32 results;
 * `forward` runs the networks (default the reference, mlpForward).
 */
export function bakeCpu(
  avatar: Avatar,
  prior: Float32Array,
  canonA: Float32Array,
  latents: Float32Array,
  plans?: FoldPlans,
  forward: MlpForwardFn = mlpForward,
  /** The points' positional encoding (the same for every bake of an avatar: a renderer keeps it). */
  pe = positionalEncoding(avatar.points, avatar.config.peFrequencies),
): BakedAvatar {
  const { config, count: N, points } = avatar;
  const folded = foldNetworks(avatar, latents, plans);
  const geomRaw = forward(folded.geometry.spec, folded.geometry.params, pe, N);
  if (avatar.appearance) addAppearanceCpu(geomRaw, avatar.appearance);
  const deformerRaw = forward(folded.deformer.spec, folded.deformer.params, points, N);
  const J = config.jointCount;
  const baked: BakedAvatar = {
    count: N,
    rest: new Float32Array(N * REST_STRIDE),
    skin: new Float32Array(N * J),
    geomRaw,
    dirs: new Float32Array(N * (config.expressionCount + config.poseCorrectiveCount) * 3),
    folded,
  };
  bakeRigCpu(config, points, deformerRaw, prior, canonA, baked);
  return baked;
}
