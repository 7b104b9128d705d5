/**
 * The passes of a training step that have a fast path, as one swappable set:
 * projection, rasteriser, their backwards and D-SSIM. The reference twins
 * (project-grad.ts, raster-grad.ts, losses.ts) are what every fast path is
 * checked against; the fast set (project-train-fast.ts, raster-train-fast.ts,
 * dssim-fast.ts) is what training uses.
 */
import type { Camera } from "../math/camera";
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

export interface TrainPasses<Tape = unknown> {
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
  name: "reference",
  project: projectTrain,
  rasterize: rasterizeTrain,
  rasterizeBackward,
  projectBackward,
  dssim: dssimLoss,
};

/** The fast passes; with a runner, the rasteriser's tiles are shared with its helper threads. */
export function fastPasses(runner: TileRunner = LOCAL_TILES): TrainPasses<FastRasterTape> {
  return {
    name: runner === LOCAL_TILES ? "fast" : "fast-threaded",
    project: projectTrainFast,
    rasterize: (s, width, height, background) => rasterizeTrainFast(s, width, height, background, runner),
    rasterizeBackward: (_s, _background, tape, dRgb, dAlpha) => rasterizeBackwardFast(tape, dRgb, dAlpha),
    projectBackward: projectBackwardFast,
    dssim: dssimLossFast,
  };
}

export const FAST_PASSES = fastPasses();
