/**
 * The fitted head as the photo sees it: posed vertices and normals, their
 * pixel positions and depths, and a small triangle z-buffer (depth and face
 * id per pixel) for visibility tests and silhouettes.
 */
import { createHeadParams, poseVertices, type HeadModel } from "../../../render-core/head";
import type { Camera } from "../../../render-core/math/camera";
import { vertexNormals } from "../synthesise/scene";
import type { HeadFit } from "./fit-head";

export interface PosedHead {
  /** [V, 3] f32 world positions and unit normals of the fitted head. */
  positions: Float32Array;
  normals: Float32Array;
  /** [V, 2] f64 pixel positions and [V] f64 camera depths (metres along the view axis). */
  px: Float64Array;
  depth: Float64Array;
}

/** Poses the head with the fit's shape, expression and pose and projects it with the fit's camera. */
export function posedHead(head: HeadModel, fit: HeadFit): PosedHead {
  const positions = poseVertices(
    head,
    createHeadParams(head, { shape: fit.shape, expression: fit.expression, pose: fit.pose }),
  );
  const { px, depth } = projectVertices(fit.camera, positions);
  return { positions, normals: vertexNormals(positions, head.faces), px, depth };
}

/** Pixel positions [N, 2] and camera depths [N] of world points [N, 3]. */
export function projectVertices(camera: Camera, points: Float32Array): { px: Float64Array; depth: Float64Array } {
  const m = camera.worldToCamera,
    n = points.length / 3;
  const px = new Float64Array(n * 2),
    depth = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const x = points[i * 3],
      y = points[i * 3 + 1],
      z = points[i * 3 + 2];
    const cx = m[0] * x + m[1] * y + m[2] * z + m[3];
    const cy = m[4] * x + m[5] * y + m[6] * z + m[7];
    const cz = m[8] * x + m[9] * y + m[10] * z + m[11];
    depth[i] = cz;
    px[i * 2] = (camera.fx * cx) / cz + camera.cx;
    px[i * 2 + 1] = (camera.fy * cy) / cz + camera.cy;
  }
  return { px, depth };
}

/** Camera position in world space. */
export function cameraPosition(camera: Camera): [number, number, number] {
  const m = camera.worldToCamera;
  return [0, 1, 2].map((j) => -(m[j] * m[3] + m[4 + j] * m[7] + m[8 + j] * m[11])) as [number, number, number];
}

export interface MeshRaster {
  /** Raster size; pixel (i, j) covers image pixels [i / scale, (i + 1) / scale). */
  width: number;
  height: number;
  scale: number;
  /** [H, W] f32 nearest camera depth, Infinity where no face covers the pixel centre. */
  depth: Float32Array;
  /** [H, W] i32 the nearest face, -1 where none. */
  face: Int32Array;
}

/**
 * Z-buffer of triangles (faces [F, 3], or the subset `faceIds`) at `scale`
 * times the image resolution. Depth is interpolated as 1 / z (exact for a
 * perspective projection); pixel centres decide coverage.
 */
export function rasterizeMesh(
  px: Float64Array,
  depth: Float64Array,
  faces: Uint32Array,
  imageWidth: number,
  imageHeight: number,
  scale: number,
  faceIds?: ArrayLike<number>,
): MeshRaster {
  if (!(scale > 0 && scale <= 4)) throw new Error(`rasterizeMesh: scale must be in (0, 4], got ${scale}`);
  const W = Math.max(1, Math.round(imageWidth * scale)),
    H = Math.max(1, Math.round(imageHeight * scale));
  const zbuf = new Float32Array(W * H).fill(Infinity),
    fbuf = new Int32Array(W * H).fill(-1);
  const n = faceIds ? faceIds.length : faces.length / 3;
  for (let q = 0; q < n; q++) {
    const f = faceIds ? faceIds[q] : q;
    const a = faces[f * 3],
      b = faces[f * 3 + 1],
      c = faces[f * 3 + 2];
    if (!(depth[a] > 0 && depth[b] > 0 && depth[c] > 0)) continue;
    const ax = px[a * 2] * scale,
      ay = px[a * 2 + 1] * scale,
      bx = px[b * 2] * scale,
      by = px[b * 2 + 1] * scale,
      cx = px[c * 2] * scale,
      cy = px[c * 2 + 1] * scale;
    const area = (bx - ax) * (cy - ay) - (by - ay) * (cx - ax);
    if (area === 0) continue;
    const x0 = Math.max(0, Math.floor(Math.min(ax, bx, cx))),
      x1 = Math.min(W - 1, Math.ceil(Math.max(ax, bx, cx)));
    const y0 = Math.max(0, Math.floor(Math.min(ay, by, cy))),
      y1 = Math.min(H - 1, Math.ceil(Math.max(ay, by, cy)));
    const ia = 1 / depth[a],
      ib = 1 / depth[b],
      ic = 1 / depth[c];
    for (let y = y0; y <= y1; y++) {
      const v = y + 0.5;
      for (let x = x0; x <= x1; x++) {
        const u = x + 0.5;
        const wa = ((bx - u) * (cy - v) - (by - v) * (cx - u)) / area;
        const wb = ((cx - u) * (ay - v) - (cy - v) * (ax - u)) / area;
        const wc = 1 - wa - wb;
        if (wa < 0 || wb < 0 || wc < 0) continue;
        const z = 1 / (wa * ia + wb * ib + wc * ic);
        const p = y * W + x;
        if (z < zbuf[p]) {
          zbuf[p] = z;
          fbuf[p] = f;
        }
      }
    }
  }
  return { width: W, height: H, scale, depth: zbuf, face: fbuf };
}

/** Nearest raster depth under image pixel coordinates (u, v); Infinity outside. */
export function rasterDepthAt(r: MeshRaster, u: number, v: number): number {
  const x = Math.floor(u * r.scale),
    y = Math.floor(v * r.scale);
  if (x < 0 || y < 0 || x >= r.width || y >= r.height) return Infinity;
  return r.depth[y * r.width + x];
}

/** [V] i32 CSR offsets and [E] neighbour ids of the mesh's vertex graph (each edge both ways, no duplicates). */
export function vertexNeighbours(vertexCount: number, faces: Uint32Array): { start: Int32Array; ids: Int32Array } {
  const sets: Set<number>[] = Array.from({ length: vertexCount }, () => new Set());
  for (let t = 0; t < faces.length; t += 3) {
    for (let e = 0; e < 3; e++) {
      const a = faces[t + e],
        b = faces[t + ((e + 1) % 3)];
      sets[a].add(b);
      sets[b].add(a);
    }
  }
  const start = new Int32Array(vertexCount + 1);
  for (let v = 0; v < vertexCount; v++) start[v + 1] = start[v] + sets[v].size;
  const ids = new Int32Array(start[vertexCount]);
  sets.forEach((s, v) => ids.set([...s], start[v]));
  return { start, ids };
}
