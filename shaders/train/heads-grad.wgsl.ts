/**
 * Backward of the small per-Gaussian pieces (CPU twins in
 * render-core/train/heads-grad.ts; host render-core/train/heads-grad-gpu.ts):
 *
 * headsBwd  per Gaussian: d raw [11] from d heads [11] (colour/opacity sigmoid,
 *           scale sigmoid x SCALE_MAX, rotation normalisation)
 * peBwd     per point: d point [3] from d PE [3 + 6 F]
 *
 * Bindings: 0 params (HeadsGradParams: count), 1 x (raw [N, 11] or points [N, 3]),
 * 2 dIn (d heads [N, 11] or d PE [N, 3 + 6F]), 3 dOut. Reads constants WG, F, SCALE_MAX.
 */
export const HEADS_GRAD_WGSL = /* wgsl */ `
@group(0) @binding(0) var<uniform> params: HeadsGradParams;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> dIn: array<f32>;
@group(0) @binding(3) var<storage, read_write> dOut: array<f32>;

const PI = 3.14159265358979;

fn sigmoid(v: f32) -> f32 { return 1.0 / (1.0 + exp(-v)); }

@compute @workgroup_size(WG)
fn headsBwd(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let i = linearGroup(wg, nwg) * WG + li;
  if (i >= params.count) { return; }
  let o = i * 11u;
  for (var k = 0u; k < 3u; k++) {
    let s = sigmoid(x[o + k]);
    dOut[o + k] = dIn[o + k] * s * (1.0 - s);
    let t = sigmoid(x[o + 3u + k]);
    dOut[o + 3u + k] = dIn[o + 3u + k] * SCALE_MAX * t * (1.0 - t);
  }
  let s = sigmoid(x[o + 10u]);
  dOut[o + 10u] = dIn[o + 10u] * s * (1.0 - s);
  let q = vec4<f32>(x[o + 6u], x[o + 7u], x[o + 8u], x[o + 9u]);
  var l = length(q);
  if (l == 0.0) { l = 1.0; }
  let u = q / l;
  let dq = vec4<f32>(dIn[o + 6u], dIn[o + 7u], dIn[o + 8u], dIn[o + 9u]);
  let g = (dq - dot(dq, u) * u) / l;
  dOut[o + 6u] = g.x; dOut[o + 7u] = g.y; dOut[o + 8u] = g.z; dOut[o + 9u] = g.w;
}

@compute @workgroup_size(WG)
fn peBwd(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let i = linearGroup(wg, nwg) * WG + li;
  if (i >= params.count) { return; }
  let D = 3u + 6u * F;
  for (var a = 0u; a < 3u; a++) {
    var g = dIn[i * D + a];
    for (var k = 0u; k < F; k++) {
      let f = PI * f32(1u << k);
      let v = f * x[i * 3u + a];
      g += dIn[i * D + 3u + k * 6u + a] * f * cos(v) - dIn[i * D + 3u + k * 6u + 3u + a] * f * sin(v);
    }
    dOut[i * 3u + a] = g;
  }
}
`;
