/**
 * The avatar rig: bake (once per latent change) and deform (once per frame).
 * Host: render-core/avatar/runtime-gpu.ts. CPU twins: bakeRigCpu in
 * render-core/avatar/bake.cpu.ts (and addAppearanceCpu); deformRigCpu and
 * composeAppearanceCpu in render-core/avatar/deform.cpu.ts (their headers give
 * the maths). One thread per Gaussian in all four kernels.
 *
 * Constants (emitted from TypeScript): WG, J (joints), E (expressions),
 * P (pose correctives), TEMPERATURE, SKIN_FLOOR, SCALE_MAX, REST_STRIDE (8),
 * GAUSS_STRIDE (the renderer's packed Gaussian, 16 f32).
 * Needs GRID_WGSL (linearGroup) and the RigParams struct.
 *
 * bakeRig
 * | 0 params  | uniform RigParams | count                                   |
 * | 1 frame   | storage, read     | [J, 12] canonical joint transforms      |
 * | 2 points  | storage, read     | [N, 3] canonical centres                |
 * | 3 defRaw  | storage, read     | [N, E*3 + P*3 + 3 + J] deformer output  |
 * | 4 prior   | storage, read     | [N, E*3 + J] head blendshapes, weights  |
 * | 5 rest    | storage, rw       | [N, 8] un-posed centre, un-posing quat  |
 * | 6 skin    | storage, rw       | [N, J]                                  |
 * | 7 dirs    | storage, rw       | [N, (E + P) * 3]                        |
 *
 * addAppearance (bake, after the geometry network; only for avatars with a residual)
 * | 0 params  | uniform RigParams | count                                   |
 * | 1 appearance | storage, read  | [N, 3] per-Gaussian colour residual     |
 * | 2 geomRaw | storage, rw       | [N, 11]: += appearance on channels 0..2 |
 *
 * deformRig
 * | 0 params  | uniform RigParams | count                                   |
 * | 1 frame   | storage, read     | [J*12 + E + P] see render-core/avatar/rig.ts |
 * | 2 rest, 3 skin, 4 dirs | storage, read | from bakeRig                 |
 * | 5 gaussians | storage, rw     | [N, GAUSS_STRIDE]: writes centre and qRig |
 * | 6 offsets | storage, rw       | [N, 3] d, the gaussian network's input  |
 *
 * composeAppearance
 * | 0 params  | uniform RigParams | count                                   |
 * | 1 geomRaw | storage, read     | [N, 11]                                 |
 * | 2 residual| storage, read     | [N, 11] gaussian network output         |
 * | 3 gaussians | storage, rw     | [N, GAUSS_STRIDE]: finishes the Gaussian |
 */

/** sum_j w_j A_j over the frame's joint transforms (blendTransform in render-core/avatar/rig.ts); needs a \`frame\` binding. */
export const BLEND_WGSL = /* wgsl */ `
fn blendTransform(w: array<f32, J>, base: u32) -> mat3x4<f32> {
  // Rows of the 3x4 blend sum_j w_j A_j; frame[base + j*12 ..] holds A_j row-major.
  var r0 = vec4<f32>(0.0);
  var r1 = vec4<f32>(0.0);
  var r2 = vec4<f32>(0.0);
  for (var j = 0u; j < J; j++) {
    let b = base + j * 12u;
    r0 += w[j] * vec4<f32>(frame[b], frame[b + 1u], frame[b + 2u], frame[b + 3u]);
    r1 += w[j] * vec4<f32>(frame[b + 4u], frame[b + 5u], frame[b + 6u], frame[b + 7u]);
    r2 += w[j] * vec4<f32>(frame[b + 8u], frame[b + 9u], frame[b + 10u], frame[b + 11u]);
  }
  return mat3x4<f32>(r0, r1, r2);
}
`;

/** Quaternion helpers, the twins of matrixQuat and quatMul in render-core/avatar/rig.ts. */
export const QUAT_WGSL = /* wgsl */ `
// Unit (w, x, y, z) of the rotation nearest a blend of rotations (rows of m), w >= 0; Shepperd's branches.
fn matrixQuat(m: mat3x4<f32>) -> vec4<f32> {
  let m00 = m[0].x; let m01 = m[0].y; let m02 = m[0].z;
  let m10 = m[1].x; let m11 = m[1].y; let m12 = m[1].z;
  let m20 = m[2].x; let m21 = m[2].y; let m22 = m[2].z;
  let tr = m00 + m11 + m22;
  var q: vec4<f32>;
  if (tr > 0.0) {
    let s = sqrt(tr + 1.0) * 2.0;
    q = vec4<f32>(s / 4.0, (m21 - m12) / s, (m02 - m20) / s, (m10 - m01) / s);
  } else if (m00 > m11 && m00 > m22) {
    let s = sqrt(1.0 + m00 - m11 - m22) * 2.0;
    q = vec4<f32>((m21 - m12) / s, s / 4.0, (m01 + m10) / s, (m02 + m20) / s);
  } else if (m11 > m22) {
    let s = sqrt(1.0 + m11 - m00 - m22) * 2.0;
    q = vec4<f32>((m02 - m20) / s, (m01 + m10) / s, s / 4.0, (m12 + m21) / s);
  } else {
    let s = sqrt(1.0 + m22 - m00 - m11) * 2.0;
    q = vec4<f32>((m10 - m01) / s, (m02 + m20) / s, (m12 + m21) / s, s / 4.0);
  }
  return normalize(q) * select(1.0, -1.0, q.x < 0.0);
}

// Hamilton product a (x) b, (w, x, y, z).
fn quatMul(a: vec4<f32>, b: vec4<f32>) -> vec4<f32> {
  return vec4<f32>(
    a.x * b.x - a.y * b.y - a.z * b.z - a.w * b.w,
    a.x * b.y + a.y * b.x + a.z * b.w - a.w * b.z,
    a.x * b.z - a.y * b.w + a.z * b.x + a.w * b.y,
    a.x * b.w + a.y * b.z - a.z * b.y + a.w * b.x);
}
`;

export const BAKE_RIG_WGSL = /* wgsl */ `
@group(0) @binding(0) var<uniform> params: RigParams;
@group(0) @binding(1) var<storage, read> frame: array<f32>;
@group(0) @binding(2) var<storage, read> points: array<f32>;
@group(0) @binding(3) var<storage, read> defRaw: array<f32>;
@group(0) @binding(4) var<storage, read> prior: array<f32>;
@group(0) @binding(5) var<storage, read_write> rest: array<f32>;
@group(0) @binding(6) var<storage, read_write> skin: array<f32>;
@group(0) @binding(7) var<storage, read_write> dirs: array<f32>;

const D = E * 3u + P * 3u + 3u + J;
const PS = E * 3u + J;
const DS = (E + P) * 3u;

@compute @workgroup_size(WG)
fn bakeRig(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let i = linearGroup(wg, nwg) * WG + li;
  if (i >= params.count) { return; }
  let raw = i * D;
  for (var k = 0u; k < E * 3u; k++) { dirs[i * DS + k] = prior[i * PS + k] + defRaw[raw + k]; }
  for (var k = 0u; k < P * 3u; k++) { dirs[i * DS + E * 3u + k] = defRaw[raw + E * 3u + k]; }
  // Skinning: softmax(T * logits + log(prior + floor)), the head's weights acting as the prior.
  var w: array<f32, J>;
  var mx = -3.4e38;
  for (var j = 0u; j < J; j++) {
    w[j] = TEMPERATURE * defRaw[raw + D - J + j] + log(prior[i * PS + E * 3u + j] + SKIN_FLOOR);
    mx = max(mx, w[j]);
  }
  var sum = 0.0;
  for (var j = 0u; j < J; j++) { w[j] = exp(w[j] - mx); sum += w[j]; }
  for (var j = 0u; j < J; j++) { w[j] /= sum; skin[i * J + j] = w[j]; }
  let m = blendTransform(w, 0u);
  let o = raw + (E + P) * 3u;
  let p = vec3<f32>(points[i * 3u] + defRaw[o], points[i * 3u + 1u] + defRaw[o + 1u], points[i * 3u + 2u] + defRaw[o + 2u]) - vec3<f32>(m[0].w, m[1].w, m[2].w);
  // Rows of m hold the 3x3 part in .xyz; invert it (a blend of rotations, well conditioned).
  let a = mat3x3<f32>(m[0].xyz, m[1].xyz, m[2].xyz);
  let x0 = inverse3(transpose(a)) * p;
  rest[i * REST_STRIDE] = x0.x;
  rest[i * REST_STRIDE + 1u] = x0.y;
  rest[i * REST_STRIDE + 2u] = x0.z;
  rest[i * REST_STRIDE + 3u] = 0.0;
  let q = matrixQuat(m);
  rest[i * REST_STRIDE + 4u] = q.x;
  rest[i * REST_STRIDE + 5u] = -q.y;
  rest[i * REST_STRIDE + 6u] = -q.z;
  rest[i * REST_STRIDE + 7u] = -q.w;
}

// Inverse of a 3x3 by cofactors (WGSL has no inverse()).
fn inverse3(m: mat3x3<f32>) -> mat3x3<f32> {
  let c0 = cross(m[1], m[2]);
  let c1 = cross(m[2], m[0]);
  let c2 = cross(m[0], m[1]);
  let det = dot(m[0], c0);
  return transpose(mat3x3<f32>(c0, c1, c2)) * (1.0 / det);
}
`;

export const ADD_APPEARANCE_WGSL = /* wgsl */ `
@group(0) @binding(0) var<uniform> params: RigParams;
@group(0) @binding(1) var<storage, read> appearance: array<f32>;
@group(0) @binding(2) var<storage, read_write> geomRaw: array<f32>;

@compute @workgroup_size(WG)
fn addAppearance(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let i = linearGroup(wg, nwg) * WG + li;
  if (i >= params.count) { return; }
  // Colour logits only: the residual is the person's detail, shape and opacity stay the network's.
  for (var k = 0u; k < 3u; k++) { geomRaw[i * 11u + k] += appearance[i * 3u + k]; }
}
`;

export const DEFORM_RIG_WGSL = /* wgsl */ `
@group(0) @binding(0) var<uniform> params: RigParams;
@group(0) @binding(1) var<storage, read> frame: array<f32>;
@group(0) @binding(2) var<storage, read> rest: array<f32>;
@group(0) @binding(3) var<storage, read> skin: array<f32>;
@group(0) @binding(4) var<storage, read> dirs: array<f32>;
@group(0) @binding(5) var<storage, read_write> gaussians: array<f32>;
@group(0) @binding(6) var<storage, read_write> offsets: array<f32>;

@compute @workgroup_size(WG)
fn deformRig(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let i = linearGroup(wg, nwg) * WG + li;
  if (i >= params.count) { return; }
  var d = vec3<f32>(0.0);
  for (var k = 0u; k < E + P; k++) {
    let c = frame[J * 12u + k];
    if (c == 0.0) { continue; }
    let o = (i * (E + P) + k) * 3u;
    d += vec3<f32>(dirs[o], dirs[o + 1u], dirs[o + 2u]) * c;
  }
  offsets[i * 3u] = d.x;
  offsets[i * 3u + 1u] = d.y;
  offsets[i * 3u + 2u] = d.z;
  var w: array<f32, J>;
  for (var j = 0u; j < J; j++) { w[j] = skin[i * J + j]; }
  let m = blendTransform(w, 0u);
  let r = i * REST_STRIDE;
  let x = vec4<f32>(rest[r] + d.x, rest[r + 1u] + d.y, rest[r + 2u] + d.z, 1.0);
  let g = i * GAUSS_STRIDE;
  gaussians[g] = dot(m[0], x);
  gaussians[g + 1u] = dot(m[1], x);
  gaussians[g + 2u] = dot(m[2], x);
  let q = quatMul(matrixQuat(m), vec4<f32>(rest[r + 4u], rest[r + 5u], rest[r + 6u], rest[r + 7u]));
  gaussians[g + 8u] = q.x;
  gaussians[g + 9u] = q.y;
  gaussians[g + 10u] = q.z;
  gaussians[g + 11u] = q.w;
}
`;

export const COMPOSE_APPEARANCE_WGSL = /* wgsl */ `
@group(0) @binding(0) var<uniform> params: RigParams;
@group(0) @binding(1) var<storage, read> geomRaw: array<f32>;
@group(0) @binding(2) var<storage, read> residual: array<f32>;
@group(0) @binding(3) var<storage, read_write> gaussians: array<f32>;

fn sigmoid(x: f32) -> f32 { return 1.0 / (1.0 + exp(-x)); }

@compute @workgroup_size(WG)
fn composeAppearance(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let i = linearGroup(wg, nwg) * WG + li;
  if (i >= params.count) { return; }
  var raw: array<f32, 11>;
  for (var k = 0u; k < 11u; k++) { raw[k] = geomRaw[i * 11u + k] + residual[i * 11u + k]; }
  let g = i * GAUSS_STRIDE;
  gaussians[g + 3u] = sigmoid(raw[10]);
  gaussians[g + 4u] = sigmoid(raw[3]) * SCALE_MAX;
  gaussians[g + 5u] = sigmoid(raw[4]) * SCALE_MAX;
  gaussians[g + 6u] = sigmoid(raw[5]) * SCALE_MAX;
  gaussians[g + 7u] = 0.0;
  var local = vec4<f32>(raw[6], raw[7], raw[8], raw[9]);
  let l = length(local);
  local = select(local, local / l, l > 0.0);
  let q = quatMul(vec4<f32>(gaussians[g + 8u], gaussians[g + 9u], gaussians[g + 10u], gaussians[g + 11u]), local);
  gaussians[g + 8u] = q.x;
  gaussians[g + 9u] = q.y;
  gaussians[g + 10u] = q.z;
  gaussians[g + 11u] = q.w;
  gaussians[g + 12u] = sigmoid(raw[0]);
  gaussians[g + 13u] = sigmoid(raw[1]);
  gaussians[g + 14u] = sigmoid(raw[2]);
  gaussians[g + 15u] = 0.0;
}
`;
