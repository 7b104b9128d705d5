/** Worker of CpuRenderPool: rasterises tile rows handed out by an atomic counter. */
import { parentPort } from "node:worker_threads";
import { rasterizeFwd } from "../../render-core/raster/rasterize.cpu";
import type { ProjectedSplats } from "../../render-core/raster/projected";

export interface RasterJob {
  width: number;
  height: number;
  background: [number, number, number];
  tilesX: number;
  tilesY: number;
  means2d: Float32Array;
  conics: Float32Array;
  opacities: Float32Array;
  colors: Float32Array;
  depths: Float32Array;
  splatFromIsect: Uint32Array;
  tileRanges: Uint32Array;
  /** [1] i32 next tile row to take. */
  nextRow: Int32Array;
  rgb: Float32Array;
  alpha: Float32Array;
  depth: Float32Array;
  lastIsect: Uint32Array;
}

parentPort?.on("message", (job: RasterJob) => {
  try {
    const projected = {
      count: job.opacities.length,
      means2d: job.means2d,
      conics: job.conics,
      opacities: job.opacities,
      colors: job.colors,
      depths: job.depths,
    } as unknown as ProjectedSplats;
    const bins = {
      tilesX: job.tilesX,
      tilesY: job.tilesY,
      count: job.splatFromIsect.length,
      tileFromIsect: new Uint32Array(0),
      splatFromIsect: job.splatFromIsect,
      tileRanges: job.tileRanges,
    };
    const out = { rgb: job.rgb, alpha: job.alpha, depth: job.depth, lastIsect: job.lastIsect };
    for (;;) {
      const row = Atomics.add(job.nextRow, 0, 1);
      if (row >= job.tilesY) break;
      rasterizeFwd(projected, bins, job.width, job.height, job.background, out, [
        row * job.tilesX,
        (row + 1) * job.tilesX,
      ]);
    }
    parentPort!.postMessage({ ok: true });
  } catch (err) {
    parentPort!.postMessage({ ok: false, error: (err as Error).message });
  }
});
