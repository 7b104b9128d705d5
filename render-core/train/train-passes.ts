/**
 * The passes of a training step that have a fast path, as one swappable set:
 * projection, rasteriser, their backwards and D-SSIM, and the networks: the
 * MLP training pass and the bake and deform rigs with their backwards. The
 * reference twins (project-grad.ts, raster-grad.ts, losses.ts, mlp-grad.ts,
 * rig-grad.ts) are what every fast path is checked against; the fast set
 * (project-train-fast.ts, raster-train-fast.ts, dssim-fast.ts,
 * mlp-train-fast.ts, rig-train-fast.ts) is what training uses.
 */
import type { AvatarModelConfig } from "../avatar/config";
import type { MlpSpec } from "../avatar/mlp";
import type { Camera } from "../math/camera";
import { mlpBackward, mlpForwardTrain } from "./mlp-grad";
import { mlpBackwardFast, mlpForwardTrainFast } from "./mlp-train-fast";
import {
  bakeRigBackward,
  bakeRigTrain,
  deformRigBackward,
  deformRigTrain,
  type BakeRigInputs,
  type RigGrad,
  type RigOutputs,
  type RigState,
} from "./rig-grad";
import {
  bakeRigBackwardFast,
  bakeRigTrainFast,
  deformRigBackwardFast,
  deformRigTrainFast,
  type BakedRig,
} from "./rig-train-fast";
import { projectBackward, projectTrain, type GeometryGrad, type Projection, type SplatGeometry } from "./project-grad";
import { projectBackwardFast, projectTrainFast } from "./project-train-fast";
import { rasterizeBackward, rasterizeTrain, type RasterTape, type Splats2d, type Splats2dGrad } from "./raster-grad";
import { dssimLossFast } from "./dssim-fast";
import { dssimLoss, type ImageShape, type LossResult } from "./losses";
import {
  LOCAL_TILES,
  rasterizeBackwardFast,
  rasterizeTrainFast,
  type FastRasterTape,
  type TileRunner,
} from "./raster-train-fast";

/** The avatar's networks and rigs (avatar-step.ts calls them), as a swappable set. */
export interface TrainNetworks<NetTape = unknown> {
  /** mlpForwardTrain: input [B, inputs - S] (and the shared [S]) -> output [B, outputs] and the tape. */
  mlpForward(
    spec: MlpSpec,
    params: ArrayLike<number>,
    input: ArrayLike<number>,
    batch: number,
    shared?: ArrayLike<number>,
  ): { out: Float64Array; tape: NetTape };
  mlpBackward(
    spec: MlpSpec,
    params: ArrayLike<number>,
    tape: NetTape,
    dOut: ArrayLike<number>,
  ): { dParams: Float64Array; dInput: Float64Array; dShared: Float64Array };
  bakeRig(config: AvatarModelConfig, x: BakeRigInputs): BakedRig;
  /** d points [N, 3] and d deformer output [N, D]; `baked` is bakeRig's result for x. */
  bakeRigBackward(
    config: AvatarModelConfig,
    x: BakeRigInputs,
    baked: BakedRig,
    dRest: ArrayLike<number>,
    dSkin: ArrayLike<number>,
    dDirs: ArrayLike<number>,
  ): { points: Float64Array; deformerRaw: Float64Array };
  deformRig(config: AvatarModelConfig, state: RigState, frame: ArrayLike<number>): RigOutputs;
  /** Adds the frame's gradients into `acc` (a batch sums its frames'). */
  deformRigBackward(
    config: AvatarModelConfig,
    state: RigState,
    frame: ArrayLike<number>,
    dPositions: ArrayLike<number>,
    dRotations: ArrayLike<number>,
    dOffsets: ArrayLike<number> | undefined,
    acc: RigGrad,
  ): void;
}

export const REFERENCE_NETWORKS: TrainNetworks = {
  mlpForward: mlpForwardTrain,
  mlpBackward: (spec, params, tape, dOut) => mlpBackward(spec, params, tape as Parameters<typeof mlpBackward>[2], dOut),
  bakeRig: bakeRigTrain,
  bakeRigBackward: (config, x, _baked, dRest, dSkin, dDirs) => bakeRigBackward(config, x, dRest, dSkin, dDirs),
  deformRig: deformRigTrain,
  deformRigBackward: (config, state, frame, dPositions, dRotations, dOffsets, acc) => {
    const g = deformRigBackward(config, state, frame, dPositions, dRotations, dOffsets);
    for (const k of ["rest", "skin", "dirs"] as const) for (let i = 0; i < g[k].length; i++) acc[k][i]! += g[k][i]!;
  },
};

export const FAST_NETWORKS: TrainNetworks = {
  mlpForward: mlpForwardTrainFast,
  mlpBackward: (spec, params, tape, dOut) =>
    mlpBackwardFast(spec, params, tape as Parameters<typeof mlpBackwardFast>[2], dOut),
  bakeRig: bakeRigTrainFast,
  bakeRigBackward: bakeRigBackwardFast,
  deformRig: deformRigTrainFast,
  deformRigBackward: deformRigBackwardFast,
};

export interface TrainPasses<Tape = unknown> extends TrainNetworks {
  name: string;
  project(g: SplatGeometry, camera: Camera): Projection;
  rasterize(
    s: Splats2d,
    width: number,
    height: number,
    background: readonly [number, number, number],
  ): { rgb: Float64Array; alpha: Float64Array; tape: Tape };
  rasterizeBackward(
    s: Splats2d,
    background: readonly [number, number, number],
    tape: Tape,
    dRgb: ArrayLike<number>,
    dAlpha?: ArrayLike<number>,
  ): Splats2dGrad;
  projectBackward(
    g: SplatGeometry,
    camera: Camera,
    dMeans2d: ArrayLike<number>,
    dConics: ArrayLike<number>,
  ): GeometryGrad;
  dssim(pred: ArrayLike<number>, target: ArrayLike<number>, shape: ImageShape): LossResult;
}

export const REFERENCE_PASSES: TrainPasses<RasterTape> = {
  ...REFERENCE_NETWORKS,
  name: "reference",
  project: projectTrain,
  rasterize: rasterizeTrain,
  rasterizeBackward,
  projectBackward,
  dssim: dssimLoss,
};

/**
 * The fast passes; with a runner, the rasteriser's tiles are shared with its helper threads.
 * `networks` picks the networks' twins (the bench times the fast passes with the reference networks too).
 */
export function fastPasses(
  runner: TileRunner = LOCAL_TILES,
  networks: TrainNetworks = FAST_NETWORKS,
): TrainPasses<FastRasterTape> {
  return {
    ...networks,
    name: `${runner === LOCAL_TILES ? "fast" : "fast-threaded"}${networks === FAST_NETWORKS ? "" : ", reference networks"}`,
    project: projectTrainFast,
    rasterize: (s, width, height, background) => rasterizeTrainFast(s, width, height, background, runner),
    rasterizeBackward: (_s, _background, tape, dRgb, dAlpha) => rasterizeBackwardFast(tape, dRgb, dAlpha),
    projectBackward: projectBackwardFast,
    dssim: dssimLossFast,
  };
}

export const FAST_PASSES = fastPasses();
