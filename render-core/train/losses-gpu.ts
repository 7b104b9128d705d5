/**
 * WebGPU host of shaders/train/losses.wgsl.ts: d (wL1 L1 + wSsim D-SSIM) / d
 * prediction for one image, and the mean SSIM. CPU twin: ./losses.ts. The
 * window weights and constants are emitted from the twin's values.
 */
import { GRID_WGSL } from "../../shaders/common/grid.wgsl";
import { LOSSES_WGSL } from "../../shaders/train/losses.wgsl";
import { BufferUsage } from "../gpu/flags";
import { createBuffer, createBufferFrom } from "../gpu/buffers";
import { f32c, getKernel, u32c, type Kernel } from "../gpu/kernel";
import { readBuffer } from "../gpu/readback";
import { UniformLayout } from "../gpu/uniforms";
import { SSIM_WINDOW, gaussianWindow, type ImageShape } from "./losses";

const WG = 64;

export const LOSS_PARAMS = new UniformLayout("LossParams", [
  ["width", "u32"],
  ["height", "u32"],
  ["channels", "u32"],
  ["planes", "u32"],
  ["axis", "u32"],
  ["fromImage", "u32"],
  ["wL1", "f32"],
  ["wSsim", "f32"],
] as const);

const BINDINGS = [
  { name: "params", kind: "uniform" },
  { name: "pred", kind: "read-only-storage" },
  { name: "truth", kind: "read-only-storage" },
  { name: "planesIn", kind: "read-only-storage" },
  { name: "planesOut", kind: "storage" },
] as const;

function kernel(device: GPUDevice, entryPoint: string): Kernel {
  const g = Array.from(gaussianWindow(), (v) => `${v.toPrecision(9)}`).join(", ");
  return getKernel(device, {
    label: entryPoint,
    code: [LOSS_PARAMS.wgsl, GRID_WGSL, `const G = array<f32, ${SSIM_WINDOW}>(${g});`, LOSSES_WGSL],
    entryPoint,
    constants: { WG: u32c(WG), TAPS: u32c(SSIM_WINDOW), C1: f32c(0.01 ** 2), C2: f32c(0.03 ** 2) },
    bindings: BINDINGS,
  });
}

export async function lossGradGpu(
  device: GPUDevice,
  pred: Float32Array,
  target: Float32Array,
  shape: ImageShape,
  wL1: number,
  wSsim: number,
): Promise<{ grad: Float32Array; ssim: number }> {
  const { width, height, channels } = shape;
  const P = width * height,
    n = P * channels;
  if (pred.length !== n || target.length !== n)
    throw new Error(`lossGradGpu: images must hold ${width} x ${height} x ${channels} = ${n} numbers`);
  const S = BufferUsage.STORAGE | BufferUsage.COPY_SRC | BufferUsage.COPY_DST;
  const owned: GPUBuffer[] = [];
  const mk = (floats: number) => {
    const b = createBuffer(device, "loss.planes", floats * 4, S);
    owned.push(b);
    return b;
  };
  const pb = createBufferFrom(device, "loss.pred", pred, S),
    tb = createBufferFrom(device, "loss.target", target, S);
  owned.push(pb, tb);
  const [a, b, c, d, e, grad] = [mk(5 * n), mk(5 * n), mk(4 * n), mk(3 * n), mk(3 * n), mk(n)];
  const encoder = device.createCommandEncoder({ label: "lossGrad" });
  const run = (
    entry: string,
    threads: number,
    u: { planes: number; axis: number; fromImage: number },
    planesIn: GPUBuffer,
    planesOut: GPUBuffer,
  ) => {
    const params = LOSS_PARAMS.createBuffer(device, `loss.${entry}`, { width, height, channels, wL1, wSsim, ...u });
    owned.push(params);
    kernel(device, entry).encodeThreads(encoder, { params, pred: pb, truth: tb, planesIn, planesOut }, threads, WG);
  };
  run("blurPlanes", 5 * n, { planes: 5, axis: 0, fromImage: 1 }, e, a);
  run("blurPlanes", 5 * n, { planes: 5, axis: 1, fromImage: 0 }, a, b);
  run("ssimPartials", n, { planes: 4, axis: 0, fromImage: 0 }, b, c);
  run("blurPlanes", 3 * n, { planes: 3, axis: 0, fromImage: 0 }, c, d);
  run("blurPlanes", 3 * n, { planes: 3, axis: 1, fromImage: 0 }, d, e);
  run("lossGrad", n, { planes: 3, axis: 0, fromImage: 0 }, e, grad);
  device.queue.submit([encoder.finish()]);
  try {
    const g = new Float32Array(await readBuffer(device, grad, n * 4));
    const s = new Float32Array(await readBuffer(device, c, n * 4, 3 * n * 4));
    return { grad: g, ssim: s.reduce((acc, v) => acc + v, 0) / n };
  } finally {
    for (const o of owned) o.destroy();
  }
}
