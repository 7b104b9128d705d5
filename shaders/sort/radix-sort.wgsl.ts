/**
 * Stable LSD radix sort of u32 keys with u32 values, RADIX_BITS per pass.
 *
 * Steps, per pass (shift = pass * RADIX_BITS), n and nBlocks read from sizes:
 *   1. radixCount: each workgroup counts the digits of its block of BLOCK keys
 *      into hist[digit * nBlocks + block] (digit-major, so that
 *   2. an exclusive scan of hist (sort/scan.wgsl.ts) gives, for every block and
 *      digit, where its first key with that digit goes: stable by construction).
 *   3. radixScatter: each workgroup sorts its block by digit in shared memory
 *      with RADIX_BITS stable 1-bit splits, then writes key and value to
 *      hist[digit * nBlocks + block] + (rank among the block's keys with that digit).
 *
 * Bindings, radixCount:
 *   0 keys     read-only storage  [n] u32
 *   1 hist     storage            [BINS * nBlocks] u32
 *   2 sizes    read-only storage  [S] u32   sizes[1] = n (clamped to capacity), sizes[2] = nBlocks
 *   3 params   uniform            RadixParams { shift }
 * Bindings, radixScatter:
 *   0 keysIn   read-only storage  [n] u32
 *   1 valsIn   read-only storage  [n] u32
 *   2 hist     read-only storage  [BINS * nBlocks] u32   scanned
 *   3 keysOut  storage            [n] u32
 *   4 valsOut  storage            [n] u32
 *   5 sizes    read-only storage  [S] u32
 *   6 params   uniform            RadixParams { shift }
 *
 * Keys past n inside the last block read as 0xffffffff: all-ones digits sort
 * them after every real key of the block, and they are never written.
 * Reads constants WG, KPT, BLOCK, BINS, RADIX_BITS.
 */
export const RADIX_COUNT_WGSL = /* wgsl */ `
struct RadixParams { shift: u32, }

@group(0) @binding(0) var<storage, read> keys: array<u32>;
@group(0) @binding(1) var<storage, read_write> hist: array<u32>;
@group(0) @binding(2) var<storage, read> sizes: array<u32>;
@group(0) @binding(3) var<uniform> params: RadixParams;

var<workgroup> binCounts: array<atomic<u32>, BINS>;

@compute @workgroup_size(WG)
fn radixCount(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_index) t: u32) {
  let n = sizes[1];
  let nBlocks = sizes[2];
  let b = linearGroup(wg, nwg);
  if (b >= nBlocks) { return; }
  if (t < BINS) { atomicStore(&binCounts[t], 0u); }
  workgroupBarrier();
  for (var j = 0u; j < KPT; j++) {
    let i = b * BLOCK + j * WG + t;
    if (i < n) { atomicAdd(&binCounts[(keys[i] >> params.shift) & (BINS - 1u)], 1u); }
  }
  workgroupBarrier();
  if (t < BINS) { hist[t * nBlocks + b] = atomicLoad(&binCounts[t]); }
}
`;

export const RADIX_SCATTER_WGSL = /* wgsl */ `
struct RadixParams { shift: u32, }

@group(0) @binding(0) var<storage, read> keysIn: array<u32>;
@group(0) @binding(1) var<storage, read> valsIn: array<u32>;
@group(0) @binding(2) var<storage, read> hist: array<u32>;
@group(0) @binding(3) var<storage, read_write> keysOut: array<u32>;
@group(0) @binding(4) var<storage, read_write> valsOut: array<u32>;
@group(0) @binding(5) var<storage, read> sizes: array<u32>;
@group(0) @binding(6) var<uniform> params: RadixParams;

var<workgroup> sKeys: array<u32, BLOCK>;
var<workgroup> sVals: array<u32, BLOCK>;
var<workgroup> sDigitStart: array<u32, BINS>;

fn digitOf(key: u32) -> u32 { return (key >> params.shift) & (BINS - 1u); }

@compute @workgroup_size(WG)
fn radixScatter(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                @builtin(local_invocation_index) t: u32) {
  let n = sizes[1];
  let nBlocks = sizes[2];
  let b = linearGroup(wg, nwg);
  if (b >= nBlocks) { return; }
  let base = b * BLOCK;
  let valid = min(BLOCK, n - base);
  var k: array<u32, KPT>;
  var v: array<u32, KPT>;
  for (var j = 0u; j < KPT; j++) {
    let i = base + t * KPT + j;
    k[j] = 0xffffffffu;
    v[j] = 0u;
    if (i < n) { k[j] = keysIn[i]; v[j] = valsIn[i]; }
  }
  // Stable split on each digit bit, low to high: zeros keep their order in
  // front, ones keep theirs behind.
  for (var bit = 0u; bit < RADIX_BITS; bit++) {
    let s = params.shift + bit;
    var zeros = 0u;
    for (var j = 0u; j < KPT; j++) { zeros += 1u - ((k[j] >> s) & 1u); }
    let scan = wgExclusiveScan(t, zeros);
    var zi = scan.x;
    var oi = scan.y + t * KPT - scan.x;
    for (var j = 0u; j < KPT; j++) {
      var dst = oi;
      if (((k[j] >> s) & 1u) == 0u) { dst = zi; zi++; } else { oi++; }
      sKeys[dst] = k[j];
      sVals[dst] = v[j];
    }
    workgroupBarrier();
    for (var j = 0u; j < KPT; j++) { k[j] = sKeys[t * KPT + j]; v[j] = sVals[t * KPT + j]; }
    workgroupBarrier();
  }
  // The block is now sorted by digit: a digit starts where it differs from its left neighbour.
  for (var j = 0u; j < KPT; j++) {
    let p = t * KPT + j;
    if (p < valid) {
      let d = digitOf(k[j]);
      if (p == 0u || digitOf(sKeys[p - 1u]) != d) { sDigitStart[d] = p; }
    }
  }
  workgroupBarrier();
  for (var j = 0u; j < KPT; j++) {
    let p = t * KPT + j;
    if (p < valid) {
      let d = digitOf(k[j]);
      let dst = hist[d * nBlocks + b] + p - sDigitStart[d];
      keysOut[dst] = k[j];
      valsOut[dst] = v[j];
    }
  }
}
`;
