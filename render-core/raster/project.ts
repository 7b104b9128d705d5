/**
 * GPU projection pass: drives shaders/raster/project.wgsl.ts.
 * CPU twin: ./project.cpu.ts (projectFwd).
 *
 * The GPU keeps ProjectedSplats' fields packed per splat (SPLAT2D, three
 * vec4 for coalesced loads in the rasteriser) plus radii and tilesTouched;
 * readProjected() unpacks them into the shared ProjectedSplats layout.
 */
import { GRID_WGSL } from "../../shaders/common/grid.wgsl";
import { SH_WGSL } from "../../shaders/common/sh.wgsl";
import { TILE_RECT_WGSL } from "../../shaders/common/tile-rect.wgsl";
import { PROJECT_WGSL } from "../../shaders/raster/project.wgsl";
import { splitGroups } from "../gpu/flags";
import { FRAME_PARAMS, rasterConstants } from "./frame-params";
import { getKernel, requireBytes, u32c, type Kernel } from "../gpu/kernel";
import { shRestCount, type SplatCloud } from "../splats/splat-cloud";
import { createProjectedSplats, type ProjectedSplats } from "./projected";

/** Threads per workgroup of the per-splat kernels. */
export const SPLAT_WG = 256;
/** f32 per splat in the packed GAUSSIAN input layout. */
export const GAUSSIAN_STRIDE = 16;
/** f32 per splat in the packed SPLAT2D layout. */
export const SPLAT2D_STRIDE = 12;

export function projectKernel(device: GPUDevice): Kernel {
  return getKernel(device, {
    label: "projectFwd",
    code: [FRAME_PARAMS.wgsl, GRID_WGSL, TILE_RECT_WGSL, PROJECT_WGSL, SH_WGSL],
    entryPoint: "projectFwd",
    constants: { WG: u32c(SPLAT_WG), ...rasterConstants() },
    bindings: [
      { name: "params", kind: "uniform" },
      { name: "gaussians", kind: "read-only-storage" },
      { name: "shRest", kind: "read-only-storage" },
      { name: "splats2d", kind: "storage" },
      { name: "radii", kind: "storage" },
      { name: "tilesTouched", kind: "storage" },
    ],
  });
}

/**
 * Packs a cloud into the GAUSSIAN layout ([N, 16] f32): position, opacity |
 * scale, 0 | quaternion wxyz | base rgb, 0. Done once per setCloud.
 */
export function packGaussians(cloud: SplatCloud, out = new Float32Array(cloud.count * GAUSSIAN_STRIDE)): Float32Array {
  const { positions: p, scales: s, rotations: q, opacities: o, colors: c } = cloud;
  for (let i = 0; i < cloud.count; i++) {
    const b = i * GAUSSIAN_STRIDE;
    out[b] = p[i * 3];
    out[b + 1] = p[i * 3 + 1];
    out[b + 2] = p[i * 3 + 2];
    out[b + 3] = o[i];
    out[b + 4] = s[i * 3];
    out[b + 5] = s[i * 3 + 1];
    out[b + 6] = s[i * 3 + 2];
    out[b + 7] = 0;
    out[b + 8] = q[i * 4];
    out[b + 9] = q[i * 4 + 1];
    out[b + 10] = q[i * 4 + 2];
    out[b + 11] = q[i * 4 + 3];
    out[b + 12] = c[i * 3];
    out[b + 13] = c[i * 3 + 1];
    out[b + 14] = c[i * 3 + 2];
    out[b + 15] = 0;
  }
  return out;
}

export interface ProjectBuffers {
  params: GPUBuffer; // FrameParams
  gaussians: GPUBuffer; // [N, 16] f32
  shRest: GPUBuffer; // [N, K, 3] f32 (>= 4 bytes when K = 0)
  splats2d: GPUBuffer; // [N, 12] f32
  radii: GPUBuffer; // [N] i32
  tilesTouched: GPUBuffer; // [N] u32
}

/** Dispatches projectFwd over `count` splats. Twin: project.cpu.ts projectFwd. */
export function projectFwd(
  pass: GPUComputePassEncoder,
  device: GPUDevice,
  b: ProjectBuffers,
  count: number,
  shDegree: number,
): void {
  const owner = "projectFwd";
  requireBytes(owner, "gaussians", b.gaussians, count * GAUSSIAN_STRIDE * 4);
  requireBytes(owner, "shRest", b.shRest, Math.max(4, count * shRestCount(shDegree) * 12));
  requireBytes(owner, "splats2d", b.splats2d, count * SPLAT2D_STRIDE * 4);
  requireBytes(owner, "radii", b.radii, count * 4);
  requireBytes(owner, "tilesTouched", b.tilesTouched, count * 4);
  const k = projectKernel(device);
  const [x, y] = splitGroups(Math.ceil(count / SPLAT_WG));
  k.dispatch(pass, k.bind({ ...b }), x, y);
}

/** Unpacks GPU projection outputs (read back) into the shared ProjectedSplats layout. */
export function readProjected(
  count: number,
  splats2d: Float32Array,
  radii: Int32Array,
  tilesTouched: Uint32Array,
): ProjectedSplats {
  const out = createProjectedSplats(count);
  for (let i = 0; i < count; i++) {
    const b = i * SPLAT2D_STRIDE;
    out.means2d[i * 2] = splats2d[b];
    out.means2d[i * 2 + 1] = splats2d[b + 1];
    out.depths[i] = splats2d[b + 2];
    out.opacities[i] = splats2d[b + 3];
    out.conics[i * 3] = splats2d[b + 4];
    out.conics[i * 3 + 1] = splats2d[b + 5];
    out.conics[i * 3 + 2] = splats2d[b + 6];
    out.colors[i * 3] = splats2d[b + 8];
    out.colors[i * 3 + 1] = splats2d[b + 9];
    out.colors[i * 3 + 2] = splats2d[b + 10];
  }
  out.radii.set(radii.subarray(0, count));
  out.tilesTouched.set(tilesTouched.subarray(0, count));
  return out;
}
