/**
 * The kernels of the chained training step (./avatar-step-gpu.ts), built once
 * per device and config: the runtime's rig kernels (render-core/avatar/runtime-gpu.ts
 * builds the same ones; they are the training forward too) and the training
 * kernels of ./heads-grad-gpu.ts, ./rig-grad-gpu.ts, ./bake-grad-gpu.ts,
 * ./project-grad-gpu.ts and ./latents-gpu.ts. Also the loss records' reading.
 */
import {
  ADD_APPEARANCE_WGSL,
  BAKE_RIG_WGSL,
  BLEND_WGSL,
  COMPOSE_APPEARANCE_WGSL,
  DEFORM_RIG_WGSL,
} from "../../shaders/avatar/rig.wgsl";
import type { Kernel } from "../gpu/kernel";
import type { AvatarModelConfig } from "../avatar/config";
import { rigKernel } from "../avatar/runtime-gpu";
import { psnrFromMse } from "../math/image-metrics";
import { bakeRigBwdKernel } from "./bake-grad-gpu";
import { headsKernel } from "./heads-grad-gpu";
import { latentsKernel } from "./latents-gpu";
import { LOSS_RECORD } from "./losses-gpu";
import { projectBwdKernel } from "./project-grad-gpu";
import { deformRigBwdKernel } from "./rig-grad-gpu";

export type StepKernels = Record<
  | "bake"
  | "deform"
  | "compose"
  | "addAppearance"
  | "peFwd"
  | "peBwd"
  | "composeBwd"
  | "trackOpacity"
  | "appearanceBwd"
  | "deformBwd"
  | "bakeBwd"
  | "projectBwd"
  | "latentCond"
  | "latentScatter",
  Kernel
>;

export function stepKernels(device: GPUDevice, config: AvatarModelConfig): StepKernels {
  const C = config.categories.length,
    L = config.latentDim;
  const uniform = { name: "params", kind: "uniform" as const };
  const ro = (name: string) => ({ name, kind: "read-only-storage" as const });
  const rw = (name: string) => ({ name, kind: "storage" as const });
  return {
    bake: rigKernel(
      device,
      config,
      "bakeRig",
      [BLEND_WGSL, BAKE_RIG_WGSL],
      [uniform, ...["frame", "points", "defRaw", "prior"].map(ro), ...["rest", "skin", "dirs"].map(rw)],
    ),
    deform: rigKernel(
      device,
      config,
      "deformRig",
      [BLEND_WGSL, DEFORM_RIG_WGSL],
      [uniform, ...["frame", "rest", "skin", "dirs"].map(ro), rw("gaussians"), rw("offsets")],
    ),
    compose: rigKernel(
      device,
      config,
      "composeAppearance",
      [COMPOSE_APPEARANCE_WGSL],
      [uniform, ro("geomRaw"), ro("residual"), rw("gaussians")],
    ),
    addAppearance: rigKernel(
      device,
      config,
      "addAppearance",
      [ADD_APPEARANCE_WGSL],
      [uniform, ro("appearance"), rw("geomRaw")],
    ),
    peFwd: headsKernel(device, "peFwd", config.peFrequencies, config.scaleMax),
    peBwd: headsKernel(device, "peBwd", config.peFrequencies, config.scaleMax),
    composeBwd: headsKernel(device, "composeAppearanceBwd", config.peFrequencies, config.scaleMax),
    trackOpacity: headsKernel(device, "trackOpacity", config.peFrequencies, config.scaleMax),
    appearanceBwd: headsKernel(device, "appearanceBwd", config.peFrequencies, config.scaleMax),
    deformBwd: deformRigBwdKernel(device, config),
    bakeBwd: bakeRigBwdKernel(device, config),
    projectBwd: projectBwdKernel(device),
    latentCond: latentsKernel(device, C, L, "latentCond"),
    latentScatter: latentsKernel(device, C, L, "latentScatter"),
  };
}

/** Per step of a read-back window: per batch, per frame, the weights that turn a loss record into its loss. */
export type LossWindow = Array<{ step: number; batches: Array<Array<{ lambda: number; wRegion: number }>> }>;

/** The window's losses from the records buffer (slot ((step % lossEvery) B + batch) K + frame). */
export function readLossRecords(
  window: LossWindow,
  records: Float32Array,
  lossEvery: number,
  batchesPerStep: number,
  framesPerBatch: number,
): Array<{ step: number; batches: Array<{ loss: number; losses: number[]; psnr: number[] }> }> {
  return window.map(({ step, batches }) => ({
    step,
    batches: batches.map((frames, j) => {
      const losses: number[] = [],
        psnr: number[] = [];
      frames.forEach(({ lambda, wRegion }, f) => {
        const o = (((step % lossEvery) * batchesPerStep + j) * framesPerBatch + f) * LOSS_RECORD;
        const [l1, dssim, region, mse] = [records[o]!, records[o + 1]!, records[o + 2]!, records[o + 3]!];
        losses.push((1 - lambda) * l1 + lambda * dssim + wRegion * region);
        psnr.push(psnrFromMse(mse));
      });
      return { loss: losses.reduce((a, v) => a + v, 0) / losses.length, losses, psnr };
    }),
  }));
}
