/**
 * WebGPU host of shaders/train/bake-grad.wgsl.ts (the bake rig's backward).
 * CPU twin: ./rig-grad.ts (bakeRigBackward).
 */
import { GRID_WGSL } from "../../shaders/common/grid.wgsl";
import { BAKE_GRAD_WGSL } from "../../shaders/train/bake-grad.wgsl";
import { BufferUsage } from "../gpu/flags";
import { createBuffer, createBufferFrom } from "../gpu/buffers";
import { f32c, getKernel, u32c } from "../gpu/kernel";
import { readBuffer } from "../gpu/readback";
import { UniformLayout } from "../gpu/uniforms";
import { SKIN_PRIOR_FLOOR } from "../avatar/bake.cpu";
import type { AvatarModelConfig } from "../avatar/config";
import type { BakeRigInputs } from "./rig-grad";

const WG = 64;
export const BAKE_GRAD_PARAMS = new UniformLayout("BakeGradParams", [
  ["count", "u32"],
  ["pad0", "u32"],
  ["pad1", "u32"],
  ["pad2", "u32"],
] as const);

export async function bakeRigBackwardGpu(
  device: GPUDevice,
  config: AvatarModelConfig,
  x: BakeRigInputs,
  dRest: ArrayLike<number>,
  dSkin: ArrayLike<number>,
  dDirs: ArrayLike<number>,
): Promise<{ points: Float64Array; deformerRaw: Float64Array }> {
  const J = config.jointCount,
    E = config.expressionCount,
    K = E + config.poseCorrectiveCount,
    N = x.count;
  const D = K * 3 + 3 + J,
    G = 8 + J + K * 3;
  const dIn = new Float32Array(N * G);
  for (let i = 0; i < N; i++) {
    for (let k = 0; k < 8; k++) dIn[i * G + k] = Number(dRest[i * 8 + k]);
    for (let j = 0; j < J; j++) dIn[i * G + 8 + j] = Number(dSkin[i * J + j]);
    for (let k = 0; k < K * 3; k++) dIn[i * G + 8 + J + k] = Number(dDirs[i * K * 3 + k]);
  }
  const ro = (data: ArrayLike<number>, label: string) =>
    createBufferFrom(device, label, Float32Array.from(data), BufferUsage.STORAGE);
  const rw = (floats: number, label: string) =>
    createBuffer(device, label, Math.max(4, floats * 4), BufferUsage.STORAGE | BufferUsage.COPY_SRC);
  const bufs = {
    params: BAKE_GRAD_PARAMS.createBuffer(device, "bakeGrad.params", { count: N, pad0: 0, pad1: 0, pad2: 0 }),
    points: ro(x.points, "bakeGrad.points"),
    raw: ro(x.deformerRaw, "bakeGrad.raw"),
    prior: ro(x.prior, "bakeGrad.prior"),
    canonA: ro(x.canonA, "bakeGrad.canonA"),
    dIn: ro(dIn, "bakeGrad.dIn"),
    dPoints: rw(N * 3, "bakeGrad.dPoints"),
    dRaw: rw(N * D, "bakeGrad.dRaw"),
  };
  const kernel = getKernel(device, {
    label: "bakeRigBwd",
    code: [BAKE_GRAD_PARAMS.wgsl, GRID_WGSL, BAKE_GRAD_WGSL],
    entryPoint: "bakeRigBwd",
    constants: {
      WG: u32c(WG),
      J: u32c(J),
      E: u32c(E),
      K: u32c(K),
      TEMPERATURE: f32c(config.skinningTemperature),
      SKIN_FLOOR: f32c(SKIN_PRIOR_FLOOR),
    },
    bindings: [
      { name: "params", kind: "uniform" },
      ...(["points", "raw", "prior", "canonA", "dIn"] as const).map((name) => ({
        name,
        kind: "read-only-storage" as const,
      })),
      ...(["dPoints", "dRaw"] as const).map((name) => ({ name, kind: "storage" as const })),
    ],
  });
  const encoder = device.createCommandEncoder({ label: "bakeRigBwd" });
  kernel.encodeThreads(encoder, bufs, N, WG);
  device.queue.submit([encoder.finish()]);
  try {
    const read = async (b: GPUBuffer, floats: number) =>
      Float64Array.from(new Float32Array(await readBuffer(device, b, floats * 4)));
    return { points: await read(bufs.dPoints, N * 3), deformerRaw: await read(bufs.dRaw, N * D) };
  } finally {
    for (const b of Object.values(bufs)) b.destroy();
  }
}
