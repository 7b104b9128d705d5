/**
 * In-browser benchmark of our WebGPU renderer (render-core), on the same
 * scene file and view as spark-entry.ts. Bundled by harness.ts; the page
 * calls window.benchOurs(...).
 *
 * Timing: one frame = encode the whole pipeline (projection, depth sort,
 * intersections, tile sort, rasterisation, write to a texture) + submit +
 * wait for the GPU to finish. The sort is inside every frame.
 */
import { GpuSplatRenderer } from "../../render-core/raster/renderer";
import { orbitCamera } from "../../render-core/math/camera";
import { readPly } from "../../render-core/formats/read-ply";
import { median } from "./stats";

export interface OursBenchRequest {
  sceneUrl: string;
  width: number;
  height: number;
  fovYDeg: number;
  distance: number;
  frames: number;
  warmup: number;
  /** Stop timing after this many milliseconds even if fewer frames were done. */
  budgetMs: number;
}

export interface OursBenchResult {
  frameMs: number[];
  medianMs: number;
  splats: number;
  adapter: string;
  bytesPerSplat: number;
  meanRgb: number;
}

async function benchOurs(req: OursBenchRequest): Promise<OursBenchResult> {
  const adapter = await navigator.gpu.requestAdapter();
  if (!adapter) throw new Error("benchOurs: no WebGPU adapter");
  const device = await adapter.requestDevice({
    requiredLimits: {
      maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
      maxBufferSize: adapter.limits.maxBufferSize,
      maxStorageBuffersPerShaderStage: adapter.limits.maxStorageBuffersPerShaderStage,
    },
  });
  void device.lost.then((info) => console.error(`benchOurs: device lost (${info.reason}): ${info.message}`));
  device.addEventListener("uncapturederror", (e) =>
    console.error(`benchOurs: ${(e as GPUUncapturedErrorEvent).error.message}`),
  );
  const cloud = readPly(new Uint8Array(await (await fetch(req.sceneUrl)).arrayBuffer()));
  const renderer = new GpuSplatRenderer(device);
  renderer.setCloud(cloud);
  const camera = orbitCamera({ width: req.width, height: req.height, fovYDeg: req.fovYDeg, distance: req.distance });
  const texture = device.createTexture({
    size: [req.width, req.height],
    format: "rgba8unorm",
    usage: GPUTextureUsage.STORAGE_BINDING | GPUTextureUsage.COPY_SRC,
  });
  const frame = async () => {
    const encoder = device.createCommandEncoder();
    renderer.encodeRender(encoder, camera, { background: [0, 0, 0] }, { texture });
    device.queue.submit([encoder.finish()]);
    await device.queue.onSubmittedWorkDone();
  };
  for (let i = 0; i < req.warmup; i++) {
    await frame();
    await renderer.checkCapacity();
  }
  const frameMs: number[] = [];
  const started = performance.now();
  for (let i = 0; i < req.frames && (i < 3 || performance.now() - started < req.budgetMs); i++) {
    const t0 = performance.now();
    await frame();
    frameMs.push(performance.now() - t0);
  }
  const image = await renderer.render(camera, { background: [0, 0, 0] });
  let sum = 0;
  for (let i = 0; i < image.rgb.length; i++) sum += Math.min(1, Math.max(0, image.rgb[i]!)) * 255;
  const info = adapter.info;
  const result: OursBenchResult = {
    frameMs,
    medianMs: median(frameMs),
    splats: cloud.count,
    adapter: [info?.vendor, info?.architecture, info?.description].filter(Boolean).join(" / "),
    bytesPerSplat: renderer.bytesPerSplat,
    meanRgb: sum / image.rgb.length,
  };
  renderer.destroy();
  texture.destroy();
  device.destroy();
  return result;
}

(window as unknown as { benchOurs: typeof benchOurs }).benchOurs = benchOurs;
