/**
 * adamStep: one Adam update of a parameter range, one thread per parameter.
 * CPU twin: render-core/train/adam.ts (adamUpdate). Host: render-core/train/adam-gpu.ts.
 *
 *   g = grad[k] + l2 param[k];  m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2
 *   param[k] -= lr (m / c1) / (sqrt(v / c2) + eps),   k = offset + thread
 *
 * Bindings:
 *   0 params  uniform            AdamParams (offset, count, lr, beta1, beta2, eps, c1, c2, l2)
 *   1 param   storage            [P] f32, updated in place
 *   2 grad    read-only storage  [P] f32
 *   3 m       storage            [P] f32 first moments
 *   4 v       storage            [P] f32 second moments
 * Reads constant WG; needs GRID_WGSL.
 */
export const ADAM_WGSL = /* wgsl */ `
@group(0) @binding(0) var<uniform> params: AdamParams;
@group(0) @binding(1) var<storage, read_write> param: array<f32>;
@group(0) @binding(2) var<storage, read> grad: array<f32>;
@group(0) @binding(3) var<storage, read_write> m: array<f32>;
@group(0) @binding(4) var<storage, read_write> v: array<f32>;

@compute @workgroup_size(WG)
fn adamStep(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let t = linearGroup(wg, nwg) * WG + li;
  if (t >= params.count) { return; }
  let k = params.offset + t;
  let g = grad[k] + params.l2 * param[k];
  let mk = params.beta1 * m[k] + (1.0 - params.beta1) * g;
  let vk = params.beta2 * v[k] + (1.0 - params.beta2) * g * g;
  m[k] = mk;
  v[k] = vk;
  param[k] = param[k] - params.lr * (mk / params.c1) / (sqrt(vk / params.c2) + params.eps);
}
`;
