/**
 * GPU intersection passes: drive shaders/raster/intersect.wgsl.ts.
 * CPU twin: ./intersect.cpu.ts. The sorts in between are RadixSort
 * (render-core/sort/radix-sort.ts); the orchestration is in renderer.ts.
 */
import { GRID_WGSL } from "../../shaders/common/grid.wgsl";
import { TILE_RECT_WGSL } from "../../shaders/common/tile-rect.wgsl";
import {
  DEPTH_KEYS_WGSL,
  EMIT_ISECTS_WGSL,
  ISECT_COUNTS_WGSL,
  TILE_RANGES_WGSL,
} from "../../shaders/raster/intersect.wgsl";
import { splitGroups } from "../gpu/flags";
import { FRAME_PARAMS, rasterConstants } from "./frame-params";
import { getKernel, requireBytes, u32c, type Kernel } from "../gpu/kernel";
import { SORT } from "../sort/config";
import { SPLAT2D_STRIDE, SPLAT_WG } from "./project";

const CONSTS = () => ({ WG: u32c(SPLAT_WG), KPT: u32c(SORT.KPT), ...rasterConstants() });
const ro = "read-only-storage" as const;
const rw = "storage" as const;

function kernel(
  device: GPUDevice,
  label: string,
  code: string[],
  names: Array<[string, "uniform" | typeof ro | typeof rw]>,
): Kernel {
  return getKernel(device, {
    label,
    code,
    entryPoint: label,
    constants: CONSTS(),
    bindings: names.map(([name, kind]) => ({ name, kind })),
  });
}

/** Keys for the depth sort. Twin: intersect.cpu.ts (depth order). */
export function depthKeys(
  pass: GPUComputePassEncoder,
  device: GPUDevice,
  b: { params: GPUBuffer; splats2d: GPUBuffer; radii: GPUBuffer; keys: GPUBuffer; ids: GPUBuffer },
  count: number, // N
): void {
  requireBytes("depthKeys", "splats2d", b.splats2d, count * SPLAT2D_STRIDE * 4); // [N, 12] f32
  requireBytes("depthKeys", "keys", b.keys, count * 4); // [N] u32
  requireBytes("depthKeys", "ids", b.ids, count * 4); // [N] u32
  const k = kernel(
    device,
    "depthKeys",
    [FRAME_PARAMS.wgsl, DEPTH_KEYS_WGSL],
    [
      ["params", "uniform"],
      ["splats2d", ro],
      ["radii", ro],
      ["keys", rw],
      ["ids", rw],
    ],
  );
  const [x, y] = splitGroups(Math.ceil(count / SPLAT_WG));
  k.dispatch(pass, k.bind(b), x, y);
}

/** counts[k] = tilesTouched[sortedIds[k]] for k < N, counts[N] = 0. */
export function isectCounts(
  pass: GPUComputePassEncoder,
  device: GPUDevice,
  b: { params: GPUBuffer; sortedIds: GPUBuffer; tilesTouched: GPUBuffer; counts: GPUBuffer },
  count: number, // N
): void {
  requireBytes("isectCounts", "counts", b.counts, (count + 1) * 4); // [N + 1] u32
  requireBytes("isectCounts", "sortedIds", b.sortedIds, count * 4); // [N] u32
  const k = kernel(
    device,
    "isectCounts",
    [FRAME_PARAMS.wgsl, ISECT_COUNTS_WGSL],
    [
      ["params", "uniform"],
      ["sortedIds", ro],
      ["tilesTouched", ro],
      ["counts", rw],
    ],
  );
  const [x, y] = splitGroups(Math.ceil((count + 1) / SPLAT_WG));
  k.dispatch(pass, k.bind(b), x, y);
}

/** (tile, splat) pairs in depth order at each splat's scanned offset. */
export function emitIsects(
  pass: GPUComputePassEncoder,
  device: GPUDevice,
  b: {
    params: GPUBuffer;
    sortedIds: GPUBuffer;
    splats2d: GPUBuffer;
    radii: GPUBuffer;
    offsets: GPUBuffer;
    tileKeys: GPUBuffer;
    isectSplat: GPUBuffer;
  },
  count: number, // N
  capacity: number, // slots in tileKeys / isectSplat
): void {
  requireBytes("emitIsects", "offsets", b.offsets, (count + 1) * 4); // [N + 1] u32
  requireBytes("emitIsects", "tileKeys", b.tileKeys, capacity * 4); // [capacity] u32
  requireBytes("emitIsects", "isectSplat", b.isectSplat, capacity * 4); // [capacity] u32
  const k = kernel(
    device,
    "emitIsects",
    [FRAME_PARAMS.wgsl, TILE_RECT_WGSL, EMIT_ISECTS_WGSL],
    [
      ["params", "uniform"],
      ["sortedIds", ro],
      ["splats2d", ro],
      ["radii", ro],
      ["offsets", ro],
      ["tileKeys", rw],
      ["isectSplat", rw],
    ],
  );
  const [x, y] = splitGroups(Math.ceil(count / SPLAT_WG));
  k.dispatch(pass, k.bind(b), x, y);
}

/** ranges[tile] = [first, end) of the tile-sorted list; `ranges` must be cleared first. Grid: one workgroup per SORT_BLOCK entries. */
export function tileRanges(
  pass: GPUComputePassEncoder,
  device: GPUDevice,
  b: { tileFromIsect: GPUBuffer; sizes: GPUBuffer; ranges: GPUBuffer },
  numTiles: number,
  grid: { args: GPUBuffer; offset: number },
): void {
  requireBytes("tileRanges", "ranges", b.ranges, numTiles * 8); // [numTiles, 2] u32
  const k = kernel(
    device,
    "tileRanges",
    [GRID_WGSL, TILE_RANGES_WGSL],
    [
      ["tileFromIsect", ro],
      ["sizes", ro],
      ["ranges", rw],
    ],
  );
  k.dispatchIndirect(pass, k.bind(b), grid.args, grid.offset);
}

/** Bits needed for tile ids 0..numTiles-1 (at least 1). */
export function tileKeyBits(numTiles: number): number {
  return Math.max(1, Math.ceil(Math.log2(Math.max(2, numTiles))));
}
