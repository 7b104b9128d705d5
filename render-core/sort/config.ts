/**
 * Sort and scan tuning constants: the one source for the WGSL kernels
 * (emitted at pipeline build time) and their CPU twins.
 */
export const SORT = {
  /** Threads per workgroup for scan and radix sort. */
  WG: 256,
  /** Values per thread (consecutive, so each block keeps its order). */
  KPT: 4,
  /** Key bits per radix pass (16 bins). */
  RADIX_BITS: 4,
} as const;

/** Values handled by one workgroup of the scan and of the radix sort. */
export const SORT_BLOCK = SORT.WG * SORT.KPT;
/** Bins per radix pass. */
export const RADIX_BINS = 1 << SORT.RADIX_BITS;
