/**
 * CPU twin of shaders/raster/intersect.wgsl.ts and the two GPU sorts: builds
 * each tile's front-to-back splat list.
 *
 * GPU: stable radix sort of all splats by depth bits (culled ones last), emit
 * (tile, splat) pairs in that order, stable radix sort by tile id. CPU: the
 * same order, reached with a stable LSD radix sort of the visible splats'
 * depth bits and a counting sort by tile (two passes over the pairs), which
 * is stable too. Ties in depth keep the splat index order on both.
 */
import type { Camera } from "../math/camera";
import type { ProjectedSplats } from "./projected";
import { tileGridOf, tileRect } from "./project.cpu";

export interface TileBins {
  tilesX: number;
  tilesY: number;
  /** Number of intersections M. */
  count: number;
  /** [M] u32 tile of each intersection, ascending. */
  tileFromIsect: Uint32Array;
  /** [M] u32 splat of each intersection; within a tile, front to back. */
  splatFromIsect: Uint32Array;
  /** [numTiles, 2] u32 [start, end) of each tile in the lists above. */
  tileRanges: Uint32Array;
}

/** Reusable scratch so that frames of similar size allocate nothing. */
export class IntersectScratch {
  order: Uint32Array<ArrayBuffer> = new Uint32Array(0);
  keys: Uint32Array<ArrayBuffer> = new Uint32Array(0);
  tmpOrder: Uint32Array<ArrayBuffer> = new Uint32Array(0);
  tmpKeys: Uint32Array<ArrayBuffer> = new Uint32Array(0);
  tileFromIsect: Uint32Array<ArrayBuffer> = new Uint32Array(0);
  splatFromIsect: Uint32Array<ArrayBuffer> = new Uint32Array(0);
  tileRanges: Uint32Array<ArrayBuffer> = new Uint32Array(0);
  cursor: Uint32Array<ArrayBuffer> = new Uint32Array(0);
}

function grow(a: Uint32Array<ArrayBuffer>, n: number): Uint32Array<ArrayBuffer> {
  return a.length >= n ? a : new Uint32Array(Math.max(n, Math.ceil(a.length * 1.5)));
}

const depthView = new Float32Array(1);
const depthBits = new Uint32Array(depthView.buffer);

/**
 * Visible splats (radius > 0) sorted front to back, stable (ties by index).
 * Positive float32 depths sort correctly as unsigned integers; two 16-bit passes.
 */
export function sortByDepth(p: ProjectedSplats, s: IntersectScratch = new IntersectScratch()): Uint32Array {
  const n = p.count;
  s.order = grow(s.order, n);
  s.keys = grow(s.keys, n);
  s.tmpOrder = grow(s.tmpOrder, n);
  s.tmpKeys = grow(s.tmpKeys, n);
  let m = 0;
  for (let i = 0; i < n; i++) {
    if (p.radii[i]! <= 0) continue;
    depthView[0] = p.depths[i]!;
    s.order[m] = i;
    s.keys[m] = depthBits[0]!;
    m++;
  }
  let srcO = s.order,
    srcK = s.keys,
    dstO = s.tmpOrder,
    dstK = s.tmpKeys;
  const counts = new Uint32Array(65536);
  for (const shift of [0, 16]) {
    counts.fill(0);
    for (let i = 0; i < m; i++) counts[(srcK[i]! >>> shift) & 0xffff]!++;
    let sum = 0;
    for (let b = 0; b < 65536; b++) {
      const c = counts[b]!;
      counts[b] = sum;
      sum += c;
    }
    for (let i = 0; i < m; i++) {
      const k = srcK[i]!;
      const d = counts[(k >>> shift) & 0xffff]!++;
      dstK[d] = k;
      dstO[d] = srcO[i]!;
    }
    [srcO, dstO] = [dstO, srcO];
    [srcK, dstK] = [dstK, srcK];
  }
  // After two passes the sorted data is back in the first buffers.
  return srcO.subarray(0, m);
}

/** Bins the depth-ordered visible splats into tiles: the per-tile front-to-back lists. */
export function binTiles(
  p: ProjectedSplats,
  camera: Camera,
  order: Uint32Array,
  s: IntersectScratch = new IntersectScratch(),
): TileBins {
  const grid = tileGridOf(camera);
  const numTiles = grid.tilesX * grid.tilesY;
  s.cursor = grow(s.cursor, numTiles);
  const counts = s.cursor.subarray(0, numTiles);
  counts.fill(0);
  const rect = new Int32Array(4);
  let total = 0;
  for (let k = 0; k < order.length; k++) {
    const i = order[k]!;
    tileRect(p.means2d[i * 2]!, p.means2d[i * 2 + 1]!, p.radii[i]!, grid, rect);
    for (let ty = rect[1]!; ty < rect[3]!; ty++) {
      for (let tx = rect[0]!; tx < rect[2]!; tx++) counts[ty * grid.tilesX + tx]!++;
    }
    total += p.tilesTouched[i]!;
  }
  s.tileRanges = grow(s.tileRanges, numTiles * 2);
  const ranges = s.tileRanges.subarray(0, numTiles * 2);
  let sum = 0;
  for (let t = 0; t < numTiles; t++) {
    const c = counts[t]!;
    ranges[t * 2] = sum;
    ranges[t * 2 + 1] = sum + c;
    counts[t] = sum;
    sum += c;
  }
  if (sum !== total) throw new Error(`binTiles: counted ${sum} intersections but tilesTouched sums to ${total}`);
  s.tileFromIsect = grow(s.tileFromIsect, sum);
  s.splatFromIsect = grow(s.splatFromIsect, sum);
  const tileFromIsect = s.tileFromIsect.subarray(0, sum);
  const splatFromIsect = s.splatFromIsect.subarray(0, sum);
  for (let k = 0; k < order.length; k++) {
    const i = order[k]!;
    tileRect(p.means2d[i * 2]!, p.means2d[i * 2 + 1]!, p.radii[i]!, grid, rect);
    for (let ty = rect[1]!; ty < rect[3]!; ty++) {
      for (let tx = rect[0]!; tx < rect[2]!; tx++) {
        const t = ty * grid.tilesX + tx;
        const slot = counts[t]!++;
        tileFromIsect[slot] = t;
        splatFromIsect[slot] = i;
      }
    }
  }
  return { tilesX: grid.tilesX, tilesY: grid.tilesY, count: sum, tileFromIsect, splatFromIsect, tileRanges: ranges };
}
