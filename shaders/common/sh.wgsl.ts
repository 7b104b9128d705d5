/**
 * Spherical-harmonics snippet (3DGS basis and sign conventions, degrees 1-3).
 * Defines shRestColor(base, degree, d) -> vec3<f32>: the view-dependent part
 * added to the base colour, for unit direction d (camera to splat).
 * Reads the `shRest` binding ([N, K, 3] f32, channel-minor) from `base` =
 * splat * K * 3. Returns zero for degree 0.
 */
export const SH_WGSL = /* wgsl */ `
fn shCoef(base: u32, k: u32) -> vec3<f32> {
  let o = base + k * 3u;
  return vec3<f32>(shRest[o], shRest[o + 1u], shRest[o + 2u]);
}

fn shRestColor(base: u32, degree: u32, d: vec3<f32>) -> vec3<f32> {
  if (degree == 0u) { return vec3<f32>(0.0); }
  let x = d.x;
  let y = d.y;
  let z = d.z;
  var c = 0.4886025119029199 * (-y * shCoef(base, 0u) + z * shCoef(base, 1u) - x * shCoef(base, 2u));
  if (degree < 2u) { return c; }
  let xx = x * x;
  let yy = y * y;
  let zz = z * z;
  c += 1.0925484305920792 * x * y * shCoef(base, 3u)
     - 1.0925484305920792 * y * z * shCoef(base, 4u)
     + 0.31539156525252005 * (2.0 * zz - xx - yy) * shCoef(base, 5u)
     - 1.0925484305920792 * x * z * shCoef(base, 6u)
     + 0.5462742152960396 * (xx - yy) * shCoef(base, 7u);
  if (degree < 3u) { return c; }
  c += -0.5900435899266435 * y * (3.0 * xx - yy) * shCoef(base, 8u)
     + 2.890611442640554 * x * y * z * shCoef(base, 9u)
     - 0.4570457994644658 * y * (4.0 * zz - xx - yy) * shCoef(base, 10u)
     + 0.3731763325901154 * z * (2.0 * zz - 3.0 * xx - 3.0 * yy) * shCoef(base, 11u)
     - 0.4570457994644658 * x * (4.0 * zz - xx - yy) * shCoef(base, 12u)
     + 1.445305721320277 * z * (xx - yy) * shCoef(base, 13u)
     - 0.5900435899266435 * x * (xx - 3.0 * yy) * shCoef(base, 14u);
  return c;
}
`;
