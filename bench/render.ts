/**
 * Render benchmark (npm run bench:render): ms/frame for the CPU twin and for
 * WebGPU through Dawn in Node, at 10k / 100k / 1M splats and 512 / 1024 px.
 * Median over up to FRAMES frames after warm-up; slow rows are capped by a
 * per-row time budget and the table says so.
 *
 * Env: BENCH_FRAMES (default 20), BENCH_ROW_BUDGET_S (default 20),
 *      BENCH_SIZES ("10000,100000,1000000"), BENCH_RES ("512,1024"), BENCH_CPU=0 to skip the CPU twin.
 */
import { createNodeGpu } from "../server/gpu/node-device";
import { GpuSplatRenderer } from "../render-core/raster/renderer";
import { RadixSort } from "../render-core/sort/radix-sort";
import { createBufferFrom, STORAGE_RW } from "../render-core/gpu/buffers";
import { createSplatCloud, type SplatCloud } from "../render-core/splats/splat-cloud";
import type { Camera, RenderImage } from "../render-core/raster/camera";

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

async function optional<T>(path: string, name: string): Promise<T | null> {
  try {
    const m = (await import(/* @vite-ignore */ path)) as Record<string, unknown>;
    return typeof m[name] === "function" ? (m[name] as T) : null;
  } catch {
    return null;
  }
}

/** Seeded stand-in scene when render-core/scenes is not there: a head-sized blob in front of the camera. */
function blob(n: number, seed: number): SplatCloud {
  const c = createSplatCloud(n);
  let s = seed >>> 0;
  const rnd = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const sc = 0.5 / Math.cbrt(n);
  for (let i = 0; i < n; i++) {
    c.positions.set([(rnd() - 0.5) * 2, (rnd() - 0.5) * 2.4, 4 + (rnd() - 0.5) * 1.6], i * 3);
    c.scales.set([sc * (0.3 + 2 * rnd()), sc * (0.3 + 2 * rnd()), sc * (0.3 + 2 * rnd())], i * 3);
    c.rotations.set([1, 0, 0, 0], i * 4);
    c.colors.set([rnd(), rnd(), rnd()], i * 3);
    c.opacities[i] = 0.2 + 0.8 * rnd();
  }
  return c;
}

function camera(px: number, frame: number): Camera {
  // A slow yaw about the scene centre (0, 0, 4): every frame is a new camera, as in an orbit.
  const a = 0.02 * frame;
  const c = Math.cos(a);
  const s = Math.sin(a);
  return {
    width: px,
    height: px,
    fx: px,
    fy: px,
    cx: px / 2,
    cy: px / 2,
    near: 0.01,
    far: 100,
    worldToCamera: new Float32Array([c, 0, s, -4 * s, 0, 1, 0, 0, -s, 0, c, 4 - 4 * c, 0, 0, 0, 1]),
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Times `frame` after one warm-up, up to FRAMES times or until the row budget is spent (at least 3). */
async function timeFrames(frame: (i: number) => Promise<void> | void): Promise<{ ms: number; frames: number; capped: boolean }> {
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
  const splatHead = await optional<(seed: number, n: number) => SplatCloud>("../render-core/scenes/splat-head", "splatHead");
  const renderCpu = await optional<(c: SplatCloud, cam: Camera) => RenderImage>("../render-core/raster/render.cpu", "renderCpu");
  const scene = (n: number) => (splatHead ? splatHead(1, n) : blob(n, 1));
  console.log(`scene: ${splatHead ? "scenes.splatHead" : "stand-in blob (render-core/scenes not present)"}`);

  // --- CPU twin (and, once it exists, the worker pool server/render/cpu-pool.ts: TODO(lead)) ---
  if (process.env.BENCH_CPU !== "0") {
    if (!renderCpu) console.log("cpu: renderCpu not present yet; CPU rows skipped");
    else
      for (const n of SIZES) {
        const cloud = scene(n);
        for (const px of RES) {
          const r = await timeFrames((i) => void renderCpu(cloud, camera(px, i)));
          rows.push({ backend: "cpu (renderCpu, 1 thread)", splats: n, px, msMedian: r.ms, frames: r.frames, capped: r.capped });
        }
      }
  }

  // --- Node + Dawn ---
  const gpu = await createNodeGpu({ log: { info: () => {}, warn: console.warn, error: console.error } });
  if (!gpu) console.log("gpu: no adapter; GPU rows skipped");
  else {
    const adapter = `${gpu.adapterInfo.vendor} / ${gpu.adapterInfo.architecture} / ${gpu.adapterInfo.description}`;
    console.log(`gpu adapter: ${adapter}`);
    const d = gpu.device;
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
        const noReadback = await timeFrames(async (i) => {
          const e = d.createCommandEncoder();
          r.encodeRender(e, camera(px, i));
          d.queue.submit([e.finish()]);
          await d.queue.onSubmittedWorkDone();
        });
        rows.push({ backend: "node+dawn (encodeRender, no readback)", splats: n, px, msMedian: noReadback.ms, frames: noReadback.frames, capped: noReadback.capped, sortMs: sort.ms, bytesPerSplat: r.bytesPerSplat, sceneBytesPerSplat: (r.gpuBytesByKind.perSplat + r.gpuBytesByKind.perIsect) / n });
        const withReadback = await timeFrames(async (i) => void (await r.render(camera(px, i))));
        rows.push({ backend: "node+dawn (render, with readback)", splats: n, px, msMedian: withReadback.ms, frames: withReadback.frames, capped: withReadback.capped });
        r.destroy();
      }
    }
    gpu.destroy();
  }

  // --- Chromium (in-browser WebGPU) and the Spark comparison: TODO(browser owner). ---
  // Push BenchRow objects here from a Playwright run of the same scenes and cameras.
  rows.push(...(await chromiumRows()));

  console.log("\n| backend | splats | px | ms/frame (median) | frames | depth sort ms | GPU bytes/splat (all) | GPU bytes/splat (no image) |");
  console.log("|---|---:|---:|---:|---:|---:|---:|---:|");
  for (const r of rows) {
    const frames = `${r.frames}${r.capped ? " (capped)" : ""}`;
    console.log(`| ${r.backend} | ${r.splats} | ${r.px}x${r.px} | ${r.msMedian.toFixed(1)} | ${frames} | ${r.sortMs?.toFixed(1) ?? ""} | ${r.bytesPerSplat?.toFixed(0) ?? ""} | ${r.sceneBytesPerSplat?.toFixed(0) ?? ""} |`);
  }
  console.log(`\n"capped": fewer than ${FRAMES} frames, stopped after the ${BUDGET_MS / 1000} s row budget (BENCH_ROW_BUDGET_S). Frames orbit the scene; one warm-up frame per row.`);
}

/** Hook for the in-browser section (Chromium + WebGPU, Spark): returns its rows. */
export async function chromiumRows(): Promise<BenchRow[]> {
  return [];
}

await main();
