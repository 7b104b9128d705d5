import { afterAll, describe, expect, it } from "vitest";
import { createNodeGpu } from "./node-device";
import { getTestGpu } from "./test-gpu";

const { gpu, skipReason } = await getTestGpu();
afterAll(() => gpu?.destroy());

describe("createNodeGpu", () => {
  it("gives a device that runs a compute shader, or a reason to skip", async (ctx) => {
    if (!gpu) return ctx.skip(skipReason!);
    expect(gpu.adapterInfo.vendor.length).toBeGreaterThan(0);
    const device = gpu.device;
    const buf = device.createBuffer({ size: 16, usage: 0x80 | 0x4 });
    const read = device.createBuffer({ size: 16, usage: 0x1 | 0x8 });
    const module = device.createShaderModule({
      code: `@group(0) @binding(0) var<storage, read_write> o: array<u32>;
             @compute @workgroup_size(4) fn main(@builtin(local_invocation_index) i: u32) { o[i] = i * 7u; }`,
    });
    const pipeline = device.createComputePipeline({ layout: "auto", compute: { module, entryPoint: "main" } });
    const enc = device.createCommandEncoder();
    const pass = enc.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(
      0,
      device.createBindGroup({
        layout: pipeline.getBindGroupLayout(0),
        entries: [{ binding: 0, resource: { buffer: buf } }],
      }),
    );
    pass.dispatchWorkgroups(1);
    pass.end();
    enc.copyBufferToBuffer(buf, 0, read, 0, 16);
    device.queue.submit([enc.finish()]);
    await read.mapAsync(1);
    expect([...new Uint32Array(read.getMappedRange())]).toEqual([0, 7, 14, 21]);
    read.unmap();
  });

  it("reports uncaptured validation errors through onFailure instead of ignoring them", async (ctx) => {
    const failures: Error[] = [];
    const own = await createNodeGpu({
      onFailure: (e) => failures.push(e),
      log: { info: () => {}, warn: () => {}, error: () => {} },
    });
    if (!own) return ctx.skip(skipReason ?? "no adapter");
    own.device.createBuffer({ size: 4, usage: 0x1 | 0x80 }); // MAP_READ with STORAGE is invalid
    await own.device.queue.onSubmittedWorkDone();
    await new Promise((r) => setTimeout(r, 50));
    own.destroy();
    expect(failures.length).toBeGreaterThan(0);
    expect(failures[0].message).toMatch(/^createNodeGpu: uncaptured WebGPU/);
    expect(own.failure).toBe(failures[0]);
  });
});
