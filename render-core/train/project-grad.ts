/**
 * The projection's training pass, CPU twin in float64: 3D centre, scale and
 * rotation of each splat -> pixel centre (u, v) and conic, as projectFwd
 * (render-core/raster/project.cpu.ts) computes them, and the backward.
 *
 * Chain (per splat): M = R(q) diag(s); A = R_w M (camera-space axes);
 * B = J A with the EWA Jacobian J at the (frustum-clamped) centre;
 * cov = B B^T + LOWPASS I = [[a, b], [b, c]]; conic = (c, -b, a) / (a c - b^2).
 * Where the centre is clamped to the frustum, J's x (or y) term does not
 * depend on the centre's x (or y), as in the reference.
 */
import type { Camera } from "../math/camera";
import { RASTER } from "../raster/config";

export interface SplatGeometry {
  count: number;
  /** [N, 3] world centres, [N, 3] scales (std dev), [N, 4] quaternions (w x y z, any length). */
  positions: ArrayLike<number>;
  scales: ArrayLike<number>;
  rotations: ArrayLike<number>;
}

export interface Projection {
  means2d: Float64Array;
  conics: Float64Array;
  depths: Float64Array;
}

export interface GeometryGrad {
  positions: Float64Array;
  scales: Float64Array;
  rotations: Float64Array;
}

function rotation(w: number, x: number, y: number, z: number): number[] {
  return [
    1 - 2 * (y * y + z * z),
    2 * (x * y - w * z),
    2 * (x * z + w * y),
    2 * (x * y + w * z),
    1 - 2 * (x * x + z * z),
    2 * (y * z - w * x),
    2 * (x * z - w * y),
    2 * (y * z + w * x),
    1 - 2 * (x * x + y * y),
  ];
}

interface Intermediates {
  cam: number[];
  q: number[];
  qLen: number;
  R: number[];
  A: number[];
  J: { j00: number; j02: number; j11: number; j12: number; clampX: number; clampY: number };
  B: number[];
  cov: [number, number, number];
  det: number;
}

function forwardOne(g: SplatGeometry, i: number, camera: Camera): Intermediates {
  const m = camera.worldToCamera;
  const p = [Number(g.positions[i * 3]), Number(g.positions[i * 3 + 1]), Number(g.positions[i * 3 + 2])];
  const cam = [0, 1, 2].map((r) => m[r * 4]! * p[0]! + m[r * 4 + 1]! * p[1]! + m[r * 4 + 2]! * p[2]! + m[r * 4 + 3]!);
  const qRaw = [0, 1, 2, 3].map((k) => Number(g.rotations[i * 4 + k]));
  const qLen = Math.max(Math.hypot(...qRaw), 1e-12);
  const q = qRaw.map((v) => v / qLen);
  const R = rotation(q[0]!, q[1]!, q[2]!, q[3]!);
  const s = [0, 1, 2].map((k) => Number(g.scales[i * 3 + k]));
  const M = R.map((v, k) => v * s[k % 3]!);
  const A = new Array<number>(9).fill(0);
  for (let r = 0; r < 3; r++)
    for (let c = 0; c < 3; c++) for (let k = 0; k < 3; k++) A[r * 3 + c]! += m[r * 4 + k]! * M[k * 3 + c]!;
  const [x, y, z] = cam as [number, number, number];
  const limX = (RASTER.FRUSTUM_CLAMP * 0.5 * camera.width) / camera.fx,
    limY = (RASTER.FRUSTUM_CLAMP * 0.5 * camera.height) / camera.fy;
  // clampX: 0 inside the frustum, else the sign of the clamped side.
  const clampX = x / z > limX ? 1 : x / z < -limX ? -1 : 0,
    clampY = y / z > limY ? 1 : y / z < -limY ? -1 : 0;
  const tx = clampX ? clampX * limX * z : x,
    ty = clampY ? clampY * limY * z : y;
  const J = {
    j00: camera.fx / z,
    j02: (-camera.fx * tx) / (z * z),
    j11: camera.fy / z,
    j12: (-camera.fy * ty) / (z * z),
    clampX,
    clampY,
  };
  const B = [0, 1, 2]
    .map((k) => J.j00 * A[k]! + J.j02 * A[6 + k]!)
    .concat([0, 1, 2].map((k) => J.j11 * A[3 + k]! + J.j12 * A[6 + k]!));
  const a = B[0]! ** 2 + B[1]! ** 2 + B[2]! ** 2 + RASTER.LOWPASS;
  const b = B[0]! * B[3]! + B[1]! * B[4]! + B[2]! * B[5]!;
  const c = B[3]! ** 2 + B[4]! ** 2 + B[5]! ** 2 + RASTER.LOWPASS;
  return { cam, q, qLen, R, A, J, B, cov: [a, b, c], det: a * c - b * b };
}

export function projectTrain(g: SplatGeometry, camera: Camera): Projection {
  const out: Projection = {
    means2d: new Float64Array(g.count * 2),
    conics: new Float64Array(g.count * 3),
    depths: new Float64Array(g.count),
  };
  for (let i = 0; i < g.count; i++) {
    const f = forwardOne(g, i, camera);
    const [x, y, z] = f.cam as [number, number, number];
    const [a, b, c] = f.cov;
    out.means2d[i * 2] = (camera.fx * x) / z + camera.cx;
    out.means2d[i * 2 + 1] = (camera.fy * y) / z + camera.cy;
    out.conics.set([c / f.det, -b / f.det, a / f.det], i * 3);
    out.depths[i] = z;
  }
  return out;
}

/** d loss / d geometry from d loss / d (means2d [N, 2], conics [N, 3]). */
export function projectBackward(
  g: SplatGeometry,
  camera: Camera,
  dMeans2d: ArrayLike<number>,
  dConics: ArrayLike<number>,
): GeometryGrad {
  const grad: GeometryGrad = {
    positions: new Float64Array(g.count * 3),
    scales: new Float64Array(g.count * 3),
    rotations: new Float64Array(g.count * 4),
  };
  const m = camera.worldToCamera;
  const { fx, fy } = camera;
  for (let i = 0; i < g.count; i++) {
    const f = forwardOne(g, i, camera);
    const [x, y, z] = f.cam as [number, number, number];
    const [a, b, c] = f.cov;
    const det = f.det,
      d2 = det * det;
    const dca = Number(dConics[i * 3]),
      dcb = Number(dConics[i * 3 + 1]),
      dcc = Number(dConics[i * 3 + 2]);
    // conic = (c, -b, a) / det -> cov (a, b, c).
    const da = dca * ((-c * c) / d2) + dcb * ((b * c) / d2) + dcc * (1 / det - (a * c) / d2);
    const db = dca * ((2 * b * c) / d2) + dcb * (-1 / det - (2 * b * b) / d2) + dcc * ((2 * a * b) / d2);
    const dc = dca * (1 / det - (c * a) / d2) + dcb * ((a * b) / d2) + dcc * ((-a * a) / d2);
    // cov = B B^T -> B.
    const B = f.B,
      dB = new Array<number>(6);
    for (let k = 0; k < 3; k++) {
      dB[k] = 2 * da * B[k]! + db * B[3 + k]!;
      dB[3 + k] = db * B[k]! + 2 * dc * B[3 + k]!;
    }
    // B = J A -> A and J.
    const A = f.A,
      dA = new Array<number>(9).fill(0);
    let dj00 = 0,
      dj02 = 0,
      dj11 = 0,
      dj12 = 0;
    for (let k = 0; k < 3; k++) {
      dA[k]! += f.J.j00 * dB[k]!;
      dA[3 + k]! += f.J.j11 * dB[3 + k]!;
      dA[6 + k]! += f.J.j02 * dB[k]! + f.J.j12 * dB[3 + k]!;
      dj00 += dB[k]! * A[k]!;
      dj02 += dB[k]! * A[6 + k]!;
      dj11 += dB[3 + k]! * A[3 + k]!;
      dj12 += dB[3 + k]! * A[6 + k]!;
    }
    // J and (u, v) -> camera-space centre.
    const dCam = [0, 0, 0];
    const du = Number(dMeans2d[i * 2]),
      dv = Number(dMeans2d[i * 2 + 1]);
    dCam[0]! += (du * fx) / z;
    dCam[1]! += (dv * fy) / z;
    dCam[2]! += (-du * fx * x) / (z * z) - (dv * fy * y) / (z * z);
    dCam[2]! += (-dj00 * fx) / (z * z) - (dj11 * fy) / (z * z);
    const limX = (RASTER.FRUSTUM_CLAMP * 0.5 * camera.width) / fx,
      limY = (RASTER.FRUSTUM_CLAMP * 0.5 * camera.height) / fy;
    if (f.J.clampX) dCam[2]! += (dj02 * fx * f.J.clampX * limX) / (z * z);
    else {
      dCam[0]! += (-dj02 * fx) / (z * z);
      dCam[2]! += (2 * dj02 * fx * x) / (z * z * z);
    }
    if (f.J.clampY) dCam[2]! += (dj12 * fy * f.J.clampY * limY) / (z * z);
    else {
      dCam[1]! += (-dj12 * fy) / (z * z);
      dCam[2]! += (2 * dj12 * fy * y) / (z * z * z);
    }
    for (let k = 0; k < 3; k++)
      grad.positions[i * 3 + k] = m[k]! * dCam[0]! + m[4 + k]! * dCam[1]! + m[8 + k]! * dCam[2]!;
    // A = R_w M -> M; M = R diag(s) -> s and R.
    const dM = new Array<number>(9).fill(0);
    for (let r = 0; r < 3; r++)
      for (let c2 = 0; c2 < 3; c2++) for (let k = 0; k < 3; k++) dM[k * 3 + c2]! += m[r * 4 + k]! * dA[r * 3 + c2]!;
    const s = [0, 1, 2].map((k) => Number(g.scales[i * 3 + k]));
    const dR = dM.map((v, k) => v * s[k % 3]!);
    for (let k = 0; k < 3; k++)
      grad.scales[i * 3 + k] = dM[k]! * f.R[k]! + dM[3 + k]! * f.R[3 + k]! + dM[6 + k]! * f.R[6 + k]!;
    // R(q^) -> q^ -> q (through the normalisation).
    const [w, qx, qy, qz] = f.q as [number, number, number, number];
    const [r00, r01, r02, r10, r11, r12, r20, r21, r22] = dR as [
      number,
      number,
      number,
      number,
      number,
      number,
      number,
      number,
      number,
    ];
    const dq = [
      2 * (-qz * r01 + qy * r02 + qz * r10 - qx * r12 - qy * r20 + qx * r21),
      2 * (qy * r01 + qz * r02 + qy * r10 - 2 * qx * r11 - w * r12 + qz * r20 + w * r21 - 2 * qx * r22),
      2 * (-2 * qy * r00 + qx * r01 + w * r02 + qx * r10 + qz * r12 - w * r20 + qz * r21 - 2 * qy * r22),
      2 * (-2 * qz * r00 - w * r01 + qx * r02 + w * r10 - 2 * qz * r11 + qy * r12 + qx * r20 + qy * r21),
    ];
    const along = dq[0]! * w + dq[1]! * qx + dq[2]! * qy + dq[3]! * qz;
    for (let k = 0; k < 4; k++) grad.rotations[i * 4 + k] = (dq[k]! - along * f.q[k]!) / f.qLen;
  }
  return grad;
}
