/**
 * Measuring the dense binding (render-core/head/human-mesh-binding.json):
 * the project's heads rendered with random shape, expression, pose and
 * looks, Human's 478 points found on them as the
 * analyse stage finds them (face-api's box, then faceMesh), each point
 * back-projected onto the known rendered mesh (ray through the pixel -> face
 * and barycentrics, carried to the template), and a robust mean per point on
 * the template. A second pass keeps only the portraits where that mean point
 * is visible (a point behind the nose back-projects onto the nose); then each
 * point is triangulated over the portraits (face + normal offset), and
 * Human's correlated errors are summarised as principal patterns. Used by
 * server/cli/calibrate-dense.ts; the samples come from dense-samples.ts.
 */
import { closestOnTriangle, closestSurfacePoint, type SurfacePoint } from "../../../render-core/head/mesh-query";
import { createHeadParams, poseVertices, type HeadModel } from "../../../render-core/head";
import { cameraPosition, projectVertices, rasterizeMesh, type MeshRaster } from "./mesh-view";
import { MESH_POINTS, boundPoint, denseBinding, type DenseBindingTable } from "./dense-binding";
import type { DenseSample } from "./dense-samples";
import { eyeLineFrame } from "./landmark-convention";

/** The truth of a sample: posed vertices, their pixels and depths, a z-buffer of the whole head. */
function sampleView(head: HeadModel, s: DenseSample) {
  const posed = poseVertices(
    head,
    createHeadParams(head, { shape: s.identity.shape, expression: s.portrait.expression, pose: s.portrait.pose }),
  );
  const { px, depth } = projectVertices(s.portrait.camera, posed);
  const raster = rasterizeMesh(px, depth, head.faces, s.portrait.width, s.portrait.height, 1);
  return { posed, px, depth, raster };
}

/** Visible faces under the pixels within `r` of (u, v). */
function facesNear(raster: MeshRaster, u: number, v: number, r: number): number[] {
  const set = new Set<number>();
  const x0 = Math.floor(u),
    y0 = Math.floor(v);
  for (let y = y0 - r; y <= y0 + r; y++)
    for (let x = x0 - r; x <= x0 + r; x++) {
      if (x < 0 || y < 0 || x >= raster.width || y >= raster.height) continue;
      const f = raster.face[y * raster.width + x];
      if (f >= 0) set.add(f);
    }
  return [...set];
}

/**
 * Each mesh point of a sample carried onto the surface: the visible face the
 * ray through its pixel hits (or passes nearest, within 6 px, on the
 * outline), as a template position ([478, 3] f64, NaN where nothing is
 * near) and the mesh part of that face ([478] i8, -1 where none).
 */
export function backProject(head: HeadModel, s: DenseSample): { points: Float64Array; part: Int8Array } {
  const { posed, raster } = sampleView(head, s);
  const cam = s.portrait.camera,
    m = cam.worldToCamera;
  const origin = cameraPosition(cam);
  const out = new Float64Array(MESH_POINTS * 3).fill(NaN),
    part = new Int8Array(MESH_POINTS).fill(-1);
  const corner = (f: number, k: number) => posed.subarray(head.faces[f * 3 + k] * 3, head.faces[f * 3 + k] * 3 + 3);
  for (let i = 0; i < MESH_POINTS; i++) {
    const u = s.mesh[i * 3],
      v = s.mesh[i * 3 + 1];
    // Ray direction: camera (x, y, 1) turned back to the world by the transposed rotation.
    const dc = [(u - cam.cx) / cam.fx, (v - cam.cy) / cam.fy, 1];
    const d = [0, 1, 2].map((j) => m[j] * dc[0] + m[4 + j] * dc[1] + m[8 + j] * dc[2]);
    const dn = Math.hypot(d[0], d[1], d[2]);
    for (let a = 0; a < 3; a++) d[a] /= dn;
    let cands = facesNear(raster, u, v, 2);
    if (cands.length === 0) cands = facesNear(raster, u, v, 6);
    let best: { f: number; w: number[]; miss: number; t: number } | null = null;
    for (const f of cands) {
      const a = corner(f, 0),
        b = corner(f, 1),
        c = corner(f, 2);
      // The ray's crossing with the face's plane, then the closest point of the face to it.
      const e1 = [b[0] - a[0], b[1] - a[1], b[2] - a[2]],
        e2 = [c[0] - a[0], c[1] - a[1], c[2] - a[2]];
      const nrm = [e1[1] * e2[2] - e1[2] * e2[1], e1[2] * e2[0] - e1[0] * e2[2], e1[0] * e2[1] - e1[1] * e2[0]];
      const den = nrm[0] * d[0] + nrm[1] * d[1] + nrm[2] * d[2];
      if (Math.abs(den) < 1e-12) continue;
      const t = (nrm[0] * (a[0] - origin[0]) + nrm[1] * (a[1] - origin[1]) + nrm[2] * (a[2] - origin[2])) / den;
      const q = [origin[0] + t * d[0], origin[1] + t * d[1], origin[2] + t * d[2]];
      const [wa, wb, wc] = closestOnTriangle(q, a, b, c);
      const p = [0, 1, 2].map((k) => wa * a[k] + wb * b[k] + wc * c[k]);
      const op = [p[0] - origin[0], p[1] - origin[1], p[2] - origin[2]];
      const along = op[0] * d[0] + op[1] * d[1] + op[2] * d[2];
      const miss = Math.sqrt(Math.max(0, op[0] ** 2 + op[1] ** 2 + op[2] ** 2 - along * along));
      // A hit (miss ~ 0) on the nearest face wins; off the outline, the face the ray passes closest.
      const better =
        !best ||
        (miss < 1e-5 && best.miss < 1e-5 ? along < best.t : miss < best.miss - 1e-9) ||
        (miss < 1e-5 && best.miss >= 1e-5);
      if (better) best = { f, w: [wa, wb, wc], miss, t: along };
    }
    if (!best) continue;
    part[i] = head.vertexPart[head.faces[best.f * 3]];
    for (let a = 0; a < 3; a++) {
      let x = 0;
      for (let k = 0; k < 3; k++) x += best.w[k] * head.template[head.faces[best.f * 3 + k] * 3 + a];
      out[i * 3 + a] = x;
    }
  }
  return { points: out, part };
}

/** Robust centre of 3D points: the coordinate-wise median, then three trimmed means (distance <= max(2.5 x median, 1 mm)). */
function robustCentre(pts: number[][]): number[] {
  const med = (xs: number[]) => {
    const s = xs.slice().sort((a, b) => a - b);
    return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  };
  let c = [0, 1, 2].map((a) => med(pts.map((p) => p[a])));
  for (let it = 0; it < 3; it++) {
    const d = pts.map((p) => Math.hypot(p[0] - c[0], p[1] - c[1], p[2] - c[2]));
    const cut = Math.max(2.5 * med(d), 0.001);
    const keep = pts.filter((_, j) => d[j] <= cut);
    c = [0, 1, 2].map((a) => keep.reduce((s, p) => s + p[a], 0) / keep.length);
  }
  return c;
}

/** Faces whose three vertices are all of one mesh part, per part. */
function facesByPart(head: HeadModel): Map<number, number[]> {
  const out = new Map<number, number[]>();
  for (let f = 0; f < head.faceCount; f++) {
    const p = head.vertexPart[head.faces[f * 3]];
    if (head.vertexPart[head.faces[f * 3 + 1]] !== p || head.vertexPart[head.faces[f * 3 + 2]] !== p) continue;
    if (!out.has(p)) out.set(p, []);
    out.get(p)!.push(f);
  }
  return out;
}

const round = (v: number, d: number) => Number(v.toFixed(d));

/** A point bound to a face with an offset along the face's unit normal (metres): Human's points need not lie on the model's surface. */
interface Bound extends SurfacePoint {
  offset: number;
}

/** Bound points on posed vertices [V, 3]: [N, 3] f64. */
export function evalBound(head: HeadModel, vertices: ArrayLike<number>, pts: readonly Bound[]): Float64Array {
  const out = new Float64Array(pts.length * 3);
  pts.forEach((b, i) => out.set(boundPoint(vertices, head.faces, b.face, b.bary, b.offset), i * 3));
  return out;
}

/** The template point of a binding, and the binding of a template point (closest surface point among `faceIds`, signed normal offset). */
function templateOf(head: HeadModel, b: Bound): number[] {
  return Array.from(evalBound(head, head.template, [b]));
}
function bindTemplate(head: HeadModel, x: number[], faceIds: number[]): Bound {
  const sp = closestSurfacePoint(head.template, head.faces, x, faceIds);
  const w = sp.bary.map((v) => round(v, 5));
  const b: Bound = { face: sp.face, bary: [w[0], w[1], round(1 - w[0] - w[1], 5)], offset: 0 };
  const on = templateOf(head, b),
    withNormal = evalBound(head, head.template, [{ ...b, offset: 1 }]);
  let d = 0;
  for (let a = 0; a < 3; a++) d += (x[a] - on[a]) * (withNormal[a] - on[a]);
  return { ...b, offset: round(d, 5) };
}

/** Inter-ocular distance of a sample's true landmarks (pixels). */
const trueIo = (s: DenseSample) =>
  Math.hypot(
    s.portrait.landmarks[45 * 2] - s.portrait.landmarks[36 * 2],
    s.portrait.landmarks[45 * 2 + 1] - s.portrait.landmarks[36 * 2 + 1],
  );

/**
 * Triangulates a point from Human's 2D points on the samples `seen` (whose
 * true pose, shape and camera are known): the template point whose posed
 * projections are nearest Human's (Huber beyond 3 % of the inter-ocular
 * distance, a weak pull to the start), bound as face + normal offset.
 */
function triangulate(
  head: HeadModel,
  i: number,
  start: Bound,
  samples: DenseSample[],
  posed: Float32Array[],
  seen: boolean[],
  faceIds: number[],
): Bound {
  const ids = samples.map((_, j) => j).filter((j) => seen[j]);
  if (ids.length < 8) return start;
  const x0 = templateOf(head, start);
  let b = start,
    x = x0.slice();
  // Residuals in metres at the face: pixels / inter-ocular x the model's ~9 cm between the outer eye corners.
  const IO_M = 0.09,
    HUBER = 0.03 * IO_M,
    PRIOR_W = (0.003 / 0.01) ** 2;
  const resid = (b: Bound, xs: number[]) => {
    // The sample's local map of the template around face b: posed = a' + E' E^-1 (x - a).
    const out: number[] = [];
    for (const j of ids) {
      const s = samples[j];
      const b0 = { ...b, offset: 0 },
        b1 = { ...b, offset: 1 };
      const p = evalBound(head, posed[j], [b0]),
        pn = evalBound(head, posed[j], [b1]);
      const t = evalBound(head, head.template, [b0]),
        tn = evalBound(head, head.template, [b1]);
      // Move along the face's plane and normal: template offset (xs - t) mapped by the face's corners.
      const c = [0, 1, 2].map((k) => head.faces[b.face * 3 + k] * 3);
      const E = [0, 1].map((e) => [0, 1, 2].map((a) => head.template[c[e + 1] + a] - head.template[c[0] + a]));
      const Ep = [0, 1].map((e) => [0, 1, 2].map((a) => posed[j][c[e + 1] + a] - posed[j][c[0] + a]));
      const nT = [0, 1, 2].map((a) => tn[a] - t[a]),
        nP = [0, 1, 2].map((a) => pn[a] - p[a]);
      const dx = [0, 1, 2].map((a) => xs[a] - t[a]);
      // Coordinates of dx in (E0, E1, nT) by Cramer's rule.
      const det3 = (u: number[], v: number[], w: number[]) =>
        u[0] * (v[1] * w[2] - v[2] * w[1]) - u[1] * (v[0] * w[2] - v[2] * w[0]) + u[2] * (v[0] * w[1] - v[1] * w[0]);
      const D = det3(E[0], E[1], nT);
      const k0 = det3(dx, E[1], nT) / D,
        k1 = det3(E[0], dx, nT) / D,
        k2 = det3(E[0], E[1], dx) / D;
      const q = Float64Array.from([0, 1, 2], (a) => p[a] + k0 * Ep[0][a] + k1 * Ep[1][a] + k2 * nP[a]);
      const { px } = projectVertices(s.portrait.camera, Float32Array.from(q));
      const sc = IO_M / trueIo(s);
      out.push((px[0] - s.mesh[i * 3]) * sc, (px[1] - s.mesh[i * 3 + 1]) * sc);
    }
    return out;
  };
  for (let outer = 0; outer < 3; outer++) {
    for (let it = 0; it < 4; it++) {
      const r0 = resid(b, x);
      const w = r0.map((_, q) => {
        const e = Math.hypot(r0[q & ~1], r0[q | 1]);
        return e <= HUBER ? 1 : HUBER / e;
      });
      const h = 1e-5;
      const Jc = [0, 1, 2].map((a) => {
        const xh = x.slice();
        xh[a] += h;
        return resid(b, xh).map((v, q) => (v - r0[q]) / h);
      });
      const H = [0, 1, 2].map((a) => [0, 1, 2].map((c) => (a === c ? PRIOR_W : 0)));
      const g = [0, 1, 2].map((a) => PRIOR_W * (x[a] - x0[a]));
      for (let q = 0; q < r0.length; q++)
        for (let a = 0; a < 3; a++) {
          g[a] += w[q] * Jc[a][q] * r0[q];
          for (let c = 0; c < 3; c++) H[a][c] += w[q] * Jc[a][q] * Jc[c][q];
        }
      const step = solve3(
        H,
        g.map((v) => -v),
      );
      if (!step) break;
      x = x.map((v, a) => v + step[a]);
    }
    b = bindTemplate(head, x, faceIds);
    x = templateOf(head, b);
  }
  return b;
}

function solve3(A: number[][], y: number[]): number[] | null {
  const det3 = (m: number[][]) =>
    m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) -
    m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0]) +
    m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
  const D = det3(A);
  if (!(Math.abs(D) > 1e-30)) return null;
  return [0, 1, 2].map((c) => det3(A.map((row, r) => row.map((v, k) => (k === c ? y[r] : v)))) / D);
}

/** The binding table from samples (at least 8); `name` says what was measured. */
export function measureBinding(head: HeadModel, samples: DenseSample[], name: string): DenseBindingTable {
  if (samples.length < 8) throw new Error(`measureBinding: need at least 8 samples, got ${samples.length}`);
  const hits = samples.map((s) => backProject(head, s));
  const views = samples.map((s) => sampleView(head, s));
  const posed = views.map((v) => v.posed);
  const byPart = facesByPart(head);
  const t: DenseBindingTable = {
    name,
    portraits: samples.length,
    headModel: { vertexCount: head.vertexCount, faceCount: head.faceCount },
    face: [],
    bary: [],
    offsetMm: [],
    pointMm: [],
    scatterMm: [],
    residual: [],
    visible: [],
    modes: [],
    noise: [],
  };
  for (let i = 0; i < MESH_POINTS; i++) {
    const pts = (ok: (j: number) => boolean) =>
      hits.flatMap((h, j) =>
        ok(j) && h.part[i] >= 0 ? [{ p: [0, 1, 2].map((a) => h.points[i * 3 + a]), part: h.part[i] }] : [],
      );
    let part = -1;
    const bind = (all: { p: number[]; part: number }[]): Bound | null => {
      if (all.length < 3) return null;
      // The majority part first: an iris point that lands on a lid now and then stays on the eyeball.
      const count = new Map<number, number>();
      for (const h of all) count.set(h.part, (count.get(h.part) ?? 0) + 1);
      part = [...count].reduce((a, b) => (b[1] > a[1] ? b : a))[0];
      const c = robustCentre(all.filter((h) => h.part === part).map((h) => h.p));
      return { ...bindTemplate(head, c, byPart.get(part)!), offset: 0 };
    };
    const first = bind(pts(() => true));
    if (!first) {
      t.face.push(-1);
      t.bary.push(1, 0, 0);
      t.offsetMm.push(0);
      t.pointMm.push(0, 0, 0);
      t.scatterMm.push(0);
      t.residual.push(1);
      t.visible.push(0);
      continue;
    }
    // Second pass: only the portraits where the first pass's point is visible (one behind the nose lands on the nose).
    const seen = views.map((v, j) => {
      const p = evalBound(head, v.posed, [first]);
      const { px, depth } = projectVertices(samples[j].portrait.camera, Float32Array.from(p));
      const x = Math.floor(px[0]),
        y = Math.floor(px[1]);
      if (x < 0 || y < 0 || x >= v.raster.width || y >= v.raster.height) return false;
      return depth[0] <= v.raster.depth[y * v.raster.width + x] + 0.003;
    });
    const vis = pts((j) => seen[j]);
    const second = (vis.length >= 8 ? bind(vis) : null) ?? first;
    const b = triangulate(head, i, second, samples, posed, seen, byPart.get(part)!);
    const q = templateOf(head, b);
    let s3 = 0,
      n3 = 0,
      s2 = 0,
      n2 = 0;
    const onSurface = templateOf(head, { ...b, offset: 0 });
    hits.forEach((h, j) => {
      if (!seen[j]) return;
      if (h.part[i] >= 0) {
        const d = Math.hypot(...[0, 1, 2].map((a) => h.points[i * 3 + a] - onSurface[a])) * 1000;
        s3 += Math.min(d, 10) ** 2;
        n3++;
      }
      const s = samples[j];
      const px = projectVertices(s.portrait.camera, Float32Array.from(evalBound(head, posed[j], [b]))).px;
      const e = Math.hypot(px[0] - s.mesh[i * 3], px[1] - s.mesh[i * 3 + 1]) / trueIo(s);
      s2 += Math.min(e, 0.3) ** 2;
      n2++;
    });
    t.face.push(b.face);
    t.bary.push(...b.bary);
    t.offsetMm.push(round(b.offset * 1000, 3));
    t.pointMm.push(...q.map((v) => round(v * 1000, 3)));
    t.scatterMm.push(round(Math.sqrt(s3 / Math.max(1, n3)), 3));
    t.residual.push(round(Math.sqrt(s2 / Math.max(1, n2)), 4));
    t.visible.push(round(seen.filter(Boolean).length / samples.length, 3));
  }
  Object.assign(t, errorModes(head, samples, t));
  return t;
}

/** Error modes kept in the table (measured: 10 explain about 88 % of Human's offsets on held-out heads, 20 about 96 %). */
const MODES = 16;

/**
 * Human's correlated errors on the samples: per portrait, its points' offsets
 * from the table's bound points posed with the truth (eye-line frame of
 * face-api's landmarks, inter-ocular units, clipped at 0.2), their principal
 * patterns (eigenvectors of the second-moment matrix) and what each point
 * keeps beyond them.
 */
function errorModes(
  head: HeadModel,
  samples: DenseSample[],
  t: DenseBindingTable,
): Pick<DenseBindingTable, "modes" | "noise"> {
  const b = denseBinding(head, { ...t, modes: [], noise: new Array(MESH_POINTS).fill(0) });
  const D = MESH_POINTS * 2,
    N = samples.length;
  const pts: Bound[] = Array.from({ length: MESH_POINTS }, (_, i) => ({
    face: b.faces[i],
    bary: [b.bary[i * 3], b.bary[i * 3 + 1], b.bary[i * 3 + 2]],
    offset: b.offset[i],
  }));
  const E = samples.map((s) => {
    const posed = poseVertices(
      head,
      createHeadParams(head, { shape: s.identity.shape, expression: s.portrait.expression, pose: s.portrait.pose }),
    );
    const { px } = projectVertices(s.portrait.camera, Float32Array.from(evalBound(head, posed, pts)));
    const { cos, sin, io } = eyeLineFrame(s.landmarks);
    const e = new Float64Array(D);
    const clip = (v: number) => Math.max(-0.2, Math.min(0.2, v));
    for (let i = 0; i < MESH_POINTS; i++) {
      if (!b.usable[i]) continue;
      const dx = s.mesh[i * 3] - px[i * 2],
        dy = s.mesh[i * 3 + 1] - px[i * 2 + 1];
      e[i * 2] = clip((cos * dx + sin * dy) / io);
      e[i * 2 + 1] = clip((-sin * dx + cos * dy) / io);
    }
    return e;
  });
  const G = E.map((a) => E.map((c) => a.reduce((acc, v, k) => acc + v * c[k], 0)));
  const { values, vectors } = jacobiEigen(G);
  const K = Math.min(MODES, Math.floor(N / 3));
  const order = values.map((_, k) => k).sort((x, y) => values[y] - values[x]);
  const modes: number[] = [];
  const unit: Float64Array[] = [];
  for (const k of order.slice(0, K)) {
    const u = new Float64Array(D);
    E.forEach((e, j) => {
      for (let q = 0; q < D; q++) u[q] += vectors[j][k] * e[q];
    });
    const norm = Math.sqrt(values[k]);
    for (let q = 0; q < D; q++) u[q] /= norm;
    unit.push(u);
    const sd = Math.sqrt(values[k] / N);
    for (let q = 0; q < D; q++) modes.push(round(u[q] * sd, 5));
  }
  // What each point keeps beyond the modes (in-sample, so scaled up by the degrees of freedom the modes took).
  const rest = new Float64Array(MESH_POINTS);
  for (const e of E) {
    const r = Float64Array.from(e);
    for (const u of unit) {
      const c = r.reduce((acc, v, q) => acc + v * u[q], 0);
      for (let q = 0; q < D; q++) r[q] -= c * u[q];
    }
    for (let i = 0; i < MESH_POINTS; i++) rest[i] += (r[i * 2] ** 2 + r[i * 2 + 1] ** 2) / N;
  }
  const noise = Array.from(rest, (v, i) => (b.usable[i] ? round(Math.sqrt((v * N) / (N - K)), 4) : 1));
  return { modes, noise };
}

/** Eigenvalues and eigenvectors (columns: vectors[row][k]) of a symmetric matrix by cyclic Jacobi rotations. */
function jacobiEigen(M: number[][]): { values: number[]; vectors: number[][] } {
  const n = M.length,
    A = M.map((r) => r.slice()),
    V = Array.from({ length: n }, (_, r) => Array.from({ length: n }, (_, c): number => (r === c ? 1 : 0)));
  for (let sweep = 0; sweep < 60; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += A[p][q] ** 2;
    if (off < 1e-22) break;
    for (let p = 0; p < n; p++)
      for (let q = p + 1; q < n; q++) {
        if (Math.abs(A[p][q]) < 1e-300) continue;
        const theta = (A[q][q] - A[p][p]) / (2 * A[p][q]);
        const tt = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(tt * tt + 1),
          s = tt * c;
        for (let k = 0; k < n; k++) {
          const akp = A[k][p],
            akq = A[k][q];
          A[k][p] = c * akp - s * akq;
          A[k][q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = A[p][k],
            aqk = A[q][k];
          A[p][k] = c * apk - s * aqk;
          A[q][k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = V[k][p],
            vkq = V[k][q];
          V[k][p] = c * vkp - s * vkq;
          V[k][q] = s * vkp + c * vkq;
        }
      }
  }
  return { values: A.map((r, k) => r[k]), vectors: V };
}
