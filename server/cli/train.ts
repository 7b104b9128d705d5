/**
 * npm run train -- --dataset data/datasets/demo --config compact --out data/avatars/demo [options]
 * Trains a PERSE avatar from a synthetic attribute dataset (stage 1 +
 * stage 2), with a progress bar. A killed run (or Ctrl-C, which checkpoints
 * first) continues when run again with the same options and folder.
 */
import os from "node:os";
import path from "node:path";
import { UsageError, parseFlags, intOption, isMainModule, runCli } from "./run-cli";
import { formatEta, progressBar } from "./progress";
import { TRAIN_PRESETS, type TrainConfig, type TrainPresetName } from "../pipeline/train/trainer";
import { runTraining } from "../pipeline/train/train-run";
import { parseTrainerChoice } from "../pipeline/train/trainer-gpu";

const FLAGS = [
  "dataset",
  "config",
  "out",
  "size",
  "stage1",
  "stage2-iterations",
  "no-stage2",
  "restart",
  "init-from",
  "seed",
  "threads",
  "trainer",
] as const;

export const USAGE = `usage: npm run train -- --dataset DIR --out DIR [options]
  --config compact             ${Object.keys(TRAIN_PRESETS).join(" | ")} (compact: 128 px, CPU-sized; paper: the reference's sizes)
  --size N                     training image size (default: the config's)
  --stage1 N                   stage-1 iterations (default: the config's)
  --stage2-iterations N        stage-2 iterations (default: the config's)
  --no-stage2                  the ablation: stage 2's iterations reconstruct only
  --init-from FILE             start from another run's checkpoint-stage1.bin
  --restart                    ignore a checkpoint in --out and start over
  --seed N                     batch order and initialisation
  --threads N                  threads for a step's batches (default: the cores, at most the config's batches per step)
  --trainer auto               auto | cpu | gpu: auto takes the GPU step on a hardware WebGPU adapter (default: TRAINER, else auto)`;

export async function main(argv: string[]): Promise<void> {
  const v = parseFlags(argv, FLAGS, ["no-stage2", "restart"]);
  const str = (k: string) => (typeof v[k] === "string" ? (v[k] as string) : v[k] === true ? "" : undefined);
  const dataset = str("dataset"),
    out = str("out");
  if (!dataset) throw new UsageError("--dataset DIR is required (make one with npm run synth)");
  if (!out) throw new UsageError("--out DIR is required");
  const name = str("config") ?? "compact";
  const preset = Object.hasOwn(TRAIN_PRESETS, name) ? TRAIN_PRESETS[name as TrainPresetName] : undefined;
  if (!preset) throw new UsageError(`--config: no preset "${name}" (have ${Object.keys(TRAIN_PRESETS).join(", ")})`);
  const config: TrainConfig = {
    ...preset,
    size: intOption(str("size"), "size", preset.size, 16, 2048),
    stage1: intOption(str("stage1"), "stage1", preset.stage1, 1, 10_000_000),
    stage2: intOption(str("stage2-iterations"), "stage2-iterations", preset.stage2, 0, 10_000_000),
    seed: intOption(str("seed"), "seed", preset.seed, 0, 1_000_000_000),
  };
  const signal = { stop: false };
  process.once("SIGINT", () => {
    signal.stop = true;
    process.stderr.write(
      "\ntrain: stopping after this iteration (a checkpoint is written; run the same command to continue)\n",
    );
  });
  const bar = progressBar();
  const result = await runTraining({
    dataset,
    out,
    config,
    stage2: v["no-stage2"] !== true,
    restart: v.restart === true,
    ...(str("init-from") ? { initFrom: str("init-from")! } : {}),
    workers: intOption(str("threads"), "threads", os.availableParallelism(), 1, 256) - 1,
    trainer: parseTrainerChoice(str("trainer") ?? process.env.TRAINER, str("trainer") ? "--trainer" : "TRAINER"),
    signal,
    onLog: (line) => console.error(line),
    onProgress: (p) =>
      bar.update(
        p.iteration,
        p.total,
        `stage ${p.stage}, ${p.iteration}/${p.total}, loss ${p.loss.toFixed(4)}, PSNR ${p.psnr.toFixed(1)} dB, ${p.gaussians} Gaussians, ${p.secondsPerIteration.toFixed(2)} s/it, ETA ${formatEta(p.etaSeconds)}`,
      ),
  });
  bar.end();
  const l = result.log;
  if (!result.finished) {
    console.log(`train: stopped at iteration ${l.iterations}; checkpoint in ${path.resolve(out)}`);
    return;
  }
  console.log(
    `train: ${l.iterations} iterations in ${(l.seconds / 60).toFixed(1)} min, ${l.gaussians} Gaussians, peak memory ${l.peakRssMB.toFixed(0)} MB; ` +
      `training PSNR ${l.first.psnr.toFixed(1)} -> ${l.last.psnr.toFixed(1)} dB; bundle ${result.bundle}; loss curve ${result.lossCurve}`,
  );
}

if (isMainModule(import.meta.url))
  runCli("train", USAGE, main, (err) => /^(train|dataset|checkpoint)/.test(err.message));
