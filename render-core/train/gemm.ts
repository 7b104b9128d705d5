/**
 * Dense matrix products for the fast network passes (mlp-train-fast.ts), in
 * float64 on the CPU. Every product the MLP training pass needs is written as
 * C = A B^T with both operands' rows contiguous along the summed index, so one
 * kernel serves the forward (x W^T), the input gradient (dy W, with W
 * transposed once) and the weight gradient (dy^T x, both transposed).
 *
 * The kernel keeps a 4 x 2 block of C in scalars while it walks k: eight
 * independent sums hide the add latency that limits a single dot product,
 * and each loaded number is used two or four times. Measured on this machine
 * (Node 20, float64, loaded): about 2 GMAC/s against 0.3-0.5 for the plain
 * dot-product loop; 2 x 4, 3 x 4 and 4 x 3 blocks were no better, 4 x 4 slower.
 */
import { wasmGemm } from "./gemm-wasm";

/**
 * C[cOff + m ldc + n] = sum_k A[aOff + m lda + k] B[bOff + n ldb + k] for m < M, n < N, k < K.
 * C must not overlap A or B.
 */
export function gemmABt(
  M: number,
  N: number,
  K: number,
  A: Float64Array,
  aOff: number,
  lda: number,
  B: Float64Array,
  bOff: number,
  ldb: number,
  C: Float64Array,
  cOff: number,
  ldc: number,
): void {
  let m = 0;
  for (; m + 4 <= M; m += 4) {
    const a0 = aOff + m * lda,
      a1 = a0 + lda,
      a2 = a1 + lda,
      a3 = a2 + lda;
    const o = cOff + m * ldc;
    let n = 0;
    for (; n + 2 <= N; n += 2) {
      const b0 = bOff + n * ldb,
        b1 = b0 + ldb;
      let c00 = 0,
        c01 = 0,
        c10 = 0,
        c11 = 0,
        c20 = 0,
        c21 = 0,
        c30 = 0,
        c31 = 0;
      for (let k = 0; k < K; k++) {
        const w0 = B[b0 + k]!,
          w1 = B[b1 + k]!;
        const x0 = A[a0 + k]!,
          x1 = A[a1 + k]!,
          x2 = A[a2 + k]!,
          x3 = A[a3 + k]!;
        c00 += x0 * w0;
        c01 += x0 * w1;
        c10 += x1 * w0;
        c11 += x1 * w1;
        c20 += x2 * w0;
        c21 += x2 * w1;
        c30 += x3 * w0;
        c31 += x3 * w1;
      }
      C[o + n] = c00;
      C[o + n + 1] = c01;
      C[o + ldc + n] = c10;
      C[o + ldc + n + 1] = c11;
      C[o + 2 * ldc + n] = c20;
      C[o + 2 * ldc + n + 1] = c21;
      C[o + 3 * ldc + n] = c30;
      C[o + 3 * ldc + n + 1] = c31;
    }
    if (n < N) {
      // An odd N: the last column, still four rows at a time.
      const b0 = bOff + n * ldb;
      let c0 = 0,
        c1 = 0,
        c2 = 0,
        c3 = 0;
      for (let k = 0; k < K; k++) {
        const w = B[b0 + k]!;
        c0 += A[a0 + k]! * w;
        c1 += A[a1 + k]! * w;
        c2 += A[a2 + k]! * w;
        c3 += A[a3 + k]! * w;
      }
      C[o + n] = c0;
      C[o + ldc + n] = c1;
      C[o + 2 * ldc + n] = c2;
      C[o + 3 * ldc + n] = c3;
    }
  }
  // The last M mod 4 rows: two columns at a time.
  for (; m < M; m++) {
    const a0 = aOff + m * lda,
      o = cOff + m * ldc;
    let n = 0;
    for (; n + 2 <= N; n += 2) {
      const b0 = bOff + n * ldb,
        b1 = b0 + ldb;
      let c0 = 0,
        c1 = 0;
      for (let k = 0; k < K; k++) {
        const x = A[a0 + k]!;
        c0 += x * B[b0 + k]!;
        c1 += x * B[b1 + k]!;
      }
      C[o + n] = c0;
      C[o + n + 1] = c1;
    }
    if (n < N) {
      const b0 = bOff + n * ldb;
      let c0 = 0;
      for (let k = 0; k < K; k++) c0 += A[a0 + k]! * B[b0 + k]!;
      C[o + n] = c0;
    }
  }
}

/** dst[c rows + r] = src[sOff + r lds + c] for r < rows, c < cols: [rows, cols] (row stride lds) -> [cols, rows]. */
export function transposeInto(
  src: Float64Array,
  sOff: number,
  lds: number,
  rows: number,
  cols: number,
  dst: Float64Array,
): void {
  // Blocks of 16 rows keep the written lines in cache while the read rows stream.
  for (let r0 = 0; r0 < rows; r0 += 16) {
    const r1 = Math.min(rows, r0 + 16);
    for (let c = 0; c < cols; c++) {
      const d = c * rows;
      for (let r = r0; r < r1; r++) dst[d + r] = src[sOff + r * lds + c]!;
    }
  }
}

/**
 * The three products the MLP pass needs, on row-major arrays with offsets and row strides:
 *   nt: C [M, N] = A [M, K] B^T   (B given as [N, K]: the forward, x W^T)
 *   nn: C [M, N] = A [M, K] B     (B given as [K, N]: the input gradient, ds W)
 *   tn: C [M, N] = A^T B          (A given as [K, M], B as [K, N]: the weight gradient, ds^T x)
 */
export interface Gemm {
  name: string;
  nt: Product;
  nn: Product;
  tn: Product;
}

type Product = (
  M: number,
  N: number,
  K: number,
  A: Float64Array,
  aOff: number,
  lda: number,
  B: Float64Array,
  bOff: number,
  ldb: number,
  C: Float64Array,
  cOff: number,
  ldc: number,
) => void;

/** Grow-only scratch for the JavaScript products' transposes. */
let scratchA = new Float64Array(0),
  scratchB = new Float64Array(0);

/** The products on the JavaScript kernel (gemmABt), transposing into scratch where a layout needs it. */
export const JS_GEMM: Gemm = {
  name: "js",
  nt: gemmABt,
  nn(M, N, K, A, aOff, lda, B, bOff, ldb, C, cOff, ldc) {
    if (scratchB.length < N * K) scratchB = new Float64Array(N * K);
    transposeInto(B, bOff, ldb, K, N, scratchB);
    gemmABt(M, N, K, A, aOff, lda, scratchB, 0, K, C, cOff, ldc);
  },
  tn(M, N, K, A, aOff, lda, B, bOff, ldb, C, cOff, ldc) {
    if (scratchA.length < M * K) scratchA = new Float64Array(M * K);
    if (scratchB.length < N * K) scratchB = new Float64Array(N * K);
    transposeInto(A, aOff, lda, K, M, scratchA);
    transposeInto(B, bOff, ldb, K, N, scratchB);
    gemmABt(M, N, K, scratchA, 0, K, scratchB, 0, K, C, cOff, ldc);
  },
};

const up = (n: number, q: number) => Math.ceil(n / q) * q;

/** Rows of A (and C) per nt call: bounds the module's memory (1024 rows of the widest layer, 4 MiB). */
const NT_ROWS = 1024;

/** Doubles of A and B rows per tn chunk: 32 KiB, so they stay in L1 while every block of C walks them (measured: 4096 beat 8192 and 32768). */
const TN_CHUNK_DOUBLES = 4096;

/** dst[at + r colsP + c] = src[off + r ld + c]: [rows, cols] into a zero-padded [rowsP, colsP]. */
function packRows(
  src: Float64Array,
  off: number,
  ld: number,
  rows: number,
  cols: number,
  dst: Float64Array,
  at: number,
  rowsP: number,
  colsP: number,
): void {
  if (ld === cols && cols === colsP) dst.set(src.subarray(off, off + rows * cols), at);
  else
    for (let r = 0; r < rows; r++) {
      const s = off + r * ld,
        d = at + r * colsP;
      for (let c = 0; c < cols; c++) dst[d + c] = src[s + c]!;
      for (let c = cols; c < colsP; c++) dst[d + c] = 0;
    }
  dst.fill(0, at + rows * colsP, at + rowsP * colsP);
}

/** dst[at + c rowsP + r] = src[off + r ld + c]: [rows, cols] transposed into a zero-padded [colsP, rowsP]. */
function packTransposed(
  src: Float64Array,
  off: number,
  ld: number,
  rows: number,
  cols: number,
  dst: Float64Array,
  at: number,
  colsP: number,
  rowsP: number,
): void {
  for (let r0 = 0; r0 < rows; r0 += 16) {
    const r1 = Math.min(rows, r0 + 16);
    for (let c = 0; c < cols; c++) {
      const d = at + c * rowsP;
      for (let r = r0; r < r1; r++) dst[d + r] = src[off + r * ld + c]!;
    }
  }
  for (let c = 0; c < cols; c++) dst.fill(0, at + c * rowsP + rows, at + (c + 1) * rowsP);
  dst.fill(0, at + cols * rowsP, at + colsP * rowsP);
}

/** C[cOff + m ldc + n] = f64[at + m ld + n] for m < M, n < N. */
function unpack(
  f64: Float64Array,
  at: number,
  ld: number,
  M: number,
  N: number,
  C: Float64Array,
  cOff: number,
  ldc: number,
): void {
  if (ldc === N && N === ld) C.set(f64.subarray(at, at + M * N), cOff);
  else
    for (let m = 0; m < M; m++) {
      const s = at + m * ld,
        d = cOff + m * ldc;
      for (let n = 0; n < N; n++) C[d + n] = f64[s + n]!;
    }
}

/**
 * The products on the WebAssembly SIMD kernels: operands are copied (B transposed for nn) into
 * the module's memory with zero padding, in blocks so that the memory stays a few MiB for any
 * batch, and C copied back. Null where SIMD is unavailable.
 */
export const WASM_GEMM: Gemm | null = (() => {
  const w = wasmGemm();
  if (!w) return null;
  const zero = (M: number, N: number, C: Float64Array, cOff: number, ldc: number) => {
    for (let m = 0; m < M; m++) C.fill(0, cOff + m * ldc, cOff + m * ldc + N);
  };
  /**
   * C = A B^T on the nt kernel: B packed once ([Np, Kp], by packB), A packed and C copied back in
   * blocks of rows, so the module's memory stays bounded whatever M is.
   */
  const rowBlocks = (
    M: number,
    N: number,
    K: number,
    A: Float64Array,
    aOff: number,
    lda: number,
    packB: (f64: Float64Array, at: number, Np: number, Kp: number) => void,
    C: Float64Array,
    cOff: number,
    ldc: number,
  ) => {
    if (M === 0 || N === 0) return;
    if (K === 0) return zero(M, N, C, cOff, ldc);
    const Np = up(N, 2),
      Kp = up(K, 2),
      rows = Math.min(up(M, 4), NT_ROWS);
    const b = 0,
      a = Np * Kp,
      c = a + rows * Kp;
    const f64 = w.reserve(c + rows * Np);
    packB(f64, b, Np, Kp);
    for (let m0 = 0; m0 < M; m0 += rows) {
      const mr = Math.min(rows, M - m0),
        mp = up(mr, 4);
      packRows(A, aOff + m0 * lda, lda, mr, K, f64, a, mp, Kp);
      w.nt(mp, Np, Kp, a, Kp, b, Kp, c, Np);
      unpack(f64, c, Np, mr, N, C, cOff + m0 * ldc, ldc);
    }
  };
  return {
    name: "wasm-simd",
    nt: (M, N, K, A, aOff, lda, B, bOff, ldb, C, cOff, ldc) =>
      rowBlocks(M, N, K, A, aOff, lda, (f, at, Np, Kp) => packRows(B, bOff, ldb, N, K, f, at, Np, Kp), C, cOff, ldc),
    nn: (M, N, K, A, aOff, lda, B, bOff, ldb, C, cOff, ldc) =>
      rowBlocks(
        M,
        N,
        K,
        A,
        aOff,
        lda,
        (f, at, Np, Kp) => packTransposed(B, bOff, ldb, K, N, f, at, Np, Kp),
        C,
        cOff,
        ldc,
      ),
    tn(M, N, K, A, aOff, lda, B, bOff, ldb, C, cOff, ldc) {
      if (M === 0 || N === 0) return;
      if (K === 0) return zero(M, N, C, cOff, ldc);
      // Both operands stay row-major over k: rows copied a chunk at a time, columns padded to 4;
      // C accumulates over the chunks, whose rows stay in cache while every block of C walks them.
      const Mp = up(M, 4),
        Np = up(N, 4),
        chunk = Math.max(16, Math.floor(TN_CHUNK_DOUBLES / (Mp + Np)));
      const c = 0,
        a = Mp * Np,
        b = a + chunk * Mp;
      const f64 = w.reserve(b + chunk * Np);
      f64.fill(0, c, c + Mp * Np);
      for (let k0 = 0; k0 < K; k0 += chunk) {
        const kc = Math.min(chunk, K - k0);
        packRows(A, aOff + k0 * lda, lda, kc, M, f64, a, kc, Mp);
        packRows(B, bOff + k0 * ldb, ldb, kc, N, f64, b, kc, Np);
        w.tn(Mp, Np, kc, a, Mp, b, Np, c, Np);
      }
      unpack(f64, c, Np, M, N, C, cOff, ldc);
    },
  };
})();

/** What the fast MLP pass uses: the SIMD kernel where there is one. */
export const DEFAULT_GEMM: Gemm = WASM_GEMM ?? JS_GEMM;
