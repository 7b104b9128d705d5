/**
 * WebGPU host of shaders/train/latents.wgsl.ts: a batch's conditioning from
 * the latent table, and the conditioning's gradient back to the table. CPU
 * twin: ./latent-mix.ts.
 */
import { GRID_WGSL } from "../../shaders/common/grid.wgsl";
import { LATENTS_WGSL } from "../../shaders/train/latents.wgsl";
import { getKernel, u32c, type Kernel } from "../gpu/kernel";

export const LATENTS_WG = 64;

export function latentsKernel(
  device: GPUDevice,
  categories: number,
  latentDim: number,
  entry: "latentCond" | "latentScatter",
): Kernel {
  return getKernel(device, {
    label: entry,
    code: [GRID_WGSL, LATENTS_WGSL],
    entryPoint: entry,
    constants: { WG: u32c(LATENTS_WG), C: u32c(categories), L: u32c(latentDim) },
    bindings: [
      { name: "mixes", kind: "read-only-storage" },
      { name: "src", kind: "read-only-storage" },
      { name: "dst", kind: "storage" },
    ],
  });
}
