/**
 * WebGPU host of shaders/train/heads-grad.wgsl.ts: the positional encoding
 * (forward and backward), composeAppearance's backward and the opacity
 * tracking of a training frame, and the colour residual's backward. CPU twins: ../avatar/positional-encoding.ts,
 * ./heads-grad.ts, ./rig-grad.ts (quatMulBackward) and ./appearance-grad.ts. headsKernel serves the
 * chained step (./avatar-step-gpu.ts); the one-shot functions below serve the
 * parity tests.
 */
import { GRID_WGSL } from "../../shaders/common/grid.wgsl";
import { QUAT_WGSL } from "../../shaders/avatar/rig.wgsl";
import { QUAT_MUL_BWD_WGSL } from "../../shaders/train/rig-grad.wgsl";
import {
  APPEARANCE_BWD_WGSL,
  COMPOSE_APPEARANCE_BWD_WGSL,
  PE_WGSL,
  TRACK_OPACITY_WGSL,
} from "../../shaders/train/heads-grad.wgsl";
import { BufferUsage } from "../gpu/flags";
import { STORAGE_RW, createBuffer, createBufferFrom } from "../gpu/buffers";
import { f32c, getKernel, u32c, type Kernel, type KernelSpec } from "../gpu/kernel";
import { readBuffer } from "../gpu/readback";
import { UniformLayout } from "../gpu/uniforms";

export const HEADS_WG = 64;
export const HEADS_GRAD_PARAMS = new UniformLayout("HeadsGradParams", [
  ["count", "u32"],
  ["pad0", "u32"],
  ["pad1", "u32"],
  ["pad2", "u32"],
] as const);

const ro = (name: string) => ({ name, kind: "read-only-storage" as const });
const rw = (name: string) => ({ name, kind: "storage" as const });
const uniform = { name: "params", kind: "uniform" as const };

const KERNELS: Record<string, { code: string[]; bindings: KernelSpec["bindings"] }> = {
  peFwd: { code: [PE_WGSL], bindings: [uniform, ro("points"), ro("dPe"), rw("out")] },
  peBwd: { code: [PE_WGSL], bindings: [uniform, ro("points"), ro("dPe"), rw("out")] },
  composeAppearanceBwd: {
    code: [QUAT_WGSL, QUAT_MUL_BWD_WGSL, COMPOSE_APPEARANCE_BWD_WGSL],
    bindings: [
      uniform,
      ro("gaussians"),
      ro("geomRaw"),
      ro("residual"),
      ro("dSplat"),
      ro("dGeom"),
      rw("dRaw"),
      rw("dRawGeo"),
      rw("rigIn"),
    ],
  },
  trackOpacity: { code: [TRACK_OPACITY_WGSL], bindings: [uniform, ro("gaussians"), ro("radii"), rw("maxOpacity")] },
  appearanceBwd: { code: [APPEARANCE_BWD_WGSL], bindings: [uniform, ro("dRawGeo"), rw("dAppearance")] },
};

/** One of the file's kernels for an avatar with `frequencies` PE frequencies and this scale ceiling. */
export function headsKernel(
  device: GPUDevice,
  entryPoint: keyof typeof KERNELS,
  frequencies: number,
  scaleMax: number,
): Kernel {
  const k = KERNELS[entryPoint]!;
  return getKernel(device, {
    label: entryPoint,
    code: [HEADS_GRAD_PARAMS.wgsl, GRID_WGSL, ...k.code],
    entryPoint,
    constants: { WG: u32c(HEADS_WG), F: u32c(frequencies), SCALE_MAX: f32c(scaleMax) },
    bindings: k.bindings,
  });
}

async function oneShot(
  device: GPUDevice,
  entry: keyof typeof KERNELS,
  count: number,
  inputs: Record<string, Float32Array | Int32Array>,
  outputs: Record<string, number>,
  constants: { F: number; scaleMax: number },
): Promise<Record<string, Float32Array>> {
  const owned: GPUBuffer[] = [];
  const res: Record<string, GPUBuffer> = {};
  res.params = HEADS_GRAD_PARAMS.createBuffer(device, `headsGrad.${entry}`, { count, pad0: 0, pad1: 0, pad2: 0 });
  for (const [name, data] of Object.entries(inputs))
    res[name] = createBufferFrom(device, `headsGrad.${name}`, data, BufferUsage.STORAGE);
  const encoder = device.createCommandEncoder({ label: entry });
  for (const [name, floats] of Object.entries(outputs)) {
    res[name] = createBuffer(device, `headsGrad.${name}`, Math.max(4, floats * 4), STORAGE_RW);
    encoder.clearBuffer(res[name]);
  }
  owned.push(...Object.values(res));
  headsKernel(device, entry, constants.F, constants.scaleMax).encodeThreads(encoder, res, count, HEADS_WG);
  device.queue.submit([encoder.finish()]);
  try {
    const out: Record<string, Float32Array> = {};
    for (const [name, floats] of Object.entries(outputs))
      out[name] = new Float32Array(await readBuffer(device, res[name]!, floats * 4));
    return out;
  } finally {
    for (const b of owned) b.destroy();
  }
}

/** PE [N, 3 + 6F] of points [N, 3] (the twin: positionalEncoding). */
export async function positionalEncodingGpu(
  device: GPUDevice,
  points: Float32Array,
  frequencies: number,
): Promise<Float32Array> {
  const n = points.length / 3;
  const r = await oneShot(
    device,
    "peFwd",
    n,
    { points, dPe: new Float32Array(1) },
    { out: n * (3 + 6 * frequencies) },
    { F: frequencies, scaleMax: 1 },
  );
  return r.out!;
}

/** d points [N, 3] from d PE [N, 3 + 6F]. */
export async function positionalEncodingBackwardGpu(
  device: GPUDevice,
  points: Float32Array,
  frequencies: number,
  dPe: Float32Array,
): Promise<Float32Array> {
  const n = points.length / 3;
  const r = await oneShot(device, "peBwd", n, { points, dPe }, { out: n * 3 }, { F: frequencies, scaleMax: 1 });
  return r.out!;
}

/**
 * composeAppearance's backward for N Gaussians: gaussians [N, 16] (after compose), geomRaw and
 * residual [N, 11], dSplat [N, 9], dGeom [N, 10] -> dRaw [N, 11] and rigIn [N, 7] (d centre, d qRig).
 */
export async function composeAppearanceBackwardGpu(
  device: GPUDevice,
  scaleMax: number,
  x: {
    gaussians: Float32Array;
    geomRaw: Float32Array;
    residual: Float32Array;
    dSplat: Float32Array;
    dGeom: Float32Array;
  },
): Promise<{ dRaw: Float32Array; rigIn: Float32Array }> {
  const n = x.geomRaw.length / 11;
  const r = await oneShot(
    device,
    "composeAppearanceBwd",
    n,
    x,
    { dRaw: n * 11, dRawGeo: n * 11, rigIn: n * 7 },
    { F: 1, scaleMax },
  );
  return { dRaw: r.dRaw!, rigIn: r.rigIn! };
}
