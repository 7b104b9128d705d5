/**
 * CPU twin of the whole GPU frame (GpuSplatRenderer in ./renderer.ts):
 * projectFwd -> sortByDepth -> binTiles -> rasterizeFwd. The reference for
 * parity tests and the server's fallback where no WebGPU adapter exists.
 * A CpuSplatRenderer keeps its scratch buffers between frames.
 */
import { checkSplatCloud, type SplatCloud } from "../splats/splat-cloud";
import type { Camera } from "../math/camera";
import type { RenderImage, RenderOptions } from "./camera";
import { binTiles, IntersectScratch, sortByDepth, type TileBins } from "./intersect.cpu";
import { createProjectedSplats, type ProjectedSplats } from "./projected";
import { projectFwd } from "./project.cpu";
import { rasterizeFwd } from "./rasterize.cpu";

/** What one CPU frame computed, kept for a backward pass. */
export interface CpuFrame {
  image: RenderImage;
  projected: ProjectedSplats;
  bins: TileBins;
  /** [H, W] u32 see RasterOutputs.lastIsect. */
  lastIsect: Uint32Array;
}

export class CpuSplatRenderer {
  private projected = createProjectedSplats(0);
  private readonly scratch = new IntersectScratch();

  /** Renders one frame; the returned arrays are new (safe to keep), the scratch is reused. */
  renderFrame(cloud: SplatCloud, camera: Camera, options: RenderOptions = {}): CpuFrame {
    checkSplatCloud(cloud, "CpuSplatRenderer.render");
    checkCameraSize(camera);
    if (this.projected.count < cloud.count)
      this.projected = createProjectedSplats(Math.max(cloud.count, Math.ceil(this.projected.count * 1.5)));
    const projected = this.projected;
    projectFwd(cloud, camera, projected);
    const view = { ...projected, count: cloud.count };
    const order = sortByDepth(view, this.scratch);
    const bins = binTiles(view, camera, order, this.scratch);
    const { width, height } = camera;
    const image: RenderImage = {
      width,
      height,
      rgb: new Float32Array(width * height * 3),
      alpha: new Float32Array(width * height),
      depth: new Float32Array(width * height),
    };
    const lastIsect = new Uint32Array(width * height);
    rasterizeFwd(view, bins, width, height, options.background ?? [0, 0, 0], { ...image, lastIsect });
    return { image, projected: view, bins, lastIsect };
  }

  render(cloud: SplatCloud, camera: Camera, options: RenderOptions = {}): RenderImage {
    return this.renderFrame(cloud, camera, options).image;
  }
}

function checkCameraSize(camera: Camera): void {
  const { width, height } = camera;
  if (
    !Number.isInteger(width) ||
    !Number.isInteger(height) ||
    width <= 0 ||
    height <= 0 ||
    width * height > 64 * 1024 * 1024
  ) {
    throw new Error(`renderCpu: camera size must be positive whole numbers (at most 64 Mpx), got ${width} x ${height}`);
  }
}

const shared = new CpuSplatRenderer();

/** Renders `cloud` seen by `camera` on the CPU. */
export function renderCpu(cloud: SplatCloud, camera: Camera, options: RenderOptions = {}): RenderImage {
  return shared.render(cloud, camera, options);
}
