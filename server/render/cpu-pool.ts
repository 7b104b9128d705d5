/**
 * Multi-threaded CPU rendering (Node only): the main thread projects, sorts
 * and bins (about 15% of a frame), worker threads rasterise tile rows taken
 * from a shared atomic counter, writing straight into shared output buffers.
 * The image is identical to renderCpu's: same stages, same per-pixel order.
 */
import os from "node:os";
import { Worker } from "node:worker_threads";
import type { Camera } from "../../render-core/math/camera";
import type { RenderImage, RenderOptions } from "../../render-core/raster/camera";
import { checkSplatCloud, type SplatCloud } from "../../render-core/splats/splat-cloud";
import { createProjectedSplats, type ProjectedSplats } from "../../render-core/raster/projected";
import { projectFwd } from "../../render-core/raster/project.cpu";
import { binTiles, IntersectScratch, sortByDepth } from "../../render-core/raster/intersect.cpu";
import type { RasterJob } from "./cpu-worker";

export interface CpuRenderPoolOptions {
  /** Worker threads. Default: the number of CPU cores (at least 1). */
  threads?: number;
}

function shared<T extends Float32Array | Uint32Array | Int32Array>(
  Ctor: { new (b: SharedArrayBuffer): T; BYTES_PER_ELEMENT: number },
  src: ArrayLike<number>,
): T {
  const out = new Ctor(new SharedArrayBuffer(Math.max(4, src.length * Ctor.BYTES_PER_ELEMENT)));
  out.set(src as never);
  return out;
}

export class CpuRenderPool {
  private readonly workers: Worker[];
  private projected: ProjectedSplats = createProjectedSplats(0);
  private readonly scratch = new IntersectScratch();
  private busy: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(options: CpuRenderPoolOptions = {}) {
    const threads = Math.max(1, options.threads ?? os.availableParallelism?.() ?? os.cpus().length);
    const url = new URL("./cpu-worker-boot.mjs", import.meta.url);
    this.workers = Array.from({ length: threads }, () => new Worker(url));
    for (const w of this.workers) w.unref();
  }

  get threads(): number {
    return this.workers.length;
  }

  /** Renders one frame; frames are serialised (one at a time per pool). */
  render(cloud: SplatCloud, camera: Camera, options: RenderOptions = {}): Promise<RenderImage> {
    const next = this.busy.then(() => this.renderNow(cloud, camera, options));
    this.busy = next.catch(() => undefined);
    return next;
  }

  private async renderNow(cloud: SplatCloud, camera: Camera, options: RenderOptions): Promise<RenderImage> {
    if (this.closed) throw new Error("CpuRenderPool.render: the pool is closed");
    checkSplatCloud(cloud, "CpuRenderPool.render");
    if (this.projected.count < cloud.count) this.projected = createProjectedSplats(cloud.count);
    const view = { ...this.projected, count: cloud.count };
    projectFwd(cloud, camera, view);
    const bins = binTiles(view, camera, sortByDepth(view, this.scratch), this.scratch);
    const { width, height } = camera;
    const n = cloud.count;
    const job: RasterJob = {
      width,
      height,
      background: options.background ?? [0, 0, 0],
      tilesX: bins.tilesX,
      tilesY: bins.tilesY,
      means2d: shared(Float32Array, view.means2d.subarray(0, n * 2)),
      conics: shared(Float32Array, view.conics.subarray(0, n * 3)),
      opacities: shared(Float32Array, view.opacities.subarray(0, n)),
      colors: shared(Float32Array, view.colors.subarray(0, n * 3)),
      depths: shared(Float32Array, view.depths.subarray(0, n)),
      splatFromIsect: shared(Uint32Array, bins.splatFromIsect),
      tileRanges: shared(Uint32Array, bins.tileRanges),
      nextRow: new Int32Array(new SharedArrayBuffer(4)),
      rgb: new Float32Array(new SharedArrayBuffer(width * height * 12)),
      alpha: new Float32Array(new SharedArrayBuffer(width * height * 4)),
      depth: new Float32Array(new SharedArrayBuffer(width * height * 4)),
      lastIsect: new Uint32Array(new SharedArrayBuffer(width * height * 4)),
    };
    await Promise.all(
      this.workers.map(
        (w) =>
          new Promise<void>((resolve, reject) => {
            const onMessage = (m: { ok: boolean; error?: string }) => {
              w.off("error", onError);
              if (m.ok) resolve();
              else reject(new Error(`CpuRenderPool.render: a worker failed: ${m.error}`));
            };
            const onError = (err: Error) => {
              w.off("message", onMessage);
              reject(err);
            };
            w.once("message", onMessage);
            w.once("error", onError);
            w.postMessage(job);
          }),
      ),
    );
    // Copy out of shared memory so callers may keep or transfer the image.
    return { width, height, rgb: job.rgb.slice(), alpha: job.alpha.slice(), depth: job.depth.slice() };
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
