/**
 * Grid relaxation on the implicit surface. Casting rays from one centre
 * leaves jumps wherever a fold is hidden from that centre (under the brow,
 * beside the nostrils, under the ear lobe): two neighbouring rays exit on
 * different sheets and the triangle between them is a long sliver. Around
 * such jumps we smooth the grid with a Laplacian weighted by the parameter
 * spacing (so the intended row/column density is kept) and pull every moved
 * vertex back onto the surface along the distance gradient.
 */
import { headSdf } from "./head-sdf";

/** Newton steps along the SDF gradient onto the zero set; p ([3] f64) is changed in place. */
export function projectToSurface(p: Float64Array | number[], steps = 4): void {
  const h = 1e-5;
  for (let k = 0; k < steps; k++) {
    const f = headSdf(p[0], p[1], p[2]);
    if (Math.abs(f) < 1e-8) return;
    const gx = (headSdf(p[0] + h, p[1], p[2]) - headSdf(p[0] - h, p[1], p[2])) / (2 * h);
    const gy = (headSdf(p[0], p[1] + h, p[2]) - headSdf(p[0], p[1] - h, p[2])) / (2 * h);
    const gz = (headSdf(p[0], p[1], p[2] + h) - headSdf(p[0], p[1], p[2] - h)) / (2 * h);
    const g2 = gx * gx + gy * gy + gz * gz;
    if (!(g2 > 1e-12)) return;
    p[0] -= (f * gx) / g2;
    p[1] -= (f * gy) / g2;
    p[2] -= (f * gz) / g2;
  }
}

export interface RelaxGrid {
  /** [R * C, 3] f64 grid positions, row-major; changed in place. */
  positions: Float64Array;
  rows: number;
  cols: number;
  /** [R] f64 parameter spacing of each row to the next (any unit, consistent with colSpacing). */
  rowSpacing: Float64Array;
  /** [C] f64 parameter spacing of each column to the next (wrapping). */
  colSpacing: Float64Array;
  /** [R * C] u8: 1 where a vertex may move. */
  movable: Uint8Array;
}

/** Second difference of positions along rows and columns, metres: large where rays jumped. */
export function gridRoughness(g: RelaxGrid): Float64Array {
  const { positions: P, rows, cols } = g;
  const out = new Float64Array(rows * cols);
  const d2 = (a: number, b: number, c: number) =>
    Math.hypot(
      P[a * 3] - 2 * P[b * 3] + P[c * 3],
      P[a * 3 + 1] - 2 * P[b * 3 + 1] + P[c * 3 + 1],
      P[a * 3 + 2] - 2 * P[b * 3 + 2] + P[c * 3 + 2],
    );
  for (let r = 1; r + 1 < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const i = r * cols + c;
      const l = r * cols + ((c + cols - 1) % cols),
        rr = r * cols + ((c + 1) % cols);
      out[i] = Math.max(d2(l, i, rr), d2(i - cols, i, i + cols));
    }
  }
  return out;
}

/**
 * Smooths movable vertices within `rings` grid steps of a vertex rougher
 * than `threshold` metres, `iterations` times, re-projecting onto the surface.
 * Returns how many vertices moved.
 */
export function relaxRoughPatches(g: RelaxGrid, threshold: number, rings: number, iterations: number): number {
  const { positions: P, rows, cols } = g;
  const rough = gridRoughness(g);
  let mask = new Uint8Array(rows * cols);
  for (let i = 0; i < rows * cols; i++) if (rough[i] > threshold) mask[i] = 1;
  for (let k = 0; k < rings; k++) {
    const next = mask.slice();
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) {
        if (!mask[r * cols + c]) continue;
        for (const [dr, dc] of [
          [1, 0],
          [-1, 0],
          [0, 1],
          [0, -1],
        ]) {
          const rr = r + dr;
          if (rr < 0 || rr >= rows) continue;
          next[rr * cols + ((c + dc + cols) % cols)] = 1;
        }
      }
    }
    mask = next;
  }
  const active: number[] = [];
  for (let i = 0; i < rows * cols; i++) if (mask[i] && g.movable[i]) active.push(i);
  const next = new Float64Array(active.length * 3);
  const p = new Float64Array(3);
  for (let it = 0; it < iterations; it++) {
    active.forEach((i, k) => {
      const r = Math.floor(i / cols),
        c = i % cols;
      // Harmonic weights in parameter space: 1/spacing^2 toward each neighbour.
      const wl = 1 / g.colSpacing[(c + cols - 1) % cols] ** 2,
        wr = 1 / g.colSpacing[c] ** 2;
      const wd = 1 / g.rowSpacing[r - 1] ** 2,
        wu = 1 / g.rowSpacing[r] ** 2;
      const l = r * cols + ((c + cols - 1) % cols),
        rt = r * cols + ((c + 1) % cols);
      const sum = wl + wr + wd + wu;
      for (let a = 0; a < 3; a++) {
        const avg =
          (wl * P[l * 3 + a] + wr * P[rt * 3 + a] + wd * P[(i - cols) * 3 + a] + wu * P[(i + cols) * 3 + a]) / sum;
        next[k * 3 + a] = P[i * 3 + a] + 0.7 * (avg - P[i * 3 + a]);
      }
    });
    active.forEach((i, k) => {
      p[0] = next[k * 3];
      p[1] = next[k * 3 + 1];
      p[2] = next[k * 3 + 2];
      projectToSurface(p);
      P.set(p, i * 3);
    });
  }
  return active.length;
}
