/**
 * npm run evaluate -- --avatar data/avatars/demo --dataset data/datasets/demo128 --out report/
 *   [--baseline data/avatars/demo-no-stage2] [--backend cpu|webgpu] [--size N]
 * Measures a trained avatar against its dataset's held-out ground truth
 * (docs/evaluation.md), prints the figures against the targets and writes
 * evaluation.json and evaluation-sheet.png.
 */
import fs from "node:fs";
import path from "node:path";
import { CpuAvatarRenderer, WebGpuAvatarRenderer, type AvatarRenderer } from "../../render-core/avatar/avatar-renderer";
import type { Avatar } from "../../render-core/avatar/avatar";
import type { HeadModel } from "../../render-core/head";
import { createHeadModel } from "../../render-core/head";
import { createNodeGpu, type NodeGpu } from "../gpu/node-device";
import { checkTargets, evaluateAvatar, evaluationSheet, formatReport } from "../pipeline/evaluate/evaluate";
import { UsageError, parseFlags, intOption, isMainModule, runCli } from "./run-cli";
import { progressBar } from "./progress";

const FLAGS = ["avatar", "dataset", "out", "baseline", "backend", "size"] as const;

export const USAGE = `usage: npm run evaluate -- --avatar DIR --dataset DIR --out DIR [options]
  --avatar DIR                 a training output folder (bundle/ + training-log.json) or a bundle folder
  --dataset DIR                the dataset it was trained on (npm run synth)
  --out DIR                    where evaluation.json and evaluation-sheet.png go
  --baseline DIR               a second avatar to compare with (the stage-2 ablation)
  --backend cpu|webgpu         default: webgpu when an adapter exists, else cpu
  --size N                     render size (default: the dataset's)`;

export async function main(argv: string[]): Promise<void> {
  const v = parseFlags(argv, FLAGS);
  const str = (k: string) => (typeof v[k] === "string" ? (v[k] as string) : undefined);
  const [avatar, dataset, out, baseline, backend] = [
    str("avatar"),
    str("dataset"),
    str("out"),
    str("baseline"),
    str("backend"),
  ];
  if (!avatar) throw new UsageError("--avatar DIR is required");
  if (!dataset) throw new UsageError("--dataset DIR is required");
  if (!out) throw new UsageError("--out DIR is required");
  if (backend !== undefined && backend !== "cpu" && backend !== "webgpu")
    throw new UsageError(`--backend takes cpu or webgpu, got "${backend}"`);
  const size = str("size") === undefined ? undefined : intOption(str("size"), "size", 0, 8, 4096);

  let gpu: NodeGpu | null = null;
  if (backend !== "cpu") {
    gpu = await createNodeGpu({ log: { info: () => {}, warn: () => {}, error: console.error } });
    if (!gpu && backend === "webgpu")
      throw new UsageError("--backend webgpu: no WebGPU adapter on this machine (try --backend cpu)");
  }
  const makeRenderer = (a: Avatar, head: HeadModel): AvatarRenderer =>
    gpu ? new WebGpuAvatarRenderer(gpu.device, a, head) : new CpuAvatarRenderer(a, head);
  const head = createHeadModel();
  try {
    const run = async (dir: string) => {
      const bar = progressBar();
      const result = await evaluateAvatar({
        avatar: dir,
        dataset,
        makeRenderer,
        head,
        ...(size ? { size } : {}),
        onProgress: (done, total, what) =>
          bar.update(done, total, `${path.basename(dir)}: ${what}, ${done}/${total} renders`),
      });
      bar.end();
      return result;
    };
    const main = await run(avatar);
    const base = baseline ? await run(baseline) : null;
    fs.mkdirSync(out, { recursive: true });
    const targets = checkTargets(main.report, base?.report ?? null);
    fs.writeFileSync(
      path.join(out, "evaluation.json"),
      JSON.stringify({ avatar: main.report, baseline: base?.report ?? null, targets }, null, 1),
    );
    fs.writeFileSync(
      path.join(out, "evaluation-sheet.png"),
      await evaluationSheet(main.report.size, main.pictures, base?.pictures ?? null),
    );
    console.log(
      `evaluate: ${main.report.gaussians} Gaussians at ${main.report.size} px on ${main.report.backend} in ${main.report.seconds.toFixed(0)} s\n${formatReport(main.report, base?.report ?? null)}\n-> ${path.join(out, "evaluation.json")}, ${path.join(out, "evaluation-sheet.png")}`,
    );
  } finally {
    gpu?.destroy();
  }
}

if (isMainModule(import.meta.url))
  runCli("evaluate", USAGE, main, (err) => /^(evaluate|dataset|readAvatarBundleDir|avatar bundle)/.test(err.message));
