/**
 * Avatar runtime timings (npm run bench:avatar): the bake after a latent
 * change, and deform + render per frame, for N Gaussians, both presets, the
 * CPU twins and WebGPU (Dawn). The editor wants a latent change on screen
 * within one frame: bake + deform + render under ~33 ms (30 fps).
 *
 * Env: BENCH_POINTS ("20000,100000"), BENCH_PRESETS ("compact,paper"),
 * BENCH_BACKENDS ("cpu,webgpu"), BENCH_SIZE (512), BENCH_FRAMES (10),
 * BENCH_CPU_SAMPLE (5000: CPU bakes/deforms of more Gaussians are timed on
 * this many and scaled linearly, marked "est."; rendering is always full size).
 * With the cpu back end it also times the CPU stream's render thread pair
 * (server/render/avatar-thread.ts) on one camera: the picture cut into a band
 * per thread against one thread drawing it all (BENCH_THREAD_POINTS, 12000).
 */
import { COMPACT, PAPER, type AvatarModelConfig } from "../render-core/avatar/config";
import { createRandomAvatar } from "../render-core/avatar/avatar";
import { CpuAvatarRenderer, WebGpuAvatarRenderer, type AvatarRenderer } from "../render-core/avatar/avatar-renderer";
import { createHeadModel } from "../render-core/head";
import { orbitCamera } from "../render-core/math/camera";
import { renderCpu } from "../render-core/raster/render.cpu";
import { createNodeGpu } from "../server/gpu/node-device";
import { ThreadAvatarRenderer } from "../server/render/avatar-thread";

const list = (name: string, fallback: string) =>
  (process.env[name] ?? fallback)
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
const POINTS = list("BENCH_POINTS", "20000,100000").map(Number);
const PRESETS: Record<string, AvatarModelConfig> = { compact: COMPACT, paper: PAPER };
const presets = list("BENCH_PRESETS", "compact,paper");
const backends = list("BENCH_BACKENDS", "cpu,webgpu");
const SIZE = Number(process.env.BENCH_SIZE ?? 512);
const FRAMES = Number(process.env.BENCH_FRAMES ?? 10);
const CPU_SAMPLE = Number(process.env.BENCH_CPU_SAMPLE ?? 5000);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (ms: number) => (ms >= 100 ? ms.toFixed(0) : ms.toFixed(1));

const head = createHeadModel();
const gpu = backends.includes("webgpu")
  ? await createNodeGpu({ log: { info: () => {}, warn: () => {}, error: console.error } })
  : null;
console.log(
  `adapter: ${gpu ? `${gpu.adapterInfo.vendor} / ${gpu.adapterInfo.architecture} / ${gpu.adapterInfo.description}` : "none"}; image ${SIZE}x${SIZE}; median of ${FRAMES} frames`,
);
console.log(
  "| preset | Gaussians | backend | bake ms | deform ms | deform + render, on the GPU ms | deform + render + readback ms | latent change to picture ms |",
);
console.log("|---|---:|---|---:|---:|---:|---:|---:|");

const camera = orbitCamera({
  width: SIZE,
  height: SIZE,
  yawDeg: 15,
  pitchDeg: 5,
  distance: 0.75,
  target: [0, 0.02, 0],
});
const pose = (f: number) => ({
  expression: [0.5 + 0.5 * Math.sin(f), 0.5 + 0.5 * Math.sin(f)],
  pose: [0, 0.3 * Math.sin(f / 3), 0, 0, 0, 0, 0.2 + 0.1 * Math.sin(f), 0, 0, 0, 0, 0, 0, 0, 0],
});

for (const name of presets) {
  const config = PRESETS[name];
  if (!config) throw new Error(`bench:avatar: unknown preset "${name}" (have ${Object.keys(PRESETS).join(", ")})`);
  for (const n of POINTS) {
    for (const backend of backends) {
      if (backend === "webgpu" && !gpu) {
        console.log(`| ${name} | ${n} | webgpu | no adapter | | | | |`);
        continue;
      }
      // The CPU twins are timed on a sample and scaled: a paper bake of 100k takes minutes in one thread.
      const sampled = backend === "cpu" ? Math.min(n, CPU_SAMPLE) : n;
      const avatar = createRandomAvatar(config, head, { count: sampled, seed: 1 });
      const r: AvatarRenderer =
        backend === "cpu" ? new CpuAvatarRenderer(avatar, head) : new WebGpuAvatarRenderer(gpu!.device, avatar, head);
      const latentsA = avatar.neutralLatents,
        latentsB = avatar.neutralLatents.map((v, i) => v + 0.1 * Math.sin(i));
      await r.setLatents(latentsB);
      await r.render(pose(0), camera); // compile kernels, size buffers
      await r.settle();
      const bakes: number[] = [],
        deforms: number[] = [],
        frames: number[] = [],
        gpuFrames: number[] = [];
      for (let f = 0; f < FRAMES; f++) {
        let t = performance.now();
        await r.setLatents(f % 2 ? latentsB : latentsA);
        await r.settle();
        bakes.push(performance.now() - t);
        if (r instanceof CpuAvatarRenderer) {
          t = performance.now();
          const cloud = r.deform(pose(f));
          deforms.push(performance.now() - t);
          frames.push(deforms.at(-1)! * (n / sampled));
          if (sampled === n) {
            t = performance.now();
            renderCpu(cloud, camera);
            frames[frames.length - 1]! += performance.now() - t;
          }
        } else if (r instanceof WebGpuAvatarRenderer) {
          t = performance.now();
          r.deform(pose(f));
          await r.settle();
          deforms.push(performance.now() - t);
          // The frame without bringing the picture back: what a LOCAL (in-page) viewer waits for.
          t = performance.now();
          r.deform(pose(f));
          const encoder = gpu!.device.createCommandEncoder();
          r.splats.encodeRender(encoder, camera);
          gpu!.device.queue.submit([encoder.finish()]);
          await r.settle();
          gpuFrames.push(performance.now() - t);
          t = performance.now();
          await r.render(pose(f), camera);
          frames.push(performance.now() - t);
        }
      }
      // A sampled CPU frame's render is timed on a full-size cloud of the same kind once.
      if (backend === "cpu" && sampled < n) {
        const full = new CpuAvatarRenderer(createRandomAvatar(COMPACT, head, { count: n, seed: 1 }), head);
        await full.setLatents(createRandomAvatar(COMPACT, head, { count: 1, seed: 1 }).neutralLatents);
        const cloud = full.deform(pose(0));
        const t = performance.now();
        renderCpu(cloud, camera);
        const renderMs = performance.now() - t;
        for (let f = 0; f < frames.length; f++) frames[f]! += renderMs;
      }
      const scale = n / sampled;
      const est = scale > 1 ? ` (est. from ${sampled})` : "";
      const bake = median(bakes) * scale,
        deform = median(deforms) * scale,
        frame = median(frames);
      const gpuFrame = gpuFrames.length ? fmt(median(gpuFrames)) : "-";
      console.log(
        `| ${name} | ${n} | ${backend} | ${fmt(bake)}${est} | ${fmt(deform)}${est} | ${gpuFrame} | ${fmt(frame)}${est} | ${fmt(bake + frame)} |`,
      );
      r.destroy();
    }
  }
}
gpu?.destroy();

if (backends.includes("cpu")) {
  const n = Number(process.env.BENCH_THREAD_POINTS ?? 12000);
  const avatar = createRandomAvatar(COMPACT, head, { count: n, seed: 1 });
  console.log(
    `\nCPU stream render threads, compact, ${n} Gaussians, one ${SIZE} px camera, median of ${FRAMES * 3} frames:`,
  );
  console.log("| lone camera drawn by | deform + draw ms | draw ms (same pose) |");
  console.log("|---|---:|---:|");
  const timed: Record<string, number> = {};
  for (const banded of [false, true]) {
    const pair = new ThreadAvatarRenderer(avatar, 2, banded);
    await pair.setLatents(avatar.neutralLatents);
    const time = async (f: (i: number) => Promise<unknown>) => {
      const times: number[] = [];
      for (let i = 0; i < FRAMES * 3; i++) {
        const t = performance.now();
        await f(i);
        times.push(performance.now() - t);
      }
      return median(times);
    };
    await pair.renderRgb8(pose(0), [camera]); // warm
    const frame = await time((i) => pair.renderRgb8(pose(i + 1), [camera]));
    const draw = await time(() => pair.renderRgb8(pose(0), [camera]));
    timed[String(banded)] = frame;
    console.log(`| ${banded ? "both threads, a band each" : "one thread (before)"} | ${fmt(frame)} | ${fmt(draw)} |`);
    pair.destroy();
  }
  console.log(`frame time, one thread / bands: ${(timed.false! / timed.true!).toFixed(2)}x`);
}
