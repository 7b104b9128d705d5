/**
 * CPU twin of shaders/common/sh.wgsl.ts: the view-dependent part of the
 * colour from the higher SH bands (3DGS basis and signs), degrees 1-3.
 * Adds into `rgb` [3]; `shRest` is [N, K, 3] channel-minor, read from `base`.
 */
const C1 = 0.4886025119029199;
const C2 = [1.0925484305920792, -1.0925484305920792, 0.31539156525252005, -1.0925484305920792, 0.5462742152960396];
const C3 = [
  -0.5900435899266435, 2.890611442640554, -0.4570457994644658, 0.3731763325901154, -0.4570457994644658,
  1.445305721320277, -0.5900435899266435,
];

/** Basis values of bands 1-3 for one direction; module scratch, no per-splat allocation. */
const basis = new Float64Array(15);

export function addShRest(
  shRest: Float32Array,
  base: number,
  degree: number,
  x: number,
  y: number,
  z: number,
  rgb: Float64Array,
): void {
  if (degree < 1) return;
  basis[0] = -C1 * y;
  basis[1] = C1 * z;
  basis[2] = -C1 * x;
  let count = 3;
  if (degree >= 2) {
    const xx = x * x,
      yy = y * y,
      zz = z * z;
    basis[3] = C2[0]! * x * y;
    basis[4] = C2[1]! * y * z;
    basis[5] = C2[2]! * (2 * zz - xx - yy);
    basis[6] = C2[3]! * x * z;
    basis[7] = C2[4]! * (xx - yy);
    count = 8;
    if (degree >= 3) {
      basis[8] = C3[0]! * y * (3 * xx - yy);
      basis[9] = C3[1]! * x * y * z;
      basis[10] = C3[2]! * y * (4 * zz - xx - yy);
      basis[11] = C3[3]! * z * (2 * zz - 3 * xx - 3 * yy);
      basis[12] = C3[4]! * x * (4 * zz - xx - yy);
      basis[13] = C3[5]! * z * (xx - yy);
      basis[14] = C3[6]! * x * (xx - 3 * yy);
      count = 15;
    }
  }
  for (let k = 0; k < count; k++) {
    const o = base + k * 3;
    rgb[0] = rgb[0]! + basis[k]! * shRest[o]!;
    rgb[1] = rgb[1]! + basis[k]! * shRest[o + 1]!;
    rgb[2] = rgb[2]! + basis[k]! * shRest[o + 2]!;
  }
}
