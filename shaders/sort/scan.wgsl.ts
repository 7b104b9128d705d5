/**
 * Exclusive prefix sum of u32 (wrapping), multi-level, any length.
 *
 * Steps, for an array of n values (n read on the GPU from sizes[params.nSlot]):
 *   1. scanBlocks: each workgroup scans one block of BLOCK = WG * KPT values in
 *      place (exclusive) and writes the block's total to blockSums[block].
 *   2. the host recurses on blockSums (the next level) until one block is left.
 *   3. scanAddBlockSums: adds the scanned block sums back, top level down.
 *
 * Bindings (both kernels):
 *   0 data       storage            [n] u32                 scanned in place
 *   1 blockSums  storage / read     [ceil(n / BLOCK)] u32
 *   2 sizes      read-only storage  [S] u32                 element counts (size program)
 *   3 params     uniform            ScanParams { nSlot }
 *
 * Each thread owns KPT consecutive values (so a block's order is kept) and the
 * workgroup scans the per-thread sums. Reads constants WG, KPT, BLOCK.
 */
export const SCAN_WGSL = /* wgsl */ `
struct ScanParams { nSlot: u32, }

@group(0) @binding(0) var<storage, read_write> data: array<u32>;
@group(0) @binding(1) var<storage, read_write> blockSums: array<u32>;
@group(0) @binding(2) var<storage, read> sizes: array<u32>;
@group(0) @binding(3) var<uniform> params: ScanParams;

@compute @workgroup_size(WG)
fn scanBlocks(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_index) t: u32) {
  let n = sizes[params.nSlot];
  let b = linearGroup(wg, nwg);
  if (b * BLOCK >= n) { return; }
  let base = b * BLOCK + t * KPT;
  var before: array<u32, KPT>;
  var sum = 0u;
  for (var j = 0u; j < KPT; j++) {
    before[j] = sum;
    if (base + j < n) { sum += data[base + j]; }
  }
  let s = wgExclusiveScan(t, sum);
  for (var j = 0u; j < KPT; j++) {
    if (base + j < n) { data[base + j] = before[j] + s.x; }
  }
  if (t == 0u) { blockSums[b] = s.y; }
}
`;

export const SCAN_ADD_WGSL = /* wgsl */ `
struct ScanParams { nSlot: u32, }

@group(0) @binding(0) var<storage, read_write> data: array<u32>;
@group(0) @binding(1) var<storage, read> blockSums: array<u32>;
@group(0) @binding(2) var<storage, read> sizes: array<u32>;
@group(0) @binding(3) var<uniform> params: ScanParams;

@compute @workgroup_size(WG)
fn scanAddBlockSums(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                    @builtin(local_invocation_index) t: u32) {
  let n = sizes[params.nSlot];
  let b = linearGroup(wg, nwg);
  if (b * BLOCK >= n) { return; }
  let add = blockSums[b];
  // Strided by WG so neighbouring threads touch neighbouring words.
  for (var j = 0u; j < KPT; j++) {
    let i = b * BLOCK + j * WG + t;
    if (i < n) { data[i] = data[i] + add; }
  }
}
`;
