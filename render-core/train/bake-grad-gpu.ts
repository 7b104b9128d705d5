/**
 * WebGPU host of shaders/train/bake-grad.wgsl.ts (the bake rig's backward;
 * the forward is the runtime's bakeRig, render-core/avatar/runtime-gpu.ts).
 * CPU twin: ./rig-grad.ts (bakeRigBackward). bakeRigBwdKernel serves the
 * chained step (./avatar-step-gpu.ts), bakeRigBackwardGpu the parity test.
 */
import { GRID_WGSL } from "../../shaders/common/grid.wgsl";
import { BAKE_GRAD_WGSL } from "../../shaders/train/bake-grad.wgsl";
import { f32c, getKernel, u32c, type Kernel } from "../gpu/kernel";
import { SKIN_PRIOR_FLOOR } from "../avatar/bake.cpu";
import type { AvatarModelConfig } from "../avatar/config";
import type { BakeRigInputs } from "./rig-grad";
import { RIG_GRAD_PARAMS, RIG_GRAD_WG, rigGradStride, runRigGradOnce } from "./rig-grad-gpu";

export function bakeRigBwdKernel(device: GPUDevice, config: AvatarModelConfig): Kernel {
  const ro = (name: string) => ({ name, kind: "read-only-storage" as const });
  const rw = (name: string) => ({ name, kind: "storage" as const });
  const E = config.expressionCount;
  return getKernel(device, {
    label: "bakeRigBwd",
    code: [RIG_GRAD_PARAMS.wgsl, GRID_WGSL, BAKE_GRAD_WGSL],
    entryPoint: "bakeRigBwd",
    constants: {
      WG: u32c(RIG_GRAD_WG),
      J: u32c(config.jointCount),
      E: u32c(E),
      K: u32c(E + config.poseCorrectiveCount),
      TEMPERATURE: f32c(config.skinningTemperature),
      SKIN_FLOOR: f32c(SKIN_PRIOR_FLOOR),
    },
    bindings: [
      { name: "params", kind: "uniform" },
      ...["points", "raw", "prior", "canonA", "dIn"].map(ro),
      rw("dPoints"),
      rw("dRaw"),
    ],
  });
}

export async function bakeRigBackwardGpu(
  device: GPUDevice,
  config: AvatarModelConfig,
  x: BakeRigInputs,
  dRest: ArrayLike<number>,
  dSkin: ArrayLike<number>,
  dDirs: ArrayLike<number>,
): Promise<{ points: Float64Array; deformerRaw: Float64Array }> {
  const J = config.jointCount,
    K = config.expressionCount + config.poseCorrectiveCount,
    N = x.count,
    G = rigGradStride(config);
  const dIn = new Float32Array(N * G);
  for (let i = 0; i < N; i++) {
    for (let k = 0; k < 8; k++) dIn[i * G + k] = Number(dRest[i * 8 + k]);
    for (let j = 0; j < J; j++) dIn[i * G + 8 + j] = Number(dSkin[i * J + j]);
    for (let k = 0; k < K * 3; k++) dIn[i * G + 8 + J + k] = Number(dDirs[i * K * 3 + k]);
  }
  const r = await runRigGradOnce(
    device,
    bakeRigBwdKernel(device, config),
    N,
    { points: x.points, raw: x.deformerRaw, prior: x.prior, canonA: x.canonA, dIn },
    { dPoints: N * 3, dRaw: N * (K * 3 + 3 + J) },
  );
  return { points: r.dPoints!, deformerRaw: r.dRaw! };
}
