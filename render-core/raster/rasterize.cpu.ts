/**
 * CPU twin of shaders/raster/rasterize.wgsl.ts (rasterizeFwd): per 16x16
 * tile, front-to-back alpha compositing of the tile's splat list, pixel
 * centres at +0.5, alpha = min(ALPHA_MAX, opacity exp(power)), splats under
 * ALPHA_MIN skipped, stop before a splat would take transmittance below
 * T_MIN. Also records lastIsect (1 + index of the last splat composited),
 * which the backward pass replays.
 *
 * Loop order differs from the kernel, not the result: the GPU runs one
 * thread per pixel over the whole list; here each splat, in list order,
 * visits only the pixels of the box where its alpha can reach ALPHA_MIN
 * (power >= ln(ALPHA_MIN / opacity), an exact bound). Every pixel still sees
 * its splats in the same front-to-back order with the same tests.
 */
import { RASTER } from "./config";
import type { TileBins } from "./intersect.cpu";
import type { ProjectedSplats } from "./projected";

export interface RasterOutputs {
  /** [H, W, 3] f32 colour, background composited. */
  rgb: Float32Array;
  /** [H, W] f32 1 - final transmittance. */
  alpha: Float32Array;
  /** [H, W] f32 alpha-weighted mean depth, 0 where alpha is 0. */
  depth: Float32Array;
  /** [H, W] u32 1 + index (in splatFromIsect) of the last splat composited, 0 if none. */
  lastIsect: Uint32Array;
}

const TILE_PX = RASTER.TILE * RASTER.TILE;
// Per-pixel accumulators of the tile being rendered: transmittance, colour, depth-weight, last, done.
const accT = new Float64Array(TILE_PX);
const accR = new Float64Array(TILE_PX);
const accG = new Float64Array(TILE_PX);
const accB = new Float64Array(TILE_PX);
const accD = new Float64Array(TILE_PX);
const accLast = new Uint32Array(TILE_PX);
const accDone = new Uint8Array(TILE_PX);

export function rasterizeFwd(
  p: ProjectedSplats,
  bins: TileBins,
  width: number,
  height: number,
  background: readonly [number, number, number],
  out: RasterOutputs,
  /** Tiles to render, [first, end) in row-major tile order; default all. Lets workers split the image. */
  tileSpan: readonly [number, number] = [0, bins.tilesX * bins.tilesY],
): void {
  const { TILE, ALPHA_MAX, ALPHA_MIN, T_MIN } = RASTER;
  const [bgR, bgG, bgB] = background;
  const { means2d, conics, opacities, colors, depths } = p;
  for (let t = tileSpan[0]; t < tileSpan[1]; t++) {
    const start = bins.tileRanges[t * 2]!;
    const end = bins.tileRanges[t * 2 + 1]!;
    const x0 = (t % bins.tilesX) * TILE;
    const y0 = Math.floor(t / bins.tilesX) * TILE;
    const w = Math.min(TILE, width - x0);
    const h = Math.min(TILE, height - y0);
    accT.fill(1);
    accR.fill(0);
    accG.fill(0);
    accB.fill(0);
    accD.fill(0);
    accLast.fill(0);
    accDone.fill(0);
    let remaining = w * h;
    for (let k = start; k < end && remaining > 0; k++) {
      const i = bins.splatFromIsect[k]!;
      const op = opacities[i]!;
      const minPower = Math.log(ALPHA_MIN / op);
      if (!(minPower < 0)) continue; // opacity below ALPHA_MIN: never visible
      const u = means2d[i * 2]!,
        v = means2d[i * 2 + 1]!;
      const qa = conics[i * 3]!,
        qb = conics[i * 3 + 1]!,
        qc = conics[i * 3 + 2]!;
      // Box of the ellipse -0.5 d^T Q d >= minPower: |dx| <= sqrt(-2 minPower Sxx), S = Q^-1.
      const qdet = qa * qc - qb * qb;
      if (!(qdet > 0)) continue;
      const ex = Math.sqrt((-2 * minPower * qc) / qdet);
      const ey = Math.sqrt((-2 * minPower * qa) / qdet);
      // Pixel centres (px + 0.5) inside [u - ex, u + ex], relative to the tile.
      const ax = Math.max(0, Math.ceil(u - ex - 0.5) - x0);
      const bx = Math.min(w - 1, Math.floor(u + ex - 0.5) - x0);
      const ay = Math.max(0, Math.ceil(v - ey - 0.5) - y0);
      const by = Math.min(h - 1, Math.floor(v + ey - 0.5) - y0);
      if (ax > bx || ay > by) continue;
      const cr = colors[i * 3]!,
        cg = colors[i * 3 + 1]!,
        cb = colors[i * 3 + 2]!,
        z = depths[i]!;
      for (let ly = ay; ly <= by; ly++) {
        const dy = v - (y0 + ly + 0.5);
        const row = ly * TILE;
        for (let lx = ax; lx <= bx; lx++) {
          const q = row + lx;
          if (accDone[q]) continue;
          const dx = u - (x0 + lx + 0.5);
          const power = -0.5 * (qa * dx * dx + qc * dy * dy) - qb * dx * dy;
          if (power > 0 || power < minPower) continue;
          let a = op * Math.exp(power);
          if (a > ALPHA_MAX) a = ALPHA_MAX;
          if (a < ALPHA_MIN) continue;
          const T = accT[q]!;
          const nextT = T * (1 - a);
          if (nextT < T_MIN) {
            accDone[q] = 1;
            remaining--;
            continue;
          }
          const wgt = a * T;
          accR[q] = accR[q]! + wgt * cr;
          accG[q] = accG[q]! + wgt * cg;
          accB[q] = accB[q]! + wgt * cb;
          accD[q] = accD[q]! + wgt * z;
          accT[q] = nextT;
          accLast[q] = k + 1;
        }
      }
    }
    for (let ly = 0; ly < h; ly++) {
      for (let lx = 0; lx < w; lx++) {
        const q = ly * TILE + lx;
        const pi = (y0 + ly) * width + x0 + lx;
        const T = accT[q]!;
        out.rgb[pi * 3] = accR[q]! + T * bgR;
        out.rgb[pi * 3 + 1] = accG[q]! + T * bgG;
        out.rgb[pi * 3 + 2] = accB[q]! + T * bgB;
        const acc = 1 - T;
        out.alpha[pi] = acc;
        out.depth[pi] = acc > 0 ? accD[q]! / acc : 0;
        out.lastIsect[pi] = accLast[q]!;
      }
    }
  }
}

/**
 * CPU twin of packRgb8 (rasterize.wgsl.ts): [H, W, 3] composited colour ->
 * 8-bit RGB bytes, each channel floor(0.5 + 255 clamp(c, 0, 1)) as the
 * kernel computes it.
 */
export function packRgb8Cpu(rgb: ArrayLike<number>, out = new Uint8Array(rgb.length)): Uint8Array {
  if (out.length !== rgb.length)
    throw new Error(`packRgb8Cpu: out holds ${out.length} bytes, the image ${rgb.length} channels`);
  for (let i = 0; i < rgb.length; i++) {
    const c = rgb[i]!;
    out[i] = Math.floor(0.5 + 255 * (c > 1 ? 1 : c > 0 ? c : 0));
  }
  return out;
}
