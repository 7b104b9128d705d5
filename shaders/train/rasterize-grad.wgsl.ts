/**
 * rasterizeBwd: the rasteriser's backward, one thread per pixel (a workgroup
 * per tile, as the forward). Each pixel replays its tile's list from the last
 * splat it composited (lastIsect) back to the tile's start, recomputing
 * alpha, and adds its share of the gradients to the splat's nine sums with a
 * compare-exchange float add. CPU twin: render-core/train/raster-grad.ts
 * (rasterizeBackward; the maths is stated there). Host: render-core/train/raster-grad-gpu.ts.
 *
 * Bindings:
 *   0 params          uniform            RasterGradParams (width, height, tilesX, count, background)
 *   1 tileRanges      read-only storage  [numTiles] vec2<u32>
 *   2 splatFromIsect  read-only storage  [M] u32
 *   3 splats2d        read-only storage  [N, 3] vec4<f32> (mean, z, opacity | conic | rgb)
 *   4 rgba            read-only storage  [H, W] vec4<f32> (the forward's; alpha = 1 - T final)
 *   5 lastIsect       read-only storage  [H, W] u32
 *   6 dImage          read-only storage  [H, W, 4] f32: d rgb, d coverage
 *   7 grads           storage            [N, 9] atomic<u32> f32 bits: du dv da db dc dr dg db dopacity
 * Reads constants TILE, ALPHA_MAX, ALPHA_MIN.
 */
export const RASTERIZE_GRAD_WGSL = /* wgsl */ `
@group(0) @binding(0) var<uniform> params: RasterGradParams;
@group(0) @binding(1) var<storage, read> tileRanges: array<vec2<u32>>;
@group(0) @binding(2) var<storage, read> splatFromIsect: array<u32>;
@group(0) @binding(3) var<storage, read> splats2d: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> rgba: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read> lastIsect: array<u32>;
@group(0) @binding(6) var<storage, read> dImage: array<vec4<f32>>;
@group(0) @binding(7) var<storage, read_write> grads: array<atomic<u32>>;

fn addGrad(i: u32, v: f32) {
  if (v == 0.0) { return; }
  var old = atomicLoad(&grads[i]);
  loop {
    let r = atomicCompareExchangeWeak(&grads[i], old, bitcast<u32>(bitcast<f32>(old) + v));
    if (r.exchanged) { break; }
    old = r.old_value;
  }
}

@compute @workgroup_size(TILE, TILE)
fn rasterizeBwd(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let pix = wg.xy * TILE + lid.xy;
  if (pix.x >= params.width || pix.y >= params.height) { return; }
  let p = pix.y * params.width + pix.x;
  let pf = vec2<f32>(pix) + vec2<f32>(0.5);
  let range = tileRanges[wg.y * params.tilesX + wg.x];
  let last = lastIsect[p];
  if (last == 0u) { return; }
  let Tf = 1.0 - rgba[p].w;
  let dPix = dImage[p];
  var T = Tf;
  var behind = Tf * params.background.xyz;
  for (var k = last; k > range.x; k--) {
    let i = splatFromIsect[k - 1u];
    let m = splats2d[i * 3u];
    let q = splats2d[i * 3u + 1u].xyz;
    let col = splats2d[i * 3u + 2u].xyz;
    let d = m.xy - pf;
    let power = -0.5 * (q.x * d.x * d.x + q.z * d.y * d.y) - q.y * d.x * d.y;
    if (power > 0.0) { continue; }
    let raw = m.w * exp(power);
    let a = min(raw, ALPHA_MAX);
    if (a < ALPHA_MIN) { continue; }
    let Tk = T / (1.0 - a);
    let dA = dot(dPix.xyz, col * Tk - behind / (1.0 - a)) + dPix.w * Tf / (1.0 - a);
    behind += col * a * Tk;
    T = Tk;
    let g = i * 9u;
    addGrad(g + 5u, dPix.x * a * Tk);
    addGrad(g + 6u, dPix.y * a * Tk);
    addGrad(g + 7u, dPix.z * a * Tk);
    if (raw > ALPHA_MAX) { continue; }
    addGrad(g + 8u, dA * exp(power));
    let dPower = dA * a;
    addGrad(g + 2u, -0.5 * d.x * d.x * dPower);
    addGrad(g + 3u, -d.x * d.y * dPower);
    addGrad(g + 4u, -0.5 * d.y * d.y * dPower);
    addGrad(g + 0u, -(q.x * d.x + q.y * d.y) * dPower);
    addGrad(g + 1u, -(q.z * d.y + q.y * d.x) * dPower);
  }
}
`;
