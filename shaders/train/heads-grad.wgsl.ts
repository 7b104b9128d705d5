/**
 * The per-Gaussian pieces between the avatar networks and the splats, their
 * forward where the runtime has none on the GPU and their backward beside it.
 * Host: render-core/train/heads-grad-gpu.ts. CPU twins:
 * render-core/avatar/positional-encoding.ts (peFwd), render-core/train/heads-grad.ts
 * (peBwd; appearanceHeadsBackward) and the rotation product's backward
 * (render-core/train/rig-grad.ts quatMulBackward) for composeAppearanceBwd.
 *
 * peFwd                 per point: PE [3 + 6F] = (p, sin(2^k pi p), cos(2^k pi p)) (the runtime encodes on the CPU once;
 *                       training moves the points)
 * peBwd                 per point: d point [3] += d PE [3 + 6F] through the encoding
 * composeAppearanceBwd  per Gaussian, the backward of composeAppearance (shaders/avatar/rig.wgsl.ts):
 *                       raw = geomRaw + residual; rotation = qRig (x) normalise(raw[6..9]); colour, scale, opacity heads.
 *                       qRig is recovered as rotation (x) conj(local) (unit quaternions), so the forward keeps nothing.
 *                       Writes d raw [11] (the gaussian network's d output), adds it to d geomRaw (the geometry
 *                       network's, summed over a batch's frames) and writes the rig's d centre and d qRig [7].
 * trackOpacity          per Gaussian: maxOpacity = max(maxOpacity, opacity) where the frame drew it (radius > 0)
 * appearanceBwd         per Gaussian: d appearance [3] += d geomRaw [0..2] (the backward of the runtime's addAppearance:
 *                       the per-Gaussian colour residual adds to the colour logits; CPU twin appearance-grad.ts)
 *
 * Bindings
 *   peFwd / peBwd: 0 params (HeadsGradParams: count), 1 points [N, 3], 2 pe or dPe [N, 3 + 6F], 3 pe (rw) or dPoints (rw, added to)
 *   composeAppearanceBwd: 0 params, 1 gaussians [N, 16] (the renderer's packed layout), 2 geomRaw [N, 11],
 *     3 residual [N, 11], 4 dSplat [N, 9] (rasterizeBwd: du dv da db dc dr dg db dopacity), 5 dGeom [N, 10]
 *     (projectBwd: d centre, d scale, d quaternion), 6 dRaw [N, 11] (rw), 7 dRawGeo [N, 11] (rw, added to),
 *     8 rigIn [N, 7] (rw: d centre, d qRig)
 *   trackOpacity: 0 params, 1 gaussians [N, 16], 2 radii [N] i32, 3 maxOpacity [N] (rw)
 *   appearanceBwd: 0 params, 1 dRawGeo [N, 11], 2 dAppearance [N, 3] (rw, added to)
 * Reads constants WG, F, SCALE_MAX; needs GRID_WGSL; composeAppearanceBwd also QUAT_WGSL (shaders/avatar/rig.wgsl.ts)
 * and QUAT_MUL_BWD_WGSL (./rig-grad.wgsl.ts).
 */
const HEADER = /* wgsl */ `
const PI = 3.14159265358979;
fn sigmoid(v: f32) -> f32 { return 1.0 / (1.0 + exp(-v)); }
fn gaussianIndex(wg: vec3<u32>, nwg: vec3<u32>, li: u32) -> u32 { return linearGroup(wg, nwg) * WG + li; }
`;

export const PE_WGSL = /* wgsl */ `
@group(0) @binding(0) var<uniform> params: HeadsGradParams;
@group(0) @binding(1) var<storage, read> points: array<f32>;
@group(0) @binding(2) var<storage, read> dPe: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
${HEADER}
const D = 3u + 6u * F;

@compute @workgroup_size(WG)
fn peFwd(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let i = gaussianIndex(wg, nwg, li);
  if (i >= params.count) { return; }
  for (var a = 0u; a < 3u; a++) {
    let p = points[i * 3u + a];
    out[i * D + a] = p;
    for (var k = 0u; k < F; k++) {
      let v = PI * f32(1u << k) * p;
      out[i * D + 3u + k * 6u + a] = sin(v);
      out[i * D + 3u + k * 6u + 3u + a] = cos(v);
    }
  }
}

@compute @workgroup_size(WG)
fn peBwd(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let i = gaussianIndex(wg, nwg, li);
  if (i >= params.count) { return; }
  for (var a = 0u; a < 3u; a++) {
    var g = dPe[i * D + a];
    for (var k = 0u; k < F; k++) {
      let f = PI * f32(1u << k);
      let v = f * points[i * 3u + a];
      g += dPe[i * D + 3u + k * 6u + a] * f * cos(v) - dPe[i * D + 3u + k * 6u + 3u + a] * f * sin(v);
    }
    out[i * 3u + a] = out[i * 3u + a] + g;
  }
}
`;

export const COMPOSE_APPEARANCE_BWD_WGSL = /* wgsl */ `
@group(0) @binding(0) var<uniform> params: HeadsGradParams;
@group(0) @binding(1) var<storage, read> gaussians: array<f32>;
@group(0) @binding(2) var<storage, read> geomRaw: array<f32>;
@group(0) @binding(3) var<storage, read> residual: array<f32>;
@group(0) @binding(4) var<storage, read> dSplat: array<f32>;
@group(0) @binding(5) var<storage, read> dGeom: array<f32>;
@group(0) @binding(6) var<storage, read_write> dRaw: array<f32>;
@group(0) @binding(7) var<storage, read_write> dRawGeo: array<f32>;
@group(0) @binding(8) var<storage, read_write> rigIn: array<f32>;
${HEADER}
@compute @workgroup_size(WG)
fn composeAppearanceBwd(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let i = gaussianIndex(wg, nwg, li);
  if (i >= params.count) { return; }
  let o = i * 11u;
  var raw: array<f32, 11>;
  for (var k = 0u; k < 11u; k++) { raw[k] = geomRaw[o + k] + residual[o + k]; }
  var d: array<f32, 11>;
  // Colour and opacity from the rasteriser, scale from the projection: through their sigmoids.
  for (var k = 0u; k < 3u; k++) {
    let s = sigmoid(raw[k]);
    d[k] = dSplat[i * 9u + 5u + k] * s * (1.0 - s);
    let t = sigmoid(raw[3u + k]);
    d[3u + k] = dGeom[i * 10u + 3u + k] * SCALE_MAX * t * (1.0 - t);
  }
  let so = sigmoid(raw[10]);
  d[10] = dSplat[i * 9u + 8u] * so * (1.0 - so);
  // rotation = a (x) b, a = qRig, b = local / |local|.
  let q = vec4<f32>(raw[6], raw[7], raw[8], raw[9]);
  var l = length(q);
  if (l == 0.0) { l = 1.0; }
  let b = q / l;
  let g = i * 16u;
  let r = vec4<f32>(gaussians[g + 8u], gaussians[g + 9u], gaussians[g + 10u], gaussians[g + 11u]);
  let a = quatMul(r, vec4<f32>(b.x, -b.y, -b.z, -b.w));
  let dq = vec4<f32>(dGeom[i * 10u + 6u], dGeom[i * 10u + 7u], dGeom[i * 10u + 8u], dGeom[i * 10u + 9u]);
  let dA = quatMulBwdA(b, dq);
  let dB = quatMulBwdB(a, dq);
  let dLocal = (dB - dot(dB, b) * b) / l;
  d[6] = dLocal.x; d[7] = dLocal.y; d[8] = dLocal.z; d[9] = dLocal.w;
  for (var k = 0u; k < 11u; k++) {
    dRaw[o + k] = d[k];
    dRawGeo[o + k] = dRawGeo[o + k] + d[k];
  }
  for (var k = 0u; k < 3u; k++) { rigIn[i * 7u + k] = dGeom[i * 10u + k]; }
  rigIn[i * 7u + 3u] = dA.x; rigIn[i * 7u + 4u] = dA.y; rigIn[i * 7u + 5u] = dA.z; rigIn[i * 7u + 6u] = dA.w;
}
`;

export const TRACK_OPACITY_WGSL = /* wgsl */ `
@group(0) @binding(0) var<uniform> params: HeadsGradParams;
@group(0) @binding(1) var<storage, read> gaussians: array<f32>;
@group(0) @binding(2) var<storage, read> radii: array<i32>;
@group(0) @binding(3) var<storage, read_write> maxOpacity: array<f32>;
${HEADER}
@compute @workgroup_size(WG)
fn trackOpacity(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let i = gaussianIndex(wg, nwg, li);
  if (i >= params.count || radii[i] <= 0) { return; }
  maxOpacity[i] = max(maxOpacity[i], gaussians[i * 16u + 3u]);
}
`;

export const APPEARANCE_BWD_WGSL = /* wgsl */ `
@group(0) @binding(0) var<uniform> params: HeadsGradParams;
@group(0) @binding(1) var<storage, read> dRawGeo: array<f32>;
@group(0) @binding(2) var<storage, read_write> dAppearance: array<f32>;
${HEADER}
@compute @workgroup_size(WG)
fn appearanceBwd(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let i = gaussianIndex(wg, nwg, li);
  if (i >= params.count) { return; }
  for (var k = 0u; k < 3u; k++) { dAppearance[i * 3u + k] += dRawGeo[i * 11u + k]; }
}
`;
