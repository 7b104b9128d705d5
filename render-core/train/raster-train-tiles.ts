/**
 * The fast training rasteriser's tile kernels (driver: raster-train-fast.ts;
 * reference twin: raster-grad.ts). A job is plain typed arrays, so the same
 * kernels run on this thread or on worker threads sharing the job's memory
 * (SharedArrayBuffer): every tile writes only its own pixels and its own
 * intersections, and tiles are taken from an atomic counter, so any number
 * of threads gives the same bits.
 *
 * Per-splat record, one row of `records` per visible splat in depth order
 * (the row index is the splat's rank), f64:
 *
 * | slot | field                                                        |
 * |------|--------------------------------------------------------------|
 * | 0, 1 | u, v: pixel-space centre                                     |
 * | 2-4  | conic a, b, c: power = -0.5 (a dx^2 + c dy^2) - b dx dy      |
 * | 5    | opacity                                                      |
 * | 6-8  | colour r, g, b                                               |
 * | 9    | minPower = ln(ALPHA_MIN / opacity): below it alpha < ALPHA_MIN |
 * | 10, 11 | ex, ey: half extents of the box where power >= minPower (-1: never drawn) |
 *
 * Gradient row per intersection (`isectGrads`, f64 [M, 9]): d/du, d/dv,
 * d/da, d/db, d/dc, d/dr, d/dg, d/db(colour), d/dopacity, summed over the
 * intersection's tile; the driver sums the rows of each splat in isect order.
 *
 * Float64 records, not float32: a float32 centre near pixel 100 has an ulp
 * of 7.6e-6 px, coarser than the finite-difference checks' 1e-6 steps.
 */
import { RASTER } from "../raster/config";
import { expNeg } from "./exp-neg";

export const RECORD = 12;
export const GRAD_ROW = 9;

export interface TrainTileJob {
  /** 0: forward, 1: backward. */
  kind: 0 | 1;
  width: number;
  height: number;
  tilesX: number;
  tilesY: number;
  background: [number, number, number];
  /** [V, RECORD] f64, see the table above. */
  records: Float64Array;
  /** [numTiles, 2] u32 [start, end) of each tile in rankFromIsect. */
  tileRanges: Uint32Array;
  /** [M] u32 rank of each intersection; within a tile, front to back. */
  rankFromIsect: Uint32Array;
  /** [H, W, 3] f64 forward out: colour with the background composited. */
  rgb: Float64Array;
  /** [H, W] f64 forward out: final transmittance. */
  transmittance: Float64Array;
  /** [H, W] u32 forward out: 1 + isect index of the last splat composited, 0 if none. */
  lastIsect: Uint32Array;
  /** [H, W, 3] f64 backward in: d loss / d rgb. */
  dRgb: Float64Array;
  /** [H, W] f64 backward in: d loss / d coverage, or empty for none. */
  dAlpha: Float64Array;
  /** [M, GRAD_ROW] f64 backward out. */
  isectGrads: Float64Array;
  /** [1] i32 next tile to take. */
  nextTile: Int32Array;
}

const TILE = RASTER.TILE;
const TILE_PX = TILE * TILE;
// Per-pixel state of the tile in hand (one set per thread).
const accT = new Float64Array(TILE_PX);
const accR = new Float64Array(TILE_PX);
const accG = new Float64Array(TILE_PX);
const accB = new Float64Array(TILE_PX);
const accLast = new Uint32Array(TILE_PX);
const accDone = new Uint8Array(TILE_PX);
const pdR = new Float64Array(TILE_PX);
const pdG = new Float64Array(TILE_PX);
const pdB = new Float64Array(TILE_PX);
const pdA = new Float64Array(TILE_PX);

/** Takes tiles from job.nextTile until none is left; returns how many this thread took. */
export function runTrainTiles(job: TrainTileJob): number {
  const numTiles = job.tilesX * job.tilesY;
  for (let taken = 0; ; taken++) {
    const t = Atomics.add(job.nextTile, 0, 1);
    if (t >= numTiles) return taken;
    if (job.kind === 0) forwardTile(job, t);
    else backwardTile(job, t);
  }
}

/*
 * Forward and backward must take the same decisions at every pixel, so both
 * compute power and alpha with the same expressions in the same order.
 */

function forwardTile(job: TrainTileJob, t: number): void {
  const { ALPHA_MAX, ALPHA_MIN, T_MIN } = RASTER;
  const { records: rec, rankFromIsect, width, tilesX } = job;
  const start = job.tileRanges[t * 2]!,
    end = job.tileRanges[t * 2 + 1]!;
  const x0 = (t % tilesX) * TILE,
    y0 = ((t / tilesX) | 0) * TILE;
  const w = Math.min(TILE, width - x0),
    h = Math.min(TILE, job.height - y0);
  const T = accT,
    R = accR,
    G = accG,
    B = accB,
    last = accLast,
    done = accDone;
  T.fill(1);
  R.fill(0);
  G.fill(0);
  B.fill(0);
  last.fill(0);
  done.fill(0);
  let remaining = w * h;
  for (let k = start; k < end && remaining > 0; k++) {
    const o = rankFromIsect[k]! * RECORD;
    const ex = rec[o + 10]!;
    if (!(ex >= 0)) continue;
    const u = rec[o]!,
      v = rec[o + 1]!,
      ey = rec[o + 11]!;
    const ax = Math.max(0, Math.ceil(u - ex - 0.5) - x0),
      bx = Math.min(w - 1, Math.floor(u + ex - 0.5) - x0);
    const ay = Math.max(0, Math.ceil(v - ey - 0.5) - y0),
      by = Math.min(h - 1, Math.floor(v + ey - 0.5) - y0);
    if (ax > bx || ay > by) continue;
    const qa = rec[o + 2]!,
      qb = rec[o + 3]!,
      qc = rec[o + 4]!,
      op = rec[o + 5]!,
      cr = rec[o + 6]!,
      cg = rec[o + 7]!,
      cb = rec[o + 8]!,
      minPower = rec[o + 9]!;
    for (let ly = ay; ly <= by; ly++) {
      const dy = v - (y0 + ly + 0.5);
      const row = ly * TILE;
      for (let lx = ax; lx <= bx; lx++) {
        const q = row + lx;
        if (done[q]) continue;
        const dx = u - (x0 + lx + 0.5);
        const power = -0.5 * (qa * dx * dx + qc * dy * dy) - qb * dx * dy;
        if (power > 0 || power < minPower) continue;
        let a = op * expNeg(power);
        if (a > ALPHA_MAX) a = ALPHA_MAX;
        if (a < ALPHA_MIN) continue;
        const tq = T[q]!;
        const next = tq * (1 - a);
        if (next < T_MIN) {
          done[q] = 1;
          remaining--;
          continue;
        }
        const wgt = a * tq;
        R[q] = R[q]! + wgt * cr;
        G[q] = G[q]! + wgt * cg;
        B[q] = B[q]! + wgt * cb;
        T[q] = next;
        last[q] = k + 1;
      }
    }
  }
  const [bgR, bgG, bgB] = job.background;
  const { rgb, transmittance, lastIsect } = job;
  for (let ly = 0; ly < h; ly++) {
    for (let lx = 0; lx < w; lx++) {
      const q = ly * TILE + lx,
        p = (y0 + ly) * width + x0 + lx;
      const tq = T[q]!;
      rgb[p * 3] = R[q]! + tq * bgR;
      rgb[p * 3 + 1] = G[q]! + tq * bgG;
      rgb[p * 3 + 2] = B[q]! + tq * bgB;
      transmittance[p] = tq;
      lastIsect[p] = last[q]!;
    }
  }
}

/**
 * Back to front over the tile's list: each pixel's transmittance before a
 * splat is recovered as T_k = T_{k+1} / (1 - alpha_k) from the final one, and
 * `behind` (colour of everything behind it, background included) grows as the
 * walk goes forward. The maths is stated in raster-grad.ts.
 */
function backwardTile(job: TrainTileJob, t: number): void {
  const { ALPHA_MAX, ALPHA_MIN } = RASTER;
  const { records: rec, rankFromIsect, width, tilesX, isectGrads: out } = job;
  const start = job.tileRanges[t * 2]!,
    end = job.tileRanges[t * 2 + 1]!;
  const x0 = (t % tilesX) * TILE,
    y0 = ((t / tilesX) | 0) * TILE;
  const w = Math.min(TILE, width - x0),
    h = Math.min(TILE, job.height - y0);
  const [bgR, bgG, bgB] = job.background;
  const hasDA = job.dAlpha.length > 0;
  const T = accT,
    R = accR,
    G = accG,
    B = accB,
    last = accLast;
  // Pixels outside the image keep last = 0, so no splat visits them.
  last.fill(0);
  let maxLast = start;
  for (let ly = 0; ly < h; ly++) {
    for (let lx = 0; lx < w; lx++) {
      const q = ly * TILE + lx,
        p = (y0 + ly) * width + x0 + lx;
      const tf = job.transmittance[p]!;
      T[q] = tf;
      R[q] = tf * bgR;
      G[q] = tf * bgG;
      B[q] = tf * bgB;
      const l = job.lastIsect[p]!;
      last[q] = l;
      if (l > maxLast) maxLast = l;
      pdR[q] = job.dRgb[p * 3]!;
      pdG[q] = job.dRgb[p * 3 + 1]!;
      pdB[q] = job.dRgb[p * 3 + 2]!;
      pdA[q] = hasDA ? job.dAlpha[p]! * tf : 0;
    }
  }
  // Intersections no pixel composited get zero rows.
  out.fill(0, maxLast * GRAD_ROW, end * GRAD_ROW);
  for (let k = maxLast - 1; k >= start; k--) {
    const o = rankFromIsect[k]! * RECORD;
    let gu = 0,
      gv = 0,
      ga = 0,
      gb = 0,
      gc = 0,
      gr = 0,
      gg = 0,
      gbl = 0,
      gop = 0;
    const ex = rec[o + 10]!;
    const u = rec[o]!,
      v = rec[o + 1]!,
      ey = rec[o + 11]!;
    const ax = Math.max(0, Math.ceil(u - ex - 0.5) - x0),
      bx = Math.min(w - 1, Math.floor(u + ex - 0.5) - x0);
    const ay = Math.max(0, Math.ceil(v - ey - 0.5) - y0),
      by = Math.min(h - 1, Math.floor(v + ey - 0.5) - y0);
    if (ex >= 0 && ax <= bx && ay <= by) {
      const qa = rec[o + 2]!,
        qb = rec[o + 3]!,
        qc = rec[o + 4]!,
        op = rec[o + 5]!,
        cr = rec[o + 6]!,
        cg = rec[o + 7]!,
        cb = rec[o + 8]!,
        minPower = rec[o + 9]!;
      for (let ly = ay; ly <= by; ly++) {
        const dy = v - (y0 + ly + 0.5);
        const row = ly * TILE;
        for (let lx = ax; lx <= bx; lx++) {
          const q = row + lx;
          if (k >= last[q]!) continue;
          const dx = u - (x0 + lx + 0.5);
          const power = -0.5 * (qa * dx * dx + qc * dy * dy) - qb * dx * dy;
          if (power > 0 || power < minPower) continue;
          const e = expNeg(power);
          const raw = op * e;
          const a = raw > ALPHA_MAX ? ALPHA_MAX : raw;
          if (a < ALPHA_MIN) continue;
          const oneMinus = 1 - a;
          const tk = T[q]! / oneMinus;
          const wgt = a * tk;
          const dr = pdR[q]!,
            dg = pdG[q]!,
            db = pdB[q]!;
          gr += dr * wgt;
          gg += dg * wgt;
          gbl += db * wgt;
          const br = R[q]!,
            bgq = G[q]!,
            bb = B[q]!;
          const dAlphaK = (pdA[q]! - dr * br - dg * bgq - db * bb) / oneMinus + (dr * cr + dg * cg + db * cb) * tk;
          R[q] = br + cr * wgt;
          G[q] = bgq + cg * wgt;
          B[q] = bb + cb * wgt;
          T[q] = tk;
          if (raw > ALPHA_MAX) continue;
          gop += dAlphaK * e;
          const dPower = dAlphaK * a;
          ga += -0.5 * dx * dx * dPower;
          gb += -dx * dy * dPower;
          gc += -0.5 * dy * dy * dPower;
          gu += -(qa * dx + qb * dy) * dPower;
          gv += -(qc * dy + qb * dx) * dPower;
        }
      }
    }
    const g = k * GRAD_ROW;
    out[g] = gu;
    out[g + 1] = gv;
    out[g + 2] = ga;
    out[g + 3] = gb;
    out[g + 4] = gc;
    out[g + 5] = gr;
    out[g + 6] = gg;
    out[g + 7] = gbl;
    out[g + 8] = gop;
  }
}
