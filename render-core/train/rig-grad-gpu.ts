/**
 * WebGPU host of shaders/train/rig-grad.wgsl.ts (the deform rig's backward;
 * the forward is the runtime's deformRig, render-core/avatar/runtime-gpu.ts).
 * CPU twin: ./rig-grad.ts (deformRigBackward). deformRigBwdKernel serves the
 * chained step (./avatar-step-gpu.ts), deformRigBackwardGpu the parity test.
 */
import { GRID_WGSL } from "../../shaders/common/grid.wgsl";
import { QUAT_MUL_BWD_WGSL, RIG_GRAD_WGSL } from "../../shaders/train/rig-grad.wgsl";
import { BufferUsage } from "../gpu/flags";
import { STORAGE_RW, createBuffer, createBufferFrom } from "../gpu/buffers";
import { getKernel, u32c, type Kernel } from "../gpu/kernel";
import { readBuffer } from "../gpu/readback";
import { UniformLayout } from "../gpu/uniforms";
import type { AvatarModelConfig } from "../avatar/config";
import type { RigGrad, RigState } from "./rig-grad";

export const RIG_GRAD_WG = 64;
/** The uniform of both rig backwards (deformRigBwd, bakeRigBwd). */
export const RIG_GRAD_PARAMS = new UniformLayout("RigGradParams", [
  ["count", "u32"],
  ["pad0", "u32"],
  ["pad1", "u32"],
  ["pad2", "u32"],
] as const);

/** Floats per Gaussian of the rig's summed gradient: d rest [8], d skin [J], d dirs [K * 3] (what bakeRigBwd reads). */
export function rigGradStride(config: AvatarModelConfig): number {
  return 8 + config.jointCount + (config.expressionCount + config.poseCorrectiveCount) * 3;
}

export function deformRigBwdKernel(device: GPUDevice, config: AvatarModelConfig): Kernel {
  const ro = (name: string) => ({ name, kind: "read-only-storage" as const });
  return getKernel(device, {
    label: "deformRigBwd",
    code: [RIG_GRAD_PARAMS.wgsl, GRID_WGSL, QUAT_MUL_BWD_WGSL, RIG_GRAD_WGSL],
    entryPoint: "deformRigBwd",
    constants: {
      WG: u32c(RIG_GRAD_WG),
      J: u32c(config.jointCount),
      K: u32c(config.expressionCount + config.poseCorrectiveCount),
    },
    bindings: [
      { name: "params", kind: "uniform" },
      ...["frame", "rest", "skin", "dirs", "dIn", "dOffsets"].map(ro),
      { name: "dRig", kind: "storage" },
    ],
  });
}

/** Runs a rig backward once on host data: inputs uploaded, outputs zeroed first and read back (parity tests). */
export async function runRigGradOnce(
  device: GPUDevice,
  kernel: Kernel,
  count: number,
  inputs: Record<string, ArrayLike<number>>,
  outputs: Record<string, number>,
): Promise<Record<string, Float64Array>> {
  const label = kernel.spec.label;
  const res: Record<string, GPUBuffer> = {
    params: RIG_GRAD_PARAMS.createBuffer(device, `${label}.params`, { count, pad0: 0, pad1: 0, pad2: 0 }),
  };
  for (const [name, data] of Object.entries(inputs))
    res[name] = createBufferFrom(device, `${label}.${name}`, Float32Array.from(data), BufferUsage.STORAGE);
  const encoder = device.createCommandEncoder({ label });
  for (const [name, floats] of Object.entries(outputs)) {
    res[name] = createBuffer(device, `${label}.${name}`, Math.max(4, floats * 4), STORAGE_RW);
    encoder.clearBuffer(res[name]);
  }
  kernel.encodeThreads(encoder, res, count, RIG_GRAD_WG);
  device.queue.submit([encoder.finish()]);
  try {
    const out: Record<string, Float64Array> = {};
    for (const [name, floats] of Object.entries(outputs))
      out[name] = Float64Array.from(new Float32Array(await readBuffer(device, res[name]!, floats * 4)));
    return out;
  } finally {
    for (const b of Object.values(res)) b.destroy();
  }
}

/** dIn: [N, 10] f32 = d centre (3), d qRig (4), d offset (3). */
export async function deformRigBackwardGpu(
  device: GPUDevice,
  config: AvatarModelConfig,
  state: RigState,
  frame: Float32Array,
  dIn: Float32Array,
): Promise<RigGrad> {
  const J = config.jointCount,
    K = config.expressionCount + config.poseCorrectiveCount,
    N = state.count,
    G = rigGradStride(config);
  const pick = (off: number, w: number) =>
    Float32Array.from({ length: N * w }, (_, k) => dIn[Math.floor(k / w) * 10 + off + (k % w)]!);
  const { dRig } = await runRigGradOnce(
    device,
    deformRigBwdKernel(device, config),
    N,
    { frame, rest: state.rest, skin: state.skin, dirs: state.dirs, dIn: pick(0, 7), dOffsets: pick(7, 3) },
    { dRig: N * G },
  );
  const split = (off: number, w: number) =>
    Float64Array.from({ length: N * w }, (_, k) => dRig![Math.floor(k / w) * G + off + (k % w)]!);
  return { rest: split(0, 8), skin: split(8, J), dirs: split(8 + J, K * 3) };
}
