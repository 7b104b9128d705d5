/**
 * An avatar on screen: latents -> bake (only when they change) -> deform ->
 * splat renderer, behind one interface for both back ends. The WebGPU one
 * deforms straight into the renderer's Gaussian buffer; the CPU one runs the
 * twins. The CLI, the benchmark and the streaming server use these.
 */
import type { Camera } from "../math/camera";
import type { DisplayImage, RenderImage, RenderOptions } from "../raster/camera";
import { packRgba8Cpu } from "../raster/rasterize.cpu";
import { GpuSplatRenderer } from "../raster/renderer";
import { renderCpu } from "../raster/render.cpu";
import { type HeadModel } from "../head";
import type { SplatCloud } from "../splats/splat-cloud";
import { avatarPriors, type Avatar } from "./avatar";
import { bakeCpu, foldPlans, type BakedAvatar, type FoldPlans } from "./bake.cpu";
import { deformCpu } from "./deform.cpu";
import { bakeFrame, deformFrame, type AvatarPose } from "./rig";
import { GpuAvatar } from "./runtime-gpu";

export interface AvatarRenderer {
  readonly backend: "cpu" | "webgpu";
  /** Sets the latents ([C, L] f32); bakes only when they differ from the last bake. Returns whether it baked. */
  setLatents(latents: Float32Array): Promise<boolean>;
  /** Deforms to `pose` and renders at `camera`. */
  render(pose: AvatarPose, camera: Camera, options?: RenderOptions): Promise<RenderImage>;
  /** Deforms to `pose` and renders 8-bit RGBA for an image encoder (the stream's display path). */
  renderRgba8(pose: AvatarPose, camera: Camera, options?: RenderOptions): Promise<DisplayImage>;
  /** Waits until the GPU (if any) finished all submitted work: for timing. */
  settle(): Promise<void>;
  destroy(): void;
}

function sameLatents(a: Float32Array | null, b: Float32Array): boolean {
  if (!a || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function checkLatents(avatar: Avatar, latents: Float32Array, owner: string): void {
  const want = avatar.config.categories.length * avatar.config.latentDim;
  if (latents.length !== want)
    throw new Error(`${owner}: latents must hold ${want} numbers (categories x latentDim), got ${latents.length}`);
  for (let i = 0; i < latents.length; i++)
    if (!Number.isFinite(latents[i])) throw new Error(`${owner}: latents[${i}] is ${latents[i]}`);
}

export class CpuAvatarRenderer implements AvatarRenderer {
  readonly backend = "cpu" as const;
  private readonly prior: Float32Array;
  private readonly canonA: Float32Array;
  private readonly plans: FoldPlans;
  private baked: BakedAvatar | null = null;
  private bakedFor: Float32Array | null = null;

  constructor(
    readonly avatar: Avatar,
    readonly head: HeadModel,
  ) {
    this.prior = avatarPriors(avatar, head);
    this.canonA = bakeFrame(head, avatar.shape);
    this.plans = foldPlans(avatar);
  }

  async setLatents(latents: Float32Array): Promise<boolean> {
    checkLatents(this.avatar, latents, "CpuAvatarRenderer.setLatents");
    if (sameLatents(this.bakedFor, latents)) return false;
    this.baked = bakeCpu(this.avatar, this.prior, this.canonA, latents, this.plans);
    this.bakedFor = latents.slice();
    return true;
  }

  /** The posed Gaussians of a frame. */
  deform(pose: AvatarPose): SplatCloud {
    if (!this.baked) throw new Error("CpuAvatarRenderer: call setLatents() first");
    return deformCpu(
      this.avatar.config,
      this.baked,
      deformFrame(this.avatar.config, this.head, this.avatar.shape, pose),
    );
  }

  async render(pose: AvatarPose, camera: Camera, options: RenderOptions = {}): Promise<RenderImage> {
    return renderCpu(this.deform(pose), camera, options);
  }

  async renderRgba8(pose: AvatarPose, camera: Camera, options: RenderOptions = {}): Promise<DisplayImage> {
    const image = renderCpu(this.deform(pose), camera, options);
    return { width: image.width, height: image.height, rgba: packRgba8Cpu(image.rgb) };
  }

  async settle(): Promise<void> {}

  destroy(): void {
    this.baked = null;
  }
}

export class WebGpuAvatarRenderer implements AvatarRenderer {
  readonly backend = "webgpu" as const;
  readonly gpuAvatar: GpuAvatar;
  readonly splats: GpuSplatRenderer;
  private bakedFor: Float32Array | null = null;

  constructor(
    readonly device: GPUDevice,
    readonly avatar: Avatar,
    readonly head: HeadModel,
  ) {
    this.gpuAvatar = new GpuAvatar(device, avatar, head);
    this.splats = new GpuSplatRenderer(device);
    this.splats.allocateCloud(avatar.count);
  }

  async setLatents(latents: Float32Array): Promise<boolean> {
    checkLatents(this.avatar, latents, "WebGpuAvatarRenderer.setLatents");
    if (sameLatents(this.bakedFor, latents)) return false;
    this.gpuAvatar.bake(latents);
    this.bakedFor = latents.slice();
    return true;
  }

  /** Encodes and submits deform for `pose` into the renderer's Gaussians. */
  deform(pose: AvatarPose): void {
    if (!this.bakedFor) throw new Error("WebGpuAvatarRenderer: call setLatents() first");
    const encoder = this.device.createCommandEncoder({ label: "avatar.deform" });
    this.gpuAvatar.encodeDeform(
      encoder,
      deformFrame(this.avatar.config, this.head, this.avatar.shape, pose),
      this.splats.gaussianBuffer,
    );
    this.device.queue.submit([encoder.finish()]);
  }

  async render(pose: AvatarPose, camera: Camera, options: RenderOptions = {}): Promise<RenderImage> {
    this.deform(pose);
    return this.splats.render(camera, options);
  }

  async renderRgba8(pose: AvatarPose, camera: Camera, options: RenderOptions = {}): Promise<DisplayImage> {
    this.deform(pose);
    return this.splats.renderRgba8(camera, options);
  }

  async settle(): Promise<void> {
    await this.device.queue.onSubmittedWorkDone();
  }

  destroy(): void {
    this.gpuAvatar.destroy();
    this.splats.destroy();
  }
}
