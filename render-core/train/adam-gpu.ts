/**
 * WebGPU host of shaders/train/adam.wgsl.ts: Adam over parameter ranges that
 * live in GPU buffers, moments on the GPU too (float32). CPU twin: ./adam.ts
 * (adamUpdate, the same rule). Each range has its own uniform buffer, so all
 * ranges of a step can be encoded into one command buffer.
 */
import { GRID_WGSL } from "../../shaders/common/grid.wgsl";
import { ADAM_WGSL } from "../../shaders/train/adam.wgsl";
import { STORAGE_RW, createBuffer } from "../gpu/buffers";
import { splitGroups } from "../gpu/flags";
import { getKernel, requireBytes, u32c, type Kernel } from "../gpu/kernel";
import { readBuffer } from "../gpu/readback";
import { UniformLayout } from "../gpu/uniforms";
import { adamCorrections } from "./adam";

const WG = 256;

export const ADAM_PARAMS = new UniformLayout("AdamParams", [
  ["offset", "u32"],
  ["count", "u32"],
  ["lr", "f32"],
  ["beta1", "f32"],
  ["beta2", "f32"],
  ["eps", "f32"],
  ["c1", "f32"],
  ["c2", "f32"],
  ["l2", "f32"],
] as const);

export function adamKernel(device: GPUDevice): Kernel {
  return getKernel(device, {
    label: "adamStep",
    code: [ADAM_PARAMS.wgsl, GRID_WGSL, ADAM_WGSL],
    entryPoint: "adamStep",
    constants: { WG: u32c(WG) },
    bindings: [
      { name: "params", kind: "uniform" },
      { name: "param", kind: "storage" },
      { name: "grad", kind: "read-only-storage" },
      { name: "m", kind: "storage" },
      { name: "v", kind: "storage" },
    ],
  });
}

/** A parameter range: `count` floats from `offset` of `param`, its gradient at the same place in `grad`. */
export interface GpuAdamRange {
  name: string;
  param: GPUBuffer;
  grad: GPUBuffer;
  offset: number;
  count: number;
}

export interface GpuAdamOptions {
  beta1?: number;
  beta2?: number;
  eps?: number;
}

export class GpuAdam {
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  /** Updates so far (the bias corrections' step), as Adam.step. */
  step = 0;
  private readonly moments = new Map<GPUBuffer, { m: GPUBuffer; v: GPUBuffer }>();
  private readonly entries = new Map<
    string,
    { range: GpuAdamRange; uniform: GPUBuffer; group: GPUBindGroup; m: GPUBuffer; v: GPUBuffer }
  >();
  private readonly kernel: Kernel;

  constructor(
    readonly device: GPUDevice,
    ranges: GpuAdamRange[],
    options: GpuAdamOptions = {},
  ) {
    this.beta1 = options.beta1 ?? 0.9;
    this.beta2 = options.beta2 ?? 0.999;
    this.eps = options.eps ?? 1e-15;
    this.kernel = adamKernel(device);
    for (const r of ranges) {
      if (this.entries.has(r.name)) throw new Error(`GpuAdam: two ranges named "${r.name}"`);
      requireBytes(`GpuAdam: ${r.name}`, "param", r.param, (r.offset + r.count) * 4);
      requireBytes(`GpuAdam: ${r.name}`, "grad", r.grad, (r.offset + r.count) * 4);
      let mv = this.moments.get(r.param);
      if (!mv) {
        // Moments mirror the parameter buffer's layout; zero at creation (WebGPU zero-fills new buffers).
        mv = {
          m: createBuffer(device, `adam.m.${r.name}`, r.param.size, STORAGE_RW),
          v: createBuffer(device, `adam.v.${r.name}`, r.param.size, STORAGE_RW),
        };
        this.moments.set(r.param, mv);
      }
      const uniform = ADAM_PARAMS.createBuffer(device, `adam.${r.name}`);
      const group = this.kernel.bind({ params: uniform, param: r.param, grad: r.grad, m: mv.m, v: mv.v });
      this.entries.set(r.name, { range: r, uniform, group, m: mv.m, v: mv.v });
    }
  }

  get names(): string[] {
    return [...this.entries.keys()];
  }

  /**
   * Encodes one update (step + 1) of the ranges named in `lrs` into `pass`;
   * ranges left out keep their parameters and moments (a video latent no batch saw).
   * Uniforms are written through the queue: encode one update per submit.
   */
  encodeUpdate(pass: GPUComputePassEncoder, lrs: Record<string, { lr: number; l2?: number }>): void {
    this.step++;
    const { c1, c2 } = adamCorrections(this.step, this.beta1, this.beta2);
    for (const [name, { lr, l2 }] of Object.entries(lrs)) {
      const e = this.entries.get(name);
      if (!e) throw new Error(`GpuAdam.encodeUpdate: no range "${name}" (have ${this.names.join(", ")})`);
      if (!(lr >= 0)) throw new Error(`GpuAdam.encodeUpdate: learning rate of "${name}" must be >= 0, got ${lr}`);
      this.device.queue.writeBuffer(
        e.uniform,
        0,
        ADAM_PARAMS.pack({
          offset: e.range.offset,
          count: e.range.count,
          lr,
          beta1: this.beta1,
          beta2: this.beta2,
          eps: this.eps,
          c1,
          c2,
          l2: l2 ?? 0,
        }),
      );
      const [x, y] = splitGroups(Math.ceil(e.range.count / WG), this.device.limits.maxComputeWorkgroupsPerDimension);
      this.kernel.dispatch(pass, e.group, x, y);
    }
  }

  /** The moments of a range, read back (checkpoints). */
  async readMoments(name: string): Promise<{ m: Float32Array; v: Float32Array }> {
    const e = this.entries.get(name);
    if (!e) throw new Error(`GpuAdam.readMoments: no range "${name}"`);
    const { offset, count } = e.range;
    return {
      m: new Float32Array(await readBuffer(this.device, e.m, count * 4, offset * 4)),
      v: new Float32Array(await readBuffer(this.device, e.v, count * 4, offset * 4)),
    };
  }

  /** Sets the moments of a range (a resumed run). */
  writeMoments(name: string, m: ArrayLike<number>, v: ArrayLike<number>): void {
    const e = this.entries.get(name);
    if (!e) throw new Error(`GpuAdam.writeMoments: no range "${name}"`);
    const { offset, count } = e.range;
    if (m.length !== count || v.length !== count)
      throw new Error(`GpuAdam.writeMoments: "${name}" holds ${count} moments, got ${m.length} and ${v.length}`);
    this.device.queue.writeBuffer(e.m, offset * 4, Float32Array.from(m));
    this.device.queue.writeBuffer(e.v, offset * 4, Float32Array.from(v));
  }

  destroy(): void {
    for (const { m, v } of this.moments.values()) {
      m.destroy();
      v.destroy();
    }
    for (const e of this.entries.values()) e.uniform.destroy();
    this.moments.clear();
    this.entries.clear();
  }
}
