/**
 * WebGPU host of shaders/train/rasterize-grad.wgsl.ts: after a
 * GpuSplatRenderer frame, the gradients of a loss on its picture (d rgb and
 * d coverage per pixel) with respect to each projected splat's centre,
 * conic, colour and opacity. CPU twin: ./raster-grad.ts (rasterizeBackward).
 */
import { RASTERIZE_GRAD_WGSL } from "../../shaders/train/rasterize-grad.wgsl";
import { BufferUsage } from "../gpu/flags";
import { createBuffer, createBufferFrom } from "../gpu/buffers";
import { f32c, getKernel, u32c } from "../gpu/kernel";
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
  const o = renderer.outputs;
  if (!o.splatFromIsect) throw new Error("rasterizeBackwardGpu: render a frame first");
  const tilesX = Math.ceil(width / RASTER.TILE),
    tilesY = Math.ceil(height / RASTER.TILE);
  const dImage = new Float32Array(width * height * 4);
  for (let p = 0; p < width * height; p++)
    dImage.set([dRgb[p * 3]!, dRgb[p * 3 + 1]!, dRgb[p * 3 + 2]!, dAlpha[p]!], p * 4);
  const params = RASTER_GRAD_PARAMS.createBuffer(device, "rasterGrad.params", {
    background: [...background, 0],
    width,
    height,
    tilesX,
    count,
  });
  const dImageBuf = createBufferFrom(device, "rasterGrad.dImage", dImage, BufferUsage.STORAGE);
  const grads = createBuffer(
    device,
    "rasterGrad.grads",
    Math.max(4, count * 9 * 4),
    BufferUsage.STORAGE | BufferUsage.COPY_SRC | BufferUsage.COPY_DST,
  );
  const kernel = getKernel(device, {
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
  const encoder = device.createCommandEncoder({ label: "rasterizeBwd" });
  encoder.clearBuffer(grads);
  const pass = encoder.beginComputePass({ label: "rasterizeBwd" });
  kernel.dispatch(
    pass,
    kernel.bind({
      params,
      tileRanges: o.tileRanges,
      splatFromIsect: o.splatFromIsect,
      splats2d: o.splats2d,
      rgba: o.rgba,
      lastIsect: o.lastIsect,
      dImage: dImageBuf,
      grads,
    }),
    tilesX,
    tilesY,
  );
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
