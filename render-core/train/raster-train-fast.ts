/**
 * The training rasteriser, fast path: the same function as the reference twin
 * (raster-grad.ts: rasterizeTrain, rasterizeBackward), computed tile by tile.
 *
 * Forward: visible splats sorted by depth (ties by index), packed into one
 * record per splat (raster-train-tiles.ts), binned into 16 x 16 tiles by
 * their radius rectangle; each tile composites its list front to back over
 * the box where a splat's alpha can reach ALPHA_MIN, with the reference's
 * tests and early termination. The tape is the packed records, the bins, the
 * final transmittance and the last splat of every pixel: no per-pixel lists.
 *
 * Backward: each tile walks its list back to front (raster-train-tiles.ts)
 * and writes one gradient row per intersection; the rows are summed per
 * splat in intersection order, so the result does not depend on how tiles
 * were shared between threads.
 *
 * Differences from the reference, all below 1e-6 relative: exp is expNeg
 * (1.3e-9 relative), the transmittance before a splat is recovered by
 * division instead of replayed, sums run in another order.
 */
import { RASTER } from "../raster/config";
import { tileGridOf, tileRect } from "../raster/project.cpu";
import type { Splats2d, Splats2dGrad } from "./raster-grad";
import { GRAD_ROW, RECORD, runTrainTiles, type TrainTileJob } from "./raster-train-tiles";

/** Runs a tile job to completion: on this thread, or also on helper threads that share the job's memory. */
export interface TileRunner {
  /** True when the job's arrays must live in SharedArrayBuffers (helpers read and write them). */
  readonly shared: boolean;
  run(job: TrainTileJob): void;
}

/** All tiles on this thread. */
export const LOCAL_TILES: TileRunner = {
  shared: false,
  run: (job) => {
    runTrainTiles(job);
  },
};

export interface FastRasterTape {
  width: number;
  height: number;
  count: number;
  /** [V] u32 splat of each rank (depth order). */
  splatFromRank: Uint32Array;
  /** The forward job: records, bins, final transmittance, last splats. */
  job: TrainTileJob;
  runner: TileRunner;
}

function f64(n: number, shared: boolean): Float64Array {
  return shared ? new Float64Array(new SharedArrayBuffer(Math.max(8, n * 8))) : new Float64Array(n);
}
function u32(n: number, shared: boolean): Uint32Array {
  return shared ? new Uint32Array(new SharedArrayBuffer(Math.max(4, n * 4))) : new Uint32Array(n);
}
function i32(n: number, shared: boolean): Int32Array {
  return shared ? new Int32Array(new SharedArrayBuffer(Math.max(4, n * 4))) : new Int32Array(n);
}

function checkSplats(owner: string, s: Splats2d): void {
  const n = s.count;
  const bad = (
    [
      ["means2d", s.means2d, 2],
      ["conics", s.conics, 3],
      ["colors", s.colors, 3],
      ["opacities", s.opacities, 1],
      ["depths", s.depths, 1],
      ["radii", s.radii, 1],
    ] as const
  ).find(([, a, k]) => a.length < n * k);
  if (bad) throw new Error(`${owner}: ${bad[0]} holds ${bad[1].length} numbers, ${n} splats need ${n * bad[2]}`);
}

/** Visible splats (radius > 0) front to back, ties by index: the reference's depth order. */
function depthOrder(s: Splats2d): Uint32Array {
  const n = s.count;
  const depths = new Float64Array(n);
  const ids = new Uint32Array(n);
  let v = 0;
  for (let i = 0; i < n; i++) {
    if (!(Number(s.radii[i]) > 0)) continue;
    depths[i] = Number(s.depths[i]);
    ids[v++] = i;
  }
  return ids.subarray(0, v).sort((a, b) => depths[a]! - depths[b]! || a - b);
}

/**
 * `tileRows` [from, to): draw only those rows of tiles (a band of the image, for two threads sharing one view);
 * the other pixels stay empty. The band's pixels are the whole image's to the bit: the same splats in the same
 * order reach them. For drawing only (the tape of a band is not for the backward pass).
 */
export function rasterizeTrainFast(
  s: Splats2d,
  width: number,
  height: number,
  background: readonly [number, number, number],
  runner: TileRunner = LOCAL_TILES,
  tileRows?: readonly [number, number],
): { rgb: Float64Array; alpha: Float64Array; tape: FastRasterTape } {
  checkSplats("rasterizeTrainFast", s);
  const shared = runner.shared;
  const order = depthOrder(s);
  const V = order.length;
  const records = f64(V * RECORD, shared);
  const grid = tileGridOf({ width, height } as Parameters<typeof tileGridOf>[0]);
  const numTiles = grid.tilesX * grid.tilesY;
  const [bandFrom, bandTo] = tileRows ?? [0, grid.tilesY];
  if (!(
    Number.isInteger(bandFrom) &&
    Number.isInteger(bandTo) &&
    0 <= bandFrom &&
    bandFrom < bandTo &&
    bandTo <= grid.tilesY
  ))
    throw new Error(`rasterizeTrainFast: tile rows [${bandFrom}, ${bandTo}) are not a band of the ${grid.tilesY} rows`);
  const tileRanges = u32(numTiles * 2, shared);
  const counts = new Uint32Array(numTiles);
  // [V, 4] i32 tile rectangle of each rank.
  const rects = new Int32Array(V * 4);
  const rect = new Int32Array(4);
  const { ALPHA_MIN } = RASTER;
  for (let r = 0; r < V; r++) {
    const i = order[r]!,
      o = r * RECORD;
    const u = Number(s.means2d[i * 2]),
      v = Number(s.means2d[i * 2 + 1]);
    const qa = Number(s.conics[i * 3]),
      qb = Number(s.conics[i * 3 + 1]),
      qc = Number(s.conics[i * 3 + 2]);
    const op = Number(s.opacities[i]);
    records[o] = u;
    records[o + 1] = v;
    records[o + 2] = qa;
    records[o + 3] = qb;
    records[o + 4] = qc;
    records[o + 5] = op;
    records[o + 6] = Number(s.colors[i * 3]);
    records[o + 7] = Number(s.colors[i * 3 + 1]);
    records[o + 8] = Number(s.colors[i * 3 + 2]);
    // Box of -0.5 d^T Q d >= minPower: |dx| <= sqrt(-2 minPower S_xx) with S = Q^-1 (rasterize.cpu.ts).
    const minPower = Math.log(ALPHA_MIN / op);
    const qdet = qa * qc - qb * qb;
    const drawn = minPower < 0 && qdet > 0;
    records[o + 9] = minPower;
    records[o + 10] = drawn ? Math.sqrt((-2 * minPower * qc) / qdet) : -1;
    records[o + 11] = drawn ? Math.sqrt((-2 * minPower * qa) / qdet) : -1;
    tileRect(u, v, Number(s.radii[i]), grid, rect);
    const x0 = rect[0]!,
      y0 = Math.max(rect[1]!, bandFrom),
      x1 = rect[2]!,
      y1 = Math.max(y0, Math.min(rect[3]!, bandTo));
    rects[r * 4] = x0;
    rects[r * 4 + 1] = y0;
    rects[r * 4 + 2] = x1;
    rects[r * 4 + 3] = y1;
    for (let ty = y0; ty < y1; ty++) for (let tx = x0; tx < x1; tx++) counts[ty * grid.tilesX + tx]!++;
  }
  let M = 0;
  for (let t = 0; t < numTiles; t++) {
    const c = counts[t]!;
    tileRanges[t * 2] = M;
    tileRanges[t * 2 + 1] = M + c;
    counts[t] = M;
    M += c;
  }
  const rankFromIsect = u32(M, shared);
  for (let r = 0; r < V; r++) {
    const x0 = rects[r * 4]!,
      y0 = rects[r * 4 + 1]!,
      x1 = rects[r * 4 + 2]!,
      y1 = rects[r * 4 + 3]!;
    for (let ty = y0; ty < y1; ty++)
      for (let tx = x0; tx < x1; tx++) rankFromIsect[counts[ty * grid.tilesX + tx]!++] = r;
  }
  const P = width * height;
  const job: TrainTileJob = {
    kind: 0,
    width,
    height,
    tilesX: grid.tilesX,
    // Tiles are taken from nextTile up to tilesX x tilesY: a band starts at its first row and ends at its last.
    tilesY: bandTo,
    background: [background[0], background[1], background[2]],
    records,
    tileRanges,
    rankFromIsect,
    rgb: f64(P * 3, shared),
    transmittance: f64(P, shared),
    lastIsect: u32(P, shared),
    dRgb: new Float64Array(0),
    dAlpha: new Float64Array(0),
    isectGrads: new Float64Array(0),
    nextTile: i32(1, shared),
  };
  job.nextTile[0] = bandFrom * grid.tilesX;
  runner.run(job);
  const alpha = new Float64Array(P);
  for (let p = 0; p < P; p++) alpha[p] = 1 - job.transmittance[p]!;
  // Callers keep and transfer the image: never hand out shared memory.
  const rgb = shared ? job.rgb.slice() : job.rgb;
  return { rgb, alpha, tape: { width, height, count: s.count, splatFromRank: order, job, runner } };
}

/** d loss / d splat inputs from d loss / d rgb [H, W, 3] and (optionally) d loss / d coverage [H, W]. */
export function rasterizeBackwardFast(
  tape: FastRasterTape,
  dRgb: ArrayLike<number>,
  dAlpha?: ArrayLike<number>,
): Splats2dGrad {
  const { width, height, count: n, job: fwd, runner, splatFromRank } = tape;
  const P = width * height;
  if (dRgb.length !== P * 3 || (dAlpha && dAlpha.length !== P))
    throw new Error(
      `rasterizeBackwardFast: expected ${P * 3} colour and ${P} coverage gradients for ${width} x ${height}, got ${dRgb.length} and ${dAlpha?.length ?? 0}`,
    );
  const shared = runner.shared;
  const M = fwd.rankFromIsect.length;
  // Helpers need the upstream gradients in shared memory; this thread can read the caller's arrays.
  const own = (a: ArrayLike<number>, n: number): Float64Array => {
    if (!shared && a instanceof Float64Array) return a;
    const out = f64(n, shared);
    out.set(a);
    return out;
  };
  const job: TrainTileJob = {
    ...fwd,
    kind: 1,
    dRgb: own(dRgb, P * 3),
    dAlpha: dAlpha ? own(dAlpha, P) : new Float64Array(0),
    isectGrads: f64(M * GRAD_ROW, shared),
    nextTile: i32(1, shared),
  };
  runner.run(job);
  const g: Splats2dGrad = {
    means2d: new Float64Array(n * 2),
    conics: new Float64Array(n * 3),
    colors: new Float64Array(n * 3),
    opacities: new Float64Array(n),
  };
  const { means2d, conics, colors, opacities } = g;
  const rows = job.isectGrads,
    rankFromIsect = fwd.rankFromIsect;
  for (let k = 0; k < M; k++) {
    const i = splatFromRank[rankFromIsect[k]!]!,
      o = k * GRAD_ROW;
    means2d[i * 2]! += rows[o]!;
    means2d[i * 2 + 1]! += rows[o + 1]!;
    conics[i * 3]! += rows[o + 2]!;
    conics[i * 3 + 1]! += rows[o + 3]!;
    conics[i * 3 + 2]! += rows[o + 4]!;
    colors[i * 3]! += rows[o + 5]!;
    colors[i * 3 + 1]! += rows[o + 6]!;
    colors[i * 3 + 2]! += rows[o + 7]!;
    opacities[i]! += rows[o + 8]!;
  }
  return g;
}
