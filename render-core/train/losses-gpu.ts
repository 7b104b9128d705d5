/**
 * WebGPU host of shaders/train/losses.wgsl.ts: d (wL1 L1 + wSsim D-SSIM +
 * masked L1) / d prediction for one image, and the loss values, on persistent
 * buffers (GpuImageLoss: one per image size, any number of images through it
 * per command buffer, each with its own LossSlot of weights). CPU twin:
 * ./losses.ts (l1Loss, dssimLoss). The window weights and constants are
 * emitted from the twin's values.
 */
import { GRID_WGSL } from "../../shaders/common/grid.wgsl";
import { LOSSES_WGSL } from "../../shaders/train/losses.wgsl";
import { BufferUsage } from "../gpu/flags";
import { STORAGE_RW, createBuffer, createBufferFrom } from "../gpu/buffers";
import { f32c, getKernel, requireBytes, u32c, type Kernel } from "../gpu/kernel";
import { readBuffer } from "../gpu/readback";
import { UniformLayout } from "../gpu/uniforms";
import { SSIM_C1, SSIM_C2, SSIM_WINDOW, gaussianWindow, type ImageShape } from "./losses";
import { BindCache, dispatchThreads } from "./bind-cache";

const WG = 256;

export const LOSS_PARAMS = new UniformLayout("LossParams", [
  ["width", "u32"],
  ["height", "u32"],
  ["channels", "u32"],
  ["planes", "u32"],
  ["axis", "u32"],
  ["fromImage", "u32"],
  ["predStride", "u32"],
  ["gradStride", "u32"],
  ["slot", "u32"],
  ["wL1", "f32"],
  ["wSsim", "f32"],
  ["regionGrad", "f32"],
  ["regionNorm", "f32"],
] as const);

type LossValues = Parameters<typeof LOSS_PARAMS.pack>[0];

const BINDINGS = [
  { name: "params", kind: "uniform" },
  { name: "pred", kind: "read-only-storage" },
  { name: "truth", kind: "read-only-storage" },
  { name: "mask", kind: "read-only-storage" },
  { name: "planesIn", kind: "read-only-storage" },
  { name: "planesOut", kind: "storage" },
] as const;

function kernel(device: GPUDevice, entryPoint: string): Kernel {
  const g = Array.from(gaussianWindow(), (v) => `${v.toPrecision(9)}`).join(", ");
  return getKernel(device, {
    label: entryPoint,
    code: [LOSS_PARAMS.wgsl, GRID_WGSL, `const G = array<f32, ${SSIM_WINDOW}>(${g});`, LOSSES_WGSL],
    entryPoint,
    constants: { WG: u32c(WG), TAPS: u32c(SSIM_WINDOW), C1: f32c(SSIM_C1), C2: f32c(SSIM_C2) },
    bindings: BINDINGS,
  });
}

/** Floats per loss record (lossValue): mean L1, D-SSIM, masked L1 (normalised), MSE. */
export const LOSS_RECORD = 4;

/** The weights of one image's loss; the gradient is of wL1 L1 + wSsim D-SSIM + wRegion L1_mask. */
export interface LossWeights {
  wL1: number;
  wSsim: number;
  /** Weight of the masked L1 (0: none). */
  wRegion: number;
  /** sum of the mask ([H, W] weights) times the channels: the masked L1's normaliser (l1Loss's). */
  maskWeight: number;
  /** Where lossValue writes the record: records[slot * LOSS_RECORD ..]. */
  slot: number;
}

/** One image's uniforms (its weights): the gradient's and the value's. */
export interface LossSlot {
  grad: GPUBuffer;
  value: GPUBuffer;
}

export class GpuImageLoss {
  readonly shape: ImageShape;
  private readonly planes: GPUBuffer[];
  private readonly fixed: GPUBuffer[];
  private readonly owned: GPUBuffer[] = [];
  private readonly binds = new BindCache();

  constructor(
    readonly device: GPUDevice,
    shape: ImageShape,
    /** Floats per pixel of the prediction (3 for rgb, 4 for the renderer's rgba) and of the gradient written. */
    readonly predStride: number,
    readonly gradStride: number,
  ) {
    this.shape = { ...shape };
    const n = shape.width * shape.height * shape.channels;
    if (!(n > 0) || predStride < shape.channels || gradStride < shape.channels)
      throw new Error(
        `GpuImageLoss: bad shape ${shape.width} x ${shape.height} x ${shape.channels} or strides ${predStride}, ${gradStride}`,
      );
    // a, b: 5 planes; c: 4 (partials, ssim); d, e: 3 (blurred partials).
    this.planes = [5, 5, 4, 3, 3].map((k, i) => this.buf(`loss.planes${i}`, k * n));
    const base = { ...this.size(), predStride, gradStride, slot: 0, wL1: 0, wSsim: 0, regionGrad: 0, regionNorm: 0 };
    this.fixed = [
      { planes: 5, axis: 0, fromImage: 1 },
      { planes: 5, axis: 1, fromImage: 0 },
      { planes: 4, axis: 0, fromImage: 0 },
      { planes: 3, axis: 0, fromImage: 0 },
      { planes: 3, axis: 1, fromImage: 0 },
    ].map((u, i) => {
      const b = LOSS_PARAMS.createBuffer(device, `loss.fixed${i}`, { ...base, ...u });
      this.owned.push(b);
      return b;
    });
  }

  private size() {
    return { width: this.shape.width, height: this.shape.height, channels: this.shape.channels };
  }

  private buf(label: string, floats: number): GPUBuffer {
    const b = createBuffer(this.device, label, Math.max(4, floats * 4), STORAGE_RW);
    this.owned.push(b);
    return b;
  }

  /** A new slot (uniforms) for one image of a command buffer. */
  createSlot(label: string): LossSlot {
    const slot = {
      grad: LOSS_PARAMS.createBuffer(this.device, `${label}.grad`),
      value: LOSS_PARAMS.createBuffer(this.device, `${label}.value`),
    };
    this.owned.push(slot.grad, slot.value);
    return slot;
  }

  /** Writes a slot's weights (through the queue: before the submit that uses them). */
  writeSlot(slot: LossSlot, w: LossWeights): void {
    const { shape } = this;
    const norm = 1 / Math.max(w.maskWeight, 1e-12);
    const values: LossValues = {
      ...this.size(),
      planes: 3,
      axis: 0,
      fromImage: 0,
      predStride: this.predStride,
      gradStride: this.gradStride,
      slot: w.slot,
      wL1: w.wL1,
      wSsim: w.wSsim,
      regionGrad: w.wRegion > 0 ? w.wRegion * norm : 0,
      regionNorm: norm,
    };
    if (!(shape.channels > 0)) throw new Error("GpuImageLoss.writeSlot: no channels");
    this.device.queue.writeBuffer(slot.grad, 0, LOSS_PARAMS.pack(values));
    this.device.queue.writeBuffer(slot.value, 0, LOSS_PARAMS.pack({ ...values, planes: 4 }));
  }

  /**
   * Encodes the gradient into grad ([H, W, gradStride]: the rgb slots written, the rest left alone)
   * and the values into records (LOSS_RECORD floats at the slot's index).
   */
  encode(
    pass: GPUComputePassEncoder,
    slot: LossSlot,
    b: { pred: GPUBuffer; truth: GPUBuffer; mask: GPUBuffer; grad: GPUBuffer; records: GPUBuffer },
  ): void {
    const { width, height, channels } = this.shape;
    const P = width * height,
      n = P * channels;
    requireBytes("GpuImageLoss.encode", "pred", b.pred, P * this.predStride * 4);
    requireBytes("GpuImageLoss.encode", "truth", b.truth, n * 4);
    requireBytes("GpuImageLoss.encode", "mask", b.mask, P * 4);
    requireBytes("GpuImageLoss.encode", "grad", b.grad, P * this.gradStride * 4);
    const [pa, pb, pc, pd, pe] = this.planes as [GPUBuffer, GPUBuffer, GPUBuffer, GPUBuffer, GPUBuffer];
    const img = { pred: b.pred, truth: b.truth, mask: b.mask };
    const run = (entry: string, threads: number, params: GPUBuffer, planesIn: GPUBuffer, planesOut: GPUBuffer) => {
      const k = kernel(this.device, entry);
      dispatchThreads(pass, k, this.binds.get(k, { params, ...img, planesIn, planesOut }), threads, WG);
    };
    const f = this.fixed;
    run("blurPlanes", 5 * n, f[0]!, pe, pa);
    run("blurPlanes", 5 * n, f[1]!, pa, pb);
    run("ssimPartials", n, f[2]!, pb, pc);
    run("blurPlanes", 3 * n, f[3]!, pc, pd);
    run("blurPlanes", 3 * n, f[4]!, pd, pe);
    run("lossGrad", n, slot.grad, pe, b.grad);
    const kv = kernel(this.device, "lossValue");
    kv.dispatch(pass, this.binds.get(kv, { params: slot.value, ...img, planesIn: pc, planesOut: b.records }), 1);
  }

  destroy(): void {
    for (const b of this.owned) b.destroy();
    this.owned.length = 0;
    this.binds.clear();
  }
}

/** One image on host data (the parity test): the gradient of wL1 L1 + wSsim D-SSIM (+ masked L1) and the values. */
export async function lossGradGpu(
  device: GPUDevice,
  pred: Float32Array,
  target: Float32Array,
  shape: ImageShape,
  wL1: number,
  wSsim: number,
  region?: { mask: Float32Array; weight: number },
): Promise<{ grad: Float32Array; ssim: number; l1: number; regionL1: number; mse: number }> {
  const { width, height, channels } = shape;
  const P = width * height,
    n = P * channels;
  if (pred.length !== n || target.length !== n)
    throw new Error(`lossGradGpu: images must hold ${width} x ${height} x ${channels} = ${n} numbers`);
  const mask = region?.mask ?? new Float32Array(P);
  if (mask.length !== P) throw new Error(`lossGradGpu: the mask must hold ${P} numbers, got ${mask.length}`);
  const loss = new GpuImageLoss(device, shape, channels, channels);
  const S = BufferUsage.STORAGE | BufferUsage.COPY_SRC | BufferUsage.COPY_DST;
  const bufs = {
    pred: createBufferFrom(device, "loss.pred", pred, S),
    truth: createBufferFrom(device, "loss.target", target, S),
    mask: createBufferFrom(device, "loss.mask", mask, S),
    grad: createBuffer(device, "loss.grad", n * 4, S),
    records: createBuffer(device, "loss.records", LOSS_RECORD * 4, S),
  };
  try {
    const slot = loss.createSlot("lossGradGpu");
    const maskWeight = mask.reduce((a, v) => a + v, 0) * channels;
    loss.writeSlot(slot, { wL1, wSsim, wRegion: region?.weight ?? 0, maskWeight, slot: 0 });
    const encoder = device.createCommandEncoder({ label: "lossGrad" });
    const pass = encoder.beginComputePass({ label: "lossGrad" });
    loss.encode(pass, slot, bufs);
    pass.end();
    device.queue.submit([encoder.finish()]);
    const g = new Float32Array(await readBuffer(device, bufs.grad, n * 4));
    const r = new Float32Array(await readBuffer(device, bufs.records, LOSS_RECORD * 4));
    return { grad: g, l1: r[0]!, ssim: 1 - r[1]!, regionL1: r[2]!, mse: r[3]! };
  } finally {
    loss.destroy();
    for (const b of Object.values(bufs)) b.destroy();
  }
}
