/**
 * An avatar on screen: latents -> bake (only when they change) -> deform ->
 * splat renderer, behind one interface for both back ends. The WebGPU one
 * deforms straight into the renderer's Gaussian buffer; the CPU one runs the
 * twins. The CLI, the benchmark and the streaming server use these.
 */
import type { Camera } from "../math/camera";
import { sameElements } from "../math/arrays";
import type { DisplayImage, RenderImage, RenderOptions } from "../raster/camera";
import { packRgb8Cpu } from "../raster/rasterize.cpu";
import { GpuSplatRenderer, READBACK_SLOTS } from "../raster/renderer";
import { renderCpu } from "../raster/render.cpu";
import { type HeadModel } from "../head";
import type { SplatCloud } from "../splats/splat-cloud";
import { avatarPriors, type Avatar } from "./avatar";
import { bakeCpu, foldPlans, type BakedAvatar, type FoldPlans } from "./bake.cpu";
import { deformCpu } from "./deform.cpu";
import { mlpForward, type MlpForwardFn } from "./mlp";
import { positionalEncoding } from "./positional-encoding";
import { bakeFrame, deformFrame, type AvatarPose } from "./rig";
import { GpuAvatar } from "./runtime-gpu";

export interface AvatarRenderer {
  readonly backend: "cpu" | "webgpu";
  /** Sets the latents ([C, L] f32); bakes only when they differ from the last bake. Returns whether it baked. */
  setLatents(latents: Float32Array): Promise<boolean>;
  /** Deforms to `pose` and renders at `camera`. */
  render(pose: AvatarPose, camera: Camera, options?: RenderOptions): Promise<RenderImage>;
  /**
   * Deforms to `pose` once and renders 8-bit RGB for an image encoder at each
   * camera (the stream's display path: every viewer of one pose in one call).
   */
  renderRgb8(pose: AvatarPose, cameras: readonly Camera[], options?: RenderOptions): Promise<DisplayImage[]>;
  /** Waits until the GPU (if any) finished all submitted work: for timing. */
  settle(): Promise<void>;
  destroy(): void;
}

function checkLatents(avatar: Avatar, latents: Float32Array, owner: string): void {
  const want = avatar.config.categories.length * avatar.config.latentDim;
  if (latents.length !== want)
    throw new Error(`${owner}: latents must hold ${want} numbers (categories x latentDim), got ${latents.length}`);
  for (let i = 0; i < latents.length; i++)
    if (!Number.isFinite(latents[i])) throw new Error(`${owner}: latents[${i}] is ${latents[i]}`);
}

export interface CpuAvatarRendererOptions {
  /** The networks' forward pass: the reference mlpForward by default, or a faster one with the same result. */
  mlpForward?: MlpForwardFn;
  /** Colour of a posed cloud for renderRgb8: renderCpu's by default, or a faster renderer of the same image. */
  renderRgb?: (cloud: SplatCloud, camera: Camera, options: RenderOptions) => ArrayLike<number>;
}

export class CpuAvatarRenderer implements AvatarRenderer {
  readonly backend = "cpu" as const;
  private readonly prior: Float32Array;
  private readonly canonA: Float32Array;
  private readonly plans: FoldPlans;
  private readonly pe: Float32Array;
  private readonly forward: MlpForwardFn;
  private readonly renderRgb: NonNullable<CpuAvatarRendererOptions["renderRgb"]>;
  private baked: BakedAvatar | null = null;
  private bakedFor: Float32Array | null = null;
  /** The last pose rendered and its Gaussians: viewers of one pose share one deform. */
  private posed: { frame: Float32Array; cloud: SplatCloud } | null = null;

  constructor(
    readonly avatar: Avatar,
    readonly head: HeadModel,
    options: CpuAvatarRendererOptions = {},
  ) {
    this.prior = avatarPriors(avatar, head);
    this.canonA = bakeFrame(head, avatar.shape);
    this.plans = foldPlans(avatar);
    this.pe = positionalEncoding(avatar.points, avatar.config.peFrequencies);
    this.forward = options.mlpForward ?? mlpForward;
    this.renderRgb = options.renderRgb ?? ((cloud, camera, o) => renderCpu(cloud, camera, o).rgb);
  }

  async setLatents(latents: Float32Array): Promise<boolean> {
    checkLatents(this.avatar, latents, "CpuAvatarRenderer.setLatents");
    if (sameElements(this.bakedFor, latents)) return false;
    this.baked = bakeCpu(this.avatar, this.prior, this.canonA, latents, this.plans, this.forward, this.pe);
    this.bakedFor = latents.slice();
    this.posed = null;
    return true;
  }

  /** deformFrame of a pose for this avatar: what deformTo takes (equal frames give equal Gaussians). */
  frameOf(pose: AvatarPose): Float32Array {
    return deformFrame(this.avatar.config, this.head, this.avatar.shape, pose);
  }

  /** The posed Gaussians of a frame (from frameOf), into `cloud` or a new one. */
  deformTo(frame: Float32Array, cloud?: SplatCloud): SplatCloud {
    if (!this.baked) throw new Error("CpuAvatarRenderer: call setLatents() first");
    return deformCpu(this.avatar.config, this.baked, frame, cloud, this.forward);
  }

  /** The posed Gaussians of a pose (a new cloud each call). */
  deform(pose: AvatarPose): SplatCloud {
    return this.deformTo(this.frameOf(pose));
  }

  /** The posed Gaussians for a render: deformed again only when the pose or the bake changed. */
  private posedCloud(pose: AvatarPose): SplatCloud {
    const frame = this.frameOf(pose);
    if (this.posed && sameElements(this.posed.frame, frame)) return this.posed.cloud;
    const cloud = this.deformTo(frame, this.posed?.cloud);
    this.posed = { frame, cloud };
    return cloud;
  }

  async render(pose: AvatarPose, camera: Camera, options: RenderOptions = {}): Promise<RenderImage> {
    return renderCpu(this.posedCloud(pose), camera, options);
  }

  async renderRgb8(pose: AvatarPose, cameras: readonly Camera[], options: RenderOptions = {}): Promise<DisplayImage[]> {
    const cloud = this.posedCloud(pose);
    return cameras.map((c) => ({
      width: c.width,
      height: c.height,
      rgb: packRgb8Cpu(this.renderRgb(cloud, c, options)),
    }));
  }

  async settle(): Promise<void> {}

  destroy(): void {
    this.baked = null;
    this.posed = null;
  }
}

export class WebGpuAvatarRenderer implements AvatarRenderer {
  readonly backend = "webgpu" as const;
  readonly gpuAvatar: GpuAvatar;
  readonly splats: GpuSplatRenderer;
  private bakedFor: Float32Array | null = null;
  /** The frame the renderer's Gaussians were last deformed to for a render, or null. */
  private posedFrame: Float32Array | null = null;

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
    if (sameElements(this.bakedFor, latents)) return false;
    this.gpuAvatar.bake(latents);
    this.bakedFor = latents.slice();
    this.posedFrame = null;
    return true;
  }

  private submitDeform(frame: Float32Array): void {
    if (!this.bakedFor) throw new Error("WebGpuAvatarRenderer: call setLatents() first");
    const encoder = this.device.createCommandEncoder({ label: "avatar.deform" });
    this.gpuAvatar.encodeDeform(encoder, frame, this.splats.gaussianBuffer);
    this.device.queue.submit([encoder.finish()]);
  }

  /** Encodes and submits deform for `pose` into the renderer's Gaussians. */
  deform(pose: AvatarPose): void {
    this.posedFrame = null;
    this.submitDeform(deformFrame(this.avatar.config, this.head, this.avatar.shape, pose));
  }

  /** Deforms for a render only when the pose or the bake changed: viewers of one pose share one deform. */
  private deformForRender(pose: AvatarPose): void {
    const frame = deformFrame(this.avatar.config, this.head, this.avatar.shape, pose);
    if (this.posedFrame && sameElements(this.posedFrame, frame)) return;
    this.submitDeform(frame);
    this.posedFrame = frame;
  }

  async render(pose: AvatarPose, camera: Camera, options: RenderOptions = {}): Promise<RenderImage> {
    this.deformForRender(pose);
    return this.splats.render(camera, options);
  }

  /** Up to READBACK_SLOTS renders in flight at once: the next is encoded while the last is read back. */
  async renderRgb8(pose: AvatarPose, cameras: readonly Camera[], options: RenderOptions = {}): Promise<DisplayImage[]> {
    this.deformForRender(pose);
    const out: DisplayImage[] = [];
    for (let k = 0; k < cameras.length; k += READBACK_SLOTS)
      out.push(
        ...(await Promise.all(cameras.slice(k, k + READBACK_SLOTS).map((c) => this.splats.renderRgb8(c, options)))),
      );
    return out;
  }

  async settle(): Promise<void> {
    await this.device.queue.onSubmittedWorkDone();
  }

  destroy(): void {
    this.gpuAvatar.destroy();
    this.splats.destroy();
  }
}
