/**
 * The matrix product of gemm.ts (C = A B^T, float64) as a WebAssembly SIMD
 * kernel, for the fast network passes. The JavaScript kernel (gemm.ts
 * gemmABt) is its twin: gemm.test.ts requires them to agree, and it is what
 * runs where WebAssembly SIMD is missing (wasmGemm() returns null).
 *
 * Why: scalar JavaScript tops out near 2.4 GMAC/s on this machine whatever the
 * blocking (4 x 2, 2 x 4, 4 x 4, unrolled: all 2.2-2.4); the same 4 x 2 block
 * with f64x2 lanes along k runs at about 10 GMAC/s (a module of about a
 * kilobyte, no toolchain: the bytes are written below).
 *
 * Two kernels on padded operands in the module's memory: nt (C = A B^T, the
 * forward and the input gradient: M a multiple of 4, N of 2, K even, lanes
 * holding even and odd k, added at the end) and tn (C = A^T B, the weight
 * gradient, which would otherwise need both operands transposed: M and N
 * multiples of 4, lanes along n). Sums run in another order than the
 * JavaScript kernel's (agreement to rounding).
 */

/** Unsigned and signed LEB128, as the binary format writes integers. */
function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return out;
}
function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && !(b & 0x40)) || (n === -1 && b & 0x40)) return [...out, b];
    out.push(b | 0x80);
  }
}

// Opcodes (WebAssembly core and SIMD specifications).
const get = (i: number) => [0x20, ...uleb(i)],
  set = (i: number) => [0x21, ...uleb(i)],
  tee = (i: number) => [0x22, ...uleb(i)],
  i32const = (v: number) => [0x41, ...sleb(v)];
const [ADD, MUL, SHL, LT_U, LOOP, BR_IF, END, VOID, F64_ADD, F64_LOAD, F64_STORE] = [
  0x6a, 0x6c, 0x74, 0x49, 0x03, 0x0d, 0x0b, 0x40, 0xa0, 0x2b, 0x39,
];
const simd = (op: number, ...imm: number[]) => [0xfd, ...uleb(op), ...imm];
/** Memory access immediates: alignment hint 2^3, static byte offset. */
const memarg = (offset: number) => [3, ...uleb(offset)];
const v128load = (offset = 0) => simd(0x00, ...memarg(offset)),
  v128store = (offset = 0) => simd(0x0b, ...memarg(offset)),
  f64x2splat = simd(0x14),
  f64x2add = simd(0xf0),
  f64x2mul = simd(0xf2),
  lane = (l: number) => simd(0x21, l),
  v128zero = simd(0x0c, ...new Array<number>(16).fill(0));
/** local = local << 3 (doubles to bytes). */
const bytesOf = (from: number, to: number) => [...get(from), ...i32const(3), SHL, ...set(to)];
/** local += step; loop again while local < bound (unsigned). */
const nextWhile = (i: number, step: number, bound: number) => [
  ...[...get(i), ...i32const(step), ADD, ...tee(i), ...get(bound), LT_U, BR_IF, 0],
];
/** acc = acc + x * w (f64x2). */
const madd = (acc: number, x: number, w: number) => [
  ...[...get(acc), ...get(x), ...get(w), ...f64x2mul, ...f64x2add, ...set(acc)],
];

/** Both kernels take (M, N, K, a, lda, b, ldb, c, ldc): i32 byte addresses a, b, c and strides in doubles. */
const [M, N, K, A, LDA, B, LDB, C, LDC] = [0, 1, 2, 3, 4, 5, 6, 7, 8];

/** A function body with its locals: `i32s` i32 locals and `v128s` v128 locals after the nine parameters. */
function funcBody(i32s: number, v128s: number, body: number[]): number[] {
  const func = [...uleb(2), ...uleb(i32s), 0x7f, ...uleb(v128s), 0x7b, ...body, END];
  return [...uleb(func.length), ...func];
}

/**
 * nt: C[m, n] = sum_k A[m, k] B[n, k]. For m < M (step 4), n < N (step 2): eight
 * f64x2 sums over k (step 2) of A rows m..m+3 times B rows n, n+1, then each
 * sum's two lanes added and stored. Loops are do-while: M, N >= 1 and K >= 2.
 */
function ntKernel(): number[] {
  let next = 9;
  const local = () => next++;
  const [m, n, k, kb, lda8, ldb8, ldc8, pa0, pa1, pa2, pa3, pb0, pb1, pc] = Array.from({ length: 14 }, local);
  const i32s = next - 9;
  const acc = Array.from({ length: 8 }, local),
    x = Array.from({ length: 4 }, local),
    w = Array.from({ length: 2 }, local);
  const body = [
    ...[...bytesOf(K, kb), ...bytesOf(LDA, lda8), ...bytesOf(LDB, ldb8), ...bytesOf(LDC, ldc8)],
    ...[...i32const(0), ...set(m), LOOP, VOID],
    ...[...get(A), ...get(m), ...get(lda8), MUL, ADD, ...tee(pa0)],
    ...[...get(lda8), ADD, ...tee(pa1), ...get(lda8), ADD, ...tee(pa2), ...get(lda8), ADD, ...set(pa3)],
    ...[...i32const(0), ...set(n), LOOP, VOID],
    ...[...get(B), ...get(n), ...get(ldb8), MUL, ADD, ...tee(pb0), ...get(ldb8), ADD, ...set(pb1)],
    ...acc.flatMap((a) => [...v128zero, ...set(a)]),
    ...[...i32const(0), ...set(k), LOOP, VOID],
    ...[...get(pb0), ...get(k), ADD, ...v128load(), ...set(w[0]!)],
    ...[...get(pb1), ...get(k), ADD, ...v128load(), ...set(w[1]!)],
    ...[pa0, pa1, pa2, pa3].flatMap((p, r) => [
      ...[...get(p), ...get(k), ADD, ...v128load(), ...set(x[r]!)],
      ...madd(acc[2 * r]!, x[r]!, w[0]!),
      ...madd(acc[2 * r + 1]!, x[r]!, w[1]!),
    ]),
    ...nextWhile(k, 16, kb),
    END,
    // pc = c + m ldc8 + 8 n; row r of the block at pc + r ldc8.
    ...[...get(C), ...get(m), ...get(ldc8), MUL, ADD, ...get(n), ...i32const(3), SHL, ADD, ...set(pc)],
    ...[0, 1, 2, 3].flatMap((r) => [
      ...(r === 0 ? [] : [...get(pc), ...get(ldc8), ADD, ...set(pc)]),
      ...[0, 1].flatMap((c) => [
        ...get(pc),
        ...[...get(acc[2 * r + c]!), ...lane(0), ...get(acc[2 * r + c]!), ...lane(1), F64_ADD],
        ...[F64_STORE, ...memarg(8 * c)],
      ]),
    ]),
    ...nextWhile(n, 2, N),
    END,
    ...nextWhile(m, 4, M),
    END,
  ];
  return funcBody(i32s, next - 9 - i32s, body);
}

/**
 * tn: C[m, n] += sum_k A[k, m] B[k, n] (both operands row-major over k, as the
 * weight gradient's ds and x are). For m < M (step 4), n < N (step 4): eight
 * f64x2 sums, loaded from C, over k of A[k, m + r] (splat) times B[k, n..n+3],
 * stored back as pairs. Loops are do-while: M, N, K >= 1.
 */
function tnKernel(): number[] {
  let next = 9;
  const local = () => next++;
  const [m, n, k, lda8, ldb8, ldc8, pa, pb, pc] = Array.from({ length: 9 }, local);
  const i32s = next - 9;
  const acc = Array.from({ length: 8 }, local),
    x = local(),
    w = Array.from({ length: 2 }, local);
  const body = [
    ...[...bytesOf(LDA, lda8), ...bytesOf(LDB, ldb8), ...bytesOf(LDC, ldc8)],
    ...[...i32const(0), ...set(m), LOOP, VOID],
    ...[...i32const(0), ...set(n), LOOP, VOID],
    // pc = c + m ldc8 + 8 n; the sums start from C (the caller runs k in chunks that fit the cache).
    ...[...get(C), ...get(m), ...get(ldc8), MUL, ADD, ...get(n), ...i32const(3), SHL, ADD, ...set(pc)],
    ...[0, 1, 2, 3].flatMap((r) => [
      ...[
        ...get(pc),
        ...(r === 0 ? [] : [...get(ldc8), ...i32const(r), MUL, ADD]),
        ...v128load(0),
        ...set(acc[2 * r]!),
      ],
      ...[...get(pc), ...(r === 0 ? [] : [...get(ldc8), ...i32const(r), MUL, ADD]), ...v128load(16)],
      ...set(acc[2 * r + 1]!),
    ]),
    ...[...get(A), ...get(m), ...i32const(3), SHL, ADD, ...set(pa)],
    ...[...get(B), ...get(n), ...i32const(3), SHL, ADD, ...set(pb)],
    ...[...i32const(0), ...set(k), LOOP, VOID],
    ...[...get(pb), ...v128load(0), ...set(w[0]!), ...get(pb), ...v128load(16), ...set(w[1]!)],
    ...[0, 1, 2, 3].flatMap((r) => [
      ...[...get(pa), F64_LOAD, ...memarg(8 * r), ...f64x2splat, ...set(x)],
      ...madd(acc[2 * r]!, x, w[0]!),
      ...madd(acc[2 * r + 1]!, x, w[1]!),
    ]),
    ...[...get(pa), ...get(lda8), ADD, ...set(pa), ...get(pb), ...get(ldb8), ADD, ...set(pb)],
    ...nextWhile(k, 1, K),
    END,
    ...[0, 1, 2, 3].flatMap((r) => [
      ...(r === 0 ? [] : [...get(pc), ...get(ldc8), ADD, ...set(pc)]),
      ...[...get(pc), ...get(acc[2 * r]!), ...v128store(0)],
      ...[...get(pc), ...get(acc[2 * r + 1]!), ...v128store(16)],
    ]),
    ...nextWhile(n, 4, N),
    END,
    ...nextWhile(m, 4, M),
    END,
  ];
  return funcBody(i32s, next - 9 - i32s, body);
}

/** The module: memory 0 ("mem", one page to start) and the kernels "nt" and "tn", both of type (i32 x 9) -> (). */
function moduleBytes(): Uint8Array<ArrayBuffer> {
  const vec = (items: number[][]) => [...uleb(items.length), ...items.flat()];
  const section = (id: number, bytes: number[]) => [id, ...uleb(bytes.length), ...bytes];
  const name = (s: string) => [...uleb(s.length), ...Array.from(s, (ch) => ch.charCodeAt(0))];
  return new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0],
    ...section(1, vec([[0x60, ...uleb(9), ...new Array<number>(9).fill(0x7f), 0]])),
    ...section(3, vec([uleb(0), uleb(0)])),
    ...section(5, vec([[0x00, ...uleb(1)]])),
    ...section(
      7,
      vec([
        [...name("nt"), 0x00, 0],
        [...name("tn"), 0x00, 1],
        [...name("mem"), 0x02, 0],
      ]),
    ),
    ...section(10, vec([ntKernel(), tnKernel()])),
  ]);
}

export interface WasmGemm {
  /** The module's memory as doubles; a new array after reserve() grows it. */
  f64: Float64Array;
  /** Makes the memory hold at least `doubles` numbers; returns f64. */
  reserve(doubles: number): Float64Array;
  /**
   * C[c + m ldc + n] = sum_k A[a + m lda + k] B[b + n ldb + k] for m < M, n < N, k < K, offsets and
   * strides in doubles into f64: M a multiple of 4, N of 2, K even and >= 2, offsets and strides even.
   */
  nt(M: number, N: number, K: number, a: number, lda: number, b: number, ldb: number, c: number, ldc: number): void;
  /**
   * C[c + m ldc + n] += sum_k A[a + k lda + m] B[b + k ldb + n] for m < M, n < N, k < K: M and N
   * multiples of 4, K >= 1, ldc even.
   */
  tn(M: number, N: number, K: number, a: number, lda: number, b: number, ldb: number, c: number, ldc: number): void;
}

let instance: WasmGemm | null | undefined;

/** The SIMD kernel, or null where WebAssembly SIMD is unavailable (then gemm.ts runs). */
export function wasmGemm(): WasmGemm | null {
  if (instance !== undefined) return instance;
  instance = null;
  if (typeof WebAssembly === "undefined") return null;
  const bytes = moduleBytes();
  if (!WebAssembly.validate(bytes)) return null;
  // Synchronous compile: the module is about a kilobyte, within what browsers allow on the main thread.
  const exports = new WebAssembly.Instance(new WebAssembly.Module(bytes), {}).exports as {
    nt: (...args: number[]) => void;
    tn: (...args: number[]) => void;
    mem: WebAssembly.Memory;
  };
  const mem = exports.mem;
  const self: WasmGemm = {
    f64: new Float64Array(mem.buffer),
    reserve(doubles) {
      const bytes = doubles * 8;
      if (mem.buffer.byteLength < bytes) {
        mem.grow(Math.ceil((bytes - mem.buffer.byteLength) / 65536));
        self.f64 = new Float64Array(mem.buffer);
      }
      return self.f64;
    },
    nt(M, N, K, a, lda, b, ldb, c, ldc) {
      if (M % 4 || N % 2 || K % 2 || K < 2 || a % 2 || b % 2 || c % 2 || lda % 2 || ldb % 2 || ldc % 2)
        throw new Error(`wasmGemm.nt: unpadded shape or offsets (M ${M}, N ${N}, K ${K}, a ${a}, b ${b}, c ${c})`);
      if (M === 0 || N === 0) return;
      exports.nt(M, N, K, a * 8, lda, b * 8, ldb, c * 8, ldc);
    },
    tn(M, N, K, a, lda, b, ldb, c, ldc) {
      if (M % 4 || N % 4 || K < 1 || ldc % 2) throw new Error(`wasmGemm.tn: unpadded shape (M ${M}, N ${N}, K ${K})`);
      if (M === 0 || N === 0) return;
      exports.tn(M, N, K, a * 8, lda, b * 8, ldb, c * 8, ldc);
    },
  };
  instance = self;
  return self;
}
