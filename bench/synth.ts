/**
 * Synthetic-frame rendering speed (npm run bench:synth): frames per second of
 * the dataset's mesh scenes (head + hair + glasses + hat...) at 256 and 512 px,
 * CPU twin and WebGPU (Dawn), scene building and PNG encoding excluded.
 * Env: BENCH_SIZES ("256,512"), BENCH_FRAMES (20).
 */
import { createHeadModel } from "../render-core/head";
import { renderMeshCpu } from "../render-core/mesh/render.cpu";
import { GpuMeshRenderer } from "../render-core/mesh/renderer";
import { mulberry32 } from "../render-core/math/prng";
import { CATEGORIES } from "../server/pipeline/synthesise/attributes";
import { identityColours, proceduralIdentity } from "../server/pipeline/synthesise/identity";
import { drivingMotion } from "../server/pipeline/synthesise/motion";
import { buildScene, regionFaces } from "../server/pipeline/synthesise/scene";
import { BACKGROUND, planDataset } from "../server/pipeline/synthesise/dataset";
import { createNodeGpu } from "../server/gpu/node-device";

const SIZES = (process.env.BENCH_SIZES ?? "256,512").split(",").map(Number);
const FRAMES = Number(process.env.BENCH_FRAMES ?? 20);
const head = createHeadModel();
const identity = proceduralIdentity(7, head);
const base = identityColours(identity, head);
const regions = regionFaces(head);
const motion = drivingMotion(FRAMES);
const rand = mulberry32(1);
const attributes = Object.fromEntries(
  CATEGORIES.filter((c) => ["hair", "eyewear", "earrings"].includes(c.name)).map((c) => [
    c.name,
    c.variant(rand).params,
  ]),
);
const scenes = motion.map((frame) => buildScene({ head, identity, baseColours: base, regions, attributes, frame }));
const gpu = await createNodeGpu({ log: { info: () => {}, warn: () => {}, error: console.error } });
const renderer = gpu ? new GpuMeshRenderer(gpu.device) : null;
console.log(
  `adapter: ${gpu ? gpu.adapterInfo.description || gpu.adapterInfo.vendor : "none"}; scene: head + hair (4 shells) + glasses + earrings, ${scenes[0]!.reduce((s, d) => s + d.indices.length / 3, 0)} triangles`,
);
console.log("| size | CPU twin frames/s | WebGPU frames/s (incl. readback) |");
console.log("|---:|---:|---:|");
for (const size of SIZES) {
  const camera = planDataset(
    {
      identity: "seed:7",
      perCategory: 1,
      frames: 1,
      size,
      fps: 30,
      categories: [],
      inbetweenPairs: 0,
      alphas: [],
      extraCameras: 0,
    },
    head,
  ).cameras[0]!.camera;
  const cam = { ...camera, worldToCamera: Float32Array.from(camera.worldToCamera) };
  let t = performance.now();
  for (const s of scenes) renderMeshCpu(s, cam, { background: BACKGROUND });
  const cpu = FRAMES / ((performance.now() - t) / 1000);
  let gpuFps = NaN;
  if (renderer) {
    await renderer.render(scenes[0]!, cam, { background: BACKGROUND });
    t = performance.now();
    for (const s of scenes) await renderer.render(s, cam, { background: BACKGROUND });
    gpuFps = FRAMES / ((performance.now() - t) / 1000);
  }
  console.log(`| ${size} | ${cpu.toFixed(1)} | ${gpuFps.toFixed(1)} |`);
}
renderer?.destroy();
gpu?.destroy();
