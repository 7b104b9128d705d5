/**
 * WebGPU host of shaders/train/heads-grad.wgsl.ts: the appearance heads' and
 * the positional encoding's backward. CPU twins: ./heads-grad.ts.
 */
import { GRID_WGSL } from "../../shaders/common/grid.wgsl";
import { HEADS_GRAD_WGSL } from "../../shaders/train/heads-grad.wgsl";
import { BufferUsage } from "../gpu/flags";
import { createBuffer, createBufferFrom } from "../gpu/buffers";
import { f32c, getKernel, u32c } from "../gpu/kernel";
import { readBuffer } from "../gpu/readback";
import { UniformLayout } from "../gpu/uniforms";

const WG = 64;
export const HEADS_GRAD_PARAMS = new UniformLayout("HeadsGradParams", [
  ["count", "u32"],
  ["pad0", "u32"],
  ["pad1", "u32"],
  ["pad2", "u32"],
] as const);

async function run(
  device: GPUDevice,
  entry: "headsBwd" | "peBwd",
  count: number,
  x: Float32Array,
  dIn: Float32Array,
  outFloats: number,
  constants: { F: number; scaleMax: number },
): Promise<Float32Array> {
  const params = HEADS_GRAD_PARAMS.createBuffer(device, `headsGrad.${entry}`, { count, pad0: 0, pad1: 0, pad2: 0 });
  const xb = createBufferFrom(device, "headsGrad.x", x, BufferUsage.STORAGE),
    db = createBufferFrom(device, "headsGrad.dIn", dIn, BufferUsage.STORAGE);
  const out = createBuffer(
    device,
    "headsGrad.dOut",
    Math.max(4, outFloats * 4),
    BufferUsage.STORAGE | BufferUsage.COPY_SRC,
  );
  const kernel = getKernel(device, {
    label: entry,
    code: [HEADS_GRAD_PARAMS.wgsl, GRID_WGSL, HEADS_GRAD_WGSL],
    entryPoint: entry,
    constants: { WG: u32c(WG), F: u32c(constants.F), SCALE_MAX: f32c(constants.scaleMax) },
    bindings: [
      { name: "params", kind: "uniform" },
      { name: "x", kind: "read-only-storage" },
      { name: "dIn", kind: "read-only-storage" },
      { name: "dOut", kind: "storage" },
    ],
  });
  const encoder = device.createCommandEncoder({ label: entry });
  kernel.encodeThreads(encoder, { params, x: xb, dIn: db, dOut: out }, count, WG);
  device.queue.submit([encoder.finish()]);
  try {
    return new Float32Array(await readBuffer(device, out, outFloats * 4));
  } finally {
    for (const b of [params, xb, db, out]) b.destroy();
  }
}

/** d raw [N, 11] from d heads [N, 11]. */
export function appearanceHeadsBackwardGpu(
  device: GPUDevice,
  raw: Float32Array,
  scaleMax: number,
  dOut: Float32Array,
): Promise<Float32Array> {
  return run(device, "headsBwd", raw.length / 11, raw, dOut, raw.length, { F: 1, scaleMax });
}

/** d points [N, 3] from d PE [N, 3 + 6F]. */
export function positionalEncodingBackwardGpu(
  device: GPUDevice,
  points: Float32Array,
  frequencies: number,
  dPe: Float32Array,
): Promise<Float32Array> {
  return run(device, "peBwd", points.length / 3, points, dPe, points.length, { F: frequencies, scaleMax: 1 });
}
