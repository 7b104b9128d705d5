import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import sharp from "sharp";
import { beforeAll, describe, expect, it } from "vitest";
import type { Avatar } from "../../../render-core/avatar/avatar";
import { CpuAvatarRenderer, type AvatarRenderer } from "../../../render-core/avatar/avatar-renderer";
import type { AvatarPose } from "../../../render-core/avatar/rig";
import { createHeadModel, type HeadModel } from "../../../render-core/head";
import { main as evaluateCli } from "../../cli/evaluate";
import { generateDataset, type SynthOptions } from "../synthesise/dataset";
import { runTraining } from "../train/train-run";
import { TRAIN_PRESETS, type TrainConfig } from "../train/trainer";
import { latentsWith, TrainingData, videoAnchors } from "../train/training-data";
import { checkTargets, evaluateAvatar, formatReport } from "./evaluate";

let head: HeadModel;
let dataset: string;
let trained: string;
const tmp = (name: string) => fs.mkdtempSync(path.join(os.tmpdir(), `${name}-`));
// Two in-between pairs for hair (one trained, one held out), one held-out camera.
const options: SynthOptions = {
  identity: "seed:5",
  perCategory: 4,
  frames: 10,
  size: 32,
  fps: 30,
  categories: ["hair"],
  inbetweenPairs: 2,
  alphas: [0.25, 0.5, 0.75],
  extraCameras: 1,
};
const config: TrainConfig = { ...TRAIN_PRESETS.tiny!, stage1: 40, stage2: 10, densifyAt: [20], densifyCounts: [220] };
const makeRenderer = (a: ConstructorParameters<typeof CpuAvatarRenderer>[0], h: HeadModel) =>
  new CpuAvatarRenderer(a, h);

/**
 * The ideal avatar: given a video's latents it shows that video's own frame from the dataset (main camera),
 * found by its expression and pose; any other latents (the in-betweens) show a flat grey. Its figures are
 * known without measuring anything.
 */
function datasetRenderer(avatar: Avatar, size: number): AvatarRenderer {
  const data = TrainingData.open(dataset, size);
  const { categories, latentDim } = avatar.config;
  const videos = [...videoAnchors(data.manifest)].map(([id, named]) => {
    const anchor = avatar.anchors.find((a) => a.category === named.category && a.label === named.label)!;
    return { id, latents: latentsWith(categories, avatar.neutralLatents, latentDim, named.category, anchor.latent) };
  });
  let video: string | null = null;
  return {
    backend: "cpu",
    setLatents: async (z) => {
      video = videos.find((v) => v.latents.every((x, i) => x === z[i]))?.id ?? null;
      return true;
    },
    render: async (pose: AvatarPose) => {
      const same = (a: ArrayLike<number>, b: ArrayLike<number> | undefined) =>
        Array.from(a).every((x, i) => x === b?.[i]);
      const frame = data.motion.findIndex((m) => same(m.expression, pose.expression) && same(m.pose, pose.pose));
      expect(frame, "the pose of a dataset frame").toBeGreaterThanOrEqual(0);
      const rgb = video ? await data.rgb(video, frame) : new Float32Array(size * size * 3).fill(0.5);
      return {
        width: size,
        height: size,
        rgb,
        alpha: new Float32Array(size * size),
        depth: new Float32Array(size * size),
      };
    },
    renderRgb8: async () => {
      throw new Error("the evaluation reads float images only");
    },
    settle: async () => undefined,
    destroy: () => undefined,
  };
}

beforeAll(async () => {
  head = createHeadModel();
  dataset = tmp("eval-data");
  await generateDataset(options, { out: dataset, gpu: null, head });
  trained = tmp("eval-avatar");
  await runTraining({ dataset, out: trained, config, stage2: true, head });
}, 180_000);

describe("evaluation (tiny avatar)", () => {
  it("measures held-out fidelity, interpolation, smoothness, disentanglement and reads the training log", async () => {
    const progress: number[] = [];
    const { report, pictures } = await evaluateAvatar({
      avatar: trained,
      dataset,
      makeRenderer,
      head,
      size: 24,
      onProgress: (d) => progress.push(d),
    });
    console.log(formatReport(report, null));
    // 5 videos x 2 held-out frames x 2 cameras; 2 pairs x 3 alphas x 2 frames; 2 pairs x (21 sweep + 2 x 1 disentanglement).
    expect(progress.at(-1)).toBe(20 + 12 + 46);
    expect(report.fidelity.heldOutFrames.frames).toBe(10);
    expect(report.fidelity.heldOutCamera?.frames).toBe(10);
    expect(report.interpolation.heldOutPairs?.frames).toBe(6);
    expect(report.interpolation.trainedPairs?.frames).toBe(6);
    // A 50-iteration avatar is blurry but far above chance: a flat grey image scores ~10 dB here.
    expect(report.fidelity.heldOutFrames.psnr).toBeGreaterThan(15);
    expect(report.fidelity.heldOutFrames.ssim).toBeGreaterThan(0.3);
    expect(report.fidelity.heldOutFrames.ssim).toBeLessThan(1);
    expect(report.interpolation.heldOutPairs!.psnr).toBeGreaterThan(12);
    expect(Object.keys(report.interpolation.heldOutPairs!.byAlpha)).toEqual(["0.25", "0.50", "0.75"]);
    expect(report.smoothness.byPair).toHaveLength(2);
    // Measured 0.61 (1/255, A vs B outside the hair region). Above 0.2: the same render twice or an empty
    // outside give 0, a figure in fractions of 1 gives 0.0024. Under the 1.0 target: A's render against A's
    // ground truth instead of B's render gives 7.5. (Which side of the region is measured is pinned by the
    // ideal-avatar test below: the inside measured here reads 0.99.)
    expect(report.disentanglement.byCategory.hair).toBeGreaterThan(0.2);
    expect(report.disentanglement.byCategory.hair).toBeLessThan(1);
    // The tiny avatar's hair latent moves the hair region, but less than the data does.
    expect(report.editStrength.byCategory.hair).toBeGreaterThan(0.01);
    expect(report.editStrength.byCategory.hair).toBeLessThan(1.5);
    expect(report.training?.iterations).toBe(50);
    expect(pictures.interpolation).toHaveLength(1);
    expect(pictures.interpolation[0]!.a.length).toBe(24 * 24 * 3);
    const targets = checkTargets(report, null);
    expect(targets.find((t) => t.figure.startsWith("interpolation gain"))?.met).toBeNull();
    expect(targets.find((t) => t.figure.startsWith("training time"))?.met).toBe(true);
  }, 120_000);

  it("an avatar that shows the dataset's own frames scores edit strength 1 and leaks nothing outside the edit's region", async () => {
    const { report } = await evaluateAvatar({
      avatar: trained,
      dataset,
      makeRenderer: (a) => datasetRenderer(a, 24),
      head,
      size: 24,
    });
    console.log(
      `ideal avatar: disentanglement ${report.disentanglement.byCategory.hair}, edit strength ${report.editStrength.byCategory.hair}`,
    );
    // Its A-to-B change is the data's own change, inside the region and out.
    expect(report.editStrength.byCategory.hair).toBeCloseTo(1, 10);
    // Outside the region the data's A and B differ by at most CHANGED (2/255) per channel, or the pixel would
    // be in it (measured 0); inside, where the hair changes, they differ by 7.2.
    expect(report.disentanglement.byCategory.hair).toBeLessThanOrEqual(2);
  }, 60_000);

  it("scores a barely trained avatar lower than the trained one", async () => {
    const early = tmp("eval-early");
    await runTraining({
      dataset,
      out: early,
      config: { ...config, stage1: 5, stage2: 0, densifyAt: [], densifyCounts: [] },
      stage2: false,
      head,
    });
    const [good, bad] = await Promise.all(
      [trained, early].map((dir) => evaluateAvatar({ avatar: dir, dataset, makeRenderer, head, size: 24 })),
    );
    console.log(
      `held-out PSNR after 5 / 50 iterations: ${bad!.report.fidelity.heldOutFrames.psnr.toFixed(1)} / ${good!.report.fidelity.heldOutFrames.psnr.toFixed(1)} dB; interpolation ${bad!.report.interpolation.heldOutPairs!.psnr.toFixed(1)} / ${good!.report.interpolation.heldOutPairs!.psnr.toFixed(1)} dB`,
    );
    expect(bad!.report.training?.iterations).toBe(5);
    expect(bad!.report.fidelity.heldOutFrames.psnr).toBeLessThan(good!.report.fidelity.heldOutFrames.psnr - 2);
    expect(bad!.report.interpolation.heldOutPairs!.psnr).toBeLessThan(
      good!.report.interpolation.heldOutPairs!.psnr - 1,
    );
  }, 120_000);

  it("the CLI writes evaluation.json and the picture sheet, and refuses a bundle of another dataset", async () => {
    const out = tmp("eval-report");
    await evaluateCli([
      "--avatar",
      trained,
      "--baseline",
      trained,
      "--dataset",
      dataset,
      "--out",
      out,
      "--backend",
      "cpu",
      "--size",
      "16",
    ]);
    const json = JSON.parse(fs.readFileSync(path.join(out, "evaluation.json"), "utf8"));
    expect(json.baseline.fidelity.heldOutFrames.psnr).toBeCloseTo(json.avatar.fidelity.heldOutFrames.psnr, 10);
    expect(json.targets.find((t: { figure: string }) => t.figure.startsWith("interpolation gain")).value).toBeCloseTo(
      0,
      10,
    );
    const sheet = await sharp(path.join(out, "evaluation-sheet.png")).metadata();
    // Rows: main camera, held-out camera, the held-out pair with and without stage 2; 3 alphas -> 9 columns.
    expect([sheet.width, sheet.height]).toEqual([9 * 16, 4 * 16]);
    const other = tmp("eval-other");
    await generateDataset({ ...options, categories: ["beard"] }, { out: other, gpu: null, head });
    await expect(evaluateAvatar({ avatar: trained, dataset: other, makeRenderer, head, size: 16 })).rejects.toThrow(
      /no anchor .* in "beard"/,
    );
    await expect(
      evaluateCli(["--avatar", trained, "--dataset", dataset, "--out", out, "--backend", "vulkan"]),
    ).rejects.toThrow(/--backend takes cpu or webgpu/);
  }, 180_000);
});
