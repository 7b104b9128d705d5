/**
 * The avatar MLPs' training kernels, beside their one forward: mlpLayer
 * (shaders/avatar/mlp.wgsl.ts, the runtime's tiled layer) runs the training
 * forward too; these fold the weights before it and run its backward after.
 * Host: render-core/train/mlp-grad-gpu.ts; CPU twin: render-core/train/mlp-grad.ts
 * (mlpForwardTrain, mlpBackward; the maths is stated there).
 *
 * A layer of `inFull` inputs sees `inputs` (= rw) per-row columns and, for the
 * layers the conditioning enters (the first and the skip layer), `condCount` (S)
 * columns that are the same for every row: they are folded into the bias per
 * batch (mlpCondBias) and their gradients come from the summed row gradient.
 *
 * mlpFold           per output o: scale = g / max(|v_o|, 1e-12); packed W[o, i < rw] = v scale; packed b = b
 * mlpCondBias       per o: packed b[o] = b[o] + scale[o] sum_j v[o, rw + j] cond[j]
 * mlpLayerBwdAct    per (b, o): ds = dy act'(post); act' from the output: softplus100' = 1 - exp(-100 post), relu' = post > 0
 * mlpLayerBwdWeight per (o, i <= rw): dW[o, i] += sum_b ds[b, o] in(b, i); i = rw is the bias (column inFull of dW),
 *                   whose sum also goes to dBias (the batch's, for the shared columns)
 * mlpLayerBwdInput  per (b, i < rw): g = sum_o ds[b, o] W[o, i]; i < splitAt: dSrc[b, i] = g, else dX[b, i - splitAt] += g
 * mlpCondBwdWeight  per (o, j < S): dW[o, rw + j] += dBias[o] cond[j]
 * mlpCondBwdInput   per j: dCond[j] += sum_o dBias[o] scale[o] v[o, rw + j]
 * mlpUnfold         per o: n = |v_o|, u = v / n, along = dW_o . u: dg = along, dv = (g / n)(dW_o - along u), db = dW[o, inFull]
 *
 * Buffers: net [P] f32 flat v | g | b per layer (render-core/avatar/mlp.ts); packed [W_own | b] per layer, the
 * runtime's layout; rowScale and dBias [sum of outputs] (offset rowOffset); dW [out, inFull + 1] per layer (offset
 * dwOffset), summed over the step's frames and batches; cond [S]; src [B, srcStride]; x [B, xStride]; post, dy, ds [B, out].
 * Reads constant WG; needs GRID_WGSL and the MlpTrainParams struct.
 */
const HEADER = /* wgsl */ `
fn thread(wg: vec3<u32>, nwg: vec3<u32>, li: u32) -> u32 { return linearGroup(wg, nwg) * WG + li; }
`;

export const MLP_FOLD_WGSL = /* wgsl */ `
@group(0) @binding(0) var<uniform> params: MlpTrainParams;
@group(0) @binding(1) var<storage, read> net: array<f32>;
@group(0) @binding(2) var<storage, read_write> packed: array<f32>;
@group(0) @binding(3) var<storage, read_write> rowScale: array<f32>;
${HEADER}
@compute @workgroup_size(WG)
fn mlpFold(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let o = thread(wg, nwg, li);
  if (o >= params.outputs) { return; }
  let row = params.vOffset + o * params.inFull;
  var n2 = 0.0;
  for (var i = 0u; i < params.inFull; i++) { n2 += net[row + i] * net[row + i]; }
  let scale = net[params.gOffset + o] / max(sqrt(n2), 1e-12);
  rowScale[params.rowOffset + o] = scale;
  for (var i = 0u; i < params.inputs; i++) { packed[params.packedW + o * params.inputs + i] = net[row + i] * scale; }
  packed[params.packedB + o] = net[params.bOffset + o];
}
`;

export const MLP_COND_BIAS_WGSL = /* wgsl */ `
@group(0) @binding(0) var<uniform> params: MlpTrainParams;
@group(0) @binding(1) var<storage, read> net: array<f32>;
@group(0) @binding(2) var<storage, read> rowScale: array<f32>;
@group(0) @binding(3) var<storage, read> cond: array<f32>;
@group(0) @binding(4) var<storage, read_write> packed: array<f32>;
${HEADER}
@compute @workgroup_size(WG)
fn mlpCondBias(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let o = thread(wg, nwg, li);
  if (o >= params.outputs) { return; }
  let row = params.vOffset + o * params.inFull + params.inputs;
  var s = 0.0;
  for (var j = 0u; j < params.condCount; j++) { s += net[row + j] * cond[j]; }
  packed[params.packedB + o] = net[params.bOffset + o] + rowScale[params.rowOffset + o] * s;
}
`;

export const MLP_BWD_ACT_WGSL = /* wgsl */ `
@group(0) @binding(0) var<uniform> params: MlpTrainParams;
@group(0) @binding(1) var<storage, read> post: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read_write> ds: array<f32>;
${HEADER}
@compute @workgroup_size(WG)
fn mlpLayerBwdAct(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let t = thread(wg, nwg, li);
  if (t >= params.batch * params.outputs) { return; }
  let y = post[t];
  // The derivative from the output: softplus(100 s) / 100 = y gives sigmoid(100 s) = 1 - exp(-100 y).
  var d = 1.0;
  if (params.activation == 1u) { d = 1.0 - exp(-100.0 * y); }
  if (params.activation == 2u) { d = select(0.0, 1.0, y > 0.0); }
  ds[t] = dy[t] * d;
}
`;

export const MLP_BWD_WEIGHT_WGSL = /* wgsl */ `
@group(0) @binding(0) var<uniform> params: MlpTrainParams;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read> ds: array<f32>;
@group(0) @binding(4) var<storage, read_write> dW: array<f32>;
@group(0) @binding(5) var<storage, read_write> dBias: array<f32>;
${HEADER}
fn layerInput(b: u32, i: u32) -> f32 {
  if (i < params.splitAt) { return src[b * params.srcStride + i]; }
  return x[b * params.xStride + i - params.splitAt];
}

@compute @workgroup_size(WG)
fn mlpLayerBwdWeight(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let t = thread(wg, nwg, li);
  let cols = params.inputs + 1u;
  if (t >= params.outputs * cols) { return; }
  let o = t / cols;
  let i = t % cols;
  var s = 0.0;
  if (i == params.inputs) {
    for (var b = 0u; b < params.batch; b++) { s += ds[b * params.outputs + o]; }
    dW[params.dwOffset + o * (params.inFull + 1u) + params.inFull] += s;
    if (params.condCount > 0u) { dBias[params.rowOffset + o] += s; }
    return;
  }
  for (var b = 0u; b < params.batch; b++) { s += ds[b * params.outputs + o] * layerInput(b, i); }
  dW[params.dwOffset + o * (params.inFull + 1u) + i] += s;
}
`;

export const MLP_BWD_INPUT_WGSL = /* wgsl */ `
@group(0) @binding(0) var<uniform> params: MlpTrainParams;
@group(0) @binding(1) var<storage, read> packed: array<f32>;
@group(0) @binding(2) var<storage, read> ds: array<f32>;
@group(0) @binding(3) var<storage, read_write> dSrc: array<f32>;
@group(0) @binding(4) var<storage, read_write> dX: array<f32>;
${HEADER}
@compute @workgroup_size(WG)
fn mlpLayerBwdInput(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let t = thread(wg, nwg, li);
  if (t >= params.batch * params.inputs) { return; }
  let b = t / params.inputs;
  let i = t % params.inputs;
  var s = 0.0;
  for (var o = 0u; o < params.outputs; o++) {
    s += ds[b * params.outputs + o] * packed[params.packedW + o * params.inputs + i];
  }
  if (i < params.splitAt) {
    dSrc[b * params.splitAt + i] = s;
  } else {
    let k = b * params.xStride + i - params.splitAt;
    dX[k] = dX[k] + s;
  }
}
`;

export const MLP_COND_BWD_WGSL = /* wgsl */ `
@group(0) @binding(0) var<uniform> params: MlpTrainParams;
@group(0) @binding(1) var<storage, read> net: array<f32>;
@group(0) @binding(2) var<storage, read> rowScale: array<f32>;
@group(0) @binding(3) var<storage, read> cond: array<f32>;
@group(0) @binding(4) var<storage, read> dBias: array<f32>;
@group(0) @binding(5) var<storage, read_write> dW: array<f32>;
@group(0) @binding(6) var<storage, read_write> dCond: array<f32>;
${HEADER}
@compute @workgroup_size(WG)
fn mlpCondBwdWeight(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let t = thread(wg, nwg, li);
  if (t >= params.outputs * params.condCount) { return; }
  let o = t / params.condCount;
  let j = t % params.condCount;
  let k = params.dwOffset + o * (params.inFull + 1u) + params.inputs + j;
  dW[k] = dW[k] + dBias[params.rowOffset + o] * cond[j];
}

@compute @workgroup_size(WG)
fn mlpCondBwdInput(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let j = thread(wg, nwg, li);
  if (j >= params.condCount) { return; }
  var s = 0.0;
  for (var o = 0u; o < params.outputs; o++) {
    s += dBias[params.rowOffset + o] * rowScale[params.rowOffset + o] * net[params.vOffset + o * params.inFull + params.inputs + j];
  }
  dCond[j] = dCond[j] + s;
}
`;

export const MLP_UNFOLD_WGSL = /* wgsl */ `
@group(0) @binding(0) var<uniform> params: MlpTrainParams;
@group(0) @binding(1) var<storage, read> net: array<f32>;
@group(0) @binding(2) var<storage, read> dW: array<f32>;
@group(0) @binding(3) var<storage, read_write> dNet: array<f32>;
${HEADER}
@compute @workgroup_size(WG)
fn mlpUnfold(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let o = thread(wg, nwg, li);
  if (o >= params.outputs) { return; }
  let row = params.vOffset + o * params.inFull;
  let drow = params.dwOffset + o * (params.inFull + 1u);
  var n2 = 0.0;
  for (var i = 0u; i < params.inFull; i++) { n2 += net[row + i] * net[row + i]; }
  let n = max(sqrt(n2), 1e-12);
  var along = 0.0;
  for (var i = 0u; i < params.inFull; i++) { along += dW[drow + i] * net[row + i] / n; }
  let g = net[params.gOffset + o];
  for (var i = 0u; i < params.inFull; i++) { dNet[row + i] = (g / n) * (dW[drow + i] - along * net[row + i] / n); }
  dNet[params.gOffset + o] = along;
  dNet[params.bOffset + o] = dW[drow + params.inFull];
}
`;
