/**
 * CPU twin of shaders/raster/rasterize.wgsl.ts (rasterizeFwd): per 16x16
 * tile, front-to-back alpha compositing of the tile's splat list, pixel
 * centres at +0.5, alpha = min(ALPHA_MAX, opacity exp(power)), splats under
 * ALPHA_MIN skipped, stop before a splat would take transmittance below
 * T_MIN. Also records lastIsect (1 + index of the last splat composited),
 * which the backward pass replays.
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

/**
 * Per-tile gathered splat records: u, v, depth, opacity, conic a b c, r g b,
 * and minPower = ln(ALPHA_MIN / opacity): alpha < ALPHA_MIN exactly when
 * power < minPower, which rejects most pixel-splat pairs without an exp().
 */
const REC = 11;
let gathered = new Float64Array(0);

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
  const { rgb, alpha, depth, lastIsect } = out;
  for (let t = tileSpan[0]; t < tileSpan[1]; t++) {
    const start = bins.tileRanges[t * 2]!;
    const end = bins.tileRanges[t * 2 + 1]!;
    const n = end - start;
    if (gathered.length < n * REC) gathered = new Float64Array(Math.max(n * REC, gathered.length * 2));
    const g = gathered;
    for (let k = 0; k < n; k++) {
      const i = bins.splatFromIsect[start + k]!;
      const o = k * REC;
      g[o] = p.means2d[i * 2]!;
      g[o + 1] = p.means2d[i * 2 + 1]!;
      g[o + 2] = p.depths[i]!;
      g[o + 3] = p.opacities[i]!;
      g[o + 4] = p.conics[i * 3]!;
      g[o + 5] = p.conics[i * 3 + 1]!;
      g[o + 6] = p.conics[i * 3 + 2]!;
      g[o + 7] = p.colors[i * 3]!;
      g[o + 8] = p.colors[i * 3 + 1]!;
      g[o + 9] = p.colors[i * 3 + 2]!;
      g[o + 10] = Math.log(ALPHA_MIN / Math.max(p.opacities[i]!, 1e-30));
    }
    const x0 = (t % bins.tilesX) * TILE;
    const y0 = Math.floor(t / bins.tilesX) * TILE;
    const x1 = Math.min(x0 + TILE, width);
    const y1 = Math.min(y0 + TILE, height);
    for (let py = y0; py < y1; py++) {
      const fy = py + 0.5;
      for (let px = x0; px < x1; px++) {
        const fx = px + 0.5;
        let T = 1, r = 0, gr = 0, b = 0, d = 0, last = 0;
        for (let k = 0; k < n; k++) {
          const o = k * REC;
          const dx = g[o]! - fx;
          const dy = g[o + 1]! - fy;
          const power = -0.5 * (g[o + 4]! * dx * dx + g[o + 6]! * dy * dy) - g[o + 5]! * dx * dy;
          if (power > 0 || power < g[o + 10]!) continue;
          let a = g[o + 3]! * Math.exp(power);
          if (a > ALPHA_MAX) a = ALPHA_MAX;
          if (a < ALPHA_MIN) continue;
          const nextT = T * (1 - a);
          if (nextT < T_MIN) break;
          const w = a * T;
          r += w * g[o + 7]!;
          gr += w * g[o + 8]!;
          b += w * g[o + 9]!;
          d += w * g[o + 2]!;
          T = nextT;
          last = start + k + 1;
        }
        const pi = py * width + px;
        rgb[pi * 3] = r + T * bgR;
        rgb[pi * 3 + 1] = gr + T * bgG;
        rgb[pi * 3 + 2] = b + T * bgB;
        const acc = 1 - T;
        alpha[pi] = acc;
        depth[pi] = acc > 0 ? d / acc : 0;
        lastIsect[pi] = last;
      }
    }
  }
}
