/**
 * The rasteriser's training pass, CPU twin in float64: projected splats
 * (means2d, conics, colours, opacities, depths, radii: render-core/raster/projected.ts)
 * -> image and coverage, and the backward to every splat input, by replaying
 * each pixel's contributions back to front (as the reference does).
 *
 * The forward is the renderer's (rasterize.cpu.ts): splats in depth order,
 * each seen only in the tiles its radius rectangle touches; alpha =
 * min(ALPHA_MAX, opacity exp(power)), power = -0.5 (a dx^2 + c dy^2) - b dx dy
 * with d = mean - pixel centre; skipped under ALPHA_MIN; a pixel stops before
 * a splat would take its transmittance under T_MIN.
 *
 * Backward, per pixel with contributions k = 1..K, T_k = prod_{j<k} (1 - alpha_j):
 *   dC/dcolour_k = alpha_k T_k
 *   dC/dalpha_k  = colour_k T_k - (sum_{j>k} colour_j alpha_j T_j + T_final bg) / (1 - alpha_k)
 *   dA/dalpha_k  = T_final / (1 - alpha_k)           (A = 1 - T_final, the coverage)
 * then alpha -> opacity, power -> conic and mean; a clamped alpha passes no gradient.
 */
import { RASTER } from "../raster/config";
import { tileGridOf, tileRect } from "../raster/project.cpu";

export interface Splats2d {
  count: number;
  means2d: ArrayLike<number>;
  conics: ArrayLike<number>;
  colors: ArrayLike<number>;
  opacities: ArrayLike<number>;
  depths: ArrayLike<number>;
  radii: ArrayLike<number>;
}

export interface RasterTape {
  width: number;
  height: number;
  /** Per pixel, the splats that contributed, front to back. */
  lists: Int32Array[];
  /** [H, W] final transmittance. */
  transmittance: Float64Array;
}

export interface Splats2dGrad {
  means2d: Float64Array;
  conics: Float64Array;
  colors: Float64Array;
  opacities: Float64Array;
}

/** Depth order (nearest first, ties by index), culled splats (radius 0) left out. */
function depthOrder(s: Splats2d): number[] {
  const ids: number[] = [];
  for (let i = 0; i < s.count; i++) if (s.radii[i]! > 0) ids.push(i);
  return ids.sort((a, b) => Number(s.depths[a]) - Number(s.depths[b]) || a - b);
}

function alphaAt(
  s: Splats2d,
  i: number,
  px: number,
  py: number,
): { alpha: number; power: number; dx: number; dy: number; clamped: boolean } {
  const dx = Number(s.means2d[i * 2]) - px,
    dy = Number(s.means2d[i * 2 + 1]) - py;
  const a = Number(s.conics[i * 3]),
    b = Number(s.conics[i * 3 + 1]),
    c = Number(s.conics[i * 3 + 2]);
  const power = -0.5 * (a * dx * dx + c * dy * dy) - b * dx * dy;
  const raw = Number(s.opacities[i]) * Math.exp(power);
  return { alpha: Math.min(raw, RASTER.ALPHA_MAX), power, dx, dy, clamped: raw > RASTER.ALPHA_MAX };
}

export function rasterizeTrain(
  s: Splats2d,
  width: number,
  height: number,
  background: readonly [number, number, number],
): { rgb: Float64Array; alpha: Float64Array; tape: RasterTape } {
  const P = width * height;
  const rgb = new Float64Array(P * 3),
    alpha = new Float64Array(P);
  const T = new Float64Array(P).fill(1);
  const done = new Uint8Array(P);
  const lists: number[][] = Array.from({ length: P }, () => []);
  const grid = tileGridOf({ width, height } as Parameters<typeof tileGridOf>[0]);
  const rect = new Int32Array(4);
  for (const i of depthOrder(s)) {
    tileRect(Number(s.means2d[i * 2]), Number(s.means2d[i * 2 + 1]), Number(s.radii[i]), grid, rect);
    const x1 = Math.min(width, rect[2]! * RASTER.TILE),
      y1 = Math.min(height, rect[3]! * RASTER.TILE);
    for (let y = rect[1]! * RASTER.TILE; y < y1; y++) {
      for (let x = rect[0]! * RASTER.TILE; x < x1; x++) {
        const p = y * width + x;
        if (done[p]) continue;
        const { alpha: a, power } = alphaAt(s, i, x + 0.5, y + 0.5);
        if (power > 0 || a < RASTER.ALPHA_MIN) continue;
        const next = T[p]! * (1 - a);
        if (next < RASTER.T_MIN) {
          done[p] = 1;
          continue;
        }
        for (let c = 0; c < 3; c++) rgb[p * 3 + c]! += a * T[p]! * Number(s.colors[i * 3 + c]);
        T[p] = next;
        lists[p]!.push(i);
      }
    }
  }
  for (let p = 0; p < P; p++) {
    for (let c = 0; c < 3; c++) rgb[p * 3 + c]! += T[p]! * background[c]!;
    alpha[p] = 1 - T[p]!;
  }
  return { rgb, alpha, tape: { width, height, lists: lists.map((l) => Int32Array.from(l)), transmittance: T } };
}

/** d loss / d splat inputs, from d loss / d rgb [H, W, 3] and (optionally) d loss / d coverage [H, W]. */
export function rasterizeBackward(
  s: Splats2d,
  background: readonly [number, number, number],
  tape: RasterTape,
  dRgb: ArrayLike<number>,
  dAlpha?: ArrayLike<number>,
): Splats2dGrad {
  const g: Splats2dGrad = {
    means2d: new Float64Array(s.count * 2),
    conics: new Float64Array(s.count * 3),
    colors: new Float64Array(s.count * 3),
    opacities: new Float64Array(s.count),
  };
  const { width } = tape;
  for (let p = 0; p < tape.lists.length; p++) {
    const list = tape.lists[p]!;
    if (list.length === 0) continue;
    const px = (p % width) + 0.5,
      py = Math.floor(p / width) + 0.5;
    const Tf = tape.transmittance[p]!;
    // Forward replay for alpha_k and T_k.
    const steps = Array.from(list, (i) => ({ i, ...alphaAt(s, i, px, py), T: 0 }));
    let T = 1;
    for (const st of steps) {
      st.T = T;
      T *= 1 - st.alpha;
    }
    const behind = [Tf * background[0]!, Tf * background[1]!, Tf * background[2]!];
    const dA = dAlpha ? Number(dAlpha[p]) : 0;
    for (let k = steps.length - 1; k >= 0; k--) {
      const st = steps[k]!;
      const { i, alpha: a } = st;
      let dAlphaK = (dA * Tf) / (1 - a);
      for (let c = 0; c < 3; c++) {
        const col = Number(s.colors[i * 3 + c]);
        const d = Number(dRgb[p * 3 + c]);
        g.colors[i * 3 + c]! += d * a * st.T;
        dAlphaK += d * (col * st.T - behind[c]! / (1 - a));
        behind[c]! += col * a * st.T;
      }
      if (st.clamped) continue;
      g.opacities[i]! += dAlphaK * Math.exp(st.power);
      const dPower = dAlphaK * a;
      const ca = Number(s.conics[i * 3]),
        cb = Number(s.conics[i * 3 + 1]),
        cc = Number(s.conics[i * 3 + 2]);
      g.conics[i * 3]! += -0.5 * st.dx * st.dx * dPower;
      g.conics[i * 3 + 1]! += -st.dx * st.dy * dPower;
      g.conics[i * 3 + 2]! += -0.5 * st.dy * st.dy * dPower;
      g.means2d[i * 2]! += -(ca * st.dx + cb * st.dy) * dPower;
      g.means2d[i * 2 + 1]! += -(cc * st.dy + cb * st.dx) * dPower;
    }
  }
  return g;
}
