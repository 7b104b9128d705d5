/**
 * CPU twin of shaders/sort/radix-sort.wgsl.ts (host: ./radix-sort.ts): the
 * same stable LSD radix sort, pass by pass, with the same digit-major
 * histogram layout.
 */
import { RADIX_BINS, SORT, SORT_BLOCK } from "./config";
import { exclusiveScan } from "./scan.cpu";

/** Pass 1: digit counts per block, hist[digit * nBlocks + block] ([BINS * nBlocks] u32). */
export function radixCount(keys: Uint32Array, shift: number, block = SORT_BLOCK): Uint32Array {
  const nBlocks = Math.ceil(keys.length / block);
  const hist = new Uint32Array(RADIX_BINS * nBlocks);
  for (let i = 0; i < keys.length; i++) {
    const d = (keys[i] >>> shift) & (RADIX_BINS - 1);
    hist[d * nBlocks + Math.floor(i / block)]++;
  }
  return hist;
}

/** Pass 3: stable scatter of keysIn/valsIn ([n] u32) to keysOut/valsOut using the scanned histogram. */
export function radixScatter(
  keysIn: Uint32Array, // [n] u32
  valsIn: Uint32Array, // [n] u32
  histScanned: Uint32Array, // [BINS * nBlocks] u32
  shift: number,
  keysOut: Uint32Array, // [n] u32
  valsOut: Uint32Array, // [n] u32
  block = SORT_BLOCK,
): void {
  const nBlocks = Math.ceil(keysIn.length / block);
  const next = histScanned.slice();
  for (let i = 0; i < keysIn.length; i++) {
    const d = (keysIn[i] >>> shift) & (RADIX_BINS - 1);
    const dst = next[d * nBlocks + Math.floor(i / block)]++;
    keysOut[dst] = keysIn[i];
    valsOut[dst] = valsIn[i];
  }
}

/** Number of radix passes to sort the low `bits` bits. */
export function radixPasses(bits: number): number {
  if (!Number.isInteger(bits) || bits < 1 || bits > 32)
    throw new Error(`radixPasses: bits must be in [1, 32], got ${bits}`);
  return Math.ceil(bits / SORT.RADIX_BITS);
}

/** Stable sort of (keys, values) ([n] u32 each) by the low `bits` bits of the keys; returns new arrays. */
export function radixSort(
  keys: Uint32Array,
  values: Uint32Array,
  bits = 32,
): { keys: Uint32Array; values: Uint32Array } {
  if (keys.length !== values.length)
    throw new Error(`radixSort: keys (${keys.length}) and values (${values.length}) differ in length`);
  let k = keys.slice();
  let v = values.slice();
  let k2 = new Uint32Array(k.length);
  let v2 = new Uint32Array(v.length);
  for (let p = 0; p < radixPasses(bits); p++) {
    const shift = p * SORT.RADIX_BITS;
    radixScatter(k, v, exclusiveScan(radixCount(k, shift)), shift, k2, v2);
    [k, k2] = [k2, k];
    [v, v2] = [v2, v];
  }
  return { keys: k, values: v };
}
