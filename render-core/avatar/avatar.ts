/**
 * An avatar as the runtime holds it: Gaussians hung on the head model in its
 * canonical pose (jaw open by CANONICAL_JAW_OPEN), the three networks'
 * weights, the person's head shape and the named anchor latents per category.
 * Training fills the weights; the bundle format (../formats/avatar-bundle.ts)
 * stores exactly these fields.
 *
 * Each Gaussian remembers the head-model triangle it was made on (anchor face
 * + barycentrics). The head model's expression blendshapes and skinning
 * weights at that point are its priors; the deformer network predicts
 * residuals on top (bake.cpu.ts), so an untrained avatar already moves like
 * the head and training only learns what differs.
 */
import { type AvatarModelConfig } from "./config";
import { initMlp, mlpLayers, type MlpSpec } from "./mlp";
import { deformerSpec, gaussianSpec, geometrySpec } from "./networks";
import { SurfaceSampler, canonicalParams, poseVertices, type HeadModel } from "../head";
import { gaussian, mulberry32 } from "../math/prng";

export interface AvatarWeights {
  geometry: Float32Array;
  deformer: Float32Array;
  gaussian: Float32Array;
}

export interface AvatarAnchor {
  category: string;
  /** Human label, e.g. "long curly" (from the training video's label). */
  label: string;
  /** [latentDim] f32. */
  latent: Float32Array;
  /** PNG bytes of a small render at this anchor, if any. */
  thumbnail?: Uint8Array;
}

export interface Avatar {
  config: AvatarModelConfig;
  count: number;
  /** [N, 3] f32 canonical Gaussian centres (metres, canonical pose). */
  points: Float32Array;
  /** [N] u32 head-model face each Gaussian was created on. */
  anchorFace: Uint32Array;
  /** [N, 3] f32 barycentric weights on that face. */
  anchorBary: Float32Array;
  weights: AvatarWeights;
  /**
   * [N, 3] f32 per-Gaussian colour residual, added to the geometry network's
   * colour logits before the sigmoid (bake.cpu.ts addAppearanceCpu): the
   * person's own detail, which a small network cannot hold. Absent: zeros.
   */
  appearance?: Float32Array;
  /** [S] f32 the person's head-shape coefficients. */
  shape: Float32Array;
  /** [C, L] f32 latents shown when nothing is edited (the person as photographed). */
  neutralLatents: Float32Array;
  anchors: AvatarAnchor[];
  /** PNG thumbnail of the portrait the avatar was made from (portrait pipeline only). */
  portrait?: Uint8Array;
}

/** The network specs of a config, by name. */
export function avatarSpecs(config: AvatarModelConfig): Record<keyof AvatarWeights, MlpSpec> {
  return { geometry: geometrySpec(config), deformer: deformerSpec(config), gaussian: gaussianSpec(config) };
}

/**
 * Checks that a config can drive this head model: skinning over its joints,
 * pose correctives from its non-global joints' rotations (9 each) or none.
 */
export function checkAvatarHead(config: AvatarModelConfig, head: HeadModel): void {
  const J = head.jointNames.length;
  if (config.jointCount !== J)
    throw new Error(`avatar: config.jointCount is ${config.jointCount}, the head model has ${J} joints`);
  const P = (J - 1) * 9;
  if (config.poseCorrectiveCount !== 0 && config.poseCorrectiveCount !== P) {
    throw new Error(
      `avatar: config.poseCorrectiveCount must be 0 or ${P} (9 rotation entries per non-global joint), got ${config.poseCorrectiveCount}`,
    );
  }
}

/**
 * Per-Gaussian priors from the head model at each anchor: [N, E*3 + J] f32,
 * expression blendshapes (e-major, xyz minor; config expressions past the
 * head's are zero) then skinning weights.
 */
export function avatarPriors(avatar: Avatar, head: HeadModel): Float32Array {
  const { config, count: N } = avatar;
  checkAvatarHead(config, head);
  const E = config.expressionCount,
    J = config.jointCount,
    HE = head.expressionNames.length;
  const stride = E * 3 + J;
  const out = new Float32Array(N * stride);
  for (let i = 0; i < N; i++) {
    const f = avatar.anchorFace[i]!;
    if (f >= head.faceCount)
      throw new Error(`avatar: Gaussian ${i} hangs on face ${f}, the head model has ${head.faceCount}`);
    for (let k = 0; k < 3; k++) {
      const v = head.faces[f * 3 + k]!,
        w = avatar.anchorBary[i * 3 + k]!;
      for (let e = 0; e < Math.min(E, HE); e++)
        for (let a = 0; a < 3; a++) out[i * stride + e * 3 + a] += w * head.exprDirs[(v * 3 + a) * HE + e]!;
      for (let j = 0; j < J; j++) out[i * stride + E * 3 + j] += w * head.skinWeights[v * J + j]!;
    }
  }
  return out;
}

export interface RandomAvatarOptions {
  count: number;
  seed?: number;
  /** Head shape coefficients (default neutral). */
  shape?: ArrayLike<number>;
}

/** Multiplies the output layer's gains so a network starts with outputs of about `gain`. */
function scaleOutputLayer(spec: MlpSpec, params: Float32Array, gain: number): Float32Array {
  const last = mlpLayers(spec).at(-1)!;
  for (let o = 0; o < last.out; o++) params[last.g + o]! *= gain;
  return params;
}

/**
 * Starts the geometry heads where a fit starts: small splats (scale logits
 * -1.5: about 3 mm at scaleMax 17.5 mm) that are mostly opaque (logit 1.5).
 */
function biasGeometryHeads(spec: MlpSpec, params: Float32Array): Float32Array {
  const last = mlpLayers(spec).at(-1)!;
  for (let k = 3; k < 6; k++) params[last.b + k] = -1.5;
  params[last.b + 10] = 1.5;
  return params;
}

/**
 * An untrained avatar: `count` Gaussians spread over the canonical head's
 * surface by area, seeded network weights and latents. The deformer starts
 * near zero (it predicts residuals on the head's priors) and the gaussian
 * network small, so the random avatar animates like the head model with a
 * random appearance field: what docs/images/avatar-random-*.png show.
 */
export function createRandomAvatar(config: AvatarModelConfig, head: HeadModel, options: RandomAvatarOptions): Avatar {
  checkAvatarHead(config, head);
  const N = options.count;
  if (!Number.isInteger(N) || N < 1) throw new Error(`createRandomAvatar: count must be a positive integer, got ${N}`);
  const seed = options.seed ?? 1;
  const shape = Float32Array.from(options.shape ?? new Float32Array(head.shapeNames.length));
  const verts = poseVertices(head, canonicalParams(head, shape));
  const sampler = new SurfaceSampler(verts, head.faces);
  const rand = mulberry32(seed);
  const points = new Float32Array(N * 3),
    anchorFace = new Uint32Array(N),
    anchorBary = new Float32Array(N * 3);
  for (let i = 0; i < N; i++) {
    const { face, bary } = sampler.sample(rand);
    anchorFace[i] = face;
    for (let k = 0; k < 3; k++) {
      anchorBary[i * 3 + k] = bary[k];
      const vi = head.faces[face * 3 + k]!;
      for (let d = 0; d < 3; d++) points[i * 3 + d]! += bary[k] * verts[vi * 3 + d]!;
    }
  }
  const specs = avatarSpecs(config);
  const weights: AvatarWeights = {
    geometry: biasGeometryHeads(specs.geometry, initMlp(specs.geometry, seed * 3 + 1)),
    deformer: scaleOutputLayer(specs.deformer, initMlp(specs.deformer, seed * 3 + 2), 1e-3),
    gaussian: scaleOutputLayer(specs.gaussian, initMlp(specs.gaussian, seed * 3 + 3), 0.1),
  };
  const C = config.categories.length,
    L = config.latentDim;
  const normal = gaussian(mulberry32(seed + 101));
  const neutralLatents = new Float32Array(C * L).map(() => 0.3 * normal());
  // Two anchors per category, so sliders have something to move between.
  const anchors: AvatarAnchor[] = config.categories.flatMap((category) =>
    ["A", "B"].map((label) => ({
      category,
      label: `random ${label}`,
      latent: new Float32Array(L).map(() => normal()),
    })),
  );
  return { config, count: N, points, anchorFace, anchorBary, weights, shape, neutralLatents, anchors };
}

/**
 * Gaussians [from, to) of an avatar as an avatar of their own (the networks,
 * shape and latents shared). Bake and deform treat every Gaussian on its own,
 * so a slice bakes and deforms to exactly the whole avatar's Gaussians
 * [from, to): threads can each take a slice.
 */
export function sliceAvatar(avatar: Avatar, from: number, to: number): Avatar {
  if (!Number.isInteger(from) || !Number.isInteger(to) || from < 0 || to > avatar.count || from > to)
    throw new Error(`sliceAvatar: [${from}, ${to}) is not a range of the avatar's ${avatar.count} Gaussians`);
  return {
    ...avatar,
    count: to - from,
    points: avatar.points.slice(from * 3, to * 3),
    anchorFace: avatar.anchorFace.slice(from, to),
    anchorBary: avatar.anchorBary.slice(from * 3, to * 3),
    ...(avatar.appearance ? { appearance: avatar.appearance.slice(from * 3, to * 3) } : {}),
  };
}
