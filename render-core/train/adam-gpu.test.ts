import { afterAll, describe, expect, it } from "vitest";
import { getTestGpu } from "../../server/gpu/test-gpu";
import { GpuAdam } from "./adam-gpu";
import { Adam } from "./adam";
import { createBufferFrom, STORAGE_RW } from "../gpu/buffers";
import { readBuffer } from "../gpu/readback";
import { mulberry32 } from "../math/prng";

const { gpu, skipReason } = await getTestGpu();
afterAll(() => gpu?.destroy());

describe("Adam: WGSL agrees with the CPU twin", () => {
  it("updates ranges with their own rates and L2 pulls, skips ranges left out, and keeps the moments", async (ctx) => {
    if (!gpu) return ctx.skip(skipReason!);
    const device = gpu.device;
    const rand = mulberry32(4);
    const n = 300;
    const cpu = Float64Array.from({ length: n }, () => rand() - 0.5);
    const param = createBufferFrom(device, "test.param", Float32Array.from(cpu), STORAGE_RW);
    const gradBuf = createBufferFrom(device, "test.grad", new Float32Array(n), STORAGE_RW);
    // Three ranges of one buffer, as the latent table's groups.
    const ranges = [
      { name: "a", offset: 0, count: 100, lr: 1e-2, l2: 0 },
      { name: "b", offset: 100, count: 150, lr: 3e-3, l2: 0.02 },
      { name: "c", offset: 250, count: 50, lr: 5e-2, l2: 0 },
    ];
    const gpuAdam = new GpuAdam(
      device,
      ranges.map((r) => ({ name: r.name, param, grad: gradBuf, offset: r.offset, count: r.count })),
    );
    const cpuAdam = new Adam(
      ranges.map((r) => ({ name: r.name, params: cpu.subarray(r.offset, r.offset + r.count), lr: r.lr, l2: r.l2 })),
    );
    for (let step = 0; step < 5; step++) {
      // Gradients over four orders of magnitude; range c sits out step 2.
      const grad = Float32Array.from({ length: n }, () => (rand() - 0.5) * 10 ** -Math.floor(rand() * 4));
      device.queue.writeBuffer(gradBuf, 0, grad);
      const active = ranges.filter((r) => !(r.name === "c" && step === 2));
      cpuAdam.update(Object.fromEntries(active.map((r) => [r.name, grad.subarray(r.offset, r.offset + r.count)])));
      const encoder = device.createCommandEncoder();
      const pass = encoder.beginComputePass();
      gpuAdam.encodeUpdate(pass, Object.fromEntries(active.map((r) => [r.name, { lr: r.lr, l2: r.l2 }])));
      pass.end();
      device.queue.submit([encoder.finish()]);
    }
    expect(gpuAdam.step).toBe(cpuAdam.step);
    const got = new Float32Array(await readBuffer(device, param, n * 4));
    // Each step moves a parameter by at most about lr; float32 moments hold that to 1e-4 of it.
    for (const r of ranges) {
      let worst = 0;
      for (let i = r.offset; i < r.offset + r.count; i++) worst = Math.max(worst, Math.abs(got[i]! - cpu[i]!) / r.lr);
      expect(worst, r.name).toBeLessThan(1e-4);
    }
    const m = await gpuAdam.readMoments("b");
    const want = cpuAdam.moments().b!;
    for (let i = 0; i < 150; i++) expect(m.v[i]!).toBeCloseTo(want.v[i]!, 7);
    expect(() => {
      const encoder = device.createCommandEncoder();
      const pass = encoder.beginComputePass();
      try {
        gpuAdam.encodeUpdate(pass, { d: { lr: 1 } });
      } finally {
        pass.end();
      }
    }).toThrow(/GpuAdam.encodeUpdate: no range "d"/);
    gpuAdam.destroy();
    param.destroy();
    gradBuf.destroy();
  });
});
