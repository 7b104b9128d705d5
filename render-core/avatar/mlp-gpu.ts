/**
 * WebGPU host for shaders/avatar/mlp.wgsl.ts: runs an avatar MLP on a batch
 * of points. CPU twin: ./mlp.ts (mlpForward). Folded weights of every layer
 * are packed into one storage buffer at creation; a forward dispatches the
 * layer kernel once per layer into two ping-pong buffers. The device is
 * passed in.
 */
import { MLP_WGSL } from "../../shaders/avatar/mlp.wgsl";
import { GRID_WGSL } from "../../shaders/common/grid.wgsl";
import { BufferUsage, splitGroups } from "../gpu/flags";
import { createBuffer, createBufferFrom } from "../gpu/buffers";
import { getKernel, u32c, type Kernel } from "../gpu/kernel";
import { readBuffer } from "../gpu/readback";
import { UniformLayout } from "../gpu/uniforms";
import { foldLayer, mlpLayers, mlpParamCount, type MlpSpec } from "./mlp";

export const MLP_WG = 64;

export const MLP_LAYER_PARAMS = new UniformLayout("MlpLayerParams", [
  ["batch", "u32"],
  ["inputs", "u32"],
  ["outputs", "u32"],
  ["splitAt", "u32"],
  ["srcStride", "u32"],
  ["xStride", "u32"],
  ["dstStride", "u32"],
  ["activation", "u32"],
  ["weightOffset", "u32"],
  ["biasOffset", "u32"],
] as const);

const BINDINGS = [
  { name: "params", kind: "uniform" },
  { name: "weights", kind: "read-only-storage" },
  { name: "src", kind: "read-only-storage" },
  { name: "x", kind: "read-only-storage" },
  { name: "dst", kind: "storage" },
] as const;

function mlpKernel(device: GPUDevice): Kernel {
  return getKernel(device, { label: "mlpLayer", code: [MLP_LAYER_PARAMS.wgsl, GRID_WGSL, MLP_WGSL], entryPoint: "mlpLayer", constants: { WG: u32c(MLP_WG) }, bindings: BINDINGS });
}

export class GpuMlp {
  private readonly weights: GPUBuffer;
  private readonly offsets: Array<{ w: number; b: number }> = [];

  constructor(
    readonly device: GPUDevice,
    readonly spec: MlpSpec,
    params: Float32Array,
  ) {
    if (params.length !== mlpParamCount(spec)) throw new Error(`GpuMlp.constructor: params hold ${params.length} numbers, the spec needs ${mlpParamCount(spec)}`);
    const parts: Float32Array[] = [];
    let offset = 0;
    for (const layer of mlpLayers(spec)) {
      const W = foldLayer(params, layer);
      this.offsets.push({ w: offset, b: offset + W.length });
      parts.push(W, params.slice(layer.b, layer.b + layer.out));
      offset += W.length + layer.out;
    }
    const packed = new Float32Array(offset);
    let o = 0;
    for (const p of parts) {
      packed.set(p, o);
      o += p.length;
    }
    this.weights = createBufferFrom(device, "mlp.weights", packed, BufferUsage.STORAGE);
  }

  /**
   * Runs the network: input [batch, inputs] f32 -> output [batch, outputs] f32 (read back).
   * Rows are processed in chunks that fit the device's storage-binding limit.
   */
  async forward(input: Float32Array, batch: number): Promise<Float32Array> {
    const { device, spec } = this;
    if (input.length !== batch * spec.inputs) throw new Error(`GpuMlp.forward: input must be [${batch}, ${spec.inputs}], got ${input.length} numbers`);
    const rowBytes = 4 * Math.max(spec.inputs, spec.hidden, spec.outputs);
    const rowsPerChunk = Math.floor(device.limits.maxStorageBufferBindingSize / rowBytes);
    if (rowsPerChunk < 1) throw new Error(`GpuMlp.forward: one row of ${rowBytes} bytes exceeds the device's storage binding limit`);
    const out = new Float32Array(batch * spec.outputs);
    for (let start = 0; start < batch; start += rowsPerChunk) {
      const rows = Math.min(rowsPerChunk, batch - start);
      out.set(await this.forwardChunk(input.subarray(start * spec.inputs, (start + rows) * spec.inputs), rows), start * spec.outputs);
    }
    return out;
  }

  private async forwardChunk(input: Float32Array, batch: number): Promise<Float32Array> {
    const { device, spec } = this;
    const layers = mlpLayers(spec);
    const storage = BufferUsage.STORAGE | BufferUsage.COPY_SRC | BufferUsage.COPY_DST;
    const x = createBufferFrom(device, "mlp.x", input, storage);
    const width = Math.max(spec.hidden, spec.outputs);
    const ping = [createBuffer(device, "mlp.a", batch * width * 4, storage), createBuffer(device, "mlp.b", batch * width * 4, storage)];
    const uniforms: GPUBuffer[] = [];
    const kernel = mlpKernel(device);
    const encoder = device.createCommandEncoder({ label: "mlpForward" });
    const activation = spec.activation === "softplus100" ? 1 : 2;
    layers.forEach((layer, l) => {
      const first = l === 0;
      const afterSkip = spec.skipAt !== null && l === spec.skipAt + 1;
      const srcWidth = first ? spec.inputs : spec.hidden;
      const params = MLP_LAYER_PARAMS.createBuffer(device, `mlp.params${l}`, {
        batch,
        inputs: layer.in,
        outputs: layer.out,
        // Columns past splitAt come from x: the skip's concatenation (and all of layer 0's input).
        splitAt: first ? 0 : afterSkip ? spec.hidden : layer.in,
        srcStride: srcWidth,
        xStride: spec.inputs,
        dstStride: layer.out,
        activation: layer.activated ? activation : 0,
        weightOffset: this.offsets[l]!.w,
        biasOffset: this.offsets[l]!.b,
      });
      uniforms.push(params);
      const src = first ? x : ping[(l + 1) % 2]!;
      const dst = ping[l % 2]!;
      const group = kernel.bind({ params, weights: this.weights, src, x, dst });
      const [gx, gy] = splitGroups(Math.ceil((batch * layer.out) / MLP_WG), device.limits.maxComputeWorkgroupsPerDimension);
      const pass = encoder.beginComputePass({ label: `mlpLayer${l}` });
      kernel.dispatch(pass, group, gx, gy);
      pass.end();
    });
    device.queue.submit([encoder.finish()]);
    const result = ping[(layers.length - 1) % 2]!;
    const bytes = await readBuffer(device, result, batch * spec.outputs * 4);
    for (const b of [x, ...ping, ...uniforms]) b.destroy();
    return new Float32Array(bytes);
  }

  destroy(): void {
    this.weights.destroy();
  }
}
