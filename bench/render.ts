/**
 * Render benchmark (npm run bench:render): ms/frame for the CPU twin and for
 * WebGPU through Dawn in Node, at 10k / 100k / 1M splats and 512 / 1024 px.
 * Median over up to FRAMES frames after warm-up; slow rows are capped by a
 * per-row time budget and the table says so.
 *
 * Then the same scenes and views inside headless Chromium: our WebGPU renderer
 * and Spark (three.js, WebGL2), with the ratio ours / Spark.
 * Scene: the generated splat head (render-core/scenes), seen by an orbit camera.
 *
 * The CPU rows time the reference twin (renderCpu), the worker pool and the
 * fast path the streaming server uses (renderRgbFast, the trainer's passes),
 * with the fast/reference ratio. The Dawn rows run once per device setting:
 * default and Dawn's skip_validation toggle, and count the frame's direct and
 * indirect dispatches (Dawn validates each indirect one).
 *
 * Env: BENCH_FRAMES (default 20), BENCH_ROW_BUDGET_S (default 20),
 *      BENCH_SIZES ("10000,100000,1000000"), BENCH_RES ("512,1024"), BENCH_CPU=0 to skip the CPU twin,
 *      BENCH_DAWN ("default,skip_validation"), BENCH_BROWSER=0 to skip Chromium.
 */
import { SKIP_VALIDATION_FLAGS, createNodeGpu } from "../server/gpu/node-device";
import { countingEncoder } from "../server/gpu/counting-encoder";
import { renderRgbFast } from "../render-core/train/render-fast";
import { GpuSplatRenderer } from "../render-core/raster/renderer";
import { RadixSort } from "../render-core/sort/radix-sort";
import { createBufferFrom, STORAGE_RW } from "../render-core/gpu/buffers";
import type { Camera } from "../render-core/math/camera";
import { renderCpu } from "../render-core/raster/render.cpu";
import { splatHead } from "../render-core/scenes/splat-head";
import { orbitCamera } from "../render-core/math/camera";
import { writePly } from "../render-core/formats/write-ply";
import { CpuRenderPool } from "../server/render/cpu-pool";
import { bundle, openBenchSite } from "./browser/harness";
import { median } from "./browser/stats";
import type { OursBenchResult } from "./browser/ours-entry";
import type { SparkBenchResult } from "./browser/spark-entry";

const FRAMES = Number(process.env.BENCH_FRAMES ?? 20);
const BUDGET_MS = Number(process.env.BENCH_ROW_BUDGET_S ?? 20) * 1000;
const SIZES = (process.env.BENCH_SIZES ?? "10000,100000,1000000").split(",").map(Number);
const RES = (process.env.BENCH_RES ?? "512,1024").split(",").map(Number);

export interface BenchRow {
  backend: string;
  splats: number;
  px: number;
  msMedian: number;
  frames: number;
  capped: boolean;
  sortMs?: number;
  bytesPerSplat?: number;
  /** Bytes per splat of splat- and intersection-sized buffers only (image buffers excluded). */
  sceneBytesPerSplat?: number;
  note?: string;
}

const FOV_Y = 30;
const DISTANCE = 0.7;

/** An orbit around the head: every frame is a new camera (yaw steps of 1 degree). */
function camera(px: number, frame: number): Camera {
  return orbitCamera({
    width: px,
    height: px,
    fovYDeg: FOV_Y,
    distance: DISTANCE,
    yawDeg: frame,
    target: [0, -0.01, 0],
  });
}

/** Times `frame` after one warm-up, up to FRAMES times or until the row budget is spent (at least 3). */
async function timeFrames(
  frame: (i: number) => Promise<void> | void,
): Promise<{ ms: number; frames: number; capped: boolean }> {
  await frame(0);
  const times: number[] = [];
  const start = performance.now();
  for (let i = 1; i <= FRAMES; i++) {
    const t = performance.now();
    await frame(i);
    times.push(performance.now() - t);
    if (times.length >= 3 && performance.now() - start > BUDGET_MS) break;
  }
  return { ms: median(times), frames: times.length, capped: times.length < FRAMES };
}

async function main(): Promise<void> {
  const rows: BenchRow[] = [];
  const scene = (n: number) => splatHead(1, n);
  console.log("scene: render-core/scenes splatHead (seed 1), orbit camera at 0.7 m, fov 30 degrees");

  if (process.env.BENCH_CPU !== "0") {
    const pool = new CpuRenderPool();
    for (const n of SIZES) {
      const cloud = scene(n);
      for (const px of RES) {
        const one = await timeFrames((i) => void renderCpu(cloud, camera(px, i)));
        rows.push({
          backend: "cpu (renderCpu, 1 thread)",
          splats: n,
          px,
          msMedian: one.ms,
          frames: one.frames,
          capped: one.capped,
        });
        const many = await timeFrames(async (i) => void (await pool.render(cloud, camera(px, i))));
        rows.push({
          backend: `cpu (worker pool, ${pool.threads} threads)`,
          splats: n,
          px,
          msMedian: many.ms,
          frames: many.frames,
          capped: many.capped,
        });
        const fast = await timeFrames((i) => void renderRgbFast(cloud, camera(px, i)));
        rows.push({
          backend: "cpu (renderRgbFast, 1 thread: the stream's)",
          splats: n,
          px,
          msMedian: fast.ms,
          frames: fast.frames,
          capped: fast.capped,
          note: `renderCpu / fast = ${(one.ms / fast.ms).toFixed(2)}`,
        });
      }
    }
    await pool.close();
  }

  // --- Node + Dawn, once per device setting ---
  for (const setting of (process.env.BENCH_DAWN ?? "default,skip_validation").split(",")) {
    const gpu = await createNodeGpu({
      dawnFlags: setting === "skip_validation" ? [SKIP_VALIDATION_FLAGS] : [],
      log: { info: () => {}, warn: console.warn, error: console.error },
    });
    if (!gpu) {
      console.log("gpu: no adapter; GPU rows skipped");
      break;
    }
    const adapter = `${gpu.adapterInfo.vendor} / ${gpu.adapterInfo.architecture} / ${gpu.adapterInfo.description}`;
    console.log(`gpu adapter (${setting}): ${adapter}`);
    const d = gpu.device;
    const tag = setting === "default" ? "" : `, ${setting}`;
    for (const n of SIZES) {
      const cloud = scene(n);
      // Depth-sort cost alone: N 32-bit keys, the sort every frame starts with.
      const keys = new Uint32Array(n).map((_, i) => (Math.imul(i, 2654435761) >>> 1) >>> 0);
      const kb = createBufferFrom(d, "bench.keys", keys, STORAGE_RW);
      const vb = createBufferFrom(d, "bench.vals", keys, STORAGE_RW);
      const sorter = new RadixSort(d, n);
      const sort = await timeFrames(async () => {
        const e = d.createCommandEncoder();
        sorter.encode(e, kb, vb, n, 32);
        d.queue.submit([e.finish()]);
        await d.queue.onSubmittedWorkDone();
      });
      sorter.destroy();
      kb.destroy();
      vb.destroy();
      for (const px of RES) {
        const r = new GpuSplatRenderer(d);
        r.setCloud(cloud);
        await r.render(camera(px, 0)); // compiles pipelines, sizes the intersection list
        const counted = countingEncoder(d.createCommandEncoder());
        r.encodeRender(counted.encoder, camera(px, 0));
        d.queue.submit([counted.encoder.finish()]);
        await d.queue.onSubmittedWorkDone();
        const noReadback = await timeFrames(async (i) => {
          const e = d.createCommandEncoder();
          r.encodeRender(e, camera(px, i));
          d.queue.submit([e.finish()]);
          await d.queue.onSubmittedWorkDone();
        });
        rows.push({
          backend: `node+dawn (encodeRender, no readback${tag})`,
          splats: n,
          px,
          msMedian: noReadback.ms,
          frames: noReadback.frames,
          capped: noReadback.capped,
          sortMs: sort.ms,
          bytesPerSplat: r.bytesPerSplat,
          sceneBytesPerSplat: (r.gpuBytesByKind.perSplat + r.gpuBytesByKind.perIsect) / n,
          note: `${counted.counts.direct} direct + ${counted.counts.indirect} indirect dispatches`,
        });
        const withReadback = await timeFrames(async (i) => void (await r.render(camera(px, i))));
        rows.push({
          backend: `node+dawn (render, float readback${tag})`,
          splats: n,
          px,
          msMedian: withReadback.ms,
          frames: withReadback.frames,
          capped: withReadback.capped,
        });
        const display = await timeFrames(async (i) => void (await r.renderRgb8(camera(px, i))));
        rows.push({
          backend: `node+dawn (renderRgb8, 8-bit RGB readback${tag})`,
          splats: n,
          px,
          msMedian: display.ms,
          frames: display.frames,
          capped: display.capped,
          note: `float / 8-bit = ${(withReadback.ms / display.ms).toFixed(2)}`,
        });
        r.destroy();
      }
    }
    gpu.destroy();
  }

  // --- Chromium (in-browser WebGPU) and the Spark comparison: TODO(browser owner). ---
  // Push BenchRow objects here from a Playwright run of the same scenes and cameras.
  rows.push(...(await chromiumRows()));

  console.log(
    "\n| backend | splats | px | ms/frame (median) | frames | depth sort ms | GPU bytes/splat (all) | GPU bytes/splat (no image) | note |",
  );
  console.log("|---|---:|---:|---:|---:|---:|---:|---:|---|");
  for (const r of rows) {
    const frames = `${r.frames}${r.capped ? " (capped)" : ""}`;
    console.log(
      `| ${r.backend} | ${r.splats} | ${r.px}x${r.px} | ${r.msMedian.toFixed(1)} | ${frames} | ${r.sortMs?.toFixed(1) ?? ""} | ${r.bytesPerSplat?.toFixed(0) ?? ""} | ${r.sceneBytesPerSplat?.toFixed(0) ?? ""} | ${r.note ?? ""} |`,
    );
  }
  console.log(
    `\n"capped": fewer than ${FRAMES} frames, stopped after the ${BUDGET_MS / 1000} s row budget (BENCH_ROW_BUDGET_S). Frames orbit the scene; one warm-up frame per row.`,
  );
}

/**
 * In-browser section: for each scene and size, our renderer and Spark in the
 * same Chromium (SwiftShader WebGPU / WebGL here), same .ply, same view.
 */
export async function chromiumRows(): Promise<BenchRow[]> {
  if (process.env.BENCH_BROWSER === "0") return [];
  const rows: BenchRow[] = [];
  await bundle({ ours: "bench/browser/ours-entry.ts", spark: "bench/browser/spark-entry.ts" });
  const site = await openBenchSite(["ours", "spark"]);
  try {
    for (const n of SIZES) {
      const url = site.addFile(`head-${n}.ply`, writePly(splatHead(1, n)));
      for (const px of RES) {
        const req = {
          sceneUrl: url,
          width: px,
          height: px,
          fovYDeg: FOV_Y,
          distance: DISTANCE,
          frames: FRAMES,
          warmup: 1,
          budgetMs: BUDGET_MS,
        };
        const ours = (await site.page.evaluate(
          (r) => (window as unknown as { benchOurs: (r: unknown) => Promise<OursBenchResult> }).benchOurs(r),
          req,
        )) as OursBenchResult;
        const spark = (await site.page.evaluate(
          (r) => (window as unknown as { benchSpark: (r: unknown) => Promise<SparkBenchResult> }).benchSpark(r),
          { ...req, frames: Math.min(FRAMES, ours.frameMs.length + 2) },
        )) as SparkBenchResult;
        const ratio = ours.medianMs / spark.medianMs;
        console.log(
          `chromium ${n} splats ${px}px: ours ${ours.medianMs.toFixed(0)} ms (${ours.adapter}), spark ${spark.medianMs.toFixed(0)} ms (${spark.renderer}), ratio ${ratio.toFixed(2)}; mean rgb ours ${ours.meanRgb.toFixed(1)} spark ${spark.meanRgb.toFixed(1)}`,
        );
        rows.push({
          backend: `chromium webgpu (ours; ${ours.adapter})`,
          splats: n,
          px,
          msMedian: ours.medianMs,
          frames: ours.frameMs.length,
          capped: ours.frameMs.length < FRAMES,
          bytesPerSplat: ours.bytesPerSplat,
          note: `ours/Spark = ${ratio.toFixed(2)}`,
        });
        rows.push({
          backend: `chromium webgl2 (Spark 2.2; sort excluded)`,
          splats: n,
          px,
          msMedian: spark.medianMs,
          frames: spark.frameMs.length,
          capped: spark.frameMs.length < FRAMES,
        });
      }
    }
  } finally {
    await site.close();
  }
  return rows;
}

await main();
