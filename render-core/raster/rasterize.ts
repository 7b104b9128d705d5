/**
 * GPU tile rasteriser: drives shaders/raster/rasterize.wgsl.ts.
 * CPU twin: ./rasterize.cpu.ts (rasterizeFwd).
 */
import { PACK_RGB8_WGSL, RASTERIZE_WGSL, WRITE_DISPLAY_WGSL } from "../../shaders/raster/rasterize.wgsl";
import { FRAME_PARAMS, rasterConstants, tileGrid } from "./frame-params";
import { getKernel, requireBytes, u32c } from "../gpu/kernel";
import { SPLAT2D_STRIDE } from "./project";

export interface RasterizeBuffers {
  params: GPUBuffer; // FrameParams
  tileRanges: GPUBuffer; // [numTiles, 2] u32
  splatFromIsect: GPUBuffer; // [M] u32
  splats2d: GPUBuffer; // [N, 12] f32
  rgba: GPUBuffer; // [H, W, 4] f32
  depth: GPUBuffer; // [H, W] f32
  lastIsect: GPUBuffer; // [H, W] u32
}

/** One workgroup per tile. Twin: rasterize.cpu.ts rasterizeFwd. */
export function rasterizeFwd(
  pass: GPUComputePassEncoder,
  device: GPUDevice,
  b: RasterizeBuffers,
  width: number,
  height: number,
  count: number,
): void {
  const owner = "rasterizeFwd";
  const { tilesX, tilesY } = tileGrid(width, height);
  requireBytes(owner, "tileRanges", b.tileRanges, tilesX * tilesY * 8);
  requireBytes(owner, "splats2d", b.splats2d, count * SPLAT2D_STRIDE * 4);
  requireBytes(owner, "rgba", b.rgba, width * height * 16);
  requireBytes(owner, "depth", b.depth, width * height * 4);
  requireBytes(owner, "lastIsect", b.lastIsect, width * height * 4);
  const k = getKernel(device, {
    label: "rasterizeFwd",
    code: [FRAME_PARAMS.wgsl, RASTERIZE_WGSL],
    entryPoint: "rasterizeFwd",
    constants: rasterConstants(),
    bindings: [
      { name: "params", kind: "uniform" },
      { name: "tileRanges", kind: "read-only-storage" },
      { name: "splatFromIsect", kind: "read-only-storage" },
      { name: "splats2d", kind: "read-only-storage" },
      { name: "rgba", kind: "storage" },
      { name: "depth", kind: "storage" },
      { name: "lastIsect", kind: "storage" },
    ],
  });
  k.dispatch(pass, k.bind({ ...b }), tilesX, tilesY);
}

/** Copies the rgba image into an rgba8unorm storage texture of the same size (display). */
export function writeDisplay(
  pass: GPUComputePassEncoder,
  device: GPUDevice,
  b: { params: GPUBuffer; rgba: GPUBuffer; target: GPUTexture },
  width: number,
  height: number,
): void {
  if (b.target.width !== width || b.target.height !== height || b.target.format !== "rgba8unorm") {
    throw new Error(
      `writeDisplay: target must be ${width}x${height} rgba8unorm, got ${b.target.width}x${b.target.height} ${b.target.format}`,
    );
  }
  requireBytes("writeDisplay", "rgba", b.rgba, width * height * 16);
  const k = getKernel(device, {
    label: "writeDisplay",
    code: [FRAME_PARAMS.wgsl, WRITE_DISPLAY_WGSL],
    entryPoint: "writeDisplay",
    constants: rasterConstants(),
    bindings: [
      { name: "params", kind: "uniform" },
      { name: "rgba", kind: "read-only-storage" },
      { name: "display", kind: "write-texture-rgba8" },
    ],
  });
  const { tilesX, tilesY } = tileGrid(width, height);
  k.dispatch(pass, k.bind({ params: b.params, rgba: b.rgba, display: b.target.createView() }), tilesX, tilesY);
}

/** Threads per workgroup of packRgb8 (each packs 4 pixels). */
const PACK_WG = 256;

/** Bytes of a packed 8-bit RGB image of `pixels` pixels, whole words (packRgb8 writes 12 bytes per 4 pixels). */
export function packedRgb8Bytes(pixels: number): number {
  return Math.ceil(pixels / 4) * 12;
}

/** Packs the rgba image into 8-bit RGB bytes (display path). Twin: rasterize.cpu.ts packRgb8Cpu. */
export function packRgb8(
  pass: GPUComputePassEncoder,
  device: GPUDevice,
  b: { params: GPUBuffer; rgba: GPUBuffer; packed: GPUBuffer },
  width: number,
  height: number,
): void {
  requireBytes("packRgb8", "rgba", b.rgba, width * height * 16);
  requireBytes("packRgb8", "packed", b.packed, packedRgb8Bytes(width * height));
  const k = getKernel(device, {
    label: "packRgb8",
    code: [FRAME_PARAMS.wgsl, PACK_RGB8_WGSL],
    entryPoint: "packRgb8",
    constants: { ...rasterConstants(), PACK_WG: u32c(PACK_WG) },
    bindings: [
      { name: "params", kind: "uniform" },
      { name: "rgba", kind: "read-only-storage" },
      { name: "packed", kind: "storage" },
    ],
  });
  const groups = Math.ceil((width * height) / 4 / PACK_WG);
  k.dispatch(pass, k.bind({ ...b }), groups);
}
