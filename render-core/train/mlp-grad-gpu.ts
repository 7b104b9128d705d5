/**
 * WebGPU host of shaders/train/mlp-grad.wgsl.ts: the training pass of an
 * avatar MLP with persistent buffers. The forward is the runtime's mlpLayer
 * (render-core/avatar/mlp-gpu.ts); weight norm is folded on the GPU before it
 * and unfolded after the backward. CPU twin: ./mlp-grad.ts (mlpForwardTrain with
 * a shared input, mlpBackward).
 *
 * Per step: encodeFold; per batch: encodeCondBias (the batch's conditioning
 * into the biases), encodeForward and encodeBackward (any number of times: the
 * gaussian network runs once per frame), encodeCondBackward; at the end
 * encodeUnfold turns the summed folded gradient dW into d params (dParams).
 */
import { GRID_WGSL } from "../../shaders/common/grid.wgsl";
import {
  MLP_BWD_ACT_WGSL,
  MLP_BWD_INPUT_WGSL,
  MLP_BWD_WEIGHT_WGSL,
  MLP_COND_BIAS_WGSL,
  MLP_COND_BWD_WGSL,
  MLP_FOLD_WGSL,
  MLP_UNFOLD_WGSL,
} from "../../shaders/train/mlp-grad.wgsl";
import { STORAGE_RW, createBuffer, createBufferFrom } from "../gpu/buffers";
import { BufferUsage, splitGroups } from "../gpu/flags";
import { getKernel, requireBytes, u32c, type Kernel, type KernelSpec } from "../gpu/kernel";
import { readBuffer } from "../gpu/readback";
import { UniformLayout } from "../gpu/uniforms";
import { MLP_LAYER_PARAMS, MLP_TILE, mlpKernel } from "../avatar/mlp-gpu";
import { mlpLayers, mlpParamCount, type LayerShape, type MlpSpec } from "../avatar/mlp";
import { BindCache, dispatchThreads } from "./bind-cache";

const WG = 64;

/** Every training kernel's uniform: one per layer, written once (see the WGSL header for each field's use). */
export const MLP_TRAIN_PARAMS = new UniformLayout("MlpTrainParams", [
  ["batch", "u32"],
  ["inputs", "u32"],
  ["outputs", "u32"],
  ["splitAt", "u32"],
  ["srcStride", "u32"],
  ["xStride", "u32"],
  ["activation", "u32"],
  ["inFull", "u32"],
  ["packedW", "u32"],
  ["packedB", "u32"],
  ["vOffset", "u32"],
  ["gOffset", "u32"],
  ["bOffset", "u32"],
  ["dwOffset", "u32"],
  ["rowOffset", "u32"],
  ["condCount", "u32"],
] as const);

const ro = (name: string) => ({ name, kind: "read-only-storage" as const });
const rw = (name: string) => ({ name, kind: "storage" as const });
const uniform = { name: "params", kind: "uniform" as const };

const KERNELS: Record<string, { code: string; bindings: KernelSpec["bindings"] }> = {
  mlpFold: { code: MLP_FOLD_WGSL, bindings: [uniform, ro("net"), rw("packed"), rw("rowScale")] },
  mlpCondBias: { code: MLP_COND_BIAS_WGSL, bindings: [uniform, ro("net"), ro("rowScale"), ro("cond"), rw("packed")] },
  mlpLayerBwdAct: { code: MLP_BWD_ACT_WGSL, bindings: [uniform, ro("post"), ro("dy"), rw("ds")] },
  mlpLayerBwdWeight: {
    code: MLP_BWD_WEIGHT_WGSL,
    bindings: [uniform, ro("src"), ro("x"), ro("ds"), rw("dW"), rw("dBias")],
  },
  mlpLayerBwdInput: { code: MLP_BWD_INPUT_WGSL, bindings: [uniform, ro("packed"), ro("ds"), rw("dSrc"), rw("dX")] },
  mlpCondBwdWeight: {
    code: MLP_COND_BWD_WGSL,
    bindings: [uniform, ro("net"), ro("rowScale"), ro("cond"), ro("dBias"), rw("dW"), rw("dCond")],
  },
  mlpCondBwdInput: {
    code: MLP_COND_BWD_WGSL,
    bindings: [uniform, ro("net"), ro("rowScale"), ro("cond"), ro("dBias"), rw("dW"), rw("dCond")],
  },
  mlpUnfold: { code: MLP_UNFOLD_WGSL, bindings: [uniform, ro("net"), ro("dW"), rw("dNet")] },
};

function trainKernel(device: GPUDevice, entryPoint: keyof typeof KERNELS): Kernel {
  const k = KERNELS[entryPoint]!;
  return getKernel(device, {
    label: entryPoint,
    code: [MLP_TRAIN_PARAMS.wgsl, GRID_WGSL, k.code],
    entryPoint,
    constants: { WG: u32c(WG) },
    bindings: k.bindings,
  });
}

/** Where one layer's pieces live in the packed, rowScale and dW buffers. */
interface LayerPlan {
  shape: LayerShape;
  /** Per-row columns (the shared conditioning's columns excluded). */
  rw: number;
  /** The conditioning enters this layer (folded into its bias per batch). */
  cond: boolean;
  splitAt: number;
  srcStride: number;
  packedW: number;
  packedB: number;
  dwOffset: number;
  rowOffset: number;
}

/** The layers of `spec` when `S` of its inputs are shared by every row (mlpForwardTrain's tail). */
function planLayers(spec: MlpSpec, S: number): { layers: LayerPlan[]; packed: number; dw: number; rows: number } {
  const own = spec.inputs - S;
  if (own < 0) throw new Error(`GpuMlpTrain: ${S} shared inputs, the network has ${spec.inputs}`);
  let packed = 0,
    dw = 0,
    rows = 0;
  const layers = mlpLayers(spec).map((shape, l): LayerPlan => {
    const skip = spec.skipAt !== null && l === spec.skipAt + 1;
    const cond = S > 0 && (l === 0 || skip);
    const rwCols = shape.in - (cond ? S : 0);
    const plan: LayerPlan = {
      shape,
      rw: rwCols,
      cond,
      // Columns past splitAt come from the network input x: all of layer 0's, the skip's concatenation.
      splitAt: l === 0 ? 0 : skip ? spec.hidden : rwCols,
      srcStride: l === 0 ? own : spec.hidden,
      packedW: packed,
      packedB: packed + shape.out * rwCols,
      dwOffset: dw,
      rowOffset: rows,
    };
    packed += shape.out * rwCols + shape.out;
    dw += shape.out * (shape.in + 1);
    rows += shape.out;
    return plan;
  });
  return { layers, packed, dw, rows };
}

export class GpuMlpTrain {
  /** [P] f32 the network's parameters (v, g, b per layer: render-core/avatar/mlp.ts); Adam updates them in place. */
  readonly params: GPUBuffer;
  /** [P] f32 d params after encodeUnfold. */
  readonly dParams: GPUBuffer;
  /** Per layer: its output [rows, out] f32 (the last one is the network's output). */
  readonly post: GPUBuffer[];
  /** Shared inputs (the conditioning) and per-row inputs. */
  readonly shared: number;
  readonly own: number;
  private readonly plan: ReturnType<typeof planLayers>;
  private readonly packed: GPUBuffer;
  private readonly rowScale: GPUBuffer;
  private readonly dW: GPUBuffer;
  private readonly dBias: GPUBuffer;
  private readonly ds: GPUBuffer;
  private readonly dSrc: GPUBuffer;
  private readonly unused: GPUBuffer[];
  private readonly trainUniforms: GPUBuffer[];
  private readonly fwdUniforms: GPUBuffer[];
  private readonly owned: GPUBuffer[] = [];
  private readonly binds = new BindCache();

  constructor(
    readonly device: GPUDevice,
    readonly spec: MlpSpec,
    /** Inputs shared by every row (the conditioning): the last `shared` inputs of the spec. */
    shared: number,
    /** Rows per forward (the Gaussian count). */
    readonly rows: number,
    label = "mlp",
  ) {
    this.shared = shared;
    this.own = spec.inputs - shared;
    this.plan = planLayers(spec, shared);
    const maxStorage = device.limits.maxStorageBufferBindingSize;
    const width = Math.max(spec.hidden, spec.outputs);
    if (rows * width * 4 > maxStorage)
      throw new Error(
        `GpuMlpTrain: ${rows} rows of ${width} floats exceed the device's storage binding limit (${maxStorage} bytes)`,
      );
    const buf = (floats: number, name: string) => {
      const b = createBuffer(device, `${label}.${name}`, Math.max(4, floats * 4), STORAGE_RW);
      this.owned.push(b);
      return b;
    };
    const P = mlpParamCount(spec);
    this.params = buf(P, "params");
    this.dParams = buf(P, "dParams");
    this.packed = buf(this.plan.packed, "packed");
    this.rowScale = buf(this.plan.rows, "rowScale");
    this.dW = buf(this.plan.dw, "dW");
    this.dBias = buf(this.plan.rows, "dBias");
    this.post = this.plan.layers.map((l, k) => buf(rows * l.shape.out, `post${k}`));
    this.ds = buf(rows * width, "ds");
    this.dSrc = buf(rows * spec.hidden, "dSrc");
    // Bindings a dispatch does not use: distinct buffers, since two writable bindings may not alias.
    this.unused = [buf(1, "unused0"), buf(1, "unused1")];
    const activation = spec.activation === "softplus100" ? 1 : 2;
    this.trainUniforms = this.plan.layers.map((l, k) => {
      const u = MLP_TRAIN_PARAMS.createBuffer(device, `${label}.train${k}`, {
        batch: rows,
        inputs: l.rw,
        outputs: l.shape.out,
        splitAt: l.splitAt,
        srcStride: l.srcStride,
        xStride: this.own,
        activation: l.shape.activated ? activation : 0,
        inFull: l.shape.in,
        packedW: l.packedW,
        packedB: l.packedB,
        vOffset: l.shape.v,
        gOffset: l.shape.g,
        bOffset: l.shape.b,
        dwOffset: l.dwOffset,
        rowOffset: l.rowOffset,
        condCount: l.cond ? shared : 0,
      });
      this.owned.push(u);
      return u;
    });
    this.fwdUniforms = this.plan.layers.map((l, k) => {
      const u = MLP_LAYER_PARAMS.createBuffer(device, `${label}.fwd${k}`, {
        batch: rows,
        inputs: l.rw,
        outputs: l.shape.out,
        splitAt: l.splitAt,
        srcStride: l.srcStride,
        xStride: this.own,
        dstStride: l.shape.out,
        activation: l.shape.activated ? activation : 0,
        weightOffset: l.packedW,
        biasOffset: l.packedB,
      });
      this.owned.push(u);
      return u;
    });
  }

  /** The network's output [rows, outputs] after encodeForward. */
  get output(): GPUBuffer {
    return this.post.at(-1)!;
  }

  /** Uploads parameters (flat v, g, b). */
  upload(params: ArrayLike<number>): void {
    if (params.length !== mlpParamCount(this.spec))
      throw new Error(`GpuMlpTrain.upload: ${params.length} numbers, the spec needs ${mlpParamCount(this.spec)}`);
    this.device.queue.writeBuffer(this.params, 0, Float32Array.from(params));
  }

  /** Zeroes the step's summed gradient (call once per step, before the first backward). */
  clearStep(encoder: GPUCommandEncoder): void {
    encoder.clearBuffer(this.dW);
  }

  /** Zeroes the batch's bias sums (call once per batch, before its first backward). */
  clearBatch(encoder: GPUCommandEncoder): void {
    encoder.clearBuffer(this.dBias);
  }

  /** W = g v / |v| (the per-row columns) and the plain biases into the packed buffer. */
  encodeFold(pass: GPUComputePassEncoder): void {
    const k = trainKernel(this.device, "mlpFold");
    this.plan.layers.forEach((l, i) => {
      const group = this.binds.get(k, {
        params: this.trainUniforms[i]!,
        net: this.params,
        packed: this.packed,
        rowScale: this.rowScale,
      });
      dispatchThreads(pass, k, group, l.shape.out, WG);
    });
  }

  /** Folds the batch's shared input cond [S] into the biases of the layers it enters (after encodeFold). */
  encodeCondBias(pass: GPUComputePassEncoder, cond: GPUBuffer | GPUBufferBinding): void {
    if (this.shared === 0) return;
    const k = trainKernel(this.device, "mlpCondBias");
    this.plan.layers.forEach((l, i) => {
      if (!l.cond) return;
      const group = this.binds.get(k, {
        params: this.trainUniforms[i]!,
        net: this.params,
        rowScale: this.rowScale,
        cond,
        packed: this.packed,
      });
      dispatchThreads(pass, k, group, l.shape.out, WG);
    });
  }

  /** The forward on x [rows, own] with the runtime's layer kernel; every layer's output is kept for the backward. */
  encodeForward(pass: GPUComputePassEncoder, x: GPUBuffer): void {
    requireBytes("GpuMlpTrain.encodeForward", "x", x, this.rows * this.own * 4);
    const k = mlpKernel(this.device);
    this.plan.layers.forEach((l, i) => {
      const group = this.binds.get(k, {
        params: this.fwdUniforms[i]!,
        weights: this.packed,
        src: i === 0 ? x : this.post[i - 1]!,
        x,
        dst: this.post[i]!,
      });
      const tiles = Math.ceil(this.rows / MLP_TILE.rows) * Math.ceil(l.shape.out / MLP_TILE.units);
      const [gx, gy] = splitGroups(tiles, this.device.limits.maxComputeWorkgroupsPerDimension);
      k.dispatch(pass, group, gx, gy);
    });
  }

  /**
   * The backward of the last encodeForward: dOut [rows, outputs] -> dW (summed),
   * the batch's bias sums, and dX [rows, own] (added to: the caller clears it or
   * sums several gradients in it).
   */
  encodeBackward(pass: GPUComputePassEncoder, x: GPUBuffer, dOut: GPUBuffer, dX: GPUBuffer): void {
    requireBytes("GpuMlpTrain.encodeBackward", "dOut", dOut, this.rows * this.spec.outputs * 4);
    requireBytes("GpuMlpTrain.encodeBackward", "dX", dX, this.rows * this.own * 4);
    const act = trainKernel(this.device, "mlpLayerBwdAct"),
      weight = trainKernel(this.device, "mlpLayerBwdWeight"),
      input = trainKernel(this.device, "mlpLayerBwdInput");
    const [u0, u1] = this.unused as [GPUBuffer, GPUBuffer];
    for (let i = this.plan.layers.length - 1; i >= 0; i--) {
      const l = this.plan.layers[i]!,
        params = this.trainUniforms[i]!;
      const dy = i === this.plan.layers.length - 1 ? dOut : this.dSrc;
      let ds = dy;
      if (l.shape.activated) {
        ds = this.ds;
        const g = this.binds.get(act, { params, post: this.post[i]!, dy, ds });
        dispatchThreads(pass, act, g, this.rows * l.shape.out, WG);
      }
      const src = i === 0 ? x : this.post[i - 1]!;
      const gw = this.binds.get(weight, { params, src, x, ds, dW: this.dW, dBias: l.cond ? this.dBias : u0 });
      dispatchThreads(pass, weight, gw, l.shape.out * (l.rw + 1), WG);
      const gi = this.binds.get(input, {
        params,
        packed: this.packed,
        ds,
        dSrc: l.splitAt > 0 ? this.dSrc : u0,
        dX: l.splitAt < l.rw ? dX : u1,
      });
      dispatchThreads(pass, input, gi, this.rows * l.rw, WG);
    }
  }

  /** The batch's shared-input gradients: dW's shared columns += bias sums x cond; dCond [S] += (added to). */
  encodeCondBackward(
    pass: GPUComputePassEncoder,
    cond: GPUBuffer | GPUBufferBinding,
    dCond: GPUBuffer | GPUBufferBinding,
  ): void {
    if (this.shared === 0) return;
    const kw = trainKernel(this.device, "mlpCondBwdWeight"),
      ki = trainKernel(this.device, "mlpCondBwdInput");
    this.plan.layers.forEach((l, i) => {
      if (!l.cond) return;
      const res = {
        params: this.trainUniforms[i]!,
        net: this.params,
        rowScale: this.rowScale,
        cond,
        dBias: this.dBias,
        dW: this.dW,
        dCond,
      };
      dispatchThreads(pass, kw, this.binds.get(kw, res), l.shape.out * this.shared, WG);
      dispatchThreads(pass, ki, this.binds.get(ki, res), this.shared, WG);
    });
  }

  /** dParams = the weight-norm backward of the summed dW. */
  encodeUnfold(pass: GPUComputePassEncoder): void {
    const k = trainKernel(this.device, "mlpUnfold");
    this.plan.layers.forEach((l, i) => {
      const group = this.binds.get(k, {
        params: this.trainUniforms[i]!,
        net: this.params,
        dW: this.dW,
        dNet: this.dParams,
      });
      dispatchThreads(pass, k, group, l.shape.out, WG);
    });
  }

  /** Bytes of GPU memory held. */
  get bytes(): number {
    return this.owned.reduce((s, b) => s + b.size, 0);
  }

  destroy(): void {
    for (const b of this.owned) b.destroy();
    this.owned.length = 0;
    this.binds.clear();
  }
}

export interface MlpTrainResult {
  out: Float32Array;
  dParams: Float64Array;
  dInput: Float32Array;
  dShared: Float32Array;
}

/**
 * One forward and backward on host data (the parity test's entry): input [B, inputs - S],
 * the shared input [S] (optional), dOut [B, outputs].
 */
export async function mlpTrainGpu(
  device: GPUDevice,
  spec: MlpSpec,
  params: Float32Array,
  input: Float32Array,
  batch: number,
  dOut: Float32Array,
  shared: Float32Array = new Float32Array(0),
): Promise<MlpTrainResult> {
  const S = shared.length,
    own = spec.inputs - S;
  if (input.length !== batch * own || dOut.length !== batch * spec.outputs)
    throw new Error(`mlpTrainGpu: input must be [${batch}, ${own}] and dOut [${batch}, ${spec.outputs}]`);
  const net = new GpuMlpTrain(device, spec, S, batch, "mlpTrainGpu");
  const usage = BufferUsage.STORAGE | BufferUsage.COPY_SRC | BufferUsage.COPY_DST;
  const x = createBufferFrom(device, "mlpTrainGpu.x", input, usage);
  const dy = createBufferFrom(device, "mlpTrainGpu.dOut", dOut, usage);
  const cond = createBufferFrom(device, "mlpTrainGpu.cond", S > 0 ? shared : new Float32Array(1), usage);
  const dX = createBuffer(device, "mlpTrainGpu.dX", Math.max(4, input.byteLength), usage);
  const dCond = createBuffer(device, "mlpTrainGpu.dCond", Math.max(4, S * 4), usage);
  try {
    net.upload(params);
    const encoder = device.createCommandEncoder({ label: "mlpTrainGpu" });
    net.clearStep(encoder);
    net.clearBatch(encoder);
    encoder.clearBuffer(dX);
    encoder.clearBuffer(dCond);
    const pass = encoder.beginComputePass({ label: "mlpTrainGpu" });
    net.encodeFold(pass);
    net.encodeCondBias(pass, cond);
    net.encodeForward(pass, x);
    net.encodeBackward(pass, x, dy, dX);
    net.encodeCondBackward(pass, cond, dCond);
    net.encodeUnfold(pass);
    pass.end();
    device.queue.submit([encoder.finish()]);
    const read = async (b: GPUBuffer, floats: number) => new Float32Array(await readBuffer(device, b, floats * 4));
    return {
      out: await read(net.output, batch * spec.outputs),
      dParams: Float64Array.from(await read(net.dParams, mlpParamCount(spec))),
      dInput: await read(dX, batch * own),
      dShared: await read(dCond, S),
    };
  } finally {
    net.destroy();
    for (const b of [x, dy, cond, dX, dCond]) b.destroy();
  }
}
