/**
 * The avatar on a WebGPU device: bake on a latent change, deform every frame
 * straight into the splat renderer's Gaussian buffer (no readback between
 * them). CPU twins: ./bake.cpu.ts (bakeRigCpu, addAppearanceCpu) and ./deform.cpu.ts; kernels:
 * shaders/avatar/rig.wgsl.ts and shaders/avatar/mlp.wgsl.ts. The device is
 * passed in; everything per Gaussian is allocated once here.
 */
import { GRID_WGSL } from "../../shaders/common/grid.wgsl";
import {
  ADD_APPEARANCE_WGSL,
  BAKE_RIG_WGSL,
  BLEND_WGSL,
  COMPOSE_APPEARANCE_WGSL,
  DEFORM_RIG_WGSL,
  QUAT_WGSL,
} from "../../shaders/avatar/rig.wgsl";
import { BufferUsage } from "../gpu/flags";
import { createBuffer, createBufferFrom } from "../gpu/buffers";
import { f32c, getKernel, requireBytes, u32c, type Kernel, type KernelSpec } from "../gpu/kernel";
import { readBuffer } from "../gpu/readback";
import { UniformLayout } from "../gpu/uniforms";
import { GAUSSIAN_STRIDE } from "../raster/project";
import { type HeadModel } from "../head";
import { type AvatarModelConfig } from "./config";
import { avatarPriors, type Avatar } from "./avatar";
import { REST_STRIDE, SKIN_PRIOR_FLOOR, foldNetworks, foldPlans, type BakedAvatar, type FoldPlans } from "./bake.cpu";
import { buildConditioning } from "./latent";
import { GpuMlp } from "./mlp-gpu";
import { APPEARANCE_CHANNELS, APPEARANCE_OUTPUTS, deformerOutputs } from "./networks";
import { positionalEncoding } from "./positional-encoding";
import { bakeFrame, frameSize } from "./rig";

export const RIG_WG = 64;

export const RIG_PARAMS = new UniformLayout("RigParams", [
  ["count", "u32"],
  ["pad0", "u32"],
  ["pad1", "u32"],
  ["pad2", "u32"],
] as const);

const ro = (name: string) => ({ name, kind: "read-only-storage" as const });
const rw = (name: string) => ({ name, kind: "storage" as const });
const uniform = { name: "params", kind: "uniform" as const };

export function rigKernel(
  device: GPUDevice,
  config: AvatarModelConfig,
  entryPoint: string,
  code: string[],
  bindings: KernelSpec["bindings"],
): Kernel {
  return getKernel(device, {
    label: entryPoint,
    code: [RIG_PARAMS.wgsl, GRID_WGSL, QUAT_WGSL, ...code],
    entryPoint,
    constants: {
      WG: u32c(RIG_WG),
      J: u32c(config.jointCount),
      E: u32c(config.expressionCount),
      P: u32c(config.poseCorrectiveCount),
      TEMPERATURE: f32c(config.skinningTemperature),
      SKIN_FLOOR: f32c(SKIN_PRIOR_FLOOR),
      SCALE_MAX: f32c(config.scaleMax),
      REST_STRIDE: u32c(REST_STRIDE),
      GAUSS_STRIDE: u32c(GAUSSIAN_STRIDE),
    },
    bindings,
  });
}

export class GpuAvatar {
  readonly count: number;
  readonly config: AvatarModelConfig;
  private readonly bufs: Record<string, GPUBuffer> = {};
  private readonly params: GPUBuffer;
  private nets: { geometry: GpuMlp; deformer: GpuMlp; gaussian: GpuMlp } | null = null;
  private readonly kernels: { bake: Kernel; deform: Kernel; compose: Kernel; appearance: Kernel | null };
  private readonly plans: FoldPlans;
  private lastLatents: Float32Array | null = null;

  constructor(
    readonly device: GPUDevice,
    readonly avatar: Avatar,
    readonly head: HeadModel,
  ) {
    const { config, count: N } = avatar;
    this.count = N;
    this.config = config;
    this.plans = foldPlans(avatar);
    const E = config.expressionCount,
      P = config.poseCorrectiveCount,
      J = config.jointCount;
    const storage = BufferUsage.STORAGE | BufferUsage.COPY_SRC;
    const make = (name: string, floats: number) =>
      (this.bufs[name] = createBuffer(device, `avatar.${name}`, Math.max(4, floats * 4), storage));
    const upload = (name: string, data: Float32Array) =>
      (this.bufs[name] = createBufferFrom(device, `avatar.${name}`, data, BufferUsage.STORAGE));
    upload("points", avatar.points);
    upload("pe", positionalEncoding(avatar.points, config.peFrequencies));
    upload("prior", avatarPriors(avatar, head));
    upload("bakeFrame", bakeFrame(head, avatar.shape));
    if (avatar.appearance) {
      if (avatar.appearance.length !== N * APPEARANCE_CHANNELS)
        throw new Error(
          `GpuAvatar: appearance holds ${avatar.appearance.length} numbers, ${N} Gaussians need ${N * APPEARANCE_CHANNELS}`,
        );
      upload("appearance", avatar.appearance);
    }
    make("geomRaw", N * APPEARANCE_OUTPUTS);
    make("deformerRaw", N * deformerOutputs(config));
    make("rest", N * REST_STRIDE);
    make("skin", N * J);
    make("dirs", N * (E + P) * 3);
    make("offsets", N * 3);
    make("residual", N * APPEARANCE_OUTPUTS);
    this.bufs.frame = createBuffer(
      device,
      "avatar.frame",
      frameSize(config) * 4,
      BufferUsage.STORAGE | BufferUsage.COPY_DST,
    );
    this.params = RIG_PARAMS.createBuffer(device, "avatar.params", { count: N, pad0: 0, pad1: 0, pad2: 0 });
    this.kernels = {
      bake: rigKernel(
        device,
        config,
        "bakeRig",
        [BLEND_WGSL, BAKE_RIG_WGSL],
        [uniform, ro("frame"), ro("points"), ro("defRaw"), ro("prior"), rw("rest"), rw("skin"), rw("dirs")],
      ),
      deform: rigKernel(
        device,
        config,
        "deformRig",
        [BLEND_WGSL, DEFORM_RIG_WGSL],
        [uniform, ro("frame"), ro("rest"), ro("skin"), ro("dirs"), rw("gaussians"), rw("offsets")],
      ),
      compose: rigKernel(
        device,
        config,
        "composeAppearance",
        [COMPOSE_APPEARANCE_WGSL],
        [uniform, ro("geomRaw"), ro("residual"), rw("gaussians")],
      ),
      // An avatar without a residual (older bundles, procedural training) skips the pass: zeros add nothing.
      appearance: avatar.appearance
        ? rigKernel(device, config, "addAppearance", [ADD_APPEARANCE_WGSL], [uniform, ro("appearance"), rw("geomRaw")])
        : null,
    };
  }

  /**
   * Bakes for `latents` ([C, L] f32): folds the conditioning into the biases
   * of the layers that see it (two small products on the CPU, uploaded as
   * bias slices), then encodes the geometry and deformer networks and bakeRig.
   */
  bake(latents: Float32Array, encoder?: GPUCommandEncoder): void {
    const cond = buildConditioning(this.config, latents);
    if (!this.nets) {
      const make = (name: keyof FoldPlans) =>
        new GpuMlp(this.device, this.plans[name].spec, this.plans[name].apply(cond).params);
      this.nets = { geometry: make("geometry"), deformer: make("deformer"), gaussian: make("gaussian") };
    } else {
      for (const name of ["geometry", "deformer", "gaussian"] as const) {
        for (const { layer, bias } of this.plans[name].biases(cond)) this.nets[name].setLayerBias(layer, bias);
      }
    }
    this.lastLatents = latents.slice();
    const enc = encoder ?? this.device.createCommandEncoder({ label: "avatar.bake" });
    const b = this.bufs;
    this.nets.geometry.encode(enc, b.pe!, b.geomRaw!, this.count);
    this.kernels.appearance?.encodeThreads(
      enc,
      { params: this.params, appearance: b.appearance!, geomRaw: b.geomRaw! },
      this.count,
      RIG_WG,
    );
    this.nets.deformer.encode(enc, b.points!, b.deformerRaw!, this.count);
    this.kernels.bake.encodeThreads(
      enc,
      {
        params: this.params,
        frame: b.bakeFrame!,
        points: b.points!,
        defRaw: b.deformerRaw!,
        prior: b.prior!,
        rest: b.rest!,
        skin: b.skin!,
        dirs: b.dirs!,
      },
      this.count,
      RIG_WG,
    );
    if (!encoder) this.device.queue.submit([enc.finish()]);
  }

  /**
   * Encodes deform for one frame (from deformFrame()) into `gaussians`
   * ([N, GAUSSIAN_STRIDE] f32, e.g. GpuSplatRenderer.allocateCloud()). The
   * frame is uploaded through the queue, so encode one deform per submit.
   */
  encodeDeform(encoder: GPUCommandEncoder, frame: Float32Array, gaussians: GPUBuffer): void {
    if (!this.nets) throw new Error("GpuAvatar.encodeDeform: call bake() first");
    if (frame.length !== frameSize(this.config))
      throw new Error(
        `GpuAvatar.encodeDeform: the frame must hold ${frameSize(this.config)} numbers, got ${frame.length}`,
      );
    requireBytes("GpuAvatar.encodeDeform", "gaussians", gaussians, this.count * GAUSSIAN_STRIDE * 4);
    const b = this.bufs;
    this.device.queue.writeBuffer(b.frame!, 0, frame as Float32Array<ArrayBuffer>);
    this.kernels.deform.encodeThreads(
      encoder,
      {
        params: this.params,
        frame: b.frame!,
        rest: b.rest!,
        skin: b.skin!,
        dirs: b.dirs!,
        gaussians,
        offsets: b.offsets!,
      },
      this.count,
      RIG_WG,
    );
    this.nets.gaussian.encode(encoder, b.offsets!, b.residual!, this.count);
    this.kernels.compose.encodeThreads(
      encoder,
      { params: this.params, geomRaw: b.geomRaw!, residual: b.residual!, gaussians },
      this.count,
      RIG_WG,
    );
  }

  /** Reads the baked buffers back (tests and tools). */
  async readBaked(): Promise<BakedAvatar> {
    if (!this.lastLatents) throw new Error("GpuAvatar.readBaked: call bake() first");
    const folded = foldNetworks(this.avatar, this.lastLatents, this.plans);
    const read = async (name: string) =>
      new Float32Array(await readBuffer(this.device, this.bufs[name]!, this.bufs[name]!.size));
    const N = this.count;
    return {
      count: N,
      rest: (await read("rest")).subarray(0, N * REST_STRIDE),
      skin: (await read("skin")).subarray(0, N * this.config.jointCount),
      geomRaw: (await read("geomRaw")).subarray(0, N * APPEARANCE_OUTPUTS),
      dirs: (await read("dirs")).subarray(0, N * (this.config.expressionCount + this.config.poseCorrectiveCount) * 3),
      folded,
    };
  }

  destroy(): void {
    for (const b of Object.values(this.bufs)) b.destroy();
    this.params.destroy();
    if (this.nets) for (const n of Object.values(this.nets)) n.destroy();
    this.nets = null;
  }
}
