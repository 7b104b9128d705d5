/**
 * WebGPU host of shaders/train/project-grad.wgsl.ts: d (u, v, conic) per
 * splat -> d centre, scale and quaternion. The forward is the renderer's
 * projectFwd (render-core/raster/project.ts). CPU twin: ./project-grad.ts.
 * projectBwdKernel and packProjectGradParams serve the chained step
 * (./avatar-step-gpu.ts); projectBackwardGpu the parity test.
 */
import { GRID_WGSL } from "../../shaders/common/grid.wgsl";
import { PROJECT_GRAD_WGSL } from "../../shaders/train/project-grad.wgsl";
import { BufferUsage } from "../gpu/flags";
import { createBuffer } from "../gpu/buffers";
import { f32c, getKernel, u32c, type Kernel } from "../gpu/kernel";
import { readBuffer } from "../gpu/readback";
import { UniformLayout } from "../gpu/uniforms";
import { RASTER } from "../raster/config";
import type { Camera } from "../math/camera";
import type { GeometryGrad } from "./project-grad";

export const PROJECT_GRAD_WG = 64;

export const PROJECT_GRAD_PARAMS = new UniformLayout("ProjectGradParams", [
  ["row0", "vec4f"],
  ["row1", "vec4f"],
  ["row2", "vec4f"],
  ["fx", "f32"],
  ["fy", "f32"],
  ["limX", "f32"],
  ["limY", "f32"],
  ["count", "u32"],
] as const);

export function projectBwdKernel(device: GPUDevice): Kernel {
  return getKernel(device, {
    label: "projectBwd",
    code: [PROJECT_GRAD_PARAMS.wgsl, GRID_WGSL, PROJECT_GRAD_WGSL],
    entryPoint: "projectBwd",
    constants: { WG: u32c(PROJECT_GRAD_WG), LOWPASS: f32c(RASTER.LOWPASS) },
    bindings: [
      { name: "params", kind: "uniform" },
      { name: "gaussians", kind: "read-only-storage" },
      { name: "dIn", kind: "read-only-storage" },
      { name: "dOut", kind: "storage" },
    ],
  });
}

/** The kernel's uniform for `count` splats seen by `camera`. */
export function packProjectGradParams(camera: Camera, count: number): ArrayBuffer {
  const m = camera.worldToCamera;
  return PROJECT_GRAD_PARAMS.pack({
    row0: [m[0]!, m[1]!, m[2]!, m[3]!],
    row1: [m[4]!, m[5]!, m[6]!, m[7]!],
    row2: [m[8]!, m[9]!, m[10]!, m[11]!],
    fx: camera.fx,
    fy: camera.fy,
    limX: (RASTER.FRUSTUM_CLAMP * 0.5 * camera.width) / camera.fx,
    limY: (RASTER.FRUSTUM_CLAMP * 0.5 * camera.height) / camera.fy,
    count,
  });
}

/** gaussians: [N, 16] packed (packGaussians / the renderer's buffer); dIn: [N, 9] (rasterizeBackwardGpu's layout). */
export async function projectBackwardGpu(
  device: GPUDevice,
  gaussians: GPUBuffer,
  count: number,
  camera: Camera,
  dIn: GPUBuffer,
): Promise<GeometryGrad> {
  const params = PROJECT_GRAD_PARAMS.createBuffer(device, "projectGrad.params");
  device.queue.writeBuffer(params, 0, packProjectGradParams(camera, count));
  const dOut = createBuffer(
    device,
    "projectGrad.dOut",
    Math.max(4, count * 40),
    BufferUsage.STORAGE | BufferUsage.COPY_SRC,
  );
  const encoder = device.createCommandEncoder({ label: "projectBwd" });
  projectBwdKernel(device).encodeThreads(encoder, { params, gaussians, dIn, dOut }, count, PROJECT_GRAD_WG);
  device.queue.submit([encoder.finish()]);
  try {
    const g = new Float32Array(await readBuffer(device, dOut, count * 40));
    const out: GeometryGrad = {
      positions: new Float64Array(count * 3),
      scales: new Float64Array(count * 3),
      rotations: new Float64Array(count * 4),
    };
    for (let i = 0; i < count; i++) {
      for (let k = 0; k < 3; k++) {
        out.positions[i * 3 + k] = g[i * 10 + k]!;
        out.scales[i * 3 + k] = g[i * 10 + 3 + k]!;
      }
      for (let k = 0; k < 4; k++) out.rotations[i * 4 + k] = g[i * 10 + 6 + k]!;
    }
    return out;
  } finally {
    params.destroy();
    dOut.destroy();
  }
}
