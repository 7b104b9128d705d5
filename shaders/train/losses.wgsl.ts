/**
 * Image losses on the GPU: the L1 + D-SSIM (+ masked L1) gradient of a
 * predicted image against a target, and the loss values. Host:
 * render-core/train/losses-gpu.ts; CPU twin: render-core/train/losses.ts (the
 * maths is stated there). One thread per pixel-channel; the Gaussian window
 * (TAPS weights, constant G) is separable, zero-padded.
 *
 * blurPlanes   mu_x, mu_y, E[x^2], E[y^2], E[xy] (first pass, from the images) or planesIn, blurred along one axis
 * ssimPartials per pixel: the partials of ssim w.r.t. mu_x, E[x^2], E[xy], and ssim itself -> 4 planes
 * lossGrad     d loss / d prediction = -(b_mu + 2 x b_ex2 + y b_exy) wSsim / (P C) + wL1 sign(x - y) / (P C)
 *              + regionGrad mask sign(x - y), written at gradStride floats per pixel (the rasteriser's d rgba)
 * lossValue    one workgroup: sums |x - y|, (x - y)^2, mask |x - y| and ssim over the image into
 *              planesOut[slot * 4 ..]: mean L1, D-SSIM (1 - mean ssim), masked L1 (times regionNorm), MSE
 *
 * Bindings: 0 params (LossParams), 1 pred [H, W, predStride] (rgb first), 2 truth [H, W, C], 3 mask [H, W],
 *           4 planesIn, 5 planesOut (planes, the gradient or the loss records).
 * Planes are channel-major: plane k of channel c at ((k * C + c) * H + y) * W + x.
 * Reads constants WG, TAPS, C1, C2 and G (the window); needs GRID_WGSL.
 */
export const LOSSES_WGSL = /* wgsl */ `
@group(0) @binding(0) var<uniform> params: LossParams;
@group(0) @binding(1) var<storage, read> pred: array<f32>;
@group(0) @binding(2) var<storage, read> truth: array<f32>;
@group(0) @binding(3) var<storage, read> mask: array<f32>;
@group(0) @binding(4) var<storage, read> planesIn: array<f32>;
@group(0) @binding(5) var<storage, read_write> planesOut: array<f32>;

fn idx(plane: u32, c: u32, y: u32, x: u32) -> u32 { return ((plane * params.channels + c) * params.height + y) * params.width + x; }

fn thread(wg: vec3<u32>, nwg: vec3<u32>, li: u32) -> u32 { return linearGroup(wg, nwg) * WG + li; }

// (x, y, channel, plane) of a thread index over planes x channels x H x W (the planes' layout).
fn unflatten(t: u32) -> vec4<u32> {
  let P = params.width * params.height;
  return vec4<u32>(t % params.width, (t / params.width) % params.height, (t / P) % params.channels, t / (P * params.channels));
}

fn predAt(y: u32, x: u32, c: u32) -> f32 { return pred[(y * params.width + x) * params.predStride + c]; }
fn truthAt(y: u32, x: u32, c: u32) -> f32 { return truth[(y * params.width + x) * params.channels + c]; }

// Value of plane k at (c, y, x) of the raw image statistics (first pass) or of planesIn.
fn source(k: u32, c: u32, y: u32, x: u32) -> f32 {
  if (params.fromImage == 0u) { return planesIn[idx(k, c, y, x)]; }
  let a = predAt(y, x, c);
  let b = truthAt(y, x, c);
  switch k {
    case 0u: { return a; }
    case 1u: { return b; }
    case 2u: { return a * a; }
    case 3u: { return b * b; }
    default: { return a * b; }
  }
}

@compute @workgroup_size(WG)
fn blurPlanes(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let t = thread(wg, nwg, li);
  let P = params.width * params.height;
  if (t >= params.planes * params.channels * P) { return; }
  let q = unflatten(t);
  let x = q.x; let y = q.y; let c = q.z; let k = q.w;
  var s = 0.0;
  let r = i32(TAPS / 2u);
  for (var j = -r; j <= r; j++) {
    if (params.axis == 0u) {
      let xx = i32(x) + j;
      if (xx >= 0 && xx < i32(params.width)) { s += G[u32(j + r)] * source(k, c, y, u32(xx)); }
    } else {
      let yy = i32(y) + j;
      if (yy >= 0 && yy < i32(params.height)) { s += G[u32(j + r)] * source(k, c, u32(yy), x); }
    }
  }
  planesOut[idx(k, c, y, x)] = s;
}

@compute @workgroup_size(WG)
fn ssimPartials(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let t = thread(wg, nwg, li);
  let P = params.width * params.height;
  if (t >= params.channels * P) { return; }
  let q = unflatten(t);
  let x = q.x; let y = q.y; let c = q.z;
  let ux = planesIn[idx(0u, c, y, x)];
  let uy = planesIn[idx(1u, c, y, x)];
  let vx = planesIn[idx(2u, c, y, x)] - ux * ux;
  let vy = planesIn[idx(3u, c, y, x)] - uy * uy;
  let cxy = planesIn[idx(4u, c, y, x)] - ux * uy;
  let A1 = 2.0 * ux * uy + C1;
  let A2 = 2.0 * cxy + C2;
  let B1 = ux * ux + uy * uy + C1;
  let B2 = vx + vy + C2;
  let s = A1 * A2 / (B1 * B2);
  planesOut[idx(0u, c, y, x)] = (2.0 * uy * A2 - 2.0 * uy * A1) / (B1 * B2) - s * (2.0 * ux * B2 - 2.0 * ux * B1) / (B1 * B2);
  planesOut[idx(1u, c, y, x)] = -s / B2;
  planesOut[idx(2u, c, y, x)] = 2.0 * A1 / (B1 * B2);
  planesOut[idx(3u, c, y, x)] = s;
}

@compute @workgroup_size(WG)
fn lossGrad(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let t = thread(wg, nwg, li);
  let P = params.width * params.height;
  if (t >= params.channels * P) { return; }
  let q = unflatten(t);
  let x = q.x; let y = q.y; let c = q.z;
  let n = f32(params.channels * P);
  let a = predAt(y, x, c);
  let b = truthAt(y, x, c);
  let p = y * params.width + x;
  let dssim = -(planesIn[idx(0u, c, y, x)] + 2.0 * a * planesIn[idx(1u, c, y, x)] + b * planesIn[idx(2u, c, y, x)]) / n;
  planesOut[p * params.gradStride + c] = params.wSsim * dssim + params.wL1 * sign(a - b) / n + params.regionGrad * mask[p] * sign(a - b);
}

var<workgroup> sums: array<vec4<f32>, WG>;

@compute @workgroup_size(WG)
fn lossValue(@builtin(local_invocation_index) li: u32) {
  let P = params.width * params.height;
  var acc = vec4<f32>(0.0);
  for (var p = li; p < P; p += WG) {
    let y = p / params.width;
    let x = p % params.width;
    for (var c = 0u; c < params.channels; c++) {
      let d = predAt(y, x, c) - truthAt(y, x, c);
      acc += vec4<f32>(abs(d), d * d, mask[p] * abs(d), planesIn[idx(3u, c, y, x)]);
    }
  }
  sums[li] = acc;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s = s / 2u) {
    if (li < s) { sums[li] += sums[li + s]; }
    workgroupBarrier();
  }
  if (li == 0u) {
    let n = f32(params.channels * P);
    let total = sums[0];
    let o = params.slot * 4u;
    planesOut[o] = total.x / n;
    planesOut[o + 1u] = 1.0 - total.w / n;
    planesOut[o + 2u] = total.z * params.regionNorm;
    planesOut[o + 3u] = total.y / n;
  }
}
`;
