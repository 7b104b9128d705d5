/**
 * CPU twin of shaders/sort/scan.wgsl.ts (host: ./scan.ts): the same blocked,
 * multi-level exclusive prefix sum over u32 with wrap-around, pass by pass.
 */
import { SORT_BLOCK as SCAN_BLOCK } from "./config";

/** Pass 1: exclusive scan of each block of `data` ([n] u32) in place; returns block totals [ceil(n / BLOCK)] u32. */
export function scanBlocks(data: Uint32Array, block = SCAN_BLOCK): Uint32Array {
  const blocks = Math.ceil(data.length / block);
  const sums = new Uint32Array(blocks);
  for (let b = 0; b < blocks; b++) {
    let acc = 0;
    const end = Math.min(data.length, (b + 1) * block);
    for (let i = b * block; i < end; i++) {
      const x = data[i];
      data[i] = acc;
      acc = (acc + x) >>> 0;
    }
    sums[b] = acc;
  }
  return sums;
}

/** Pass 2: adds scanned block totals `blockSums` ([ceil(n / BLOCK)] u32) to `data` ([n] u32). */
export function scanAddBlockSums(data: Uint32Array, blockSums: Uint32Array, block = SCAN_BLOCK): void {
  for (let i = 0; i < data.length; i++) data[i] = (data[i] + blockSums[Math.floor(i / block)]) >>> 0;
}

/** Exclusive prefix sum of `input` ([n] u32); returns a new array. */
export function exclusiveScan(input: Uint32Array, block = SCAN_BLOCK): Uint32Array {
  const data = input.slice();
  const sums = scanBlocks(data, block);
  if (sums.length > 1) scanAddBlockSums(data, exclusiveScan(sums, block), block);
  return data;
}
