/**
 * mlpLayer: one weight-normalised linear layer of an avatar MLP (weights
 * already folded on the host), for a whole batch, as a tiled matrix product:
 * a workgroup computes a TR x TO block of (row, unit) outputs, staging TK-wide
 * slices of the inputs and the weights in workgroup memory, and each of its
 * 256 threads accumulates a 4 x 4 sub-block. On a real GPU this reads each
 * weight once per TR rows instead of once per row.
 * CPU twin: render-core/avatar/mlp.ts (mlpForward). The host dispatches it
 * once per layer, ping-ponging two activation buffers.
 *
 * Per output (b, o):
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
 * Reads constants TR, TO (64), TK (16); needs SOFTPLUS_WGSL and GRID_WGSL; workgroup size 256 = (TR / 4) x (TO / 4).
 * Dispatch: ceil(B / TR) x ceil(outputs / TO) workgroups, split with linearGroup.
 */
/** softplus(100 s) / 100, the avatar networks' activation (mlpLayer and the training kernels share it). */
export const SOFTPLUS_WGSL = /* wgsl */ `
fn softplus100(s: f32) -> f32 {
  let y = 100.0 * s;
  // Stable on both sides: y + log(1 + e^-y) for y > 0, log(1 + e^y) otherwise.
  return select(log(1.0 + exp(y)), y + log(1.0 + exp(-y)), y > 0.0) / 100.0;
}
`;

export const MLP_WGSL = /* wgsl */ `
@group(0) @binding(0) var<uniform> params: MlpLayerParams;
@group(0) @binding(1) var<storage, read> weights: array<f32>;
@group(0) @binding(2) var<storage, read> src: array<f32>;
@group(0) @binding(3) var<storage, read> x: array<f32>;
@group(0) @binding(4) var<storage, read_write> dst: array<f32>;

// Staged slices, k-major: xs[k * TR + r], ws[k * TO + o].
var<workgroup> xs: array<f32, TR * TK>;
var<workgroup> ws: array<f32, TO * TK>;

fn layerInput(b: u32, i: u32) -> f32 {
  if (b >= params.batch || i >= params.inputs) { return 0.0; }
  if (i < params.splitAt) { return src[b * params.srcStride + i]; }
  return x[b * params.xStride + i - params.splitAt];
}

fn layerWeight(o: u32, i: u32) -> f32 {
  if (o >= params.outputs || i >= params.inputs) { return 0.0; }
  return weights[params.weightOffset + o * params.inputs + i];
}

@compute @workgroup_size(256)
fn mlpLayer(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let tilesO = (params.outputs + TO - 1u) / TO;
  let tile = linearGroup(wg, nwg);
  // Every thread stays to the end: the barriers below need uniform control flow.
  let row0 = (tile / tilesO) * TR;
  let out0 = (tile % tilesO) * TO;
  let ty = li / (TO / 4u);
  let tx = li % (TO / 4u);
  var acc: array<vec4<f32>, 4>;
  for (var k0 = 0u; k0 < params.inputs; k0 += TK) {
    for (var e = li; e < TR * TK; e += 256u) {
      xs[(e % TK) * TR + e / TK] = layerInput(row0 + e / TK, k0 + e % TK);
    }
    for (var e = li; e < TO * TK; e += 256u) {
      ws[(e % TK) * TO + e / TK] = layerWeight(out0 + e / TK, k0 + e % TK);
    }
    workgroupBarrier();
    for (var k = 0u; k < TK; k++) {
      let w = vec4<f32>(ws[k * TO + tx * 4u], ws[k * TO + tx * 4u + 1u], ws[k * TO + tx * 4u + 2u], ws[k * TO + tx * 4u + 3u]);
      for (var r = 0u; r < 4u; r++) {
        acc[r] += xs[k * TR + ty * 4u + r] * w;
      }
    }
    workgroupBarrier();
  }
  for (var r = 0u; r < 4u; r++) {
    let b = row0 + ty * 4u + r;
    if (b >= params.batch) { continue; }
    for (var c = 0u; c < 4u; c++) {
      let o = out0 + tx * 4u + c;
      if (o >= params.outputs) { continue; }
      var s = acc[r][c] + weights[params.biasOffset + o];
      if (params.activation == 1u) {
        s = softplus100(s);
      } else if (params.activation == 2u) {
        s = max(s, 0.0);
      }
      dst[b * params.dstStride + o] = s;
    }
  }
}
`;
