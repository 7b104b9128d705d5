/**
 * WebGPU host for shaders/avatar/mlp.wgsl.ts: runs an avatar MLP on a batch
 * of points. CPU twin: ./mlp.ts (mlpForward). Folded weights of every layer
 * are packed into one storage buffer at creation; a forward dispatches the
 * layer kernel once per layer into two ping-pong buffers. The device is
 * passed in.
 */
import { MLP_WGSL, SOFTPLUS_WGSL } from "../../shaders/avatar/mlp.wgsl";
import { GRID_WGSL } from "../../shaders/common/grid.wgsl";
import { BufferUsage, splitGroups } from "../gpu/flags";
import { createBuffer, createBufferFrom } from "../gpu/buffers";
import { getKernel, requireBytes, u32c, type Kernel } from "../gpu/kernel";
import { readBuffer } from "../gpu/readback";
import { UniformLayout } from "../gpu/uniforms";
import { foldLayer, mlpLayers, mlpParamCount, type MlpSpec } from "./mlp";

/** Rows and units per workgroup tile, and the input slice staged per step (shaders/avatar/mlp.wgsl.ts). */
export const MLP_TILE = { rows: 64, units: 64, k: 16 } as const;

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

export function mlpKernel(device: GPUDevice): Kernel {
  return getKernel(device, {
    label: "mlpLayer",
    code: [MLP_LAYER_PARAMS.wgsl, GRID_WGSL, SOFTPLUS_WGSL, MLP_WGSL],
    entryPoint: "mlpLayer",
    constants: { TR: u32c(MLP_TILE.rows), TO: u32c(MLP_TILE.units), TK: u32c(MLP_TILE.k) },
    bindings: BINDINGS,
  });
}

export class GpuMlp {
  private readonly weights: GPUBuffer;
  private readonly offsets: Array<{ w: number; b: number }> = [];
  private scratch: GPUBuffer[] = [];
  private scratchRows = 0;
  /** Per chunk size (rows): one uniform buffer per layer; frames of one size reuse them. */
  private readonly uniforms = new Map<number, GPUBuffer[]>();

  constructor(
    readonly device: GPUDevice,
    readonly spec: MlpSpec,
    params: Float32Array,
  ) {
    const packed = this.pack(params);
    this.weights = createBufferFrom(device, "mlp.weights", packed, BufferUsage.STORAGE | BufferUsage.COPY_DST);
  }

  /** Folds and packs every layer's W and bias: [W0 | b0 | W1 | b1 ...]. */
  private pack(params: Float32Array): Float32Array {
    const { spec } = this;
    if (params.length !== mlpParamCount(spec))
      throw new Error(`GpuMlp: params hold ${params.length} numbers, the spec needs ${mlpParamCount(spec)}`);
    const layers = mlpLayers(spec);
    let size = 0;
    for (const layer of layers) size += layer.in * layer.out + layer.out;
    const packed = new Float32Array(size);
    let offset = 0;
    this.offsets.length = 0;
    for (const layer of layers) {
      const W = foldLayer(params, layer);
      this.offsets.push({ w: offset, b: offset + W.length });
      packed.set(W, offset);
      packed.set(params.subarray(layer.b, layer.b + layer.out), offset + W.length);
      offset += W.length + layer.out;
    }
    return packed;
  }

  /** Replaces one layer's bias (what a latent change alters in a folded network). */
  setLayerBias(layer: number, bias: Float32Array): void {
    const offset = this.offsets[layer];
    const want = mlpLayers(this.spec)[layer]?.out;
    if (!offset || bias.length !== want)
      throw new Error(`GpuMlp.setLayerBias: layer ${layer} needs ${want ?? "no"} biases, got ${bias.length}`);
    this.device.queue.writeBuffer(this.weights, offset.b * 4, bias as Float32Array<ArrayBuffer>);
  }

  /** Rows per dispatch chunk: fits the storage-binding limit, a multiple of 64 so binding offsets stay 256-byte aligned. */
  private chunkRows(): number {
    const { spec, device } = this;
    const rowBytes = 4 * Math.max(spec.inputs, spec.hidden, spec.outputs);
    const rows = Math.floor(device.limits.maxStorageBufferBindingSize / rowBytes / 64) * 64;
    if (rows < 64) throw new Error(`GpuMlp: 64 rows of ${rowBytes} bytes exceed the device's storage binding limit`);
    return rows;
  }

  /**
   * Encodes the network on `batch` rows: x [batch, inputs] f32 -> out [batch, outputs] f32,
   * both STORAGE buffers the caller owns. Large batches run in chunks.
   */
  encode(encoder: GPUCommandEncoder, x: GPUBuffer, out: GPUBuffer, batch: number): void {
    const { device, spec } = this;
    requireBytes("GpuMlp.encode", "x", x, batch * spec.inputs * 4);
    requireBytes("GpuMlp.encode", "out", out, batch * spec.outputs * 4);
    if (batch === 0) return;
    const chunk = Math.min(this.chunkRows(), Math.ceil(batch / 64) * 64);
    const width = Math.max(spec.hidden, spec.outputs);
    if (this.scratchRows < chunk) {
      for (const b of this.scratch) b.destroy();
      const usage = BufferUsage.STORAGE;
      this.scratch = [
        createBuffer(device, "mlp.a", chunk * width * 4, usage),
        createBuffer(device, "mlp.b", chunk * width * 4, usage),
      ];
      this.scratchRows = chunk;
    }
    const layers = mlpLayers(spec);
    const kernel = mlpKernel(device);
    for (let start = 0; start < batch; start += chunk) {
      const rows = Math.min(chunk, batch - start);
      const uniforms = this.layerUniforms(rows);
      const xBinding = { buffer: x, offset: start * spec.inputs * 4, size: rows * spec.inputs * 4 };
      const pass = encoder.beginComputePass({ label: "mlpForward" });
      layers.forEach((layer, l) => {
        const last = l === layers.length - 1;
        const src = l === 0 ? xBinding : this.scratch[(l + 1) % 2]!;
        const dst = last
          ? { buffer: out, offset: start * spec.outputs * 4, size: rows * spec.outputs * 4 }
          : this.scratch[l % 2]!;
        const group = kernel.bind({ params: uniforms[l]!, weights: this.weights, src, x: xBinding, dst });
        const tiles = Math.ceil(rows / MLP_TILE.rows) * Math.ceil(layer.out / MLP_TILE.units);
        const [gx, gy] = splitGroups(tiles, device.limits.maxComputeWorkgroupsPerDimension);
        kernel.dispatch(pass, group, gx, gy);
      });
      pass.end();
    }
  }

  private layerUniforms(rows: number): GPUBuffer[] {
    const cached = this.uniforms.get(rows);
    if (cached) return cached;
    const { spec, device } = this;
    const activation = spec.activation === "softplus100" ? 1 : 2;
    const made = mlpLayers(spec).map((layer, l) => {
      const first = l === 0;
      const afterSkip = spec.skipAt !== null && l === spec.skipAt + 1;
      return MLP_LAYER_PARAMS.createBuffer(device, `mlp.params${l}`, {
        batch: rows,
        inputs: layer.in,
        outputs: layer.out,
        // Columns past splitAt come from x: the skip's concatenation (and all of layer 0's input).
        splitAt: first ? 0 : afterSkip ? spec.hidden : layer.in,
        srcStride: first ? spec.inputs : spec.hidden,
        xStride: spec.inputs,
        dstStride: layer.out,
        activation: layer.activated ? activation : 0,
        weightOffset: this.offsets[l]!.w,
        biasOffset: this.offsets[l]!.b,
      });
    });
    // Chunks come in at most two sizes per batch (full and the remainder); keep a few batch sizes.
    if (this.uniforms.size >= 8) this.clearUniforms();
    this.uniforms.set(rows, made);
    return made;
  }

  private clearUniforms(): void {
    for (const list of this.uniforms.values()) for (const b of list) b.destroy();
    this.uniforms.clear();
  }

  /** Runs the network on host data and reads the result back: [batch, outputs] f32. */
  async forward(input: Float32Array, batch: number): Promise<Float32Array> {
    const { device, spec } = this;
    if (input.length !== batch * spec.inputs)
      throw new Error(`GpuMlp.forward: input must be [${batch}, ${spec.inputs}], got ${input.length} numbers`);
    const x = createBufferFrom(device, "mlp.x", input, BufferUsage.STORAGE);
    const out = createBuffer(
      device,
      "mlp.out",
      Math.max(4, batch * spec.outputs * 4),
      BufferUsage.STORAGE | BufferUsage.COPY_SRC,
    );
    try {
      const encoder = device.createCommandEncoder({ label: "mlpForward" });
      this.encode(encoder, x, out, batch);
      device.queue.submit([encoder.finish()]);
      return new Float32Array(await readBuffer(device, out, batch * spec.outputs * 4));
    } finally {
      x.destroy();
      out.destroy();
    }
  }

  destroy(): void {
    this.weights.destroy();
    for (const b of this.scratch) b.destroy();
    this.clearUniforms();
  }
}
