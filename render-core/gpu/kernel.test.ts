import { afterAll, describe, expect, it } from "vitest";
import { getTestGpu } from "../../server/gpu/test-gpu";
import { RASTER } from "../raster/config";
import { GrowableBuffer, STORAGE_RW, growSize } from "./buffers";
import { FRAME_PARAMS, rasterConstants } from "../raster/frame-params";
import { emitConstants, f32c, getKernel, u32c } from "./kernel";
import { readBuffer } from "./readback";
import { UniformLayout } from "./uniforms";

const { gpu, skipReason } = await getTestGpu();
afterAll(() => gpu?.destroy());

describe("kernel helper", () => {
  it("emits every RASTER constant into WGSL with its value from config.ts", () => {
    const text = emitConstants(rasterConstants());
    for (const k of Object.keys(RASTER)) expect(text).toContain(`const ${k}: `);
    expect(text).toContain(`const TILE: u32 = ${RASTER.TILE}u;`);
    expect(text).toContain(`const SIGMA_EXTENT: f32 = ${RASTER.SIGMA_EXTENT}.0;`);
  });

  it("rejects a fractional u32 constant, naming it and the value", () => {
    expect(() => emitConstants({ WG: u32c(2.5) })).toThrow(/^emitConstants: WG must be an integer for u32, got 2.5/);
    expect(() => emitConstants({ X: f32c(NaN) })).toThrow(/^emitConstants: X must be finite, got NaN/);
  });

  it("lays out uniform structs with WGSL alignment and packs values at those offsets", () => {
    const L = new UniformLayout("P", [
      ["a", "f32"],
      ["m", "vec4f"],
      ["n", "u32"],
    ] as const);
    expect(L.offsets).toEqual({ a: 0, m: 16, n: 32 });
    expect(L.size).toBe(48);
    const buf = L.pack({ a: 1.5, m: [1, 2, 3, 4], n: 7 });
    expect(new Float32Array(buf)[0]).toBe(1.5);
    expect(Array.from(new Float32Array(buf, 16, 4))).toEqual([1, 2, 3, 4]);
    expect(new Uint32Array(buf)[8]).toBe(7);
    expect(() => L.pack({ a: 1, m: [1, 2], n: 0 })).toThrow(/^UniformLayout.pack: P.m needs 4 numbers/);
    expect(FRAME_PARAMS.size % 16).toBe(0);
  });

  it("grows buffers by powers of two and keeps them when they are big enough", () => {
    expect(growSize(1)).toBe(256);
    expect(growSize(257)).toBe(512);
    expect(growSize(4096)).toBe(4096);
  });

  it("fills new buffers with garbage in debug mode and reuses a buffer that fits", async (ctx) => {
    if (!gpu) return ctx.skip(skipReason!);
    const b = new GrowableBuffer(gpu.device, "t", STORAGE_RW, { fillGarbage: true });
    expect(b.ensure(1000)).toBe(true);
    expect(b.capacity).toBe(1024);
    expect(b.ensure(1024)).toBe(false);
    expect(b.generation).toBe(1);
    const words = new Uint32Array(await readBuffer(gpu.device, b.buffer));
    // Seeded garbage: not all zeros, and not one repeated value.
    expect(new Set(words).size).toBeGreaterThan(100);
    b.destroy();
  });

  it("caches one pipeline per device and source", (ctx) => {
    if (!gpu) return ctx.skip(skipReason!);
    const spec = {
      label: "noop",
      code: [
        "@group(0) @binding(0) var<storage, read_write> o: array<u32>;\n@compute @workgroup_size(WG) fn noop(@builtin(global_invocation_id) g: vec3<u32>) { if (g.x == 0u) { o[0] = WG; } }",
      ],
      entryPoint: "noop",
      constants: { WG: u32c(64) },
      bindings: [{ name: "o", kind: "storage" as const }],
    };
    expect(getKernel(gpu.device, spec)).toBe(getKernel(gpu.device, { ...spec }));
    expect(getKernel(gpu.device, spec)).not.toBe(getKernel(gpu.device, { ...spec, constants: { WG: u32c(32) } }));
    // The same text in another string object is the same kernel; other text is another.
    const copy = (" " + spec.code[0]).slice(1);
    expect(getKernel(gpu.device, { ...spec, code: [copy] })).toBe(getKernel(gpu.device, spec));
    const other = spec.code[0]!.replace("o[0] = WG", "o[0] = WG + 1u");
    expect(getKernel(gpu.device, { ...spec, code: [other] })).not.toBe(getKernel(gpu.device, spec));
    expect(getKernel(gpu.device, { ...spec, code: [other] }).wgsl).toContain("WG + 1u");
    expect(() => getKernel(gpu.device, spec).bind({})).toThrow(/^Kernel.bind: noop is missing binding "o"/);
  });
});
