/**
 * The projection's training pass, fast path: the same chain as the reference
 * twin (project-grad.ts: projectTrain, projectBackward; the maths is stated
 * there) written out per splat in scalars, with no arrays allocated per splat
 * and sqrt instead of Math.hypot. The backward recomputes the forward's
 * intermediates, which is cheaper than storing them.
 */
import type { Camera } from "../math/camera";
import { RASTER } from "../raster/config";
import type { GeometryGrad, Projection, SplatGeometry } from "./project-grad";

function checkGeometry(owner: string, g: SplatGeometry): void {
  const n = g.count;
  if (g.positions.length < n * 3 || g.scales.length < n * 3 || g.rotations.length < n * 4)
    throw new Error(
      `${owner}: ${n} splats need 3/3/4 numbers each, got positions ${g.positions.length}, scales ${g.scales.length}, rotations ${g.rotations.length}`,
    );
}

export function projectTrainFast(g: SplatGeometry, camera: Camera): Projection {
  checkGeometry("projectTrainFast", g);
  const n = g.count;
  const out: Projection = {
    means2d: new Float64Array(n * 2),
    conics: new Float64Array(n * 3),
    depths: new Float64Array(n),
  };
  const m = camera.worldToCamera;
  const w00 = m[0]!,
    w01 = m[1]!,
    w02 = m[2]!,
    w03 = m[3]!,
    w10 = m[4]!,
    w11 = m[5]!,
    w12 = m[6]!,
    w13 = m[7]!,
    w20 = m[8]!,
    w21 = m[9]!,
    w22 = m[10]!,
    w23 = m[11]!;
  const { fx, fy, cx, cy } = camera;
  const limX = (RASTER.FRUSTUM_CLAMP * 0.5 * camera.width) / fx,
    limY = (RASTER.FRUSTUM_CLAMP * 0.5 * camera.height) / fy;
  const LP = RASTER.LOWPASS;
  const P = g.positions,
    S = g.scales,
    Q = g.rotations;
  const { means2d, conics, depths } = out;
  for (let i = 0; i < n; i++) {
    const px = Number(P[i * 3]),
      py = Number(P[i * 3 + 1]),
      pz = Number(P[i * 3 + 2]);
    const x = w00 * px + w01 * py + w02 * pz + w03,
      y = w10 * px + w11 * py + w12 * pz + w13,
      z = w20 * px + w21 * py + w22 * pz + w23;
    let qw = Number(Q[i * 4]),
      qx = Number(Q[i * 4 + 1]),
      qy = Number(Q[i * 4 + 2]),
      qz = Number(Q[i * 4 + 3]);
    const ql = Math.max(Math.sqrt(qw * qw + qx * qx + qy * qy + qz * qz), 1e-12);
    qw /= ql;
    qx /= ql;
    qy /= ql;
    qz /= ql;
    const sx = Number(S[i * 3]),
      sy = Number(S[i * 3 + 1]),
      sz = Number(S[i * 3 + 2]);
    // M = R(q) diag(s).
    const m00 = (1 - 2 * (qy * qy + qz * qz)) * sx,
      m01 = 2 * (qx * qy - qw * qz) * sy,
      m02 = 2 * (qx * qz + qw * qy) * sz;
    const m10 = 2 * (qx * qy + qw * qz) * sx,
      m11 = (1 - 2 * (qx * qx + qz * qz)) * sy,
      m12 = 2 * (qy * qz - qw * qx) * sz;
    const m20 = 2 * (qx * qz - qw * qy) * sx,
      m21 = 2 * (qy * qz + qw * qx) * sy,
      m22 = (1 - 2 * (qx * qx + qy * qy)) * sz;
    // A = R_w M.
    const a00 = w00 * m00 + w01 * m10 + w02 * m20,
      a01 = w00 * m01 + w01 * m11 + w02 * m21,
      a02 = w00 * m02 + w01 * m12 + w02 * m22;
    const a10 = w10 * m00 + w11 * m10 + w12 * m20,
      a11 = w10 * m01 + w11 * m11 + w12 * m21,
      a12 = w10 * m02 + w11 * m12 + w12 * m22;
    const a20 = w20 * m00 + w21 * m10 + w22 * m20,
      a21 = w20 * m01 + w21 * m11 + w22 * m21,
      a22 = w20 * m02 + w21 * m12 + w22 * m22;
    const rx = x / z,
      ry = y / z;
    const tx = rx > limX ? limX * z : rx < -limX ? -limX * z : x,
      ty = ry > limY ? limY * z : ry < -limY ? -limY * z : y;
    const j00 = fx / z,
      j02 = (-fx * tx) / (z * z),
      j11 = fy / z,
      j12 = (-fy * ty) / (z * z);
    const b00 = j00 * a00 + j02 * a20,
      b01 = j00 * a01 + j02 * a21,
      b02 = j00 * a02 + j02 * a22;
    const b10 = j11 * a10 + j12 * a20,
      b11 = j11 * a11 + j12 * a21,
      b12 = j11 * a12 + j12 * a22;
    const a = b00 * b00 + b01 * b01 + b02 * b02 + LP,
      b = b00 * b10 + b01 * b11 + b02 * b12,
      c = b10 * b10 + b11 * b11 + b12 * b12 + LP;
    const det = a * c - b * b;
    means2d[i * 2] = (fx * x) / z + cx;
    means2d[i * 2 + 1] = (fy * y) / z + cy;
    conics[i * 3] = c / det;
    conics[i * 3 + 1] = -b / det;
    conics[i * 3 + 2] = a / det;
    depths[i] = z;
  }
  return out;
}

/** d loss / d geometry from d loss / d (means2d [N, 2], conics [N, 3]). */
export function projectBackwardFast(
  g: SplatGeometry,
  camera: Camera,
  dMeans2d: ArrayLike<number>,
  dConics: ArrayLike<number>,
): GeometryGrad {
  checkGeometry("projectBackwardFast", g);
  const n = g.count;
  if (dMeans2d.length < n * 2 || dConics.length < n * 3)
    throw new Error(`projectBackwardFast: ${n} splats need ${n * 2} mean and ${n * 3} conic gradients`);
  const grad: GeometryGrad = {
    positions: new Float64Array(n * 3),
    scales: new Float64Array(n * 3),
    rotations: new Float64Array(n * 4),
  };
  const m = camera.worldToCamera;
  const w00 = m[0]!,
    w01 = m[1]!,
    w02 = m[2]!,
    w03 = m[3]!,
    w10 = m[4]!,
    w11 = m[5]!,
    w12 = m[6]!,
    w13 = m[7]!,
    w20 = m[8]!,
    w21 = m[9]!,
    w22 = m[10]!,
    w23 = m[11]!;
  const { fx, fy } = camera;
  const limX = (RASTER.FRUSTUM_CLAMP * 0.5 * camera.width) / fx,
    limY = (RASTER.FRUSTUM_CLAMP * 0.5 * camera.height) / fy;
  const LP = RASTER.LOWPASS;
  const P = g.positions,
    S = g.scales,
    Q = g.rotations;
  for (let i = 0; i < n; i++) {
    const dca = Number(dConics[i * 3]),
      dcb = Number(dConics[i * 3 + 1]),
      dcc = Number(dConics[i * 3 + 2]),
      du = Number(dMeans2d[i * 2]),
      dv = Number(dMeans2d[i * 2 + 1]);
    // Splats no pixel saw have zero gradients: skip the work.
    if (dca === 0 && dcb === 0 && dcc === 0 && du === 0 && dv === 0) continue;
    // Forward, as projectTrainFast.
    const px = Number(P[i * 3]),
      py = Number(P[i * 3 + 1]),
      pz = Number(P[i * 3 + 2]);
    const x = w00 * px + w01 * py + w02 * pz + w03,
      y = w10 * px + w11 * py + w12 * pz + w13,
      z = w20 * px + w21 * py + w22 * pz + w23;
    const rw = Number(Q[i * 4]),
      rx0 = Number(Q[i * 4 + 1]),
      ry0 = Number(Q[i * 4 + 2]),
      rz0 = Number(Q[i * 4 + 3]);
    const ql = Math.max(Math.sqrt(rw * rw + rx0 * rx0 + ry0 * ry0 + rz0 * rz0), 1e-12);
    const qw = rw / ql,
      qx = rx0 / ql,
      qy = ry0 / ql,
      qz = rz0 / ql;
    const sx = Number(S[i * 3]),
      sy = Number(S[i * 3 + 1]),
      sz = Number(S[i * 3 + 2]);
    const R00 = 1 - 2 * (qy * qy + qz * qz),
      R01 = 2 * (qx * qy - qw * qz),
      R02 = 2 * (qx * qz + qw * qy);
    const R10 = 2 * (qx * qy + qw * qz),
      R11 = 1 - 2 * (qx * qx + qz * qz),
      R12 = 2 * (qy * qz - qw * qx);
    const R20 = 2 * (qx * qz - qw * qy),
      R21 = 2 * (qy * qz + qw * qx),
      R22 = 1 - 2 * (qx * qx + qy * qy);
    const m00 = R00 * sx,
      m01 = R01 * sy,
      m02 = R02 * sz,
      m10 = R10 * sx,
      m11 = R11 * sy,
      m12 = R12 * sz,
      m20 = R20 * sx,
      m21 = R21 * sy,
      m22 = R22 * sz;
    const a00 = w00 * m00 + w01 * m10 + w02 * m20,
      a01 = w00 * m01 + w01 * m11 + w02 * m21,
      a02 = w00 * m02 + w01 * m12 + w02 * m22;
    const a10 = w10 * m00 + w11 * m10 + w12 * m20,
      a11 = w10 * m01 + w11 * m11 + w12 * m21,
      a12 = w10 * m02 + w11 * m12 + w12 * m22;
    const a20 = w20 * m00 + w21 * m10 + w22 * m20,
      a21 = w20 * m01 + w21 * m11 + w22 * m21,
      a22 = w20 * m02 + w21 * m12 + w22 * m22;
    const rxz = x / z,
      ryz = y / z;
    // Clamped side: 0 inside the frustum, else its sign (the Jacobian's x or y term is then constant in x or y).
    const clampX = rxz > limX ? 1 : rxz < -limX ? -1 : 0,
      clampY = ryz > limY ? 1 : ryz < -limY ? -1 : 0;
    const tx = clampX ? clampX * limX * z : x,
      ty = clampY ? clampY * limY * z : y;
    const z2 = z * z;
    const j00 = fx / z,
      j02 = (-fx * tx) / z2,
      j11 = fy / z,
      j12 = (-fy * ty) / z2;
    const b00 = j00 * a00 + j02 * a20,
      b01 = j00 * a01 + j02 * a21,
      b02 = j00 * a02 + j02 * a22;
    const b10 = j11 * a10 + j12 * a20,
      b11 = j11 * a11 + j12 * a21,
      b12 = j11 * a12 + j12 * a22;
    const a = b00 * b00 + b01 * b01 + b02 * b02 + LP,
      b = b00 * b10 + b01 * b11 + b02 * b12,
      c = b10 * b10 + b11 * b11 + b12 * b12 + LP;
    const det = a * c - b * b,
      d2 = det * det;

    // conic = (c, -b, a) / det -> cov (a, b, c).
    const da = dca * ((-c * c) / d2) + dcb * ((b * c) / d2) + dcc * (1 / det - (a * c) / d2);
    const db = dca * ((2 * b * c) / d2) + dcb * (-1 / det - (2 * b * b) / d2) + dcc * ((2 * a * b) / d2);
    const dc = dca * (1 / det - (c * a) / d2) + dcb * ((a * b) / d2) + dcc * ((-a * a) / d2);
    // cov = B B^T + LOWPASS -> B.
    const dB00 = 2 * da * b00 + db * b10,
      dB01 = 2 * da * b01 + db * b11,
      dB02 = 2 * da * b02 + db * b12;
    const dB10 = db * b00 + 2 * dc * b10,
      dB11 = db * b01 + 2 * dc * b11,
      dB12 = db * b02 + 2 * dc * b12;
    // B = J A -> A and J.
    const dA00 = j00 * dB00,
      dA01 = j00 * dB01,
      dA02 = j00 * dB02;
    const dA10 = j11 * dB10,
      dA11 = j11 * dB11,
      dA12 = j11 * dB12;
    const dA20 = j02 * dB00 + j12 * dB10,
      dA21 = j02 * dB01 + j12 * dB11,
      dA22 = j02 * dB02 + j12 * dB12;
    const dj00 = dB00 * a00 + dB01 * a01 + dB02 * a02,
      dj02 = dB00 * a20 + dB01 * a21 + dB02 * a22,
      dj11 = dB10 * a10 + dB11 * a11 + dB12 * a12,
      dj12 = dB10 * a20 + dB11 * a21 + dB12 * a22;
    // J and (u, v) -> camera-space centre.
    let dX = (du * fx) / z,
      dY = (dv * fy) / z,
      dZ = (-du * fx * x) / z2 - (dv * fy * y) / z2;
    dZ += (-dj00 * fx) / z2 - (dj11 * fy) / z2;
    if (clampX) dZ += (dj02 * fx * clampX * limX) / z2;
    else {
      dX += (-dj02 * fx) / z2;
      dZ += (2 * dj02 * fx * x) / (z2 * z);
    }
    if (clampY) dZ += (dj12 * fy * clampY * limY) / z2;
    else {
      dY += (-dj12 * fy) / z2;
      dZ += (2 * dj12 * fy * y) / (z2 * z);
    }
    grad.positions[i * 3] = w00 * dX + w10 * dY + w20 * dZ;
    grad.positions[i * 3 + 1] = w01 * dX + w11 * dY + w21 * dZ;
    grad.positions[i * 3 + 2] = w02 * dX + w12 * dY + w22 * dZ;
    // A = R_w M -> M (R_w^T dA).
    const dM00 = w00 * dA00 + w10 * dA10 + w20 * dA20,
      dM01 = w00 * dA01 + w10 * dA11 + w20 * dA21,
      dM02 = w00 * dA02 + w10 * dA12 + w20 * dA22;
    const dM10 = w01 * dA00 + w11 * dA10 + w21 * dA20,
      dM11 = w01 * dA01 + w11 * dA11 + w21 * dA21,
      dM12 = w01 * dA02 + w11 * dA12 + w21 * dA22;
    const dM20 = w02 * dA00 + w12 * dA10 + w22 * dA20,
      dM21 = w02 * dA01 + w12 * dA11 + w22 * dA21,
      dM22 = w02 * dA02 + w12 * dA12 + w22 * dA22;
    // M = R diag(s) -> s and R.
    grad.scales[i * 3] = dM00 * R00 + dM10 * R10 + dM20 * R20;
    grad.scales[i * 3 + 1] = dM01 * R01 + dM11 * R11 + dM21 * R21;
    grad.scales[i * 3 + 2] = dM02 * R02 + dM12 * R12 + dM22 * R22;
    const r00 = dM00 * sx,
      r01 = dM01 * sy,
      r02 = dM02 * sz,
      r10 = dM10 * sx,
      r11 = dM11 * sy,
      r12 = dM12 * sz,
      r20 = dM20 * sx,
      r21 = dM21 * sy,
      r22 = dM22 * sz;
    // R(q^) -> q^ -> q (through the normalisation).
    const dqw = 2 * (-qz * r01 + qy * r02 + qz * r10 - qx * r12 - qy * r20 + qx * r21),
      dqx = 2 * (qy * r01 + qz * r02 + qy * r10 - 2 * qx * r11 - qw * r12 + qz * r20 + qw * r21 - 2 * qx * r22),
      dqy = 2 * (-2 * qy * r00 + qx * r01 + qw * r02 + qx * r10 + qz * r12 - qw * r20 + qz * r21 - 2 * qy * r22),
      dqz = 2 * (-2 * qz * r00 - qw * r01 + qx * r02 + qw * r10 - 2 * qz * r11 + qy * r12 + qx * r20 + qy * r21);
    const along = dqw * qw + dqx * qx + dqy * qy + dqz * qz;
    grad.rotations[i * 4] = (dqw - along * qw) / ql;
    grad.rotations[i * 4 + 1] = (dqx - along * qx) / ql;
    grad.rotations[i * 4 + 2] = (dqy - along * qy) / ql;
    grad.rotations[i * 4 + 3] = (dqz - along * qz) / ql;
  }
  return grad;
}
