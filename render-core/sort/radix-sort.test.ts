import { afterAll, describe, expect, it } from "vitest";
import { getTestGpu } from "../../server/gpu/test-gpu";
import { createBufferFrom, STORAGE_RW } from "../gpu/buffers";
import { Readback } from "../gpu/readback";
import { RadixSort } from "./radix-sort";
import { radixSort } from "./radix-sort.cpu";
import { countingEncoder } from "../../server/gpu/counting-encoder";

const { gpu, skipReason } = await getTestGpu();
afterAll(() => gpu?.destroy());
const debug = { fillGarbage: true };

function seededKeys(n: number, seed: number, mask: number): Uint32Array {
  const out = new Uint32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x9e3779b9 + i) >>> 0;
    out[i] = (s ^ (s >>> 13)) & mask;
  }
  return out;
}
const iota = (n: number) => Uint32Array.from({ length: n }, (_, i) => i);

describe("radixSort (CPU twin)", () => {
  it("sorts like a stable comparison sort", () => {
    const keys = seededKeys(5000, 3, 0xff);
    const { keys: k, values: v } = radixSort(keys, iota(5000), 8);
    const want = Array.from(iota(5000)).sort((a, b) => keys[a] - keys[b] || a - b);
    expect(Array.from(v)).toEqual(want);
    expect(Array.from(k)).toEqual(want.map((i) => keys[i]));
  });

  it("sorts full 32-bit keys, including the top bit, as unsigned", () => {
    const keys = new Uint32Array([0x80000000, 5, 0xffffffff, 0, 0x7fffffff]);
    expect(Array.from(radixSort(keys, iota(5)).keys)).toEqual([0, 5, 0x7fffffff, 0x80000000, 0xffffffff]);
  });
});

describe("RadixSort (GPU)", () => {
  const cases: Array<[number, number]> = [
    [1, 32],
    [255, 32],
    [256, 32],
    [257, 32],
    [1025, 12],
    [4096, 8],
    [100_000, 32],
    [100_000, 12],
  ];
  for (const [n, bits] of cases) {
    it(`matches the stable CPU twin exactly on ${n} pairs with ${bits}-bit keys`, async (ctx) => {
      if (!gpu) return ctx.skip(skipReason!);
      const device = gpu.device;
      // Few distinct keys at 12 and 8 bits: many ties, which is what exposes an unstable sort.
      const keys = seededKeys(n, n + bits, bits === 32 ? 0xffffffff : (1 << bits) - 1);
      const kb = createBufferFrom(device, "keys", keys, STORAGE_RW);
      const vb = createBufferFrom(device, "values", iota(n), STORAGE_RW);
      const sort = new RadixSort(device, n, debug);
      const enc = device.createCommandEncoder();
      const out = sort.encode(enc, kb, vb, n, bits);
      device.queue.submit([enc.finish()]);
      const rb = new Readback(device);
      const [k, v] = await rb.read([
        { buffer: out.keys, bytes: n * 4 },
        { buffer: out.values, bytes: n * 4 },
      ]);
      const want = radixSort(keys, iota(n), bits);
      expect(new Uint32Array(k)).toEqual(want.keys);
      expect(new Uint32Array(v)).toEqual(want.values);
      rb.destroy();
      sort.destroy();
    });
  }

  it("sorts a GPU-side count smaller than its capacity", async (ctx) => {
    if (!gpu) return ctx.skip(skipReason!);
    const device = gpu.device;
    const cap = 3000;
    const n = 1500;
    const keys = seededKeys(cap, 9, 0x3ff);
    const kb = createBufferFrom(device, "keys", keys, STORAGE_RW);
    const vb = createBufferFrom(device, "values", iota(cap), STORAGE_RW);
    const count = createBufferFrom(device, "count", new Uint32Array([n]), STORAGE_RW);
    const sort = new RadixSort(device, cap, debug);
    const enc = device.createCommandEncoder();
    const out = sort.encode(enc, kb, vb, { buffer: count, offset: 0 }, 10);
    device.queue.submit([enc.finish()]);
    const [v] = await new Readback(device).read([{ buffer: out.values, bytes: n * 4 }]);
    expect(new Uint32Array(v)).toEqual(radixSort(keys.subarray(0, n), iota(n), 10).values);
    sort.destroy();
  });

  it("dispatches directly for a count the CPU knows (below capacity too) and indirectly for a GPU-side one", async (ctx) => {
    if (!gpu) return ctx.skip(skipReason!);
    const device = gpu.device;
    const cap = 70_000;
    const n = 40_001;
    const keys = seededKeys(cap, 4, 0xffffffff);
    const sort = new RadixSort(device, cap, debug);
    for (const gpuSide of [false, true]) {
      const kb = createBufferFrom(device, "keys", keys, STORAGE_RW);
      const vb = createBufferFrom(device, "values", iota(cap), STORAGE_RW);
      const countBuf = createBufferFrom(device, "count", new Uint32Array([n]), STORAGE_RW);
      const { encoder, counts } = countingEncoder(device.createCommandEncoder());
      const out = sort.encode(encoder, kb, vb, gpuSide ? { buffer: countBuf, offset: 0 } : n, 32);
      device.queue.submit([encoder.finish()]);
      if (gpuSide) expect(counts.indirect).toBeGreaterThan(0);
      else expect(counts).toMatchObject({ indirect: 0 });
      expect(counts.direct).toBeGreaterThan(0);
      const [v] = await new Readback(device).read([{ buffer: out.values, bytes: n * 4 }]);
      expect(new Uint32Array(v)).toEqual(radixSort(keys.subarray(0, n), iota(n), 32).values);
    }
    sort.destroy();
  });
});
