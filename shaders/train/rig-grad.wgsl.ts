/**
 * deformRigBwd: the deform rig's backward, one thread per Gaussian (no
 * atomics: every output belongs to one Gaussian). The forward is the
 * runtime's deformRig (shaders/avatar/rig.wgsl.ts). CPU twin:
 * render-core/train/rig-grad.ts (deformRigBackward; the maths is stated
 * there). Host: render-core/train/rig-grad-gpu.ts.
 *
 * Bindings:
 *   0 params  uniform            RigGradParams (count)
 *   1 frame   read-only storage  [J*12 + E + P] (render-core/avatar/rig.ts)
 *   2 rest    read-only storage  [N, 8]
 *   3 skin    read-only storage  [N, J]
 *   4 dirs    read-only storage  [N, (E + P) * 3]
 *   5 dIn     read-only storage  [N, 7] f32: d centre (3), d qRig (4)
 *   6 dOffsets read-only storage [N, 3] f32: d offset (the gaussian network's input gradient)
 *   7 dRig    storage            [N, 8 + J + K * 3] f32, ADDED to (a batch sums its frames): d rest [8], d skin [J],
 *                                d dirs [K * 3]; the layout bakeRigBwd reads
 * Reads constants WG, J, K (= E + P); needs GRID_WGSL and QUAT_MUL_BWD_WGSL.
 */

/**
 * The backward of quatMul(a, b) (shaders/avatar/rig.wgsl.ts; CPU twin quatMulBackward in
 * render-core/train/rig-grad.ts), (w, x, y, z) in a vec4's (x, y, z, w): d a from b and d q, d b from a and d q.
 */
export const QUAT_MUL_BWD_WGSL = /* wgsl */ `
fn quatMulBwdA(b: vec4<f32>, dq: vec4<f32>) -> vec4<f32> {
  return vec4<f32>(
    dq.x * b.x + dq.y * b.y + dq.z * b.z + dq.w * b.w,
    -dq.x * b.y + dq.y * b.x - dq.z * b.w + dq.w * b.z,
    -dq.x * b.z + dq.y * b.w + dq.z * b.x - dq.w * b.y,
    -dq.x * b.w - dq.y * b.z + dq.z * b.y + dq.w * b.x);
}

fn quatMulBwdB(a: vec4<f32>, dq: vec4<f32>) -> vec4<f32> {
  return vec4<f32>(
    dq.x * a.x + dq.y * a.y + dq.z * a.z + dq.w * a.w,
    -dq.x * a.y + dq.y * a.x + dq.z * a.w - dq.w * a.z,
    -dq.x * a.z - dq.y * a.w + dq.z * a.x + dq.w * a.y,
    -dq.x * a.w + dq.y * a.z - dq.z * a.y + dq.w * a.x);
}
`;

export const RIG_GRAD_WGSL = /* wgsl */ `
@group(0) @binding(0) var<uniform> params: RigGradParams;
@group(0) @binding(1) var<storage, read> frame: array<f32>;
@group(0) @binding(2) var<storage, read> rest: array<f32>;
@group(0) @binding(3) var<storage, read> skin: array<f32>;
@group(0) @binding(4) var<storage, read> dirs: array<f32>;
@group(0) @binding(5) var<storage, read> dIn: array<f32>;
@group(0) @binding(6) var<storage, read> dOffsets: array<f32>;
@group(0) @binding(7) var<storage, read_write> dRig: array<f32>;

const G = 8u + J + K * 3u;

@compute @workgroup_size(WG)
fn deformRigBwd(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let i = linearGroup(wg, nwg) * WG + li;
  if (i >= params.count) { return; }
  var d = vec3<f32>(0.0);
  for (var k = 0u; k < K; k++) {
    let c = frame[J * 12u + k];
    d += vec3<f32>(dirs[(i * K + k) * 3u], dirs[(i * K + k) * 3u + 1u], dirs[(i * K + k) * 3u + 2u]) * c;
  }
  let y = vec3<f32>(rest[i * 8u], rest[i * 8u + 1u], rest[i * 8u + 2u]) + d;
  var M: array<f32, 12>;
  for (var j = 0u; j < J; j++) {
    let w = skin[i * J + j];
    for (var k = 0u; k < 12u; k++) { M[k] += w * frame[j * 12u + k]; }
  }
  var dM: array<f32, 12>;
  let dx = vec3<f32>(dIn[i * 7u], dIn[i * 7u + 1u], dIn[i * 7u + 2u]);
  var dy = vec3<f32>(0.0);
  for (var r = 0u; r < 3u; r++) {
    for (var c = 0u; c < 3u; c++) {
      dM[r * 4u + c] += dx[r] * y[c];
      dy[c] += M[r * 4u + c] * dx[r];
    }
    dM[r * 4u + 3u] += dx[r];
  }
  // qRig = qT (x) qU, qT = normalise(raw(M)) on Shepperd's first branch.
  let s = 2.0 * sqrt(M[0] + M[5] + M[10] + 1.0);
  let raw = vec4<f32>(s / 4.0, (M[9] - M[6]) / s, (M[2] - M[8]) / s, (M[4] - M[1]) / s);
  let l = length(raw);
  let a = raw / l;
  let b = vec4<f32>(rest[i * 8u + 4u], rest[i * 8u + 5u], rest[i * 8u + 6u], rest[i * 8u + 7u]);
  let dq = vec4<f32>(dIn[i * 7u + 3u], dIn[i * 7u + 4u], dIn[i * 7u + 5u], dIn[i * 7u + 6u]);
  let dA = quatMulBwdA(b, dq);
  let dB = quatMulBwdB(a, dq);
  let dRaw = (dA - dot(dA, a) * a) / l;
  var ds = dRaw.x / 4.0;
  dM[9] += dRaw.y / s; dM[6] -= dRaw.y / s; ds -= dRaw.y * (M[9] - M[6]) / (s * s);
  dM[2] += dRaw.z / s; dM[8] -= dRaw.z / s; ds -= dRaw.z * (M[2] - M[8]) / (s * s);
  dM[4] += dRaw.w / s; dM[1] -= dRaw.w / s; ds -= dRaw.w * (M[4] - M[1]) / (s * s);
  let dTrace = ds * 2.0 / s;
  dM[0] += dTrace; dM[5] += dTrace; dM[10] += dTrace;
  let o = i * G;
  for (var j = 0u; j < J; j++) {
    var g = 0.0;
    for (var k = 0u; k < 12u; k++) { g += dM[k] * frame[j * 12u + k]; }
    dRig[o + 8u + j] += g;
  }
  let dd = dy + vec3<f32>(dOffsets[i * 3u], dOffsets[i * 3u + 1u], dOffsets[i * 3u + 2u]);
  for (var a2 = 0u; a2 < 3u; a2++) { dRig[o + a2] += dy[a2]; }
  dRig[o + 4u] += dB.x; dRig[o + 5u] += dB.y; dRig[o + 6u] += dB.z; dRig[o + 7u] += dB.w;
  for (var k = 0u; k < K; k++) {
    let c = frame[J * 12u + k];
    for (var a2 = 0u; a2 < 3u; a2++) { dRig[o + 8u + J + k * 3u + a2] += dd[a2] * c; }
  }
}
`;
