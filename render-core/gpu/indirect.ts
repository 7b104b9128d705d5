/**
 * Host side of shaders/common/indirect.wgsl.ts: a size program computes
 * element counts and indirect dispatch grids on the GPU from a count that the
 * GPU itself produced (e.g. the number of tile intersections), so frames need
 * no readback between passes.
 */
import { INDIRECT_WGSL } from "../../shaders/common/indirect.wgsl";
import { BufferUsage } from "./flags";
import { createBuffer, createBufferFrom, type GpuDebugOptions } from "./buffers";
import { getKernel, u32c, type Kernel } from "./kernel";

const OP_CEIL_DIV = 0;
const OP_MUL = 1;
const OP_MIN = 2;
const OP_ARGS = 3;
/** Workgroups per grid dimension every WebGPU device supports. */
export const MAX_GROUPS_X = 65535;

export function prepareSizesKernel(device: GPUDevice): Kernel {
  return getKernel(device, {
    label: "prepareSizes",
    code: [INDIRECT_WGSL],
    entryPoint: "prepareSizes",
    constants: { MAX_GROUPS_X: u32c(MAX_GROUPS_X) },
    bindings: [
      { name: "program", kind: "read-only-storage" },
      { name: "sizes", kind: "storage" },
      { name: "args", kind: "storage" },
    ],
  });
}

/** Builder, then runner, of a size program. Slot 0 is the input count. */
export class SizeProgram {
  private ops: number[] = [];
  private slots = 1;
  private grids = 0;
  private built: { sizes: GPUBuffer; args: GPUBuffer; program: GPUBuffer; group: GPUBindGroup; kernel: Kernel } | null =
    null;

  constructor(readonly label: string) {}

  private push(kind: number, dst: number, src: number, k: number): void {
    if (this.built) throw new Error(`SizeProgram.push: ${this.label} already built`);
    if (!Number.isInteger(k) || (k < 1 && kind !== OP_MIN))
      throw new Error(`SizeProgram.push: ${this.label} factor must be a positive integer, got ${k}`);
    this.ops.push(kind, dst, src, k);
  }
  /** A new size slot holding ceil(sizes[src] / k). */
  ceilDiv(src: number, k: number): number {
    const dst = this.slots++;
    this.push(OP_CEIL_DIV, dst, src, k);
    return dst;
  }
  mul(src: number, k: number): number {
    const dst = this.slots++;
    this.push(OP_MUL, dst, src, k);
    return dst;
  }
  min(src: number, k: number): number {
    const dst = this.slots++;
    this.push(OP_MIN, dst, src, k);
    return dst;
  }
  /** A new indirect grid of ceil(sizes[src] / perGroup) workgroups; returns its byte offset in `args`. */
  grid(src: number, perGroup: number): number {
    const dst = this.grids++;
    this.push(OP_ARGS, dst, src, perGroup);
    return dst * 12;
  }

  build(device: GPUDevice, debug?: GpuDebugOptions): void {
    const kernel = prepareSizesKernel(device);
    const sizes = createBuffer(
      device,
      `${this.label}.sizes`,
      this.slots * 4,
      BufferUsage.STORAGE | BufferUsage.COPY_DST | BufferUsage.COPY_SRC,
      debug,
    );
    const args = createBuffer(
      device,
      `${this.label}.args`,
      Math.max(1, this.grids) * 12,
      BufferUsage.STORAGE | BufferUsage.INDIRECT | BufferUsage.COPY_SRC,
      debug,
    );
    const program = createBufferFrom(
      device,
      `${this.label}.program`,
      new Uint32Array(this.ops.length ? this.ops : [OP_MIN, 0, 0, 0xffffffff]),
      BufferUsage.STORAGE,
    );
    this.built = { sizes, args, program, kernel, group: kernel.bind({ program, sizes, args }) };
  }

  private get b() {
    if (!this.built) throw new Error(`SizeProgram: ${this.label} used before build()`);
    return this.built;
  }
  /** [S] u32: slot 0 is the input count, the rest computed by the program. */
  get sizes(): GPUBuffer {
    return this.b.sizes;
  }
  /** [A, 3] u32 indirect grids. */
  get args(): GPUBuffer {
    return this.b.args;
  }

  /** Copies the input count (one u32) from a GPU buffer into slot 0. Encode before run(). */
  copyCount(encoder: GPUCommandEncoder, src: GPUBuffer, srcOffset: number): void {
    encoder.copyBufferToBuffer(src, srcOffset, this.b.sizes, 0, 4);
  }

  /** Runs the program (one thread) inside a compute pass. */
  run(pass: GPUComputePassEncoder): void {
    this.b.kernel.dispatch(pass, this.b.group, 1);
  }

  destroy(): void {
    if (!this.built) return;
    this.built.sizes.destroy();
    this.built.args.destroy();
    this.built.program.destroy();
    this.built = null;
  }
}
