import { describe, expect, it } from "vitest";
import { gemmABt, JS_GEMM, WASM_GEMM, type Gemm } from "./gemm";
import { wasmGemm } from "./gemm-wasm";
import { mulberry32 } from "../math/prng";

const rand = mulberry32(11);
const randomArray = (n: number) => Float64Array.from({ length: n }, () => rand() * 2 - 1);

/** C [M, N] = sum_k a(m, k) b(n, k), one product at a time: the obviously right answer. */
function naive(
  M: number,
  N: number,
  K: number,
  a: (m: number, k: number) => number,
  b: (n: number, k: number) => number,
) {
  const C = new Float64Array(M * N);
  for (let m = 0; m < M; m++)
    for (let n = 0; n < N; n++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += a(m, k) * b(n, k);
      C[m * N + n] = s;
    }
  return C;
}

/** Largest |got - want| relative to the largest |want|. */
function relDiff(want: ArrayLike<number>, got: ArrayLike<number>): number {
  let scale = 0,
    diff = 0;
  for (let i = 0; i < want.length; i++) {
    scale = Math.max(scale, Math.abs(want[i]!));
    diff = Math.max(diff, Math.abs(want[i]! - got[i]!));
  }
  return diff / Math.max(scale, 1e-300);
}

// Shapes off every block and padding boundary: M % 4, N % 2 and K % 2 all non-zero, K = 1, a single row.
const SHAPES: Array<[number, number, number]> = [
  [1, 1, 1],
  [3, 5, 1],
  [7, 11, 39],
  [13, 2, 4],
  [64, 188, 64],
  [9, 3, 103],
];

describe("gemmABt (JavaScript kernel)", () => {
  it("gives the naive product with offsets and row strides, on shapes off the 4 x 2 blocks", () => {
    for (const [M, N, K] of SHAPES) {
      const lda = K + 3,
        ldb = K + 1,
        ldc = N + 2;
      const A = randomArray(5 + M * lda),
        B = randomArray(2 + N * ldb);
      const C = new Float64Array(7 + M * ldc).fill(99);
      gemmABt(M, N, K, A, 5, lda, B, 2, ldb, C, 7, ldc);
      const want = naive(
        M,
        N,
        K,
        (m, k) => A[5 + m * lda + k]!,
        (n, k) => B[2 + n * ldb + k]!,
      );
      const got = new Float64Array(M * N);
      for (let m = 0; m < M; m++) for (let n = 0; n < N; n++) got[m * N + n] = C[7 + m * ldc + n]!;
      // The same products summed in the same order: exact.
      expect(relDiff(want, got)).toBe(0);
      // Untouched outside C's rows: the stride gap keeps its fill.
      expect(C[7 + N]).toBe(99);
      expect(C[0]).toBe(99);
    }
  });
});

describe("WebAssembly SIMD kernel", () => {
  it("is available in Node, so training runs on it", () => {
    expect(wasmGemm()).not.toBeNull();
    expect(WASM_GEMM?.name).toBe("wasm-simd");
  });

  it("refuses operands that are not padded to its blocks", () => {
    expect(() => wasmGemm()!.nt(3, 2, 2, 0, 2, 0, 2, 0, 2)).toThrow(/wasmGemm.nt: unpadded shape/);
    expect(() => wasmGemm()!.tn(4, 6, 2, 0, 4, 0, 6, 0, 6)).toThrow(/wasmGemm.tn: unpadded shape/);
  });

  const backends: Array<[string, Gemm]> = [
    ["JavaScript", JS_GEMM],
    ...(WASM_GEMM ? [["SIMD", WASM_GEMM] as [string, Gemm]] : []),
  ];
  for (const [name, gemm] of backends) {
    it(`${name}: nt, nn and tn give the naive products with offsets and strides, on shapes off the blocks`, () => {
      for (const [M, N, K] of SHAPES) {
        const ldc = N + 1;
        const check = (
          product: "nt" | "nn" | "tn",
          aRows: number,
          aCols: number,
          bRows: number,
          bCols: number,
          a: (A: Float64Array, lda: number) => (m: number, k: number) => number,
          b: (B: Float64Array, ldb: number) => (n: number, k: number) => number,
        ) => {
          const lda = aCols + 2,
            ldb = bCols + 3;
          const A = randomArray(4 + aRows * lda),
            B = randomArray(6 + bRows * ldb);
          const C = new Float64Array(3 + M * ldc).fill(7);
          gemm[product](M, N, K, A, 4, lda, B, 6, ldb, C, 3, ldc);
          const want = naive(M, N, K, a(A.subarray(4), lda), b(B.subarray(6), ldb));
          const got = new Float64Array(M * N);
          for (let m = 0; m < M; m++) for (let n = 0; n < N; n++) got[m * N + n] = C[3 + m * ldc + n]!;
          // Other summation orders (SIMD lanes split even and odd k): rounding only.
          expect(relDiff(want, got), `${product} ${M}x${N}x${K}`).toBeLessThan(1e-14);
          expect(C[0]).toBe(7);
          if (ldc > N) expect(C[3 + N]).toBe(7);
        };
        check(
          "nt",
          M,
          K,
          N,
          K,
          (A, lda) => (m, k) => A[m * lda + k]!,
          (B, ldb) => (n, k) => B[n * ldb + k]!,
        );
        check(
          "nn",
          M,
          K,
          K,
          N,
          (A, lda) => (m, k) => A[m * lda + k]!,
          (B, ldb) => (n, k) => B[k * ldb + n]!,
        );
        check(
          "tn",
          K,
          M,
          K,
          N,
          (A, lda) => (m, k) => A[k * lda + m]!,
          (B, ldb) => (n, k) => B[k * ldb + n]!,
        );
      }
    });
  }

  it("agrees with the JavaScript kernel on network-sized products (several row blocks and k chunks)", () => {
    if (!WASM_GEMM) return;
    for (const [M, N, K] of [
      [3001, 64, 103],
      [188, 64, 3001],
    ] as const) {
      const A = randomArray(M * K),
        B = randomArray(N * K);
      const js = new Float64Array(M * N),
        simd = new Float64Array(M * N);
      JS_GEMM.nt(M, N, K, A, 0, K, B, 0, K, js, 0, N);
      WASM_GEMM.nt(M, N, K, A, 0, K, B, 0, K, simd, 0, N);
      expect(relDiff(js, simd)).toBeLessThan(1e-14);
      // The weight gradient's shape: A^T B over a long k.
      const At = randomArray(K * M);
      JS_GEMM.tn(M, N, K, At, 0, M, B, 0, N, js, 0, N);
      WASM_GEMM.tn(M, N, K, At, 0, M, B, 0, N, simd, 0, N);
      expect(relDiff(js, simd)).toBeLessThan(1e-14);
    }
  });
});
