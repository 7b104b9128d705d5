/**
 * rasterizeFwd: one workgroup per TILE x TILE tile, one thread per pixel,
 * front-to-back alpha compositing of the tile's depth-sorted splat list.
 * CPU twin: render-core/raster/rasterize.cpu.ts (rasterizeFwd).
 *
 * Steps:
 *   1. the tile's range [start, end) in splatFromIsect
 *   2. in batches of TILE*TILE: every thread loads one splat's SPLAT2D record
 *      into shared memory; then each pixel walks the batch in order:
 *        power = -0.5 (a dx^2 + c dy^2) - b dx dy  (dx = u - px, pixel centre at +0.5)
 *        alpha = min(ALPHA_MAX, opacity exp(power)); skip if power > 0 or alpha < ALPHA_MIN
 *        stop (without this splat) once T (1 - alpha) < T_MIN
 *   3. the batch loop ends early once every pixel of the tile is done
 *   4. rgb + T background, alpha = 1 - T, depth = sum w z / sum w (0 if alpha 0),
 *      lastIsect = 1 + index of the last splat composited (the backward pass
 *      will replay [start, lastIsect) back to front), 0 if none
 *
 * Bindings:
 *   0 params          uniform            FrameParams
 *   1 tileRanges      read-only storage  [numTiles, 2] u32
 *   2 splatFromIsect  read-only storage  [M] u32
 *   3 splats2d        read-only storage  [N, 3] vec4<f32>  (layout: shaders/raster/project.wgsl.ts)
 *   4 rgba            storage            [H, W] vec4<f32>  rgb composited, alpha
 *   5 depth           storage            [H, W] f32
 *   6 lastIsect       storage            [H, W] u32
 * Reads constants TILE, ALPHA_MAX, ALPHA_MIN, T_MIN.
 */
export const RASTERIZE_WGSL = /* wgsl */ `
@group(0) @binding(0) var<uniform> params: FrameParams;
@group(0) @binding(1) var<storage, read> tileRanges: array<vec2<u32>>;
@group(0) @binding(2) var<storage, read> splatFromIsect: array<u32>;
@group(0) @binding(3) var<storage, read> splats2d: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> rgba: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> depth: array<f32>;
@group(0) @binding(6) var<storage, read_write> lastIsect: array<u32>;

const BATCH: u32 = TILE * TILE;
var<workgroup> sMeanDepthOpacity: array<vec4<f32>, BATCH>;
var<workgroup> sConic: array<vec4<f32>, BATCH>;
var<workgroup> sColor: array<vec4<f32>, BATCH>;
var<workgroup> doneCount: atomic<u32>;
var<workgroup> doneAll: u32;

@compute @workgroup_size(TILE, TILE)
fn rasterizeFwd(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
                @builtin(local_invocation_index) t: u32) {
  let pix = wg.xy * TILE + lid.xy;
  let inside = pix.x < params.width && pix.y < params.height;
  let pf = vec2<f32>(pix) + vec2<f32>(0.5);
  let range = tileRanges[wg.y * params.tilesX + wg.x];
  var T = 1.0;
  var C = vec3<f32>(0.0);
  var D = 0.0;
  var last = 0u;
  var done = !inside;
  for (var start = range.x; start < range.y; start += BATCH) {
    // Early stop: leave once every pixel of the tile is saturated (or outside).
    if (t == 0u) { atomicStore(&doneCount, 0u); }
    workgroupBarrier();
    if (done) { atomicAdd(&doneCount, 1u); }
    workgroupBarrier();
    if (t == 0u) { doneAll = atomicLoad(&doneCount); }
    if (workgroupUniformLoad(&doneAll) == BATCH) { break; }
    let idx = start + t;
    if (idx < range.y) {
      let s = splatFromIsect[idx];
      sMeanDepthOpacity[t] = splats2d[s * 3u];
      sConic[t] = splats2d[s * 3u + 1u];
      sColor[t] = splats2d[s * 3u + 2u];
    }
    workgroupBarrier();
    let count = min(BATCH, range.y - start);
    for (var j = 0u; j < count; j++) {
      if (done) { break; }
      let m = sMeanDepthOpacity[j];
      let q = sConic[j].xyz;
      let d = m.xy - pf;
      let power = -0.5 * (q.x * d.x * d.x + q.z * d.y * d.y) - q.y * d.x * d.y;
      if (power > 0.0) { continue; }
      let alpha = min(ALPHA_MAX, m.w * exp(power));
      if (alpha < ALPHA_MIN) { continue; }
      let nextT = T * (1.0 - alpha);
      if (nextT < T_MIN) { done = true; break; }
      let w = alpha * T;
      C += w * sColor[j].xyz;
      D += w * m.z;
      T = nextT;
      last = start + j + 1u;
    }
  }
  if (!inside) { return; }
  let p = pix.y * params.width + pix.x;
  let a = 1.0 - T;
  rgba[p] = vec4<f32>(C + T * params.background.xyz, a);
  var z = 0.0;
  if (a > 0.0) { z = D / a; }
  depth[p] = z;
  lastIsect[p] = last;
}
`;

/**
 * writeDisplay: copies the rgba image into an rgba8unorm storage texture for
 * display (canvas blit or streaming), clamped to [0, 1]. Gamma is left to the
 * consumer: the image is in the splats' (display-referred) colour space.
 *
 * Bindings: 0 params uniform FrameParams, 1 rgba read [H, W] vec4<f32>,
 *           2 display write-only texture_storage_2d<rgba8unorm>
 */
export const WRITE_DISPLAY_WGSL = /* wgsl */ `
@group(0) @binding(0) var<uniform> params: FrameParams;
@group(0) @binding(1) var<storage, read> rgba: array<vec4<f32>>;
@group(0) @binding(2) var display: texture_storage_2d<rgba8unorm, write>;

@compute @workgroup_size(TILE, TILE)
fn writeDisplay(@builtin(global_invocation_id) gid: vec3<u32>) {
  if (gid.x >= params.width || gid.y >= params.height) { return; }
  let c = rgba[gid.y * params.width + gid.x];
  textureStore(display, vec2<i32>(gid.xy), clamp(c, vec4<f32>(0.0), vec4<f32>(1.0)));
}
`;

/**
 * packRgb8: the rgba image as tightly packed 8-bit RGB bytes for the display
 * path (the stream's JPEG encoder takes 3 channels fastest): each colour
 * clamped to [0, 1] and rounded, floor(0.5 + 255 c) as pack4x8unorm rounds.
 * One thread packs 4 pixels (12 bytes) into 3 little-endian words; past the
 * last pixel the bytes are 0. Under a fifth of the float image's bytes to read
 * back, and no per-pixel loop on the CPU. CPU twin: rasterize.cpu.ts packRgb8Cpu.
 *
 * Bindings: 0 params uniform FrameParams, 1 rgba read [H, W] vec4<f32>,
 *           2 packed read_write [ceil(H W / 4) * 3] u32
 */
export const PACK_RGB8_WGSL = /* wgsl */ `
@group(0) @binding(0) var<uniform> params: FrameParams;
@group(0) @binding(1) var<storage, read> rgba: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> packed: array<u32>;

fn unorm8(c: f32) -> u32 { return u32(floor(0.5 + 255.0 * clamp(c, 0.0, 1.0))); }

fn pixelBytes(p: u32) -> vec3<u32> {
  if (p >= params.width * params.height) { return vec3<u32>(0u); }
  let c = rgba[p];
  return vec3<u32>(unorm8(c.x), unorm8(c.y), unorm8(c.z));
}

@compute @workgroup_size(PACK_WG)
fn packRgb8(@builtin(global_invocation_id) gid: vec3<u32>) {
  let q = gid.x;
  if (q * 4u >= params.width * params.height) { return; }
  let a = pixelBytes(q * 4u);
  let b = pixelBytes(q * 4u + 1u);
  let c = pixelBytes(q * 4u + 2u);
  let d = pixelBytes(q * 4u + 3u);
  packed[q * 3u] = a.x | (a.y << 8u) | (a.z << 16u) | (b.x << 24u);
  packed[q * 3u + 1u] = b.y | (b.z << 8u) | (c.x << 16u) | (c.y << 24u);
  packed[q * 3u + 2u] = c.z | (d.x << 8u) | (d.y << 16u) | (d.z << 24u);
}
`;
