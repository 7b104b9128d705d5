/**
 * GpuSplatRenderer: the WebGPU forward renderer. Per frame:
 *   projectFwd -> depthKeys -> radix sort by depth -> isectCounts -> scan
 *   -> emitIsects -> radix sort by tile (low bits only) -> tileRanges -> rasterizeFwd
 * No readback between passes (counts stay on the GPU; dispatches are indirect).
 * CPU twin of the whole frame: ./render.cpu.ts renderCpu.
 *
 * Buffers grow by powers of two and are reused: moving the camera allocates
 * nothing unless the image grows or the intersection list outgrows its
 * capacity. Intermediate buffers (splats2d, lastIsect, tile lists) stay
 * alive after a frame so a backward pass can reuse them.
 */
import { GrowableBuffer, STORAGE_RW, type GpuDebugOptions } from "../gpu/buffers";
import { BufferUsage } from "../gpu/flags";
import { FRAME_PARAMS, checkCamera, packFrameParams, tileGrid } from "./frame-params";
import { Readback, type ReadRange } from "../gpu/readback";
import { RadixSort } from "../sort/radix-sort";
import { ExclusiveScan } from "../sort/scan";
import { checkSplatCloud, shRestCount, type SplatCloud } from "../splats/splat-cloud";
import type { Camera } from "../math/camera";
import type { DisplayImage, RenderImage, RenderOptions } from "./camera";
import { depthKeys, emitIsects, isectCounts, tileKeyBits, tileRanges } from "./intersect";
import { GAUSSIAN_STRIDE, SPLAT2D_STRIDE, packGaussians, projectFwd } from "./project";
import { packRgb8, packedRgb8Bytes, rasterizeFwd, writeDisplay } from "./rasterize";

export interface GpuSplatRendererOptions {
  /** Debug checks: garbage-filled new buffers (tests). Default none. */
  debug?: GpuDebugOptions;
  /** Initial intersection capacity per splat (slots = N x this); grows on demand. Default 4. */
  isectsPerSplat?: number;
}

export interface EncodeTarget {
  /** Optional rgba8unorm texture of the camera's size (STORAGE_BINDING usage) to receive the image. */
  texture?: GPUTexture;
}

/** Frames whose readback may be in flight at once (a ring of staging buffers). */
export const READBACK_SLOTS = 3;

export class GpuSplatRenderer {
  private readonly opts: Required<GpuSplatRendererOptions>;
  private readonly bufs: Record<string, GrowableBuffer> = {};
  private readonly params: GPUBuffer;
  private readonly readback: Readback;
  private count = 0;
  private shDegree = 0;
  private isectCapacity = 0;
  private depthSort: RadixSort | null = null;
  private offsetsScan: ExclusiveScan | null = null;
  private tileSort: RadixSort | null = null;
  private probe: GPUBuffer;
  private probeBusy = false;
  private planBuilds = 0;
  private destroyed = false;

  constructor(
    readonly device: GPUDevice,
    options: GpuSplatRendererOptions = {},
  ) {
    this.opts = { debug: { ...options.debug }, isectsPerSplat: options.isectsPerSplat ?? 4 };
    if (!(this.opts.isectsPerSplat > 0))
      throw new Error(`GpuSplatRenderer.constructor: isectsPerSplat must be > 0, got ${this.opts.isectsPerSplat}`);
    const mk = (name: string) =>
      (this.bufs[name] = new GrowableBuffer(device, `renderer.${name}`, STORAGE_RW, this.opts.debug));
    // Per splat: gaussians [N,16] f32, shRest [N,K,3] f32, splats2d [N,12] f32, radii [N] i32,
    // tilesTouched [N] u32, depthKeys/depthIds [N] u32, counts [N+1] u32.
    for (const n of ["gaussians", "shRest", "splats2d", "radii", "tilesTouched", "depthKeys", "depthIds", "counts"])
      mk(n);
    // Per intersection: tileKeys, isectSplat [capacity] u32. Per tile: ranges [T,2] u32. Per pixel: rgba [H,W,4] f32, depth, lastIsect, packed (8-bit RGB) [H,W,3].
    for (const n of ["tileKeys", "isectSplat", "ranges", "rgba", "depth", "lastIsect", "packed"]) mk(n);
    this.params = FRAME_PARAMS.createBuffer(device, "renderer.params");
    this.readback = new Readback(device, READBACK_SLOTS);
    this.probe = device.createBuffer({
      label: "renderer.probe",
      size: 4,
      usage: BufferUsage.MAP_READ | BufferUsage.COPY_DST,
    });
  }

  private b(name: string): GPUBuffer {
    return this.bufs[name].buffer;
  }

  /** Uploads a cloud (packs it into the GAUSSIAN layout). Later frames reuse it. */
  setCloud(cloud: SplatCloud): void {
    this.alive("setCloud");
    checkSplatCloud(cloud, "GpuSplatRenderer.setCloud");
    this.allocate(cloud.count, cloud.shDegree);
    this.device.queue.writeBuffer(this.b("gaussians"), 0, packGaussians(cloud) as Float32Array<ArrayBuffer>);
    if (cloud.shRest.byteLength > 0)
      this.device.queue.writeBuffer(this.b("shRest"), 0, cloud.shRest as Float32Array<ArrayBuffer>);
  }

  /**
   * Sizes every buffer for `count` degree-0 splats without uploading any: a
   * producer on the same device (the avatar's deform) writes the packed
   * Gaussians straight into `gaussianBuffer` each frame.
   */
  allocateCloud(count: number): GPUBuffer {
    this.alive("allocateCloud");
    if (!Number.isInteger(count) || count < 0)
      throw new Error(`GpuSplatRenderer.allocateCloud: count must be a non-negative integer, got ${count}`);
    this.allocate(count, 0);
    return this.b("gaussians");
  }

  /** [N, GAUSSIAN_STRIDE] f32 packed Gaussians of the current cloud (see packGaussians). */
  get gaussianBuffer(): GPUBuffer {
    return this.b("gaussians");
  }

  private allocate(n: number, shDegree: number): void {
    this.count = n;
    this.shDegree = shDegree;
    this.bufs.gaussians.ensure(Math.max(4, n * GAUSSIAN_STRIDE * 4));
    this.bufs.shRest.ensure(Math.max(4, n * shRestCount(shDegree) * 3 * 4));
    this.bufs.splats2d.ensure(n * SPLAT2D_STRIDE * 4);
    for (const k of ["radii", "tilesTouched", "depthKeys", "depthIds"]) this.bufs[k].ensure(n * 4);
    this.bufs.counts.ensure((n + 1) * 4);
    if (!this.depthSort || this.depthSort.capacity < n) {
      this.depthSort?.destroy();
      this.planBuilds++;
      this.depthSort = new RadixSort(this.device, this.bufs.depthKeys.capacity / 4, this.opts.debug);
    }
    if (!this.offsetsScan || this.offsetsScan.capacity < n + 1) {
      this.offsetsScan?.destroy();
      this.planBuilds++;
      this.offsetsScan = new ExclusiveScan(this.device, this.bufs.counts.capacity / 4, this.opts.debug);
    }
    this.ensureIsectCapacity(Math.ceil(Math.max(1, n) * this.opts.isectsPerSplat));
  }

  private ensureIsectCapacity(slots: number): void {
    if (slots <= this.isectCapacity && this.tileSort) return;
    this.bufs.tileKeys.ensure(slots * 4);
    this.bufs.isectSplat.ensure(slots * 4);
    this.isectCapacity = this.bufs.tileKeys.capacity / 4;
    this.tileSort?.destroy();
    this.planBuilds++;
    this.tileSort = new RadixSort(this.device, this.isectCapacity, this.opts.debug);
  }

  /** Current intersection capacity (slots); grows by powers of two. */
  get intersectionCapacity(): number {
    return this.isectCapacity;
  }

  /** GPU bytes held per splat of the current cloud (all buffers and plans, image buffers included). */
  get bytesPerSplat(): number {
    return this.count > 0 ? this.gpuBytes / this.count : 0;
  }

  /** Number of buffer (re)allocations so far: unchanged by frames that only move the camera. */
  get allocations(): number {
    return Object.values(this.bufs).reduce((s, b) => s + b.generation, 0) + this.planBuilds;
  }

  /** GPU bytes by what they scale with: splats, intersection slots, pixels/tiles, fixed. */
  get gpuBytesByKind(): { perSplat: number; perIsect: number; perImage: number; other: number } {
    const sum = (names: string[]) => names.reduce((s, n) => s + this.bufs[n].capacity, 0);
    const perSplat =
      sum(["gaussians", "shRest", "splats2d", "radii", "tilesTouched", "depthKeys", "depthIds", "counts"]) +
      (this.depthSort?.bytes ?? 0) +
      (this.offsetsScan?.bytes ?? 0);
    const perIsect = sum(["tileKeys", "isectSplat"]) + (this.tileSort?.bytes ?? 0);
    const perImage = sum(["ranges", "rgba", "depth", "lastIsect", "packed"]);
    return { perSplat, perIsect, perImage, other: this.gpuBytes - perSplat - perIsect - perImage };
  }

  /** Total GPU bytes held. */
  get gpuBytes(): number {
    let total = this.params.size + this.probe.size;
    for (const b of Object.values(this.bufs)) total += b.capacity;
    for (const p of [this.depthSort, this.offsetsScan, this.tileSort]) total += p?.bytes ?? 0;
    return total;
  }

  /**
   * Encodes a whole frame into `encoder` (no readback). The image stays in the
   * renderer's rgba/depth buffers (see `outputs`) and, if given, `target.texture`.
   * Intersections past the capacity are dropped (farthest first); call
   * checkCapacity() after submitting to grow it for the next frame.
   */
  encodeRender(
    encoder: GPUCommandEncoder,
    camera: Camera,
    options: RenderOptions = {},
    target: EncodeTarget = {},
  ): void {
    this.alive("encodeRender");
    const owner = "GpuSplatRenderer.encodeRender";
    checkCamera(owner, camera);
    if (!this.depthSort || !this.offsetsScan || !this.tileSort) throw new Error(`${owner}: call setCloud() first`);
    const bg = options.background ?? [0, 0, 0];
    if (bg.length !== 3 || !bg.every(Number.isFinite))
      throw new Error(`${owner}: background must be 3 finite numbers, got ${String(bg)}`);
    const { width, height } = camera;
    const { tilesX, tilesY } = tileGrid(width, height);
    const numTiles = tilesX * tilesY;
    const n = this.count;
    this.bufs.ranges.ensure(numTiles * 8);
    this.bufs.rgba.ensure(width * height * 16);
    this.bufs.depth.ensure(width * height * 4);
    this.bufs.lastIsect.ensure(width * height * 4);
    this.device.queue.writeBuffer(this.params, 0, packFrameParams(camera, n, this.shDegree, this.isectCapacity, bg));
    const params = this.params;
    const d = this.device;

    let pass = encoder.beginComputePass({ label: "project" });
    projectFwd(
      pass,
      d,
      {
        params,
        gaussians: this.b("gaussians"),
        shRest: this.b("shRest"),
        splats2d: this.b("splats2d"),
        radii: this.b("radii"),
        tilesTouched: this.b("tilesTouched"),
      },
      n,
      this.shDegree,
    );
    depthKeys(
      pass,
      d,
      {
        params,
        splats2d: this.b("splats2d"),
        radii: this.b("radii"),
        keys: this.b("depthKeys"),
        ids: this.b("depthIds"),
      },
      n,
    );
    pass.end();
    // Culled splats carry key 0xffffffff, so all 32 bits are sorted.
    const byDepth = this.depthSort.encode(encoder, this.b("depthKeys"), this.b("depthIds"), n, 32);
    pass = encoder.beginComputePass({ label: "isectCounts" });
    isectCounts(
      pass,
      d,
      { params, sortedIds: byDepth.values, tilesTouched: this.b("tilesTouched"), counts: this.b("counts") },
      n,
    );
    pass.end();
    this.offsetsScan.encode(encoder, this.b("counts"), n + 1);
    pass = encoder.beginComputePass({ label: "emitIsects" });
    emitIsects(
      pass,
      d,
      {
        params,
        sortedIds: byDepth.values,
        splats2d: this.b("splats2d"),
        radii: this.b("radii"),
        offsets: this.b("counts"),
        tileKeys: this.b("tileKeys"),
        isectSplat: this.b("isectSplat"),
      },
      n,
      this.isectCapacity,
    );
    pass.end();
    // counts[N] now holds the total M; the sort clamps it to its capacity.
    const byTile = this.tileSort.encode(
      encoder,
      this.b("tileKeys"),
      this.b("isectSplat"),
      { buffer: this.b("counts"), offset: n * 4 },
      tileKeyBits(numTiles),
    );
    this.lastSorted = byTile;
    encoder.clearBuffer(this.b("ranges"), 0, numTiles * 8);
    pass = encoder.beginComputePass({ label: "rasterize" });
    tileRanges(
      pass,
      d,
      { tileFromIsect: byTile.keys, sizes: this.tileSort.sortedCount.buffer, ranges: this.b("ranges") },
      numTiles,
      this.tileSort.blockGrid,
    );
    rasterizeFwd(
      pass,
      d,
      {
        params,
        tileRanges: this.b("ranges"),
        splatFromIsect: byTile.values,
        splats2d: this.b("splats2d"),
        rgba: this.b("rgba"),
        depth: this.b("depth"),
        lastIsect: this.b("lastIsect"),
      },
      width,
      height,
      n,
    );
    if (target.texture) writeDisplay(pass, d, { params, rgba: this.b("rgba"), target: target.texture }, width, height);
    pass.end();
    if (!this.probeBusy) encoder.copyBufferToBuffer(this.b("counts"), n * 4, this.probe, 0, 4);
  }

  private lastSorted: { keys: GPUBuffer; values: GPUBuffer } | null = null;

  /**
   * After submitting an encodeRender(): reads the frame's intersection count
   * asynchronously and grows the capacity for later frames. Resolves true when
   * that frame overflowed (dropped its farthest intersections).
   */
  async checkCapacity(): Promise<boolean> {
    if (this.probeBusy) return false;
    this.probeBusy = true;
    try {
      await this.probe.mapAsync(1);
      const total = new Uint32Array(this.probe.getMappedRange())[0];
      this.probe.unmap();
      if (total <= this.isectCapacity) return false;
      this.ensureIsectCapacity(total);
      return true;
    } finally {
      this.probeBusy = false;
    }
  }

  /** GPU buffers of the last frame, for a backward pass or a caller's blit. */
  get outputs() {
    return {
      rgba: this.b("rgba"), // [H, W, 4] f32
      depth: this.b("depth"), // [H, W] f32
      lastIsect: this.b("lastIsect"), // [H, W] u32
      splats2d: this.b("splats2d"), // [N, 12] f32
      radii: this.b("radii"), // [N] i32
      tilesTouched: this.b("tilesTouched"), // [N] u32
      tileRanges: this.b("ranges"), // [numTiles, 2] u32
      tileFromIsect: this.lastSorted?.keys ?? null, // [M] u32
      splatFromIsect: this.lastSorted?.values ?? null, // [M] u32
      isectTotal: { buffer: this.b("counts"), offset: this.count * 4 }, // one u32
    };
  }

  /**
   * Encodes a frame plus `extra` passes, submits it with a readback of
   * `ranges` and the intersection total, and returns the ranges' bytes.
   * Re-renders once if the intersection list overflowed.
   */
  private async renderAndRead(
    owner: string,
    camera: Camera,
    options: RenderOptions,
    extra: (encoder: GPUCommandEncoder) => ReadRange[],
  ): Promise<ArrayBuffer[]> {
    for (let attempt = 0; ; attempt++) {
      const encoder = this.device.createCommandEncoder({ label: owner });
      this.encodeRender(encoder, camera, options);
      const ranges = extra(encoder);
      const finish = this.readback.encode(encoder, [
        ...ranges,
        { buffer: this.b("counts"), offset: this.count * 4, bytes: 4 },
      ]);
      this.device.queue.submit([encoder.finish()]);
      const read = await finish();
      const total = new Uint32Array(read.pop()!)[0]!;
      if (total > this.isectCapacity && attempt === 0) {
        this.ensureIsectCapacity(total);
        continue;
      }
      if (total > this.isectCapacity)
        throw new Error(`${owner}: ${total} intersections still exceed capacity ${this.isectCapacity}`);
      return read;
    }
  }

  /** Renders and reads the float image back (colour, alpha, depth). */
  async render(camera: Camera, options: RenderOptions = {}): Promise<RenderImage> {
    const px = camera.width * camera.height;
    const [rgbaBytes, depthBytes] = await this.renderAndRead("GpuSplatRenderer.render", camera, options, () => [
      { buffer: this.b("rgba"), bytes: px * 16 },
      { buffer: this.b("depth"), bytes: px * 4 },
    ]);
    const rgba = new Float32Array(rgbaBytes!);
    const rgb = new Float32Array(px * 3);
    const alpha = new Float32Array(px);
    for (let i = 0; i < px; i++) {
      rgb[i * 3] = rgba[i * 4]!;
      rgb[i * 3 + 1] = rgba[i * 4 + 1]!;
      rgb[i * 3 + 2] = rgba[i * 4 + 2]!;
      alpha[i] = rgba[i * 4 + 3]!;
    }
    const depth = new Float32Array(depthBytes!);
    if (this.opts.debug.checkFinite) checkFinite("GpuSplatRenderer.render", { rgb, alpha, depth });
    return { width: camera.width, height: camera.height, rgb, alpha, depth };
  }

  /**
   * Renders and reads back 8-bit RGB packed on the GPU (the display path:
   * under a fifth of the float image's bytes, no per-pixel work on the CPU).
   * Up to READBACK_SLOTS frames may be in flight: a caller can start the next
   * frame before this one is mapped.
   */
  async renderRgb8(camera: Camera, options: RenderOptions = {}): Promise<DisplayImage> {
    const { width, height } = camera;
    const bytes = packedRgb8Bytes(width * height);
    this.bufs.packed.ensure(bytes);
    const [packed] = await this.renderAndRead("GpuSplatRenderer.renderRgb8", camera, options, (encoder) => {
      const pass = encoder.beginComputePass({ label: "packRgb8" });
      packRgb8(
        pass,
        this.device,
        { params: this.params, rgba: this.b("rgba"), packed: this.b("packed") },
        width,
        height,
      );
      pass.end();
      return [{ buffer: this.b("packed"), bytes }];
    });
    return { width, height, rgb: new Uint8Array(packed!, 0, width * height * 3) };
  }

  private alive(method: string): void {
    if (this.destroyed) throw new Error(`GpuSplatRenderer.${method}: renderer was destroyed`);
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const b of Object.values(this.bufs)) b.destroy();
    this.depthSort?.destroy();
    this.offsetsScan?.destroy();
    this.tileSort?.destroy();
    this.params.destroy();
    this.probe.destroy();
    this.readback.destroy();
  }
}

export { GAUSSIAN_STRIDE, SPLAT2D_STRIDE };

function checkFinite(owner: string, arrays: Record<string, Float32Array>): void {
  for (const [name, a] of Object.entries(arrays)) {
    for (let i = 0; i < a.length; i++) {
      if (!Number.isFinite(a[i])) throw new Error(`${owner}: ${name}[${i}] is ${a[i]}`);
    }
  }
}
