/**
 * One training step of the whole avatar on one frame, CPU twin in float64:
 * latents, points and the three networks' weights -> picture -> L1 + D-SSIM
 * against a target -> gradients for all of them. The chain is the runtime's
 * (bake.cpu.ts, deform.cpu.ts) with the full networks (conditioning as an
 * input, not folded), so the latents get gradients:
 *
 *   geometry([PE(p) | cond]) -> raw appearance          deformer([p | cond]) -> bakeRig -> deformRig -> centres, qRig, d
 *   gaussian([d | cond]) -> residual; heads(raw + residual) -> colour, scale, qLocal, opacity; rotation = qRig (x) qLocal
 *   project -> rasterise -> loss
 *
 * This is the reference computation the GPU training kernels must agree with;
 * it is slow (pure TypeScript) and meant for tests and tiny runs.
 */
import { conditioningSize, positionalEncodingSize, type AvatarModelConfig } from "../avatar/config";
import { avatarSpecs, type AvatarWeights } from "../avatar/avatar";
import { APPEARANCE_OUTPUTS } from "../avatar/networks";
import { quatMul } from "../avatar/rig";
import type { Camera } from "../raster/camera";
import { RASTER } from "../raster/config";
import { appearanceHeads, appearanceHeadsBackward, positionalEncodingBackward } from "./heads-grad";
import { dssimLoss, l1Loss } from "./losses";
import { mlpBackward, mlpForwardTrain } from "./mlp-grad";
import { projectBackward, projectTrain } from "./project-grad";
import { rasterizeBackward, rasterizeTrain } from "./raster-grad";
import { bakeRigBackward, bakeRigTrain, deformRigBackward, deformRigTrain, quatMulBackward } from "./rig-grad";

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
}

export interface StepResult {
  loss: number;
  rgb: Float64Array;
  grads: { points: Float64Array; weights: Record<keyof AvatarWeights, Float64Array>; latents: Float64Array };
}

/** [N, inputs] rows of [own | cond]. */
function withConditioning(own: ArrayLike<number>, width: number, cond: Float64Array, n: number): Float64Array {
  const out = new Float64Array(n * (width + cond.length));
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < width; k++) out[i * (width + cond.length) + k] = Number(own[i * width + k]);
    out.set(cond, i * (width + cond.length) + width);
  }
  return out;
}

function positionalEncoding64(points: ArrayLike<number>, F: number): Float64Array {
  const n = points.length / 3, D = 3 + 6 * F, out = new Float64Array(n * D);
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
function radiusOf(conic: ArrayLike<number>, i: number): number {
  const qa = Number(conic[i * 3]), qb = Number(conic[i * 3 + 1]), qc = Number(conic[i * 3 + 2]);
  const qdet = qa * qc - qb * qb;
  if (!(qdet > 0)) return 0;
  const a = qc / qdet, c = qa / qdet, b = -qb / qdet;
  const mid = 0.5 * (a + c), det = a * c - b * b;
  return Math.ceil(RASTER.SIGMA_EXTENT * Math.sqrt(mid + Math.sqrt(Math.max(0.1, mid * mid - det))));
}

/** Splits [N, own + cond] input gradients into the own part and the summed conditioning gradient. */
function splitInputGrad(d: Float64Array, width: number, condLength: number, n: number): { own: Float64Array; cond: Float64Array } {
  const own = new Float64Array(n * width), cond = new Float64Array(condLength);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < width; k++) own[i * width + k] = d[i * (width + condLength) + k]!;
    for (let k = 0; k < condLength; k++) cond[k]! += d[i * (width + condLength) + width + k]!;
  }
  return { own, cond };
}

export function avatarTrainStep(s: AvatarTrainState, t: StepTarget): StepResult {
  const { config, count: N } = s;
  const specs = avatarSpecs(config);
  const C = config.categories.length, L = config.latentDim, CS = conditioningSize(config);
  // Float64 conditioning (buildConditioning's layout): float32 would swamp the latents' gradients.
  const cond = new Float64Array(CS);
  for (let c = 0; c < C; c++) {
    cond[c * (C + L) + c] = 1;
    for (let k = 0; k < L; k++) cond[c * (C + L) + C + k] = s.latents[c * L + k]!;
  }
  const PEW = positionalEncodingSize(config);

  // Forward.
  const pe = positionalEncoding64(s.points, config.peFrequencies);
  const geo = mlpForwardTrain(specs.geometry, s.weights.geometry, withConditioning(pe, PEW, cond, N), N);
  const def = mlpForwardTrain(specs.deformer, s.weights.deformer, withConditioning(s.points, 3, cond, N), N);
  const bakeIn = { count: N, points: s.points, deformerRaw: def.out, prior: s.prior, canonA: s.canonA };
  const baked = bakeRigTrain(config, bakeIn);
  const rig = deformRigTrain(config, { count: N, ...baked }, t.frame);
  const gau = mlpForwardTrain(specs.gaussian, s.weights.gaussian, withConditioning(rig.offsets, 3, cond, N), N);
  const raw = geo.out.map((v, k) => v + gau.out[k]!);
  const heads = appearanceHeads(raw, config.scaleMax);
  const A = APPEARANCE_OUTPUTS;
  const scales = new Float64Array(N * 3), colors = new Float64Array(N * 3), opacities = new Float64Array(N), rotations = new Float64Array(N * 4);
  for (let i = 0; i < N; i++) {
    for (let k = 0; k < 3; k++) {
      colors[i * 3 + k] = heads[i * A + k]!;
      scales[i * 3 + k] = heads[i * A + 3 + k]!;
    }
    opacities[i] = heads[i * A + 10]!;
    rotations.set(quatMul(rig.rotations.subarray(i * 4, i * 4 + 4), heads.subarray(i * A + 6, i * A + 10)), i * 4);
  }
  const geometry = { count: N, positions: rig.positions, scales, rotations };
  const proj = projectTrain(geometry, t.camera);
  const radii = Int32Array.from({ length: N }, (_, i) => (proj.depths[i]! > t.camera.near ? radiusOf(proj.conics, i) : 0));
  const splats = { count: N, means2d: proj.means2d, conics: proj.conics, colors, opacities, depths: proj.depths, radii };
  const { width: W, height: H } = t.camera;
  const img = rasterizeTrain(splats, W, H, t.background);
  const shape = { width: W, height: H, channels: 3 };
  const l1 = l1Loss(img.rgb, t.image, shape), ds = dssimLoss(img.rgb, t.image, shape);
  const loss = (1 - t.lambdaDssim) * l1.value + t.lambdaDssim * ds.value;
  const dRgb = l1.grad.map((v, k) => (1 - t.lambdaDssim) * v + t.lambdaDssim * ds.grad[k]!);

  // Backward.
  const gs = rasterizeBackward(splats, t.background, img.tape, dRgb);
  const gg = projectBackward(geometry, t.camera, gs.means2d, gs.conics);
  const dHeads = new Float64Array(N * A), dQRig = new Float64Array(N * 4);
  for (let i = 0; i < N; i++) {
    for (let k = 0; k < 3; k++) {
      dHeads[i * A + k] = gs.colors[i * 3 + k]!;
      dHeads[i * A + 3 + k] = gg.scales[i * 3 + k]!;
    }
    dHeads[i * A + 10] = gs.opacities[i]!;
    const { da, db } = quatMulBackward(rig.rotations.subarray(i * 4, i * 4 + 4), heads.subarray(i * A + 6, i * A + 10), gg.rotations.subarray(i * 4, i * 4 + 4));
    dQRig.set(da, i * 4);
    for (let k = 0; k < 4; k++) dHeads[i * A + 6 + k] = db[k]!;
  }
  const dRaw = appearanceHeadsBackward(raw, config.scaleMax, dHeads);
  const gGau = mlpBackward(specs.gaussian, s.weights.gaussian, gau.tape, dRaw);
  const gauIn = splitInputGrad(gGau.dInput, 3, CS, N);
  const gRig = deformRigBackward(config, { count: N, ...baked }, t.frame, gg.positions, dQRig, gauIn.own);
  const gBake = bakeRigBackward(config, bakeIn, gRig.rest, gRig.skin, gRig.dirs);
  const gDef = mlpBackward(specs.deformer, s.weights.deformer, def.tape, gBake.deformerRaw);
  const defIn = splitInputGrad(gDef.dInput, 3, CS, N);
  const gGeo = mlpBackward(specs.geometry, s.weights.geometry, geo.tape, dRaw);
  const geoIn = splitInputGrad(gGeo.dInput, PEW, CS, N);
  const dPoints = positionalEncodingBackward(s.points, config.peFrequencies, geoIn.own);
  for (let k = 0; k < dPoints.length; k++) dPoints[k]! += defIn.own[k]! + gBake.points[k]!;
  // Conditioning -> latents: each category's block is [one-hot, latent].
  const dLatents = new Float64Array(C * L);
  for (let c = 0; c < C; c++) for (let k = 0; k < L; k++) dLatents[c * L + k] = geoIn.cond[c * (C + L) + C + k]! + defIn.cond[c * (C + L) + C + k]! + gauIn.cond[c * (C + L) + C + k]!;
  return { loss, rgb: img.rgb, grads: { points: dPoints, weights: { geometry: gGeo.dParams, deformer: gDef.dParams, gaussian: gGau.dParams }, latents: dLatents } };
}
