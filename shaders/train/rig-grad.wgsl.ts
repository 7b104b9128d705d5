/**
 * deformRigBwd: the deform rig's backward, one thread per Gaussian (no
 * atomics: every output belongs to one Gaussian). CPU twin:
 * render-core/train/rig-grad.ts (deformRigBackward; the maths is stated
 * there). Host: render-core/train/rig-grad-gpu.ts.
 *
 * Bindings:
 *   0 params  uniform            RigGradParams (count)
 *   1 frame   read-only storage  [J*12 + E + P] (render-core/avatar/rig.ts)
 *   2 rest    read-only storage  [N, 8]
 *   3 skin    read-only storage  [N, J]
 *   4 dirs    read-only storage  [N, (E + P) * 3]
 *   5 dIn     read-only storage  [N, 10] f32: d centre (3), d qRig (4), d offset (3)
 *   6 dRest   storage            [N, 8]
 *   7 dSkin   storage            [N, J]
 *   8 dDirs   storage            [N, (E + P) * 3]
 * Reads constants WG, J, K (= E + P); needs GRID_WGSL.
 */
export const RIG_GRAD_WGSL = /* wgsl */ `
@group(0) @binding(0) var<uniform> params: RigGradParams;
@group(0) @binding(1) var<storage, read> frame: array<f32>;
@group(0) @binding(2) var<storage, read> rest: array<f32>;
@group(0) @binding(3) var<storage, read> skin: array<f32>;
@group(0) @binding(4) var<storage, read> dirs: array<f32>;
@group(0) @binding(5) var<storage, read> dIn: array<f32>;
@group(0) @binding(6) var<storage, read_write> dRest: array<f32>;
@group(0) @binding(7) var<storage, read_write> dSkin: array<f32>;
@group(0) @binding(8) var<storage, read_write> dDirs: array<f32>;

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
  let dx = vec3<f32>(dIn[i * 10u], dIn[i * 10u + 1u], dIn[i * 10u + 2u]);
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
  let dq = vec4<f32>(dIn[i * 10u + 3u], dIn[i * 10u + 4u], dIn[i * 10u + 5u], dIn[i * 10u + 6u]);
  let dA = vec4<f32>(
    dq.x * b.x + dq.y * b.y + dq.z * b.z + dq.w * b.w,
    -dq.x * b.y + dq.y * b.x - dq.z * b.w + dq.w * b.z,
    -dq.x * b.z + dq.y * b.w + dq.z * b.x - dq.w * b.y,
    -dq.x * b.w - dq.y * b.z + dq.z * b.y + dq.w * b.x);
  let dB = vec4<f32>(
    dq.x * a.x + dq.y * a.y + dq.z * a.z + dq.w * a.w,
    -dq.x * a.y + dq.y * a.x + dq.z * a.w - dq.w * a.z,
    -dq.x * a.z - dq.y * a.w + dq.z * a.x + dq.w * a.y,
    -dq.x * a.w + dq.y * a.z - dq.z * a.y + dq.w * a.x);
  let dRaw = (dA - dot(dA, a) * a) / l;
  var ds = dRaw.x / 4.0;
  dM[9] += dRaw.y / s; dM[6] -= dRaw.y / s; ds -= dRaw.y * (M[9] - M[6]) / (s * s);
  dM[2] += dRaw.z / s; dM[8] -= dRaw.z / s; ds -= dRaw.z * (M[2] - M[8]) / (s * s);
  dM[4] += dRaw.w / s; dM[1] -= dRaw.w / s; ds -= dRaw.w * (M[4] - M[1]) / (s * s);
  let dTrace = ds * 2.0 / s;
  dM[0] += dTrace; dM[5] += dTrace; dM[10] += dTrace;
  for (var j = 0u; j < J; j++) {
    var g = 0.0;
    for (var k = 0u; k < 12u; k++) { g += dM[k] * frame[j * 12u + k]; }
    dSkin[i * J + j] = g;
  }
  let dd = dy + vec3<f32>(dIn[i * 10u + 7u], dIn[i * 10u + 8u], dIn[i * 10u + 9u]);
  for (var a2 = 0u; a2 < 3u; a2++) { dRest[i * 8u + a2] = dy[a2]; }
  dRest[i * 8u + 3u] = 0.0;
  dRest[i * 8u + 4u] = dB.x; dRest[i * 8u + 5u] = dB.y; dRest[i * 8u + 6u] = dB.z; dRest[i * 8u + 7u] = dB.w;
  for (var k = 0u; k < K; k++) {
    let c = frame[J * 12u + k];
    for (var a2 = 0u; a2 < 3u; a2++) { dDirs[(i * K + k) * 3u + a2] = dd[a2] * c; }
  }
}
`;
