/**
 * WebGPU host of shaders/train/rasterize-grad.wgsl.ts: after a
 * GpuSplatRenderer frame (its rasterizeFwd is the forward), the gradients of
 * a loss on its picture (d rgb and d coverage per pixel) with respect to each
 * projected splat's centre, conic, colour and opacity. CPU twin:
 * ./raster-grad.ts (rasterizeBackward). encodeRasterizeBwd serves the chained
 * step (./avatar-step-gpu.ts); rasterizeBackwardGpu the parity test.
 */
import { RASTERIZE_GRAD_WGSL } from "../../shaders/train/rasterize-grad.wgsl";
import { BufferUsage } from "../gpu/flags";
import { createBuffer, createBufferFrom } from "../gpu/buffers";
import { f32c, getKernel, u32c, type Kernel } from "../gpu/kernel";
import { readBuffer } from "../gpu/readback";
import { UniformLayout } from "../gpu/uniforms";
import { RASTER } from "../raster/config";
import type { GpuSplatRenderer } from "../raster/renderer";
import type { Camera } from "../math/camera";
import type { Splats2dGrad } from "./raster-grad";

export const RASTER_GRAD_PARAMS = new UniformLayout("RasterGradParams", [
  ["background", "vec4f"],
  ["width", "u32"],
  ["height", "u32"],
  ["tilesX", "u32"],
  ["count", "u32"],
] as const);

export function rasterizeBwdKernel(device: GPUDevice): Kernel {
  return getKernel(device, {
    label: "rasterizeBwd",
    code: [RASTER_GRAD_PARAMS.wgsl, RASTERIZE_GRAD_WGSL],
    entryPoint: "rasterizeBwd",
    constants: { TILE: u32c(RASTER.TILE), ALPHA_MAX: f32c(RASTER.ALPHA_MAX), ALPHA_MIN: f32c(RASTER.ALPHA_MIN) },
    bindings: [
      { name: "params", kind: "uniform" },
      { name: "tileRanges", kind: "read-only-storage" },
      { name: "splatFromIsect", kind: "read-only-storage" },
      { name: "splats2d", kind: "read-only-storage" },
      { name: "rgba", kind: "read-only-storage" },
      { name: "lastIsect", kind: "read-only-storage" },
      { name: "dImage", kind: "read-only-storage" },
      { name: "grads", kind: "storage" },
    ],
  });
}

/** The kernel's uniform for a frame of `camera`'s size over `count` splats. */
export function packRasterGradParams(camera: Camera, count: number, background: readonly number[]): ArrayBuffer {
  return RASTER_GRAD_PARAMS.pack({
    background: [background[0]!, background[1]!, background[2]!, 0],
    width: camera.width,
    height: camera.height,
    tilesX: Math.ceil(camera.width / RASTER.TILE),
    count,
  });
}

/**
 * Encodes the backward of `renderer`'s last encodeRender: dImage [H, W, 4] (d rgb, d coverage) ->
 * grads [N, 9] (ADDED to: clear it first). `params` holds packRasterGradParams of the frame.
 */
export function encodeRasterizeBwd(
  pass: GPUComputePassEncoder,
  renderer: GpuSplatRenderer,
  camera: Camera,
  params: GPUBuffer,
  dImage: GPUBuffer,
  grads: GPUBuffer,
  bind: (kernel: Kernel, resources: Record<string, GPUBuffer>) => GPUBindGroup = (k, r) => k.bind(r),
): void {
  const o = renderer.outputs;
  if (!o.splatFromIsect) throw new Error("encodeRasterizeBwd: render a frame first");
  const kernel = rasterizeBwdKernel(renderer.device);
  const group = bind(kernel, {
    params,
    tileRanges: o.tileRanges,
    splatFromIsect: o.splatFromIsect,
    splats2d: o.splats2d,
    rgba: o.rgba,
    lastIsect: o.lastIsect,
    dImage,
    grads,
  });
  kernel.dispatch(pass, group, Math.ceil(camera.width / RASTER.TILE), Math.ceil(camera.height / RASTER.TILE));
}

/** d loss / d splats2d for the renderer's last frame. dRgb [H, W, 3], dAlpha [H, W]. */
export async function rasterizeBackwardGpu(
  renderer: GpuSplatRenderer,
  count: number,
  camera: Camera,
  background: [number, number, number],
  dRgb: Float32Array,
  dAlpha: Float32Array,
): Promise<Splats2dGrad> {
  const { device } = renderer;
  const { width, height } = camera;
  const dImage = new Float32Array(width * height * 4);
  for (let p = 0; p < width * height; p++)
    dImage.set([dRgb[p * 3]!, dRgb[p * 3 + 1]!, dRgb[p * 3 + 2]!, dAlpha[p]!], p * 4);
  const params = RASTER_GRAD_PARAMS.createBuffer(device, "rasterGrad.params");
  device.queue.writeBuffer(params, 0, packRasterGradParams(camera, count, background));
  const dImageBuf = createBufferFrom(device, "rasterGrad.dImage", dImage, BufferUsage.STORAGE);
  const grads = createBuffer(
    device,
    "rasterGrad.grads",
    Math.max(4, count * 9 * 4),
    BufferUsage.STORAGE | BufferUsage.COPY_SRC | BufferUsage.COPY_DST,
  );
  const encoder = device.createCommandEncoder({ label: "rasterizeBwd" });
  encoder.clearBuffer(grads);
  const pass = encoder.beginComputePass({ label: "rasterizeBwd" });
  encodeRasterizeBwd(pass, renderer, camera, params, dImageBuf, grads);
  pass.end();
  device.queue.submit([encoder.finish()]);
  try {
    const g = new Float32Array(await readBuffer(device, grads, count * 9 * 4));
    const out: Splats2dGrad = {
      means2d: new Float64Array(count * 2),
      conics: new Float64Array(count * 3),
      colors: new Float64Array(count * 3),
      opacities: new Float64Array(count),
    };
    for (let i = 0; i < count; i++) {
      out.means2d.set([g[i * 9]!, g[i * 9 + 1]!], i * 2);
      out.conics.set([g[i * 9 + 2]!, g[i * 9 + 3]!, g[i * 9 + 4]!], i * 3);
      out.colors.set([g[i * 9 + 5]!, g[i * 9 + 6]!, g[i * 9 + 7]!], i * 3);
      out.opacities[i] = g[i * 9 + 8]!;
    }
    return out;
  } finally {
    params.destroy();
    dImageBuf.destroy();
    grads.destroy();
  }
}
