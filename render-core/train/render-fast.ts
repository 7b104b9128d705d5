/**
 * The trainer's fast forward passes (project-train-fast.ts, raster-train-fast.ts)
 * as a renderer of colour only: what a CPU streaming server needs per frame.
 * Same image as renderCpu (render-core/raster/render.cpu.ts, the reference)
 * within a few 1e-6, about twice as fast: packed per-splat records, a table
 * for exp, sqrt instead of hypot, and tiles that helper threads can share.
 * Degree-0 colour only (an avatar's deformed Gaussians); no depth or alpha out.
 */
import type { Camera } from "../math/camera";
import type { RenderOptions } from "../raster/camera";
import type { SplatCloud } from "../splats/splat-cloud";
import { radiusOf } from "./avatar-step";
import { projectTrainFast } from "./project-train-fast";
import { LOCAL_TILES, rasterizeTrainFast, type TileRunner } from "./raster-train-fast";

/**
 * [H, W, 3] composited colour of `cloud` seen by `camera`; with `tileRows` [from, to), only those rows of
 * 16-pixel tiles are drawn (exactly as in the whole image), the rest left 0.
 */
export function renderRgbFast(
  cloud: SplatCloud,
  camera: Camera,
  options: RenderOptions = {},
  runner: TileRunner = LOCAL_TILES,
  tileRows?: readonly [number, number],
): Float64Array {
  if (cloud.shDegree !== 0)
    throw new Error(`renderRgbFast: draws degree-0 colour only, the cloud has SH degree ${cloud.shDegree}`);
  const proj = projectTrainFast(cloud, camera);
  const n = cloud.count;
  const radii = new Int32Array(n);
  for (let i = 0; i < n; i++) radii[i] = proj.depths[i]! > camera.near ? radiusOf(proj.conics, i) : 0;
  const splats = { count: n, ...proj, colors: cloud.colors, opacities: cloud.opacities, radii };
  return rasterizeTrainFast(splats, camera.width, camera.height, options.background ?? [0, 0, 0], runner, tileRows).rgb;
}
