import { afterAll, describe, expect, it } from "vitest";
import { getTestGpu } from "../../server/gpu/test-gpu";
import { createBufferFrom, STORAGE_RW } from "../gpu/buffers";
import { readBuffer } from "../gpu/readback";
import { ExclusiveScan } from "./scan";
import { exclusiveScan, scanAddBlockSums, scanBlocks } from "./scan.cpu";

const { gpu, skipReason } = await getTestGpu();
afterAll(() => gpu?.destroy());
const debug = { fillGarbage: true };

function seeded(n: number, seed: number, max: number): Uint32Array {
  const out = new Uint32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s % max;
  }
  return out;
}

describe("exclusiveScan (CPU twin)", () => {
  it("matches a running sum, including across blocks and levels", () => {
    const input = seeded(3000, 1, 50);
    let acc = 0;
    const want = Array.from(input, (x) => ((acc += x), acc - x));
    expect(Array.from(exclusiveScan(input, 16))).toEqual(want);
    expect(Array.from(exclusiveScan(input))).toEqual(want);
  });

  it("wraps around 2^32 like the u32 kernel", () => {
    expect(Array.from(exclusiveScan(new Uint32Array([0xffffffff, 2, 3])))).toEqual([0, 0xffffffff, 1]);
  });

  it("scanBlocks then scanAddBlockSums equals the whole-array scan", () => {
    const input = seeded(100, 2, 9);
    const data = input.slice();
    const sums = scanBlocks(data, 8);
    scanAddBlockSums(data, exclusiveScan(sums, 8), 8);
    expect(data).toEqual(exclusiveScan(input, 1024));
  });
});

describe("ExclusiveScan (GPU)", () => {
  // Sizes straddle the per-thread (4), per-workgroup (1024) and two-level (1024^2) boundaries.
  for (const n of [1, 255, 256, 257, 1023, 1024, 1025, 4097, 100_000]) {
    it(`matches the CPU twin exactly on ${n} values`, async (ctx) => {
      if (!gpu) return ctx.skip(skipReason!);
      const device = gpu.device;
      const input = seeded(n, n, 1000);
      const data = createBufferFrom(device, "data", input, STORAGE_RW);
      const scan = new ExclusiveScan(device, n, debug);
      const enc = device.createCommandEncoder();
      scan.encode(enc, data, n);
      device.queue.submit([enc.finish()]);
      const got = new Uint32Array(await readBuffer(device, data, n * 4));
      expect(got).toEqual(exclusiveScan(input));
      scan.destroy();
      data.destroy();
    });
  }

  it("reads its count from a GPU buffer and leaves values past the count alone", async (ctx) => {
    if (!gpu) return ctx.skip(skipReason!);
    const device = gpu.device;
    const cap = 5000;
    const input = seeded(cap, 7, 100);
    const data = createBufferFrom(device, "data", input, STORAGE_RW);
    const count = createBufferFrom(device, "count", new Uint32Array([0, 2049]), STORAGE_RW);
    const scan = new ExclusiveScan(device, cap, debug);
    const enc = device.createCommandEncoder();
    scan.encode(enc, data, { buffer: count, offset: 4 });
    device.queue.submit([enc.finish()]);
    const got = new Uint32Array(await readBuffer(device, data, cap * 4));
    expect(got.subarray(0, 2049)).toEqual(exclusiveScan(input.subarray(0, 2049)));
    expect(got.subarray(2049)).toEqual(input.subarray(2049));
    scan.destroy();
  });

  it("rejects a count above its capacity with the bad value", (ctx) => {
    if (!gpu) return ctx.skip(skipReason!);
    const scan = new ExclusiveScan(gpu.device, 10);
    const data = gpu.device.createBuffer({ size: 64, usage: STORAGE_RW });
    expect(() => scan.encode(gpu.device.createCommandEncoder(), data, 11)).toThrow(
      /^ExclusiveScan.setCount: count must be an integer in \[0, 10\], got 11/,
    );
    scan.destroy();
  });
});
