import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { COMPACT, PAPER, type AvatarModelConfig } from "../../render-core/avatar/config";
import { avatarPriors, createRandomAvatar } from "../../render-core/avatar/avatar";
import { bakeCpu } from "../../render-core/avatar/bake.cpu";
import { deformCpu } from "../../render-core/avatar/deform.cpu";
import { bakeFrame, deformFrame } from "../../render-core/avatar/rig";
import { GpuAvatar } from "../../render-core/avatar/runtime-gpu";
import { CpuAvatarRenderer, WebGpuAvatarRenderer } from "../../render-core/avatar/avatar-renderer";
import { createHeadModel, type HeadModel } from "../../render-core/head";
import { GAUSSIAN_STRIDE, packGaussians } from "../../render-core/raster/project";
import { orbitCamera } from "../../render-core/math/camera";
import { createBuffer } from "../../render-core/gpu/buffers";
import { BufferUsage } from "../../render-core/gpu/flags";
import { readBuffer } from "../../render-core/gpu/readback";
import { mulberry32 } from "../../render-core/math/prng";
import { getTestGpu } from "../gpu/test-gpu";

const { gpu, skipReason } = await getTestGpu();
afterAll(() => gpu?.destroy());

let head: HeadModel;
beforeAll(() => {
  head = createHeadModel();
});

/** Worst difference, relative above 1 and absolute below. */
function worst(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let w = 0;
  for (let i = 0; i < a.length; i++) w = Math.max(w, Math.abs(a[i]! - b[i]!) / Math.max(1, Math.abs(b[i]!)));
  return w;
}

const cases: Array<[string, AvatarModelConfig, number]> = [
  ["compact", COMPACT, 700],
  ["paper", PAPER, 96],
];

describe("avatar bake and deform: WGSL agrees with the CPU twin", () => {
  for (const [name, config, count] of cases) {
    it(`agrees within 1e-4 for the ${name} config (${count} Gaussians)`, async (ctx) => {
      if (!gpu) return ctx.skip(skipReason!);
      const { device } = gpu;
      // A per-Gaussian colour residual (the bake's addAppearance pass) of a trained avatar's size: logits of +-2.
      const rand = mulberry32(12);
      const avatar = {
        ...createRandomAvatar(config, head, { count, seed: 11 }),
        appearance: new Float32Array(count * 3).map(() => 4 * rand() - 2),
      };
      const latents = avatar.neutralLatents.slice();
      latents.set(avatar.anchors[2]!.latent, 0);
      const cpu = bakeCpu(avatar, avatarPriors(avatar, head), bakeFrame(head, avatar.shape), latents);
      const gpuAvatar = new GpuAvatar(device, avatar, head);
      gpuAvatar.bake(avatar.neutralLatents);
      gpuAvatar.bake(latents); // the second bake only rewrites biases
      const got = await gpuAvatar.readBaked();
      for (const key of ["rest", "skin", "geomRaw", "dirs"] as const)
        expect(worst(got[key], cpu[key]), key).toBeLessThan(1e-4);

      const expression = new Float32Array(head.expressionNames.length).map((_, e) => (e % 5 === 0 ? 0.8 : 0));
      const pose = [0.1, -0.35, 0, 0.05, 0.1, 0, 0.3, 0, 0, 0, 0.1, 0, 0, 0.1, 0];
      const frame = deformFrame(config, head, avatar.shape, { expression, pose, translation: [0, 0.01, 0] });
      const want = packGaussians(deformCpu(config, cpu, frame));
      const out = createBuffer(
        device,
        "test.gaussians",
        count * GAUSSIAN_STRIDE * 4,
        BufferUsage.STORAGE | BufferUsage.COPY_SRC,
      );
      const encoder = device.createCommandEncoder();
      gpuAvatar.encodeDeform(encoder, frame, out);
      device.queue.submit([encoder.finish()]);
      const posed = new Float32Array(await readBuffer(device, out, count * GAUSSIAN_STRIDE * 4));
      out.destroy();
      gpuAvatar.destroy();
      expect(worst(posed, want)).toBeLessThan(1e-4);
      // The frame really posed something: centres moved by centimetres from the canonical ones.
      let moved = 0;
      for (let i = 0; i < count; i++)
        moved = Math.max(moved, Math.abs(posed[i * GAUSSIAN_STRIDE]! - avatar.points[i * 3]!));
      expect(moved).toBeGreaterThan(0.02);
    });
  }

  it("renders the same picture through the GPU avatar path and the CPU twins, and bakes only on a latent change", async (ctx) => {
    if (!gpu) return ctx.skip(skipReason!);
    const avatar = createRandomAvatar(COMPACT, head, { count: 3000, seed: 12 });
    const gpuR = new WebGpuAvatarRenderer(gpu.device, avatar, head);
    const cpuR = new CpuAvatarRenderer(avatar, head);
    expect(await gpuR.setLatents(avatar.neutralLatents)).toBe(true);
    expect(await gpuR.setLatents(avatar.neutralLatents.slice())).toBe(false);
    await cpuR.setLatents(avatar.neutralLatents);
    const camera = orbitCamera({ width: 96, height: 96, yawDeg: 20, pitchDeg: 5, distance: 0.7, target: [0, 0.02, 0] });
    const pose = { expression: [0.7, 0.7], pose: [0, 0.2, 0, 0, 0, 0, 0.25, 0, 0, 0, 0, 0, 0, 0, 0] };
    const a = await gpuR.render(pose, camera);
    const b = await cpuR.render(pose, camera);
    gpuR.destroy();
    let diff = 0,
      covered = 0;
    for (let i = 0; i < a.rgb.length; i++) diff += Math.abs(a.rgb[i]! - b.rgb[i]!);
    for (const v of b.alpha) covered += v > 0.5 ? 1 : 0;
    expect(diff / a.rgb.length).toBeLessThan(2e-3);
    expect(covered).toBeGreaterThan(96 * 96 * 0.1); // the head fills part of the picture
    await expect(gpuR.setLatents(new Float32Array(3))).rejects.toThrow(/latents must hold/);
  });
});
