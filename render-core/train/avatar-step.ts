/**
 * Training of the whole avatar, CPU twin in float64: latents, points and the
 * three networks' weights -> pictures -> L1 + D-SSIM against targets ->
 * gradients for all of them. The chain is the runtime's (bake.cpu.ts,
 * deform.cpu.ts) with the full networks (conditioning as an input, not
 * folded), so the latents get gradients:
 *
 *   geometry([PE(p) | cond]) -> raw appearance          deformer([p | cond]) -> bakeRig -> deformRig -> centres, qRig, d
 *   gaussian([d | cond]) -> residual; heads(raw + residual) -> colour, scale, qLocal, opacity; rotation = qRig (x) qLocal
 *   project -> rasterise -> loss
 *
 * avatarTrainBatch takes several frames under the same latents and runs the
 * frame-independent half once. This is the reference computation the GPU
 * training kernels must agree with, and the trainer's engine on CPU-only machines.
 */
import { conditioningSize, type AvatarModelConfig } from "../avatar/config";
import { avatarSpecs, type AvatarWeights } from "../avatar/avatar";
import { APPEARANCE_OUTPUTS } from "../avatar/networks";
import type { Camera } from "../math/camera";
import { RASTER } from "../raster/config";
import { appearanceHeads, appearanceHeadsBackward, positionalEncodingBackward } from "./heads-grad";
import { l1Loss } from "./losses";
import { appearanceBackward, appearanceForward } from "./appearance-grad";
import { FAST_PASSES, type TrainPasses } from "./train-passes";

export interface AvatarTrainState {
  config: AvatarModelConfig;
  count: number;
  points: Float64Array;
  weights: { geometry: Float64Array; deformer: Float64Array; gaussian: Float64Array };
  /** [C, L]. */
  latents: Float64Array;
  /** Fixed per avatar: head priors and canonical joint transforms. */
  prior: ArrayLike<number>;
  canonA: ArrayLike<number>;
  /** [N, 3] per-Gaussian colour residual on the geometry output's colour logits (appearance-grad.ts); absent: zeros. */
  appearance?: Float64Array;
}

export interface StepTarget {
  /** The frame's deform buffer (deformFrame). */
  frame: ArrayLike<number>;
  camera: Camera;
  /** [H, W, 3] in [0, 1]. */
  image: ArrayLike<number>;
  background: [number, number, number];
  /** Weight of D-SSIM (the reference: 0.2). */
  lambdaDssim: number;
  /** Optional [H, W] weights of an extra L1 term (stage 2: the attribute's region), and its weight. */
  region?: { mask: ArrayLike<number>; weight: number };
}

export interface StepResult {
  loss: number;
  rgb: Float64Array;
  grads: {
    points: Float64Array;
    weights: Record<keyof AvatarWeights, Float64Array>;
    latents: Float64Array;
    /** [N, 3] dLoss/dAppearance (the geometry output's colour gradient, summed over the frames). */
    appearance: Float64Array;
  };
}

export interface BatchResult {
  /** Mean loss over the targets (the gradients are of this mean). */
  loss: number;
  losses: number[];
  rgbs: Float64Array[];
  grads: StepResult["grads"];
  /** [N] opacity of every Gaussian (the last target's) and whether any target drew it: for pruning. */
  opacities: Float64Array;
  visible: Uint8Array;
}

function positionalEncoding64(points: ArrayLike<number>, F: number): Float64Array {
  const n = points.length / 3,
    D = 3 + 6 * F,
    out = new Float64Array(n * D);
  for (let p = 0; p < n; p++) {
    for (let a = 0; a < 3; a++) out[p * D + a] = Number(points[p * 3 + a]);
    for (let k = 0; k < F; k++) {
      const f = Math.PI * 2 ** k;
      for (let a = 0; a < 3; a++) {
        out[p * D + 3 + k * 6 + a] = Math.sin(f * Number(points[p * 3 + a]));
        out[p * D + 3 + k * 6 + 3 + a] = Math.cos(f * Number(points[p * 3 + a]));
      }
    }
  }
  return out;
}

/** 3-sigma radius from a conic, as the projection computes it from the covariance. */
export function radiusOf(conic: ArrayLike<number>, i: number): number {
  const qa = Number(conic[i * 3]),
    qb = Number(conic[i * 3 + 1]),
    qc = Number(conic[i * 3 + 2]);
  const qdet = qa * qc - qb * qb;
  if (!(qdet > 0)) return 0;
  const a = qc / qdet,
    c = qa / qdet,
    b = -qb / qdet;
  const mid = 0.5 * (a + c),
    det = a * c - b * b;
  return Math.ceil(RASTER.SIGMA_EXTENT * Math.sqrt(mid + Math.sqrt(Math.max(0.1, mid * mid - det))));
}

/** One target: avatarTrainBatch with a batch of one. */
export function avatarTrainStep(s: AvatarTrainState, t: StepTarget, passes: TrainPasses = FAST_PASSES): StepResult {
  const r = avatarTrainBatch(s, [t], passes);
  return { loss: r.loss, rgb: r.rgbs[0]!, grads: r.grads };
}

/** The conditioning vector in float64 (buildConditioning's layout): float32 would swamp the latents' gradients. */
function conditioning64(config: AvatarModelConfig, latents: ArrayLike<number>): Float64Array {
  const C = config.categories.length,
    L = config.latentDim;
  const cond = new Float64Array(conditioningSize(config));
  for (let c = 0; c < C; c++) {
    cond[c * (C + L) + c] = 1;
    for (let k = 0; k < L; k++) cond[c * (C + L) + C + k] = Number(latents[c * L + k]);
  }
  return cond;
}

/**
 * Several frames under the same latents (frames of one video): the geometry and
 * deformer networks and the bake run once, their gradients summed over the
 * frames, so a batch of K frames costs far less than K steps. The conditioning
 * enters each network once per batch (mlpForwardTrain's shared input).
 */
export function avatarTrainBatch(
  s: AvatarTrainState,
  targets: StepTarget[],
  /** Networks, rigs, projection, rasteriser and D-SSIM: the fast path, or the reference twins (train-passes.ts). */
  passes: TrainPasses = FAST_PASSES,
): BatchResult {
  if (targets.length === 0) throw new Error("avatarTrainBatch: no targets");
  const { config, count: N } = s;
  const specs = avatarSpecs(config);
  const C = config.categories.length,
    L = config.latentDim;
  const cond = conditioning64(config, s.latents);
  const K = targets.length,
    A = APPEARANCE_OUTPUTS;

  // Shared forward: networks on the canonical points, then the bake.
  const pe = positionalEncoding64(s.points, config.peFrequencies);
  const geo = passes.mlpForward(specs.geometry, s.weights.geometry, pe, N, cond);
  const geoRaw = appearanceForward(geo.out, s.appearance);
  const def = passes.mlpForward(specs.deformer, s.weights.deformer, s.points, N, cond);
  const bakeIn = { count: N, points: s.points, deformerRaw: def.out, prior: s.prior, canonA: s.canonA };
  const baked = passes.bakeRig(config, bakeIn);
  const rigState = { count: N, ...baked };

  const dRawGeo = new Float64Array(N * A);
  const dGaussian = new Float64Array(s.weights.gaussian.length);
  const dCond = new Float64Array(cond.length);
  // The frames' rig gradients, summed: the bake's upstream gradients.
  const dRig = {
    rest: new Float64Array(baked.rest.length),
    skin: new Float64Array(baked.skin.length),
    dirs: new Float64Array(baked.dirs.length),
  };
  const losses: number[] = [],
    rgbs: Float64Array[] = [];
  const opacities = new Float64Array(N),
    visible = new Uint8Array(N);

  for (const t of targets) {
    const rig = passes.deformRig(config, rigState, t.frame);
    const gau = passes.mlpForward(specs.gaussian, s.weights.gaussian, rig.offsets, N, cond);
    const raw = new Float64Array(N * A);
    for (let k = 0; k < raw.length; k++) raw[k] = geoRaw[k]! + gau.out[k]!;
    const heads = appearanceHeads(raw, config.scaleMax);
    const scales = new Float64Array(N * 3),
      colors = new Float64Array(N * 3),
      opac = new Float64Array(N),
      rotations = new Float64Array(N * 4);
    const qRig = rig.rotations;
    for (let i = 0; i < N; i++) {
      const h = i * A;
      for (let k = 0; k < 3; k++) {
        colors[i * 3 + k] = heads[h + k]!;
        scales[i * 3 + k] = heads[h + 3 + k]!;
      }
      opac[i] = heads[h + 10]!;
      // rotation = qRig (x) qLocal (rig.ts quatMul, written out: no arrays per Gaussian).
      const aw = qRig[i * 4]!,
        ax = qRig[i * 4 + 1]!,
        ay = qRig[i * 4 + 2]!,
        az = qRig[i * 4 + 3]!;
      const bw = heads[h + 6]!,
        bx = heads[h + 7]!,
        by = heads[h + 8]!,
        bz = heads[h + 9]!;
      rotations[i * 4] = aw * bw - ax * bx - ay * by - az * bz;
      rotations[i * 4 + 1] = aw * bx + ax * bw + ay * bz - az * by;
      rotations[i * 4 + 2] = aw * by - ax * bz + ay * bw + az * bx;
      rotations[i * 4 + 3] = aw * bz + ax * by - ay * bx + az * bw;
    }
    opacities.set(opac);
    const geometry = { count: N, positions: rig.positions, scales, rotations };
    const proj = passes.project(geometry, t.camera);
    const radii = new Int32Array(N);
    for (let i = 0; i < N; i++) {
      radii[i] = proj.depths[i]! > t.camera.near ? radiusOf(proj.conics, i) : 0;
      if (radii[i]! > 0) visible[i] = 1;
    }
    const splats = {
      count: N,
      means2d: proj.means2d,
      conics: proj.conics,
      colors,
      opacities: opac,
      depths: proj.depths,
      radii,
    };
    const { width: W, height: H } = t.camera;
    const img = passes.rasterize(splats, W, H, t.background);
    const shape = { width: W, height: H, channels: 3 };
    const l1 = l1Loss(img.rgb, t.image, shape),
      ds = passes.dssim(img.rgb, t.image, shape);
    let loss = (1 - t.lambdaDssim) * l1.value + t.lambdaDssim * ds.value;
    const dRgb = new Float64Array(l1.grad.length);
    for (let k = 0; k < dRgb.length; k++)
      dRgb[k] = ((1 - t.lambdaDssim) * l1.grad[k]! + t.lambdaDssim * ds.grad[k]!) / K;
    if (t.region && t.region.weight > 0) {
      const r = l1Loss(img.rgb, t.image, shape, t.region.mask);
      loss += t.region.weight * r.value;
      for (let k = 0; k < dRgb.length; k++) dRgb[k]! += (t.region.weight * r.grad[k]!) / K;
    }
    losses.push(loss);
    rgbs.push(img.rgb);

    // Per-frame backward down to the bake's outputs and the geometry network's output.
    const gs = passes.rasterizeBackward(splats, t.background, img.tape, dRgb);
    const gg = passes.projectBackward(geometry, t.camera, gs.means2d, gs.conics);
    const dHeads = new Float64Array(N * A),
      dQRig = new Float64Array(N * 4);
    for (let i = 0; i < N; i++) {
      const h = i * A;
      for (let k = 0; k < 3; k++) {
        dHeads[h + k] = gs.colors[i * 3 + k]!;
        dHeads[h + 3 + k] = gg.scales[i * 3 + k]!;
      }
      dHeads[h + 10] = gs.opacities[i]!;
      // Backward of the Hamilton product (rig-grad.ts quatMulBackward, written out).
      const aw = qRig[i * 4]!,
        ax = qRig[i * 4 + 1]!,
        ay = qRig[i * 4 + 2]!,
        az = qRig[i * 4 + 3]!;
      const bw = heads[h + 6]!,
        bx = heads[h + 7]!,
        by = heads[h + 8]!,
        bz = heads[h + 9]!;
      const d0 = gg.rotations[i * 4]!,
        d1 = gg.rotations[i * 4 + 1]!,
        d2 = gg.rotations[i * 4 + 2]!,
        d3 = gg.rotations[i * 4 + 3]!;
      dQRig[i * 4] = d0 * bw + d1 * bx + d2 * by + d3 * bz;
      dQRig[i * 4 + 1] = -d0 * bx + d1 * bw - d2 * bz + d3 * by;
      dQRig[i * 4 + 2] = -d0 * by + d1 * bz + d2 * bw - d3 * bx;
      dQRig[i * 4 + 3] = -d0 * bz - d1 * by + d2 * bx + d3 * bw;
      dHeads[h + 6] = d0 * aw + d1 * ax + d2 * ay + d3 * az;
      dHeads[h + 7] = -d0 * ax + d1 * aw + d2 * az - d3 * ay;
      dHeads[h + 8] = -d0 * ay - d1 * az + d2 * aw + d3 * ax;
      dHeads[h + 9] = -d0 * az + d1 * ay - d2 * ax + d3 * aw;
    }
    const dRaw = appearanceHeadsBackward(raw, config.scaleMax, dHeads);
    for (let k = 0; k < dRaw.length; k++) dRawGeo[k]! += dRaw[k]!;
    const gGau = passes.mlpBackward(specs.gaussian, s.weights.gaussian, gau.tape, dRaw);
    for (let k = 0; k < dGaussian.length; k++) dGaussian[k]! += gGau.dParams[k]!;
    for (let k = 0; k < dCond.length; k++) dCond[k]! += gGau.dShared[k]!;
    passes.deformRigBackward(config, rigState, t.frame, gg.positions, dQRig, gGau.dInput, dRig);
  }

  // Shared backward, once: the bake is linear in its upstream gradients, so their sum goes through it.
  const gBake = passes.bakeRigBackward(config, bakeIn, baked, dRig.rest, dRig.skin, dRig.dirs);
  const gDef = passes.mlpBackward(specs.deformer, s.weights.deformer, def.tape, gBake.deformerRaw);
  const gGeo = passes.mlpBackward(specs.geometry, s.weights.geometry, geo.tape, dRawGeo);
  const dPoints = positionalEncodingBackward(s.points, config.peFrequencies, gGeo.dInput);
  for (let k = 0; k < dPoints.length; k++) dPoints[k]! += gDef.dInput[k]! + gBake.points[k]!;
  for (let k = 0; k < dCond.length; k++) dCond[k]! += gDef.dShared[k]! + gGeo.dShared[k]!;
  // Conditioning -> latents: each category's block is [one-hot, latent].
  const dLatents = new Float64Array(C * L);
  for (let c = 0; c < C; c++) for (let k = 0; k < L; k++) dLatents[c * L + k] = dCond[c * (C + L) + C + k]!;
  const loss = losses.reduce((a, b) => a + b, 0) / K;
  return {
    loss,
    losses,
    rgbs,
    grads: {
      points: dPoints,
      weights: { geometry: gGeo.dParams, deformer: gDef.dParams, gaussian: dGaussian },
      latents: dLatents,
      appearance: appearanceBackward(dRawGeo),
    },
    opacities,
    visible,
  };
}
