/**
 * mlpLayer: one weight-normalised linear layer of an avatar MLP (weights
 * already folded on the host), for a whole batch: one thread per (row, unit).
 * CPU twin: render-core/avatar/mlp.ts (mlpForward). The host dispatches it
 * once per layer, ping-ponging two activation buffers.
 *
 * Steps, per thread (b, o):
 *   1. s = bias[o] + sum_i W[o, i] * in(b, i), where in(b, i) is src[b, i] for
 *      i < splitAt and the network input x[b, i - splitAt] after it (the skip
 *      connection's concatenation, without a copy)
 *   2. activation: 0 none, 1 softplus(100 s) / 100, 2 relu
 *   3. dst[b, o] = s
 *
 * Bindings:
 *   0 params   uniform            MlpLayerParams (render-core/avatar/mlp-gpu.ts)
 *   1 weights  read-only storage  every layer's W [out, in] and bias [out], packed; offsets in params
 *   2 src      read-only storage  [B, srcStride] f32  previous layer's activations (or x for layer 0)
 *   3 x        read-only storage  [B, xStride] f32    the network input
 *   4 dst      storage            [B, dstStride] f32
 * Reads constant WG.
 */
export const MLP_WGSL = /* wgsl */ `
@group(0) @binding(0) var<uniform> params: MlpLayerParams;
@group(0) @binding(1) var<storage, read> weights: array<f32>;
@group(0) @binding(2) var<storage, read> src: array<f32>;
@group(0) @binding(3) var<storage, read> x: array<f32>;
@group(0) @binding(4) var<storage, read_write> dst: array<f32>;

fn softplus100(s: f32) -> f32 {
  let y = 100.0 * s;
  // Stable on both sides: y + log(1 + e^-y) for y > 0, log(1 + e^y) otherwise.
  return select(log(1.0 + exp(y)), y + log(1.0 + exp(-y)), y > 0.0) / 100.0;
}

@compute @workgroup_size(WG)
fn mlpLayer(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = gid.x + gid.y * nwg.x * WG;
  if (t >= params.batch * params.outputs) { return; }
  let b = t / params.outputs;
  let o = t % params.outputs;
  var s = weights[params.biasOffset + o];
  let row = params.weightOffset + o * params.inputs;
  for (var i = 0u; i < params.inputs; i++) {
    var v: f32;
    if (i < params.splitAt) {
      v = src[b * params.srcStride + i];
    } else {
      v = x[b * params.xStride + i - params.splitAt];
    }
    s += weights[row + i] * v;
  }
  if (params.activation == 1u) {
    s = softplus100(s);
  } else if (params.activation == 2u) {
    s = max(s, 0.0);
  }
  dst[b * params.dstStride + o] = s;
}
`;
