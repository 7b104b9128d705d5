/**
 * The avatar MLPs' training kernels (host: render-core/train/mlp-grad-gpu.ts;
 * CPU twin: render-core/train/mlp-grad.ts). One layer per dispatch; weight
 * norm is folded before (W) and unfolded after (dW -> dv, dg) on the host.
 *
 * mlpLayerTrain  per (b, o): pre = bias + W . in(b); post = act(pre)   (in(b): src row, then x past splitAt)
 * mlpActBackward per (b, o): ds = dy * act'(pre)
 * mlpGradWeight  per (o, i), plus i = inputs for the bias: dW[o, i] = sum_b ds[b, o] in(b, i); db[o] = sum_b ds[b, o]
 * mlpGradInput   per (b, i): g = sum_o ds[b, o] W[o, i]; columns under splitAt go to dSrc, the rest are added to dX
 *
 * Bindings (all kernels share one layout): 0 params (MlpGradParams), 1 weights (W then bias, this layer),
 * 2 src [B, srcStride], 3 x [B, xStride], 4 pre [B, outputs], 5 post-or-grad [B, outputs] (dy / ds),
 * 6 out A (post / ds / dW [out, in + 1] / dSrc [B, splitAt]), 7 out B (dX [B, xStride], mlpGradInput only).
 * Reads constant WG; needs GRID_WGSL and SOFTPLUS_WGSL (shaders/avatar/mlp.wgsl.ts).
 */
export const MLP_GRAD_WGSL = /* wgsl */ `
@group(0) @binding(0) var<uniform> params: MlpGradParams;
@group(0) @binding(1) var<storage, read> weights: array<f32>;
@group(0) @binding(2) var<storage, read> src: array<f32>;
@group(0) @binding(3) var<storage, read> x: array<f32>;
@group(0) @binding(4) var<storage, read> pre: array<f32>;
@group(0) @binding(5) var<storage, read> grad: array<f32>;
@group(0) @binding(6) var<storage, read_write> outA: array<f32>;
@group(0) @binding(7) var<storage, read_write> outB: array<f32>;

fn layerInput(b: u32, i: u32) -> f32 {
  if (i < params.splitAt) { return src[b * params.srcStride + i]; }
  return x[b * params.xStride + i - params.splitAt];
}

fn act(s: f32) -> f32 {
  if (params.activation == 1u) { return softplus100(s); }
  if (params.activation == 2u) { return max(s, 0.0); }
  return s;
}

fn actGrad(s: f32) -> f32 {
  if (params.activation == 1u) { return 1.0 / (1.0 + exp(-100.0 * s)); }
  if (params.activation == 2u) { return select(0.0, 1.0, s > 0.0); }
  return 1.0;
}

fn thread(wg: vec3<u32>, nwg: vec3<u32>, li: u32) -> u32 { return linearGroup(wg, nwg) * WG + li; }

@compute @workgroup_size(WG)
fn mlpLayerTrain(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let t = thread(wg, nwg, li);
  if (t >= params.batch * params.outputs) { return; }
  let b = t / params.outputs;
  let o = t % params.outputs;
  var s = weights[params.outputs * params.inputs + o];
  for (var i = 0u; i < params.inputs; i++) { s += weights[o * params.inputs + i] * layerInput(b, i); }
  outB[t] = s;
  outA[t] = act(s);
}

@compute @workgroup_size(WG)
fn mlpActBackward(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let t = thread(wg, nwg, li);
  if (t >= params.batch * params.outputs) { return; }
  outA[t] = grad[t] * actGrad(pre[t]);
}

@compute @workgroup_size(WG)
fn mlpGradWeight(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let t = thread(wg, nwg, li);
  let cols = params.inputs + 1u;
  if (t >= params.outputs * cols) { return; }
  let o = t / cols;
  let i = t % cols;
  var s = 0.0;
  for (var b = 0u; b < params.batch; b++) {
    let d = grad[b * params.outputs + o];
    s += select(d * layerInput(b, i), d, i == params.inputs);
  }
  outA[t] = s;
}

@compute @workgroup_size(WG)
fn mlpGradInput(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let t = thread(wg, nwg, li);
  if (t >= params.batch * params.inputs) { return; }
  let b = t / params.inputs;
  let i = t % params.inputs;
  var s = 0.0;
  for (var o = 0u; o < params.outputs; o++) { s += grad[b * params.outputs + o] * weights[o * params.inputs + i]; }
  if (i < params.splitAt) {
    outA[b * params.splitAt + i] = s;
  } else {
    let k = b * params.xStride + i - params.splitAt;
    outB[k] = outB[k] + s;
  }
}
`;
