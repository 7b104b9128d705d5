/**
 * The per-frame uniform shared by every raster kernel, and the raster
 * constants emitted into their WGSL: one definition for both sides (STYLE.md 5).
 */
import type { Camera } from "../math/camera";
import { RASTER } from "./config";
import { f32c, u32c, type WgslConst } from "../gpu/kernel";
import { UniformLayout } from "../gpu/uniforms";

/**
 * FrameParams slots: row0..row2 = world-to-camera rows (R | t); campos = camera
 * centre in world space; background rgb; intrinsics; image and tile grid size;
 * count = N splats; shDegree and shCoeffs = K per channel; isectCapacity = slots
 * in the intersection list.
 */
export const FRAME_PARAMS = new UniformLayout("FrameParams", [
  ["row0", "vec4f"],
  ["row1", "vec4f"],
  ["row2", "vec4f"],
  ["campos", "vec4f"],
  ["background", "vec4f"],
  ["fx", "f32"],
  ["fy", "f32"],
  ["cx", "f32"],
  ["cy", "f32"],
  ["near", "f32"],
  ["far", "f32"],
  ["width", "u32"],
  ["height", "u32"],
  ["tilesX", "u32"],
  ["tilesY", "u32"],
  ["count", "u32"],
  ["shDegree", "u32"],
  ["shCoeffs", "u32"],
  ["isectCapacity", "u32"],
] as const);

/** RASTER constants as typed WGSL constants (types only here; values from config.ts). */
export function rasterConstants(): Record<string, WgslConst> {
  return {
    TILE: u32c(RASTER.TILE),
    LOWPASS: f32c(RASTER.LOWPASS),
    SIGMA_EXTENT: f32c(RASTER.SIGMA_EXTENT),
    ALPHA_MAX: f32c(RASTER.ALPHA_MAX),
    ALPHA_MIN: f32c(RASTER.ALPHA_MIN),
    T_MIN: f32c(RASTER.T_MIN),
    FRUSTUM_CLAMP: f32c(RASTER.FRUSTUM_CLAMP),
  };
}

export function tileGrid(width: number, height: number): { tilesX: number; tilesY: number } {
  return { tilesX: Math.ceil(width / RASTER.TILE), tilesY: Math.ceil(height / RASTER.TILE) };
}

/** Checks a camera's fields (STYLE.md 7). */
export function checkCamera(owner: string, camera: Camera): void {
  for (const k of ["width", "height"] as const) {
    if (!Number.isInteger(camera[k]) || camera[k] < 1 || camera[k] > 16384)
      throw new Error(`${owner}: camera.${k} must be an integer in [1, 16384], got ${camera[k]}`);
  }
  for (const k of ["fx", "fy", "cx", "cy", "near", "far"] as const) {
    if (!Number.isFinite(camera[k])) throw new Error(`${owner}: camera.${k} must be finite, got ${camera[k]}`);
  }
  if (!(camera.fx > 0 && camera.fy > 0))
    throw new Error(`${owner}: focal lengths must be > 0, got ${camera.fx}, ${camera.fy}`);
  if (!(camera.near > 0 && camera.far > camera.near))
    throw new Error(`${owner}: need 0 < near < far, got ${camera.near}, ${camera.far}`);
  if (camera.worldToCamera?.length !== 16)
    throw new Error(`${owner}: worldToCamera must have 16 numbers, got ${camera.worldToCamera?.length}`);
}

/** Packs FrameParams for a camera. */
export function packFrameParams(
  camera: Camera,
  count: number,
  shDegree: number,
  isectCapacity: number,
  background: readonly [number, number, number],
): ArrayBuffer {
  const m = camera.worldToCamera;
  // Camera centre c = -R^T t.
  const t = [m[3], m[7], m[11]];
  const campos = [0, 1, 2].map((j) => -(m[j] * t[0] + m[4 + j] * t[1] + m[8 + j] * t[2]));
  const { tilesX, tilesY } = tileGrid(camera.width, camera.height);
  return FRAME_PARAMS.pack({
    row0: [m[0], m[1], m[2], m[3]],
    row1: [m[4], m[5], m[6], m[7]],
    row2: [m[8], m[9], m[10], m[11]],
    campos: [campos[0], campos[1], campos[2], 0],
    background: [background[0], background[1], background[2], 0],
    fx: camera.fx,
    fy: camera.fy,
    cx: camera.cx,
    cy: camera.cy,
    near: camera.near,
    far: camera.far,
    width: camera.width,
    height: camera.height,
    tilesX,
    tilesY,
    count,
    shDegree,
    shCoeffs: (shDegree + 1) * (shDegree + 1) - 1,
    isectCapacity,
  });
}
