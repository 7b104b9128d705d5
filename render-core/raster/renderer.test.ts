import { afterAll, describe, expect, it } from "vitest";
import { getTestGpu } from "../../server/gpu/test-gpu";
import { createSplatCloud, type SplatCloud } from "../splats/splat-cloud";
import type { Camera } from "../math/camera";
import { GpuSplatRenderer } from "./renderer";
import { packRgb8Cpu } from "./rasterize.cpu";
import { Readback } from "../gpu/readback";

const { gpu, skipReason } = await getTestGpu();
afterAll(() => gpu?.destroy());
const debug = { fillGarbage: true, checkFinite: true };

/** A seeded blob of splats around (0, 0, 4), in front of an identity camera. */
function blob(n: number, seed: number, z = 4): SplatCloud {
  const c = createSplatCloud(n);
  let s = seed >>> 0;
  const rnd = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
  for (let i = 0; i < n; i++) {
    c.positions.set([(rnd() - 0.5) * 2, (rnd() - 0.5) * 2, z + (rnd() - 0.5)], i * 3);
    c.scales.set([0.02 + 0.1 * rnd(), 0.02 + 0.1 * rnd(), 0.02 + 0.1 * rnd()], i * 3);
    const q = [rnd() - 0.5, rnd() - 0.5, rnd() - 0.5, rnd() - 0.5];
    const l = Math.hypot(...q);
    c.rotations.set(
      q.map((v) => v / l),
      i * 4,
    );
    c.colors.set([rnd(), rnd(), rnd()], i * 3);
    c.opacities[i] = 0.2 + 0.8 * rnd();
  }
  return c;
}

function camera(size = 48, tx = 0): Camera {
  return {
    width: size,
    height: size,
    fx: size,
    fy: size,
    cx: size / 2,
    cy: size / 2,
    near: 0.01,
    far: 100,
    worldToCamera: new Float32Array([1, 0, 0, tx, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]),
  };
}

describe("GpuSplatRenderer", () => {
  it("renders the background everywhere for an empty scene", async (ctx) => {
    if (!gpu) return ctx.skip(skipReason!);
    const r = new GpuSplatRenderer(gpu.device, { debug });
    r.setCloud(createSplatCloud(0));
    const img = await r.render(camera(), { background: [0.1, 0.2, 0.3] });
    for (let i = 0; i < 48 * 48; i++) {
      expect([img.rgb[i * 3], img.rgb[i * 3 + 1], img.rgb[i * 3 + 2], img.alpha[i], img.depth[i]]).toEqual([
        Math.fround(0.1),
        Math.fround(0.2),
        Math.fround(0.3),
        0,
        0,
      ]);
    }
    r.destroy();
  });

  it("leaves the image empty when every splat is behind the camera", async (ctx) => {
    if (!gpu) return ctx.skip(skipReason!);
    const r = new GpuSplatRenderer(gpu.device, { debug });
    r.setCloud(blob(200, 1, -4));
    const img = await r.render(camera());
    expect(img.alpha.every((a) => a === 0)).toBe(true);
    expect(img.rgb.every((v) => v === 0)).toBe(true);
    r.destroy();
  });

  it("reuses every buffer when only the camera moves", async (ctx) => {
    if (!gpu) return ctx.skip(skipReason!);
    const r = new GpuSplatRenderer(gpu.device, { debug });
    r.setCloud(blob(300, 2));
    await r.render(camera(48, 0));
    const allocations = r.allocations;
    const bytes = r.gpuBytes;
    await r.render(camera(48, 0.1));
    await r.render(camera(48, -0.1));
    expect(r.allocations).toBe(allocations);
    expect(r.gpuBytes).toBe(bytes);
    expect(r.bytesPerSplat).toBeGreaterThan(0);
    r.destroy();
  });

  it("grows an overflowing intersection list and renders the same image as a roomy renderer", async (ctx) => {
    if (!gpu) return ctx.skip(skipReason!);
    const cloud = blob(400, 3);
    const tight = new GpuSplatRenderer(gpu.device, { debug, isectsPerSplat: 0.01 });
    const roomy = new GpuSplatRenderer(gpu.device, { debug, isectsPerSplat: 16 });
    tight.setCloud(cloud);
    roomy.setCloud(cloud);
    const cap = tight.intersectionCapacity;
    const a = await tight.render(camera());
    const b = await roomy.render(camera());
    expect(tight.intersectionCapacity).toBeGreaterThan(cap);
    // Same kernels, same inputs, same order: bit-identical.
    expect(a.rgb).toEqual(b.rgb);
    expect(a.depth).toEqual(b.depth);
    tight.destroy();
    roomy.destroy();
  });

  it("is not perturbed by hidden (opacity 0) splats", async (ctx) => {
    if (!gpu) return ctx.skip(skipReason!);
    const base = blob(300, 4);
    const extra = blob(100, 5, 3.5);
    extra.opacities.fill(0);
    const both = createSplatCloud(400);
    for (const k of ["positions", "scales", "rotations", "opacities", "colors"] as const) {
      both[k].set(base[k]);
      both[k].set(extra[k], base[k].length);
    }
    const r = new GpuSplatRenderer(gpu.device, { debug });
    r.setCloud(base);
    const a = await r.render(camera());
    r.setCloud(both);
    const b = await r.render(camera());
    expect(b.rgb).toEqual(a.rgb);
    expect(b.alpha).toEqual(a.alpha);
    r.destroy();
  });

  it("writes the display texture from encodeRender without a readback of the image", async (ctx) => {
    if (!gpu) return ctx.skip(skipReason!);
    const d = gpu.device;
    const r = new GpuSplatRenderer(d, { debug });
    r.setCloud(blob(200, 6));
    const cam = camera(64);
    const ref = await r.render(cam, { background: [0, 0, 0.5] });
    // STORAGE_BINDING | COPY_SRC
    const tex = d.createTexture({ size: [64, 64], format: "rgba8unorm", usage: 0x08 | 0x01 });
    const out = d.createBuffer({ size: 64 * 64 * 4, usage: 0x1 | 0x8 });
    const enc = d.createCommandEncoder();
    r.encodeRender(enc, cam, { background: [0, 0, 0.5] }, { texture: tex });
    enc.copyTextureToBuffer({ texture: tex }, { buffer: out, bytesPerRow: 256 }, [64, 64]);
    d.queue.submit([enc.finish()]);
    expect(await r.checkCapacity()).toBe(false);
    await out.mapAsync(1);
    const px = new Uint8Array(out.getMappedRange());
    for (let i = 0; i < 64 * 64; i++) {
      // unorm8 conversion rounds to nearest: at most half a step (plus float slack).
      expect(Math.abs(px[i * 4] / 255 - Math.min(1, ref.rgb[i * 3]))).toBeLessThan(0.51 / 255 + 1e-6);
      expect(Math.abs(px[i * 4 + 3] / 255 - ref.alpha[i])).toBeLessThan(0.51 / 255 + 1e-6);
    }
    out.unmap();
    r.destroy();
  });

  it("packs 8-bit RGB on the GPU as its CPU twin does, with three frames in flight at once", async (ctx) => {
    if (!gpu) return ctx.skip(skipReason!);
    const r = new GpuSplatRenderer(gpu.device, { debug });
    // Bright splats so that clamping at 1 is exercised too.
    const cloud = blob(300, 9);
    for (let i = 0; i < cloud.count; i++) cloud.colors[i * 3] *= 1.6;
    r.setCloud(cloud);
    // 39 x 39: a pixel count that is not a multiple of the kernel's 4 pixels per thread.
    const cams = [camera(64), camera(64, 0.2), camera(39, -0.3)];
    const bg: [number, number, number] = [0.25, 0.5, 0.75];
    const refs: Uint8Array[] = [];
    for (const c of cams) refs.push(packRgb8Cpu((await r.render(c, { background: bg })).rgb));
    // All three submitted before the first is mapped: the readback ring holds them.
    const frames = await Promise.all(cams.map((c) => r.renderRgb8(c, { background: bg })));
    let clamped = 0;
    frames.forEach((f, k) => {
      expect([f.width, f.height]).toEqual([cams[k]!.width, cams[k]!.height]);
      expect(f.rgb.length).toBe(refs[k]!.length);
      let off = 0;
      for (let i = 0; i < f.rgb.length; i++) {
        const d = Math.abs(f.rgb[i]! - refs[k]![i]!);
        expect(d).toBeLessThanOrEqual(1); // f32 on the GPU, f64 on the CPU: a .5 tie may round apart
        if (d) off++;
        if (i % 3 === 0 && refs[k]![i] === 255) clamped++;
      }
      expect(off).toBeLessThan(f.rgb.length / 1000);
      // The background's blue (0.75 -> 191) where nothing was drawn: the byte order is right.
      expect(f.rgb[2]).toBe(refs[k]![2]);
    });
    expect(clamped).toBeGreaterThan(0);
    r.destroy();
  });

  it("refuses a fourth readback while three are in flight, naming the ring's size", async (ctx) => {
    if (!gpu) return ctx.skip(skipReason!);
    const rb = new Readback(gpu.device, 3);
    const buf = gpu.device.createBuffer({ size: 16, usage: 0x80 | 0x04 }); // STORAGE | COPY_SRC
    const enc = gpu.device.createCommandEncoder();
    const pending = [0, 1, 2].map(() => rb.encode(enc, [{ buffer: buf, bytes: 16 }]));
    expect(rb.inFlight).toBe(3);
    expect(() => rb.encode(enc, [{ buffer: buf, bytes: 16 }])).toThrow(
      /^Readback.encode: all 3 staging buffers are still being read/,
    );
    gpu.device.queue.submit([enc.finish()]);
    await Promise.all(pending.map((f) => f()));
    expect(rb.inFlight).toBe(0);
    rb.destroy();
    buf.destroy();
  });

  it("rejects a camera with a bad size, naming the value", async (ctx) => {
    if (!gpu) return ctx.skip(skipReason!);
    const r = new GpuSplatRenderer(gpu.device);
    r.setCloud(blob(10, 7));
    await expect(r.render({ ...camera(), width: 0 })).rejects.toThrow(
      /^GpuSplatRenderer.encodeRender: camera.width must be an integer in \[1, 16384\], got 0/,
    );
    r.destroy();
  });
});
