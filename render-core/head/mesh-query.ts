/**
 * Geometric queries on the head mesh: closest point on a triangle (landmark
 * binding), ray casts (landmarks, tests) and a uniform-grid nearest-vertex
 * search (the avatar runtime copies skinning weights, blendshapes and pose
 * correctives from the nearest head vertex to each Gaussian).
 */

/** Closest point to p on triangle (a, b, c) as barycentric weights (wa, wb, wc) and squared distance. */
export function closestOnTriangle(
  p: ArrayLike<number>,
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  c: ArrayLike<number>,
): [number, number, number, number] {
  // Ericson, Real-Time Collision Detection 5.1.5: classify p against the Voronoi regions of the triangle.
  const ab = [b[0] - a[0], b[1] - a[1], b[2] - a[2]],
    ac = [c[0] - a[0], c[1] - a[1], c[2] - a[2]];
  const ap = [p[0] - a[0], p[1] - a[1], p[2] - a[2]];
  const dot = (u: number[], v: number[]) => u[0] * v[0] + u[1] * v[1] + u[2] * v[2];
  const d1 = dot(ab, ap),
    d2 = dot(ac, ap);
  let w: [number, number, number];
  if (d1 <= 0 && d2 <= 0) w = [1, 0, 0];
  else {
    const bp = [p[0] - b[0], p[1] - b[1], p[2] - b[2]];
    const d3 = dot(ab, bp),
      d4 = dot(ac, bp);
    const cp = [p[0] - c[0], p[1] - c[1], p[2] - c[2]];
    const d5 = dot(ab, cp),
      d6 = dot(ac, cp);
    const vc = d1 * d4 - d3 * d2,
      vb = d5 * d2 - d1 * d6,
      va = d3 * d6 - d5 * d4;
    if (d3 >= 0 && d4 <= d3) w = [0, 1, 0];
    else if (d6 >= 0 && d5 <= d6) w = [0, 0, 1];
    else if (vc <= 0 && d1 >= 0 && d3 <= 0) {
      const t = d1 / (d1 - d3);
      w = [1 - t, t, 0];
    } else if (vb <= 0 && d2 >= 0 && d6 <= 0) {
      const t = d2 / (d2 - d6);
      w = [1 - t, 0, t];
    } else if (va <= 0 && d4 - d3 >= 0 && d5 - d6 >= 0) {
      const t = (d4 - d3) / (d4 - d3 + (d5 - d6));
      w = [0, 1 - t, t];
    } else {
      const s = 1 / (va + vb + vc);
      w = [1 - (vb + vc) * s, vb * s, vc * s];
    }
  }
  const q = [0, 1, 2].map((k) => w[0] * a[k] + w[1] * b[k] + w[2] * c[k]);
  return [w[0], w[1], w[2], (q[0] - p[0]) ** 2 + (q[1] - p[1]) ** 2 + (q[2] - p[2]) ** 2];
}

/** A point bound to the mesh: it moves with the three vertices of `face`. */
export interface SurfacePoint {
  face: number;
  /** Barycentric weights of the face's vertices, summing to 1. */
  bary: [number, number, number];
}

/**
 * The closest surface point to p among `faceIds` (all faces when omitted).
 * positions: [V, 3] f32; faces: [F, 3] u32.
 */
export function closestSurfacePoint(
  positions: Float32Array,
  faces: Uint32Array,
  p: ArrayLike<number>,
  faceIds?: ArrayLike<number>,
): SurfacePoint & { distance: number } {
  let best: SurfacePoint & { distance: number } = { face: -1, bary: [1, 0, 0], distance: Infinity };
  const n = faceIds ? faceIds.length : faces.length / 3;
  for (let k = 0; k < n; k++) {
    const f = faceIds ? faceIds[k] : k;
    const ia = faces[f * 3] * 3,
      ib = faces[f * 3 + 1] * 3,
      ic = faces[f * 3 + 2] * 3;
    const r = closestOnTriangle(
      p,
      positions.subarray(ia, ia + 3),
      positions.subarray(ib, ib + 3),
      positions.subarray(ic, ic + 3),
    );
    if (r[3] < best.distance) best = { face: f, bary: [r[0], r[1], r[2]], distance: r[3] };
  }
  if (best.face < 0) throw new Error(`closestSurfacePoint: no faces to search (${n})`);
  best.distance = Math.sqrt(best.distance);
  return best;
}

/** Evaluates bound points on posed vertices. positions: [V, 3] f32; returns [N, 3] f32. */
export function evalSurfacePoints(
  positions: Float32Array,
  faces: Uint32Array,
  points: readonly SurfacePoint[],
): Float32Array {
  const out = new Float32Array(points.length * 3);
  points.forEach((pt, i) => {
    for (let k = 0; k < 3; k++) {
      const v = faces[pt.face * 3 + k];
      for (let a = 0; a < 3; a++) out[i * 3 + a] += pt.bary[k] * positions[v * 3 + a];
    }
  });
  return out;
}

/** Nearest ray hit (Moller-Trumbore) over `faceIds` or all faces: distance t and face, or null. */
export function raycastMesh(
  positions: Float32Array,
  faces: Uint32Array,
  origin: ArrayLike<number>,
  dir: ArrayLike<number>,
  faceIds?: ArrayLike<number>,
): { t: number; face: number } | null {
  let best: { t: number; face: number } | null = null;
  const n = faceIds ? faceIds.length : faces.length / 3;
  for (let k = 0; k < n; k++) {
    const f = faceIds ? faceIds[k] : k;
    const a = faces[f * 3] * 3,
      b = faces[f * 3 + 1] * 3,
      c = faces[f * 3 + 2] * 3;
    const e1x = positions[b] - positions[a],
      e1y = positions[b + 1] - positions[a + 1],
      e1z = positions[b + 2] - positions[a + 2];
    const e2x = positions[c] - positions[a],
      e2y = positions[c + 1] - positions[a + 1],
      e2z = positions[c + 2] - positions[a + 2];
    const px = dir[1] * e2z - dir[2] * e2y,
      py = dir[2] * e2x - dir[0] * e2z,
      pz = dir[0] * e2y - dir[1] * e2x;
    const det = e1x * px + e1y * py + e1z * pz;
    if (Math.abs(det) < 1e-18) continue;
    const inv = 1 / det;
    const tx = origin[0] - positions[a],
      ty = origin[1] - positions[a + 1],
      tz = origin[2] - positions[a + 2];
    const u = (tx * px + ty * py + tz * pz) * inv;
    if (u < 0 || u > 1) continue;
    const qx = ty * e1z - tz * e1y,
      qy = tz * e1x - tx * e1z,
      qz = tx * e1y - ty * e1x;
    const v = (dir[0] * qx + dir[1] * qy + dir[2] * qz) * inv;
    if (v < 0 || u + v > 1) continue;
    const t = (e2x * qx + e2y * qy + e2z * qz) * inv;
    if (t > 1e-9 && (!best || t < best.t)) best = { t, face: f };
  }
  return best;
}

/** A uniform grid over a point set for nearest-vertex queries. */
export interface VertexGrid {
  /** [V, 3] f32 the indexed points (kept by reference). */
  positions: Float32Array;
  cell: number;
  origin: [number, number, number];
  dims: [number, number, number];
  /** [cells + 1] u32 start of each cell's run in `items` (CSR). */
  cellStart: Uint32Array;
  /** [V] u32 point ids sorted by cell. */
  items: Uint32Array;
}

/** Builds a grid with cells of `cell` metres (default 5 mm: a few head vertices per cell). positions: [V, 3] f32. */
export function buildVertexGrid(positions: Float32Array, cell = 0.005): VertexGrid {
  if (!(cell > 0)) throw new Error(`buildVertexGrid: cell must be > 0, got ${cell}`);
  const V = positions.length / 3;
  if (V === 0) throw new Error("buildVertexGrid: no points");
  const lo = [Infinity, Infinity, Infinity],
    hi = [-Infinity, -Infinity, -Infinity];
  for (let i = 0; i < V; i++)
    for (let a = 0; a < 3; a++) {
      lo[a] = Math.min(lo[a], positions[i * 3 + a]);
      hi[a] = Math.max(hi[a], positions[i * 3 + a]);
    }
  const dims = [0, 1, 2].map((a) => Math.max(1, Math.ceil((hi[a] - lo[a]) / cell) + 1)) as [number, number, number];
  const cellOf = (i: number) => {
    const cx = Math.floor((positions[i * 3] - lo[0]) / cell),
      cy = Math.floor((positions[i * 3 + 1] - lo[1]) / cell),
      cz = Math.floor((positions[i * 3 + 2] - lo[2]) / cell);
    return (cz * dims[1] + cy) * dims[0] + cx;
  };
  const nCells = dims[0] * dims[1] * dims[2];
  const cellStart = new Uint32Array(nCells + 1);
  for (let i = 0; i < V; i++) cellStart[cellOf(i) + 1]++;
  for (let c = 0; c < nCells; c++) cellStart[c + 1] += cellStart[c];
  const fill = cellStart.slice(0, nCells);
  const items = new Uint32Array(V);
  for (let i = 0; i < V; i++) items[fill[cellOf(i)]++] = i;
  return { positions, cell, origin: [lo[0], lo[1], lo[2]], dims, cellStart, items };
}

/**
 * Index of the nearest grid point to each query point (exact: searches
 * shells of cells until no closer point can exist). points: [N, 3] f32;
 * returns [N] i32.
 */
export function closestVertex(grid: VertexGrid, points: Float32Array): Int32Array {
  const N = points.length / 3;
  const out = new Int32Array(N);
  const { dims, cell, origin, cellStart, items, positions: P } = grid;
  const maxShell = Math.max(dims[0], dims[1], dims[2]);
  for (let n = 0; n < N; n++) {
    const px = points[n * 3],
      py = points[n * 3 + 1],
      pz = points[n * 3 + 2];
    // Clamped, so queries outside the grid still search it (their shell bound is then 0 until the grid is covered).
    const c = [px, py, pz].map((v, a) => Math.min(dims[a] - 1, Math.max(0, Math.floor((v - origin[a]) / cell))));
    let best = -1,
      bestD = Infinity;
    for (let s = 0; s <= maxShell; s++) {
      // Stop once every cell not yet scanned is farther than the best point found.
      const bound = unscannedBound([px, py, pz], origin, cell, dims, c, s);
      if (bound === Infinity || (best >= 0 && bound > 0 && bound * bound > bestD)) break;
      for (let z = c[2] - s; z <= c[2] + s; z++) {
        if (z < 0 || z >= dims[2]) continue;
        for (let y = c[1] - s; y <= c[1] + s; y++) {
          if (y < 0 || y >= dims[1]) continue;
          for (let x = c[0] - s; x <= c[0] + s; x++) {
            if (x < 0 || x >= dims[0]) continue;
            if (Math.max(Math.abs(x - c[0]), Math.abs(y - c[1]), Math.abs(z - c[2])) !== s) continue;
            const id = (z * dims[1] + y) * dims[0] + x;
            for (let k = cellStart[id]; k < cellStart[id + 1]; k++) {
              const v = items[k];
              const d = (P[v * 3] - px) ** 2 + (P[v * 3 + 1] - py) ** 2 + (P[v * 3 + 2] - pz) ** 2;
              if (d < bestD || (d === bestD && v < best)) {
                bestD = d;
                best = v;
              }
            }
          }
        }
      }
    }
    out[n] = best;
  }
  return out;
}

/**
 * Lower bound on the distance from p to any point in a cell at Chebyshev
 * distance >= s from cell c (the cells not yet scanned); Infinity when no
 * such cell exists in the grid.
 */
function unscannedBound(p: number[], origin: number[], cell: number, dims: number[], c: number[], s: number): number {
  let d = Infinity;
  for (let a = 0; a < 3; a++) {
    if (c[a] + s <= dims[a] - 1) d = Math.min(d, origin[a] + (c[a] + s) * cell - p[a]);
    if (c[a] - s >= 0) d = Math.min(d, p[a] - origin[a] - (c[a] - s + 1) * cell);
  }
  return d;
}

/** Area-weighted random points on a set of faces (all by default): build once, draw many. */
export class SurfaceSampler {
  readonly totalArea: number;
  readonly faceIds: Uint32Array;
  private readonly cumArea: Float64Array;

  constructor(positions: Float32Array, faces: Uint32Array, faceIds?: ArrayLike<number>) {
    this.faceIds = faceIds ? Uint32Array.from(faceIds) : Uint32Array.from({ length: faces.length / 3 }, (_, f) => f);
    if (this.faceIds.length === 0) throw new Error("SurfaceSampler: no faces to sample");
    this.cumArea = new Float64Array(this.faceIds.length);
    let total = 0;
    this.faceIds.forEach((f, i) => {
      const [a, b, c] = [faces[f * 3]! * 3, faces[f * 3 + 1]! * 3, faces[f * 3 + 2]! * 3];
      const e1 = [0, 1, 2].map((d) => positions[b + d]! - positions[a + d]!);
      const e2 = [0, 1, 2].map((d) => positions[c + d]! - positions[a + d]!);
      total +=
        0.5 *
        Math.hypot(
          e1[1]! * e2[2]! - e1[2]! * e2[1]!,
          e1[2]! * e2[0]! - e1[0]! * e2[2]!,
          e1[0]! * e2[1]! - e1[1]! * e2[0]!,
        );
      this.cumArea[i] = total;
    });
    this.totalArea = total;
  }

  /** One point, uniform over the area: three draws of `rand` (face, then two for the barycentrics). */
  sample(rand: () => number): SurfacePoint {
    const target = rand() * this.totalArea;
    let lo = 0,
      hi = this.faceIds.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.cumArea[mid]! < target) lo = mid + 1;
      else hi = mid;
    }
    let u = rand(),
      v = rand();
    if (u + v > 1) [u, v] = [1 - u, 1 - v];
    return { face: this.faceIds[lo]!, bary: [1 - u - v, u, v] };
  }
}
