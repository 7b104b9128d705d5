/**
 * npm run synth -- --identity seed:7 --per-category 6 --frames 60 --size 256 --out data/datasets/demo [options]
 * Generates a synthetic attribute dataset (docs/dataset-format.md) with a
 * progress bar. Killed runs continue where they stopped when run again with
 * the same options and folder.
 */
import path from "node:path";
import { UsageError, parseFlags, intOption, isMainModule, runCli } from "./run-cli";
import { formatEta, progressBar } from "./progress";
import { ALL_CATEGORIES, generateDataset, type SynthOptions } from "../pipeline/synthesise/dataset";
import { createNodeGpu } from "../gpu/node-device";
import { GpuMeshRenderer } from "../../render-core/mesh/renderer";

const FLAGS = [
  "identity",
  "per-category",
  "frames",
  "size",
  "fps",
  "out",
  "categories",
  "inbetween",
  "alphas",
  "extra-cameras",
  "view-cameras",
  "backend",
] as const;

export const USAGE = `usage: npm run synth -- --out DIR [options]
  --identity seed:7            the person: seed:N (a procedural identity) or portrait:FILE (an identity.json from the portrait pipeline)
  --per-category 6             videos per attribute category (plus one of the person as they are)
  --frames 60 --fps 30         frames per video
  --size 256                   image size, pixels
  --categories ${ALL_CATEGORIES.join(",")}
  --inbetween 1                pairs of videos per category that get exact in-between frames
  --alphas 0.25,0.5,0.75       the in-between positions
  --extra-cameras 0            held-out cameras (evaluation) besides the main one
  --view-cameras 1             cameras taking turns seeing the frames (1-5): the main one and orbit cameras at +-20 yaw, +-10 pitch
  --backend cpu|webgpu         default: webgpu when an adapter exists, else cpu`;

export async function main(argv: string[]): Promise<void> {
  const v = parseFlags(argv, FLAGS);
  if (!v.out) throw new UsageError("--out DIR is required");
  if (v.backend && !["cpu", "webgpu"].includes(v.backend))
    throw new UsageError(`--backend takes cpu or webgpu, got "${v.backend}"`);
  const categories = (v.categories ?? ALL_CATEGORIES.join(","))
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  const unknownCategory = categories.find((c) => !ALL_CATEGORIES.includes(c));
  if (unknownCategory)
    throw new UsageError(`--categories: no category "${unknownCategory}" (have ${ALL_CATEGORIES.join(", ")})`);
  const alphas = (v.alphas ?? "0.25,0.5,0.75").split(",").map(Number);
  if (alphas.some((a) => !(a >= 0 && a <= 1)))
    throw new UsageError(`--alphas must be numbers in [0, 1], got "${v.alphas}"`);
  const options: SynthOptions = {
    identity: v.identity ?? "seed:7",
    perCategory: intOption(v["per-category"], "per-category", 6, 1, 100),
    frames: intOption(v.frames, "frames", 60, 1, 10_000),
    size: intOption(v.size, "size", 256, 16, 2048),
    fps: intOption(v.fps, "fps", 30, 1, 240),
    categories,
    inbetweenPairs: intOption(v.inbetween, "inbetween", 1, 0, 50),
    alphas,
    extraCameras: intOption(v["extra-cameras"], "extra-cameras", 0, 0, 8),
    viewCameras: intOption(v["view-cameras"], "view-cameras", 1, 1, 5),
  };
  if (!/^seed:\d{1,9}$/.test(options.identity) && !options.identity.startsWith("portrait:"))
    throw new UsageError(`--identity must be seed:N or portrait:FILE, got "${options.identity}"`);

  const gpu =
    v.backend === "cpu" ? null : await createNodeGpu({ log: { info: () => {}, warn: () => {}, error: console.error } });
  if (!gpu && v.backend === "webgpu")
    throw new UsageError("--backend webgpu: no WebGPU adapter on this machine (try --backend cpu)");
  const renderer = gpu ? new GpuMeshRenderer(gpu.device) : null;
  const bar = progressBar();
  try {
    const result = await generateDataset(options, {
      out: v.out,
      gpu: renderer,
      onProgress: (p) =>
        bar.update(
          p.done,
          p.total,
          `${p.done}/${p.total} frames, ${p.framesPerSecond.toFixed(1)}/s, ETA ${formatEta(p.etaSeconds)}${p.skipped ? `, ${p.skipped} already done` : ""}`,
        ),
    });
    bar.end();
    const m = result.manifest;
    console.log(
      `dataset: ${m.videos.length} videos x ${options.frames} frames at ${options.size}px (${m.inbetween.length} in-between pairs) in ${path.resolve(v.out)}; ` +
        `rendered ${result.rendered}, already there ${result.skipped}, ${result.seconds.toFixed(1)} s with ${renderer ? "webgpu" : "cpu"}; contact sheet ${result.contactSheet}`,
    );
  } finally {
    renderer?.destroy();
    gpu?.destroy();
  }
}

if (isMainModule(import.meta.url)) runCli("synth", USAGE, main, (err) => /^synthesise:/.test(err.message));
