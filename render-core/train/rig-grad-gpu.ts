/**
 * WebGPU host of shaders/train/rig-grad.wgsl.ts (the deform rig's backward).
 * CPU twin: ./rig-grad.ts (deformRigBackward).
 */
import { GRID_WGSL } from "../../shaders/common/grid.wgsl";
import { RIG_GRAD_WGSL } from "../../shaders/train/rig-grad.wgsl";
import { BufferUsage } from "../gpu/flags";
import { createBuffer, createBufferFrom } from "../gpu/buffers";
import { getKernel, u32c } from "../gpu/kernel";
import { readBuffer } from "../gpu/readback";
import { UniformLayout } from "../gpu/uniforms";
import type { AvatarModelConfig } from "../avatar/config";
import type { RigGrad, RigState } from "./rig-grad";

const WG = 64;
export const RIG_GRAD_PARAMS = new UniformLayout("RigGradParams", [
  ["count", "u32"],
  ["pad0", "u32"],
  ["pad1", "u32"],
  ["pad2", "u32"],
] as const);

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
    N = state.count;
  const f32 = (a: ArrayLike<number>) => Float32Array.from(a);
  const ro = (data: Float32Array, label: string) => createBufferFrom(device, label, data, BufferUsage.STORAGE);
  const rw = (floats: number, label: string) =>
    createBuffer(device, label, Math.max(4, floats * 4), BufferUsage.STORAGE | BufferUsage.COPY_SRC);
  const bufs = {
    params: RIG_GRAD_PARAMS.createBuffer(device, "rigGrad.params", { count: N, pad0: 0, pad1: 0, pad2: 0 }),
    frame: ro(frame, "rigGrad.frame"),
    rest: ro(f32(state.rest), "rigGrad.rest"),
    skin: ro(f32(state.skin), "rigGrad.skin"),
    dirs: ro(f32(state.dirs), "rigGrad.dirs"),
    dIn: ro(dIn, "rigGrad.dIn"),
    dRest: rw(N * 8, "rigGrad.dRest"),
    dSkin: rw(N * J, "rigGrad.dSkin"),
    dDirs: rw(N * K * 3, "rigGrad.dDirs"),
  };
  const kernel = getKernel(device, {
    label: "deformRigBwd",
    code: [RIG_GRAD_PARAMS.wgsl, GRID_WGSL, RIG_GRAD_WGSL],
    entryPoint: "deformRigBwd",
    constants: { WG: u32c(WG), J: u32c(J), K: u32c(K) },
    bindings: [
      { name: "params", kind: "uniform" },
      ...(["frame", "rest", "skin", "dirs", "dIn"] as const).map((name) => ({
        name,
        kind: "read-only-storage" as const,
      })),
      ...(["dRest", "dSkin", "dDirs"] as const).map((name) => ({ name, kind: "storage" as const })),
    ],
  });
  const encoder = device.createCommandEncoder({ label: "deformRigBwd" });
  kernel.encodeThreads(encoder, bufs, N, WG);
  device.queue.submit([encoder.finish()]);
  try {
    const read = async (b: GPUBuffer, floats: number) =>
      Float64Array.from(new Float32Array(await readBuffer(device, b, floats * 4)));
    return {
      rest: await read(bufs.dRest, N * 8),
      skin: await read(bufs.dSkin, N * J),
      dirs: await read(bufs.dDirs, N * K * 3),
    };
  } finally {
    for (const b of Object.values(bufs)) b.destroy();
  }
}
