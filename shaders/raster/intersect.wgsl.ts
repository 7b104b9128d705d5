/**
 * Intersection kernels: from projected splats to per-tile, front-to-back
 * lists of splat ids. CPU twin: render-core/raster/intersect.cpu.ts.
 *
 * Steps (host: render-core/raster/intersect.ts):
 *   1. depthKeys: key = depth bits (positive f32 sorts as u32), 0xffffffff for
 *      culled splats (so they sort last); value = splat id. Then a 32-bit
 *      stable radix sort gives splats front to back.
 *   2. isectCounts: counts[k] = tilesTouched[sorted k], counts[N] = 0; an
 *      exclusive scan of N + 1 values gives each splat's first slot and the
 *      total M = offsets[N], with no extra pass.
 *   3. emitIsects: splat k writes (tile id, splat id) for every tile of its
 *      rectangle at offsets[k].. in depth order, dropping slots >= capacity
 *      (the farthest ones; the host grows capacity and re-renders).
 *   4. (host) stable radix sort by tile id on ceil(log2(numTiles)) bits:
 *      every tile's list stays front to back.
 *   5. tileRanges: ranges[tile] = [first, end) in the sorted list.
 *
 * Bindings, depthKeys:     0 params uniform FrameParams, 1 splats2d read [N, 3] vec4<f32>,
 *                          2 radii read [N] i32, 3 keys rw [N] u32, 4 ids rw [N] u32
 * Bindings, isectCounts:   0 params, 1 sortedIds read [N] u32, 2 tilesTouched read [N] u32,
 *                          3 counts rw [N + 1] u32
 * Bindings, emitIsects:    0 params, 1 sortedIds read [N] u32, 2 splats2d read [N, 3] vec4<f32>,
 *                          3 radii read [N] i32, 4 offsets read [N + 1] u32,
 *                          5 tileKeys rw [capacity] u32, 6 isectSplat rw [capacity] u32
 * Bindings, tileRanges:    0 tileFromIsect read [M] u32, 1 sizes read [S] u32 (sizes[1] = M clamped),
 *                          2 ranges rw [numTiles, 2] u32 (cleared to 0 by the host first)
 * Reads constants WG, KPT, TILE.
 */
export const DEPTH_KEYS_WGSL = /* wgsl */ `
@group(0) @binding(0) var<uniform> params: FrameParams;
@group(0) @binding(1) var<storage, read> splats2d: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> radii: array<i32>;
@group(0) @binding(3) var<storage, read_write> keys: array<u32>;
@group(0) @binding(4) var<storage, read_write> ids: array<u32>;

@compute @workgroup_size(WG)
fn depthKeys(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.count) { return; }
  var key = 0xffffffffu;
  if (radii[i] > 0) { key = bitcast<u32>(splats2d[i * 3u].z); }
  keys[i] = key;
  ids[i] = i;
}
`;

export const ISECT_COUNTS_WGSL = /* wgsl */ `
@group(0) @binding(0) var<uniform> params: FrameParams;
@group(0) @binding(1) var<storage, read> sortedIds: array<u32>;
@group(0) @binding(2) var<storage, read> tilesTouched: array<u32>;
@group(0) @binding(3) var<storage, read_write> counts: array<u32>;

@compute @workgroup_size(WG)
fn isectCounts(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let k = gid.x + gid.y * nwg.x * WG;
  if (k > params.count) { return; }
  var c = 0u;
  if (k < params.count) { c = tilesTouched[sortedIds[k]]; }
  counts[k] = c;
}
`;

export const EMIT_ISECTS_WGSL = /* wgsl */ `
@group(0) @binding(0) var<uniform> params: FrameParams;
@group(0) @binding(1) var<storage, read> sortedIds: array<u32>;
@group(0) @binding(2) var<storage, read> splats2d: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> radii: array<i32>;
@group(0) @binding(4) var<storage, read> offsets: array<u32>;
@group(0) @binding(5) var<storage, read_write> tileKeys: array<u32>;
@group(0) @binding(6) var<storage, read_write> isectSplat: array<u32>;

@compute @workgroup_size(WG)
fn emitIsects(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let k = gid.x + gid.y * nwg.x * WG;
  if (k >= params.count) { return; }
  let s = sortedIds[k];
  let r = radii[s];
  if (r <= 0) { return; }
  let rect = tileRect(splats2d[s * 3u].xy, f32(r), params.tilesX, params.tilesY);
  var slot = offsets[k];
  for (var ty = rect.y; ty < rect.w; ty++) {
    for (var tx = rect.x; tx < rect.z; tx++) {
      if (slot >= params.isectCapacity) { return; }
      tileKeys[slot] = ty * params.tilesX + tx;
      isectSplat[slot] = s;
      slot++;
    }
  }
}
`;

export const TILE_RANGES_WGSL = /* wgsl */ `
@group(0) @binding(0) var<storage, read> tileFromIsect: array<u32>;
@group(0) @binding(1) var<storage, read> sizes: array<u32>;
@group(0) @binding(2) var<storage, read_write> ranges: array<u32>;

@compute @workgroup_size(WG)
fn tileRanges(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_index) t: u32) {
  let m = sizes[1];
  let b = linearGroup(wg, nwg);
  for (var j = 0u; j < KPT; j++) {
    let i = (b * KPT + j) * WG + t;
    if (i >= m) { return; }
    let tile = tileFromIsect[i];
    if (i == 0u || tileFromIsect[i - 1u] != tile) { ranges[tile * 2u] = i; }
    if (i + 1u == m || tileFromIsect[i + 1u] != tile) { ranges[tile * 2u + 1u] = i + 1u; }
  }
}
`;
