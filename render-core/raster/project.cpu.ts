/**
 * CPU twin of shaders/raster/project.wgsl.ts (projectFwd): per splat, EWA
 * projection of the 3D covariance, low-pass, conic, 3-sigma radius, tiles
 * touched and SH colour for this view. Same conventions as the kernel:
 *  - the centre used for the Jacobian is clamped to FRUSTUM_CLAMP x the half
 *    field of view (W / (2 fx)), as 3DGS does, so J stays sane at the border;
 *  - radius = ceil(SIGMA_EXTENT * sqrt(mid + sqrt(max(0.1, mid^2 - det))));
 *  - culled splats (depth outside [near, far], det <= 0, no tile touched)
 *    get zeros in every field.
 * Arithmetic is float64; outputs are float32 like the GPU's.
 */
import type { SplatCloud } from "../splats/splat-cloud";
import { shRestCount } from "../splats/splat-cloud";
import { cameraCenter } from "../math/camera";
import type { Camera } from "../math/camera";
import { RASTER } from "./config";
import type { ProjectedSplats } from "./projected";
import { addShRest } from "./sh.cpu";

export interface TileGrid {
  tilesX: number;
  tilesY: number;
}

export function tileGridOf(camera: Camera): TileGrid {
  return { tilesX: Math.ceil(camera.width / RASTER.TILE), tilesY: Math.ceil(camera.height / RASTER.TILE) };
}

/**
 * Tile rectangle [minX, minY, maxX, maxY) of a splat, clamped to the grid;
 * the twin of shaders/common/tile-rect.wgsl.ts. Writes into `out` [4].
 */
export function tileRect(u: number, v: number, radius: number, grid: TileGrid, out: Int32Array): void {
  const t = RASTER.TILE;
  out[0] = clampInt(Math.floor((u - radius) / t), grid.tilesX);
  out[1] = clampInt(Math.floor((v - radius) / t), grid.tilesY);
  out[2] = clampInt(Math.floor((u + radius + t - 1) / t), grid.tilesX);
  out[3] = clampInt(Math.floor((v + radius + t - 1) / t), grid.tilesY);
}

function clampInt(x: number, max: number): number {
  return x < 0 ? 0 : x > max ? max : x;
}

/** Fills `out` (sized for cloud.count) with the projection of every splat. */
export function projectFwd(cloud: SplatCloud, camera: Camera, out: ProjectedSplats): void {
  const n = cloud.count;
  if (out.count < n) throw new Error(`projectFwd: output holds ${out.count} splats, cloud has ${n}`);
  const m = camera.worldToCamera;
  const r00 = m[0]!,
    r01 = m[1]!,
    r02 = m[2]!,
    t0 = m[3]!;
  const r10 = m[4]!,
    r11 = m[5]!,
    r12 = m[6]!,
    t1 = m[7]!;
  const r20 = m[8]!,
    r21 = m[9]!,
    r22 = m[10]!,
    t2 = m[11]!;
  const { fx, fy, cx, cy, near, far } = camera;
  const limX = (RASTER.FRUSTUM_CLAMP * 0.5 * camera.width) / fx;
  const limY = (RASTER.FRUSTUM_CLAMP * 0.5 * camera.height) / fy;
  const grid = tileGridOf(camera);
  const [ex, ey, ez] = cameraCenter(m);
  const rect = new Int32Array(4);
  const rgb = new Float64Array(3);
  const K = shRestCount(cloud.shDegree);
  const P = cloud.positions,
    S = cloud.scales,
    Q = cloud.rotations,
    O = cloud.opacities,
    C = cloud.colors;
  const { means2d, conics, depths, radii, colors, opacities, tilesTouched } = out;

  for (let i = 0; i < n; i++) {
    const px = P[i * 3]!,
      py = P[i * 3 + 1]!,
      pz = P[i * 3 + 2]!;
    const x = r00 * px + r01 * py + r02 * pz + t0;
    const y = r10 * px + r11 * py + r12 * pz + t1;
    const z = r20 * px + r21 * py + r22 * pz + t2;
    if (!(z >= near && z <= far)) {
      cull(out, i);
      continue;
    }
    // Rotation from the (w, x, y, z) quaternion, scaled columns M = R S.
    let qw = Q[i * 4]!,
      qx = Q[i * 4 + 1]!,
      qy = Q[i * 4 + 2]!,
      qz = Q[i * 4 + 3]!;
    const ql = Math.max(Math.hypot(qw, qx, qy, qz), 1e-12);
    qw /= ql;
    qx /= ql;
    qy /= ql;
    qz /= ql;
    const sx = S[i * 3]!,
      sy = S[i * 3 + 1]!,
      sz = S[i * 3 + 2]!;
    const m00 = (1 - 2 * (qy * qy + qz * qz)) * sx,
      m01 = 2 * (qx * qy - qw * qz) * sy,
      m02 = 2 * (qx * qz + qw * qy) * sz;
    const m10 = 2 * (qx * qy + qw * qz) * sx,
      m11 = (1 - 2 * (qx * qx + qz * qz)) * sy,
      m12 = 2 * (qy * qz - qw * qx) * sz;
    const m20 = 2 * (qx * qz - qw * qy) * sx,
      m21 = 2 * (qy * qz + qw * qx) * sy,
      m22 = (1 - 2 * (qx * qx + qy * qy)) * sz;
    // T = W M (camera-space scaled axes); covC = T T^T.
    const a00 = r00 * m00 + r01 * m10 + r02 * m20,
      a01 = r00 * m01 + r01 * m11 + r02 * m21,
      a02 = r00 * m02 + r01 * m12 + r02 * m22;
    const a10 = r10 * m00 + r11 * m10 + r12 * m20,
      a11 = r10 * m01 + r11 * m11 + r12 * m21,
      a12 = r10 * m02 + r11 * m12 + r12 * m22;
    const a20 = r20 * m00 + r21 * m10 + r22 * m20,
      a21 = r20 * m01 + r21 * m11 + r22 * m21,
      a22 = r20 * m02 + r21 * m12 + r22 * m22;
    const tx = Math.min(Math.max(x / z, -limX), limX) * z;
    const ty = Math.min(Math.max(y / z, -limY), limY) * z;
    // Rows of the 2x3 Jacobian: j0 = (fx/z, 0, -fx tx/z^2), j1 = (0, fy/z, -fy ty/z^2).
    const j00 = fx / z,
      j02 = (-fx * tx) / (z * z);
    const j11 = fy / z,
      j12 = (-fy * ty) / (z * z);
    // J T: 2x3, then cov2d = (J T)(J T)^T.
    const b00 = j00 * a00 + j02 * a20,
      b01 = j00 * a01 + j02 * a21,
      b02 = j00 * a02 + j02 * a22;
    const b10 = j11 * a10 + j12 * a20,
      b11 = j11 * a11 + j12 * a21,
      b12 = j11 * a12 + j12 * a22;
    const a = b00 * b00 + b01 * b01 + b02 * b02 + RASTER.LOWPASS;
    const b = b00 * b10 + b01 * b11 + b02 * b12;
    const c = b10 * b10 + b11 * b11 + b12 * b12 + RASTER.LOWPASS;
    const det = a * c - b * b;
    if (!(det > 0)) {
      cull(out, i);
      continue;
    }
    const mid = 0.5 * (a + c);
    const lambda = mid + Math.sqrt(Math.max(0.1, mid * mid - det));
    const radius = Math.ceil(RASTER.SIGMA_EXTENT * Math.sqrt(lambda));
    // Rounded to float32 as stored, so binning later sees the same rectangle.
    const u = Math.fround(fx * (x / z) + cx);
    const v = Math.fround(fy * (y / z) + cy);
    tileRect(u, v, radius, grid, rect);
    const touched = (rect[2]! - rect[0]!) * (rect[3]! - rect[1]!);
    if (touched <= 0) {
      cull(out, i);
      continue;
    }
    rgb[0] = C[i * 3]!;
    rgb[1] = C[i * 3 + 1]!;
    rgb[2] = C[i * 3 + 2]!;
    if (K > 0) {
      const dx = px - ex,
        dy = py - ey,
        dz = pz - ez;
      const dl = Math.hypot(dx, dy, dz) || 1;
      addShRest(cloud.shRest, i * K * 3, cloud.shDegree, dx / dl, dy / dl, dz / dl, rgb);
    }
    means2d[i * 2] = u;
    means2d[i * 2 + 1] = v;
    conics[i * 3] = c / det;
    conics[i * 3 + 1] = -b / det;
    conics[i * 3 + 2] = a / det;
    depths[i] = z;
    radii[i] = radius;
    colors[i * 3] = Math.max(rgb[0]!, 0);
    colors[i * 3 + 1] = Math.max(rgb[1]!, 0);
    colors[i * 3 + 2] = Math.max(rgb[2]!, 0);
    opacities[i] = O[i]!;
    tilesTouched[i] = touched;
  }
}

function cull(out: ProjectedSplats, i: number): void {
  out.means2d[i * 2] = out.means2d[i * 2 + 1] = 0;
  out.conics[i * 3] = out.conics[i * 3 + 1] = out.conics[i * 3 + 2] = 0;
  out.colors[i * 3] = out.colors[i * 3 + 1] = out.colors[i * 3 + 2] = 0;
  out.depths[i] = 0;
  out.radii[i] = 0;
  out.opacities[i] = 0;
  out.tilesTouched[i] = 0;
}
