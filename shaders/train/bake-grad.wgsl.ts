/**
 * bakeRigBwd: the bake rig's backward, one thread per Gaussian (the forward
 * is the runtime's bakeRig, shaders/avatar/rig.wgsl.ts). CPU twin:
 * render-core/train/rig-grad.ts (bakeRigBackward; the maths is stated there).
 * Host: render-core/train/bake-grad-gpu.ts.
 *
 * Bindings:
 *   0 params  uniform            RigGradParams (count)
 *   1 points  read-only storage  [N, 3]
 *   2 raw     read-only storage  [N, D] deformer output, D = E*3 + P*3 + 3 + J
 *   3 prior   read-only storage  [N, E*3 + J]
 *   4 canonA  read-only storage  [J, 12]
 *   5 dIn     read-only storage  [N, 8 + J + K*3]: d rest, d skin, d dirs (K = E + P)
 *   6 dPoints storage            [N, 3], ADDED to (the points' other gradients share it)
 *   7 dRaw    storage            [N, D]
 * Reads constants WG, J, E, K, TEMPERATURE, SKIN_FLOOR; needs GRID_WGSL.
 */
export const BAKE_GRAD_WGSL = /* wgsl */ `
@group(0) @binding(0) var<uniform> params: RigGradParams;
@group(0) @binding(1) var<storage, read> points: array<f32>;
@group(0) @binding(2) var<storage, read> raw: array<f32>;
@group(0) @binding(3) var<storage, read> prior: array<f32>;
@group(0) @binding(4) var<storage, read> canonA: array<f32>;
@group(0) @binding(5) var<storage, read> dIn: array<f32>;
@group(0) @binding(6) var<storage, read_write> dPoints: array<f32>;
@group(0) @binding(7) var<storage, read_write> dRaw: array<f32>;

const D = K * 3u + 3u + J;
const PS = E * 3u + J;
const G = 8u + J + K * 3u;

@compute @workgroup_size(WG)
fn bakeRigBwd(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let i = linearGroup(wg, nwg) * WG + li;
  if (i >= params.count) { return; }
  for (var k = 0u; k < K * 3u; k++) { dRaw[i * D + k] = dIn[i * G + 8u + J + k]; }
  // Forward again: skinning weights, blended canonical transform, rest position.
  var w: array<f32, J>;
  var mx = -3.4e38;
  for (var j = 0u; j < J; j++) {
    w[j] = TEMPERATURE * raw[i * D + D - J + j] + log(prior[i * PS + E * 3u + j] + SKIN_FLOOR);
    mx = max(mx, w[j]);
  }
  var sum = 0.0;
  for (var j = 0u; j < J; j++) { w[j] = exp(w[j] - mx); sum += w[j]; }
  for (var j = 0u; j < J; j++) { w[j] /= sum; }
  var M: array<f32, 12>;
  for (var j = 0u; j < J; j++) { for (var k = 0u; k < 12u; k++) { M[k] += w[j] * canonA[j * 12u + k]; } }
  let A3 = mat3x3<f32>(vec3<f32>(M[0], M[4], M[8]), vec3<f32>(M[1], M[5], M[9]), vec3<f32>(M[2], M[6], M[10]));
  // Inverse by cofactors (columns of A3 are the columns of M's 3x3 part).
  let c0 = cross(A3[1], A3[2]);
  let c1 = cross(A3[2], A3[0]);
  let c2 = cross(A3[0], A3[1]);
  let inv = transpose(mat3x3<f32>(c0, c1, c2)) * (1.0 / dot(A3[0], c0));
  let o = i * D + K * 3u;
  let q = vec3<f32>(points[i * 3u] + raw[o] - M[3], points[i * 3u + 1u] + raw[o + 1u] - M[7], points[i * 3u + 2u] + raw[o + 2u] - M[11]);
  let x0 = inv * q;
  var dM: array<f32, 12>;
  // rest = M^-1 q: g = M^-T d rest.
  let dr = vec3<f32>(dIn[i * G], dIn[i * G + 1u], dIn[i * G + 2u]);
  let g = transpose(inv) * dr;
  for (var r = 0u; r < 3u; r++) {
    dPoints[i * 3u + r] += g[r];
    dRaw[o + r] = g[r];
    for (var c = 0u; c < 3u; c++) { dM[r * 4u + c] -= g[r] * x0[c]; }
    dM[r * 4u + 3u] -= g[r];
  }
  // qUnpose = conj(normalise(raw quaternion of M)), Shepperd's first branch.
  let s = 2.0 * sqrt(M[0] + M[5] + M[10] + 1.0);
  let rq = vec4<f32>(s / 4.0, (M[9] - M[6]) / s, (M[2] - M[8]) / s, (M[4] - M[1]) / s);
  let l = length(rq);
  let qT = rq / l;
  let dqT = vec4<f32>(dIn[i * G + 4u], -dIn[i * G + 5u], -dIn[i * G + 6u], -dIn[i * G + 7u]);
  let dRq = (dqT - dot(dqT, qT) * qT) / l;
  var ds = dRq.x / 4.0;
  dM[9] += dRq.y / s; dM[6] -= dRq.y / s; ds -= dRq.y * (M[9] - M[6]) / (s * s);
  dM[2] += dRq.z / s; dM[8] -= dRq.z / s; ds -= dRq.z * (M[2] - M[8]) / (s * s);
  dM[4] += dRq.w / s; dM[1] -= dRq.w / s; ds -= dRq.w * (M[4] - M[1]) / (s * s);
  let dTrace = ds * 2.0 / s;
  dM[0] += dTrace; dM[5] += dTrace; dM[10] += dTrace;
  // Skinning softmax.
  var dw: array<f32, J>;
  var dotW = 0.0;
  for (var j = 0u; j < J; j++) {
    var v = dIn[i * G + 8u + j];
    for (var k = 0u; k < 12u; k++) { v += dM[k] * canonA[j * 12u + k]; }
    dw[j] = v;
    dotW += v * w[j];
  }
  for (var j = 0u; j < J; j++) { dRaw[i * D + D - J + j] = TEMPERATURE * w[j] * (dw[j] - dotW); }
}
`;
