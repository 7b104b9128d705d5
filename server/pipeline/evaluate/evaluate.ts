/**
 * Evaluation of a trained avatar against its dataset's ground truth, as
 * docs/evaluation.md describes: fidelity on held-out frames and the held-out
 * camera, interpolation fidelity on held-out in-between pairs, smoothness of
 * an alpha sweep, disentanglement of a category's edit, and the training's
 * time and memory. Everything is rendered at the dataset's camera with the
 * avatar renderer the caller picks (CPU twins or WebGPU).
 */
import fs from "node:fs";
import path from "node:path";
import sharp from "sharp";
import type { Avatar } from "../../../render-core/avatar/avatar";
import type { AvatarRenderer } from "../../../render-core/avatar/avatar-renderer";
import { createHeadModel, type HeadModel } from "../../../render-core/head";
import { maskedPsnr } from "../../../render-core/math/image-metrics";
import { readAvatarBundleDir } from "../../avatar/bundle-files";
import { contactSheet, labelledPanel } from "../../images/png";
import { BACKGROUND } from "../synthesise/dataset";
import { trainedBundleDir, type TrainingLog } from "../train/train-run";
import { dilateMask } from "../train/trainer";
import { CATEGORY_CLASSES, latentsWith, TrainingData, videoAnchors, type InbetweenPair } from "../train/training-data";
import { maskedSsim, mean, meanAbsDiff255, sweepSmoothness } from "./metrics";

/** Growth of regions (attribute regions, interpolation masks) in pixels. */
export const REGION_DILATION = 4;
/** Steps of the smoothness sweep. */
export const SWEEP_STEPS = 21;
/** A pixel pair counts as "the data changed here" above this difference. */
const CHANGED = 2 / 255;

export interface FidelityFigures {
  psnr: number;
  ssim: number;
  frames: number;
}

export interface InterpolationFigures {
  psnr: number;
  byAlpha: Record<string, number>;
  byCategory: Record<string, number>;
  frames: number;
}

export interface AvatarEvaluation {
  avatar: string;
  dataset: string;
  backend: string;
  size: number;
  gaussians: number;
  fidelity: { heldOutFrames: FidelityFigures; heldOutCamera: FidelityFigures | null };
  interpolation: { heldOutPairs: InterpolationFigures | null; trainedPairs: InterpolationFigures | null };
  smoothness: {
    mean: number | null;
    worst: number | null;
    byPair: Array<{ category: string; a: string; b: string; ratio: number | null }>;
  };
  disentanglement: { mean: number | null; worst: number | null; byCategory: Record<string, number> };
  /**
   * Inside the region: the rendered change from A to B over the true one (1 = the edit is as strong as in the
   * data, 0 = the latent does nothing). Small disentanglement figures mean little where this is small.
   */
  editStrength: { mean: number | null; byCategory: Record<string, number> };
  training: TrainingLog | null;
  seconds: number;
}

/** Renders kept for the picture sheet. */
export interface EvaluationPictures {
  /** Per example video: ground truth and render on the main camera, then on the held-out camera (if any). */
  fidelity: Array<{ label: string; views: Array<{ camera: string; truth: Float32Array; render: Float32Array }> }>;
  /** Per held-out pair: renders at A and B, and per alpha the in-between and the render. */
  interpolation: Array<{
    category: string;
    a: Float32Array;
    b: Float32Array;
    alphas: Array<{ alpha: number; truth: Float32Array; render: Float32Array }>;
  }>;
}

export interface EvaluateOptions {
  /** A bundle folder, or a training output folder holding bundle/ and training-log.json. */
  avatar: string;
  dataset: string;
  makeRenderer: (avatar: Avatar, head: HeadModel) => AvatarRenderer;
  head?: HeadModel;
  /** Square render size (default: the dataset's). */
  size?: number;
  onProgress?: (done: number, total: number, what: string) => void;
}

/** Where the bundle and the training log of `dir` are. */
export function locateAvatar(dir: string): { bundle: string; trainingLog: string | null } {
  if (!fs.existsSync(dir)) throw new Error(`evaluate: ${dir} does not exist`);
  const inner = trainedBundleDir(dir);
  const bundle = fs.existsSync(inner) ? inner : dir;
  const log = path.join(path.dirname(path.resolve(bundle)), "training-log.json");
  return { bundle, trainingLog: bundle === inner && fs.existsSync(log) ? log : null };
}

const lerp = (a: Float32Array, b: Float32Array, t: number) => a.map((v, i) => (1 - t) * v + t * b[i]!);
const union = (a: ArrayLike<number>, b: ArrayLike<number>) => Float64Array.from(a, (v, i) => Math.max(v, b[i]!));

export async function evaluateAvatar(
  o: EvaluateOptions,
): Promise<{ report: AvatarEvaluation; pictures: EvaluationPictures }> {
  const t0 = performance.now();
  const head = o.head ?? createHeadModel();
  const data = TrainingData.open(o.dataset, o.size);
  const { manifest, split, size } = data;
  const where = locateAvatar(o.avatar);
  const avatar = await readAvatarBundleDir(where.bundle, {
    headFaceCount: head.faceCount,
    headShapeCount: head.shapeNames.length,
  });
  const { categories, latentDim } = avatar.config;

  // Each video's latents: the neutral ones with its category's row set to its anchor.
  const anchorOf = videoAnchors(manifest);
  const latents = new Map<string, Float32Array>();
  for (const v of manifest.videos) {
    const named = anchorOf.get(v.id);
    if (!named) {
      latents.set(v.id, Float32Array.from(avatar.neutralLatents));
      continue;
    }
    const anchor = avatar.anchors.find((a) => a.category === named.category && a.label === named.label);
    if (!anchor)
      throw new Error(
        `evaluate: the avatar has no anchor "${named.label}" in "${named.category}" for video ${v.id}; was it trained on this dataset?`,
      );
    latents.set(v.id, latentsWith(categories, avatar.neutralLatents, latentDim, named.category, anchor.latent));
  }
  const latentsOf = (id: string) => latents.get(id)!;

  const heldOutCameras = split.heldOutCameras;
  const pairs = manifest.inbetween;
  const frames = split.heldOutFrames;
  const sweepFrame = frames[frames.length >> 1]!;
  const disentangleFrames = frames.filter((_, i) => i % 3 === 0);
  const total =
    manifest.videos.length * frames.length * (1 + heldOutCameras.length) +
    pairs.reduce((n, p) => n + p.alphas.length * frames.length, 0) +
    pairs.length * (SWEEP_STEPS + 2 * disentangleFrames.length);
  let done = 0;
  const renderer = o.makeRenderer(avatar, head);
  const render = async (z: Float32Array, f: number, camera?: string, what = "") => {
    await renderer.setLatents(z);
    const m = data.motion[f]!;
    const image = await renderer.render({ expression: m.expression, pose: m.pose }, data.viewCamera(f, camera), {
      background: BACKGROUND,
    });
    o.onProgress?.(++done, total, what);
    return image.rgb;
  };
  const shape = { width: size, height: size, channels: 3 };

  try {
    // 1. Fidelity: every video's held-out frames, main camera and held-out cameras, inside the person's mask.
    const fid = {
      main: { psnr: [] as number[], ssim: [] as number[] },
      other: { psnr: [] as number[], ssim: [] as number[] },
    };
    const examples = new Set([0, Math.floor(manifest.videos.length / 3), Math.floor((2 * manifest.videos.length) / 3)]);
    const pictures: EvaluationPictures = { fidelity: [], interpolation: [] };
    for (const [vi, v] of manifest.videos.entries()) {
      const example = examples.has(vi)
        ? { label: v.label, views: [] as EvaluationPictures["fidelity"][number]["views"] }
        : null;
      for (const camera of [undefined, ...heldOutCameras]) {
        const into = camera ? fid.other : fid.main;
        for (const f of frames) {
          const got = await render(latentsOf(v.id), f, camera, "held-out frames");
          const truth = await data.rgb(v.id, f, camera),
            mask = await data.mask(v.id, f, camera);
          into.psnr.push(maskedPsnr(got, truth, 3, mask));
          into.ssim.push(maskedSsim(got, truth, shape, mask));
          if (example && f === sweepFrame)
            example.views.push({ camera: camera ?? manifest.cameras[0]!.name, truth, render: got });
        }
      }
      if (example) pictures.fidelity.push(example);
    }

    // 2. Interpolation fidelity: render(lerp(zA, zB, alpha)) against the exact in-between, inside both videos' masks.
    const interpolation = async (list: InbetweenPair[], keep: boolean): Promise<InterpolationFigures | null> => {
      if (list.length === 0) return null;
      const all: number[] = [],
        byAlpha: Record<string, number[]> = {},
        byCategory: Record<string, number[]> = {};
      for (const pair of list) {
        const picture = keep
          ? {
              category: pair.category,
              a: new Float32Array(),
              b: new Float32Array(),
              alphas: [] as EvaluationPictures["interpolation"][number]["alphas"],
            }
          : null;
        for (const alpha of pair.alphas) {
          const z = lerp(latentsOf(pair.a), latentsOf(pair.b), alpha);
          for (const f of frames) {
            const got = await render(z, f, undefined, "interpolation");
            const truth = await data.inbetween(pair, alpha, f);
            const mask = dilateMask(
              union(await data.mask(pair.a, f), await data.mask(pair.b, f)),
              size,
              REGION_DILATION,
            );
            const psnr = maskedPsnr(got, truth, 3, mask);
            all.push(psnr);
            (byAlpha[alpha.toFixed(2)] ??= []).push(psnr);
            (byCategory[pair.category] ??= []).push(psnr);
            if (picture && f === sweepFrame) picture.alphas.push({ alpha, truth, render: got });
          }
        }
        if (picture) pictures.interpolation.push(picture);
      }
      const means = (r: Record<string, number[]>) =>
        Object.fromEntries(Object.entries(r).map(([k, xs]) => [k, mean(xs)]));
      return { psnr: mean(all), byAlpha: means(byAlpha), byCategory: means(byCategory), frames: all.length };
    };
    const heldOutPairs = await interpolation(split.heldOutPairs, true);
    const trainedPairs = await interpolation(split.trainPairs, false);

    // 3 + 4. Per pair: the alpha sweep (smoothness) and A vs B outside the category's region (disentanglement).
    const smooth: AvatarEvaluation["smoothness"]["byPair"] = [];
    const leak: Record<string, number[]> = {};
    const change: Record<string, { rendered: number; truth: number }> = {};
    for (const pair of pairs) {
      const za = latentsOf(pair.a),
        zb = latentsOf(pair.b);
      const sweep: Float32Array[] = [];
      for (let s = 0; s < SWEEP_STEPS; s++)
        sweep.push(await render(lerp(za, zb, s / (SWEEP_STEPS - 1)), sweepFrame, undefined, "alpha sweeps"));
      smooth.push({ category: pair.category, a: pair.a, b: pair.b, ratio: sweepSmoothness(sweep).ratio });
      const picture = pictures.interpolation.find(
        (p) => p.category === pair.category && split.heldOutPairs.includes(pair),
      );
      if (picture) [picture.a, picture.b] = [sweep[0]!, sweep[SWEEP_STEPS - 1]!];
      const classes = CATEGORY_CLASSES[pair.category] ?? [];
      const ra: Float32Array[] = [];
      for (const f of disentangleFrames) ra.push(await render(za, f, undefined, "disentanglement"));
      for (const [i, f] of disentangleFrames.entries()) {
        const rb = await render(zb, f, undefined, "disentanglement");
        const [pa, pb, ta, tb] = [
          await data.parse(pair.a, f),
          await data.parse(pair.b, f),
          await data.rgb(pair.a, f),
          await data.rgb(pair.b, f),
        ];
        const region = Array.from(pa, (c, p) =>
          classes.includes(c) ||
          classes.includes(pb[p]!) ||
          [0, 1, 2].some((k) => Math.abs(ta[3 * p + k]! - tb[3 * p + k]!) > CHANGED)
            ? 1
            : 0,
        );
        const inside = dilateMask(region, size, REGION_DILATION);
        (leak[pair.category] ??= []).push(
          meanAbsDiff255(
            ra[i]!,
            rb,
            3,
            inside.map((v) => 1 - v),
          ),
        );
        const c = (change[pair.category] ??= { rendered: 0, truth: 0 });
        c.rendered += meanAbsDiff255(ra[i]!, rb, 3, inside);
        c.truth += meanAbsDiff255(ta, tb, 3, inside);
      }
    }
    const ratios = smooth.map((s) => s.ratio).filter((r): r is number => r !== null);
    const byCategory = Object.fromEntries(Object.entries(leak).map(([c, xs]) => [c, mean(xs)]));
    const leaks = Object.values(byCategory);
    const strength = Object.fromEntries(
      Object.entries(change)
        .filter(([, c]) => c.truth > 0)
        .map(([k, c]) => [k, c.rendered / c.truth]),
    );

    const report: AvatarEvaluation = {
      avatar: o.avatar,
      dataset: o.dataset,
      backend: renderer.backend,
      size,
      gaussians: avatar.count,
      fidelity: {
        heldOutFrames: { psnr: mean(fid.main.psnr), ssim: mean(fid.main.ssim), frames: fid.main.psnr.length },
        heldOutCamera: fid.other.psnr.length
          ? { psnr: mean(fid.other.psnr), ssim: mean(fid.other.ssim), frames: fid.other.psnr.length }
          : null,
      },
      interpolation: { heldOutPairs, trainedPairs },
      smoothness: {
        mean: ratios.length ? mean(ratios) : null,
        worst: ratios.length ? Math.max(...ratios) : null,
        byPair: smooth,
      },
      disentanglement: {
        mean: leaks.length ? mean(leaks) : null,
        worst: leaks.length ? Math.max(...leaks) : null,
        byCategory,
      },
      editStrength: { mean: Object.keys(strength).length ? mean(Object.values(strength)) : null, byCategory: strength },
      training: where.trainingLog ? (JSON.parse(fs.readFileSync(where.trainingLog, "utf8")) as TrainingLog) : null,
      seconds: (performance.now() - t0) / 1000,
    };
    return { report, pictures };
  } finally {
    renderer.destroy();
  }
}

export interface TargetCheck {
  figure: string;
  value: number | null;
  target: string;
  met: boolean | null;
}

/** The targets for the compact config (docs/evaluation.md), checked against a report and its ablation. */
export function checkTargets(r: AvatarEvaluation, baseline: AvatarEvaluation | null): TargetCheck[] {
  const at = (
    value: number | null | undefined,
    target: string,
    ok: (v: number) => boolean,
  ): Omit<TargetCheck, "figure"> => ({
    value: value ?? null,
    target,
    met: value === null || value === undefined ? null : ok(value),
  });
  const interp = r.interpolation.heldOutPairs?.psnr;
  const gain =
    interp !== undefined && baseline?.interpolation.heldOutPairs
      ? interp - baseline.interpolation.heldOutPairs.psnr
      : null;
  return [
    { figure: "held-out frames PSNR (dB)", ...at(r.fidelity.heldOutFrames.psnr, ">= 28", (v) => v >= 28) },
    { figure: "interpolation PSNR, held-out pairs (dB)", ...at(interp, ">= 24", (v) => v >= 24) },
    { figure: "interpolation gain from stage 2 (dB)", ...at(gain, ">= 1", (v) => v >= 1) },
    { figure: "smoothness (max step / median step)", ...at(r.smoothness.mean, "<= 2.0", (v) => v <= 2) },
    { figure: "disentanglement (1/255 outside region)", ...at(r.disentanglement.mean, "<= 1.0", (v) => v <= 1) },
    { figure: "training time (min)", ...at(r.training ? r.training.seconds / 60 : null, "<= 30", (v) => v <= 30) },
  ];
}

const fmt = (v: number | null | undefined, digits = 2) =>
  v === null || v === undefined || !Number.isFinite(v) ? "-" : v.toFixed(digits);

/** The report as the lines the CLI prints: the figures, then the targets. */
export function formatReport(r: AvatarEvaluation, baseline: AvatarEvaluation | null): string {
  const row = (name: string, pick: (e: AvatarEvaluation) => number | null | undefined, digits = 2) =>
    `  ${name.padEnd(44)} ${fmt(pick(r), digits).padStart(9)}${baseline ? fmt(pick(baseline), digits).padStart(12) : ""}`;
  const lines = [
    `  ${"".padEnd(44)} ${"avatar".padStart(9)}${baseline ? "no stage 2".padStart(12) : ""}`,
    row("held-out frames: PSNR (dB, masked)", (e) => e.fidelity.heldOutFrames.psnr),
    row("held-out frames: SSIM (masked)", (e) => e.fidelity.heldOutFrames.ssim, 4),
    row("held-out camera: PSNR (dB, masked)", (e) => e.fidelity.heldOutCamera?.psnr),
    row("held-out camera: SSIM (masked)", (e) => e.fidelity.heldOutCamera?.ssim, 4),
    row("interpolation, held-out pairs: PSNR (dB)", (e) => e.interpolation.heldOutPairs?.psnr),
    row("interpolation, trained pairs: PSNR (dB)", (e) => e.interpolation.trainedPairs?.psnr),
    row("smoothness: mean over pairs", (e) => e.smoothness.mean),
    row("smoothness: worst pair", (e) => e.smoothness.worst),
    row("disentanglement: mean over categories (1/255)", (e) => e.disentanglement.mean),
    row("disentanglement: worst category (1/255)", (e) => e.disentanglement.worst),
    row("edit strength (rendered / true, in region)", (e) => e.editStrength.mean),
    row("training time (min)", (e) => (e.training ? e.training.seconds / 60 : null), 1),
    row("training peak memory (MB)", (e) => e.training?.peakRssMB, 0),
    "",
    "  targets (compact config):",
    ...checkTargets(r, baseline).map(
      (t) =>
        `  ${t.met === null ? "  ?" : t.met ? " ok" : "  X"} ${t.figure.padEnd(42)} ${fmt(t.value).padStart(8)}  target ${t.target}`,
    ),
  ];
  return lines.join("\n");
}

/** Categories whose edits show best at thumbnail size come first on the sheet. */
const SHEET_CATEGORIES = ["hair", "hat", "beard", "eyewear"];
const SHEET_PAIRS = 4;

/** One image as a labelled PNG panel. */
async function panel(rgb: Float32Array, size: number, label: string, gain = 1): Promise<Buffer> {
  const px = Buffer.from(Array.from(rgb, (v) => Math.round(Math.min(1, Math.max(0, v * gain)) * 255)));
  return labelledPanel(
    await sharp(px, { raw: { width: size, height: size, channels: 3 } })
      .png()
      .toBuffer(),
    size,
    label,
  );
}

const absDiff = (a: Float32Array, b: Float32Array) => a.map((v, i) => Math.abs(v - b[i]!));

/**
 * The picture sheet: a row of held-out views (truth, render, error x4 per
 * example video), then for up to `maxPairs` held-out pairs A, truth and render at each alpha,
 * B and |A - B| x4 (where the edit changes the image); with a baseline, its
 * interpolation row follows each pair's.
 */
export async function evaluationSheet(
  size: number,
  main: EvaluationPictures,
  baseline: EvaluationPictures | null,
  maxPairs = SHEET_PAIRS,
): Promise<Buffer> {
  const rows: Buffer[][] = [];
  for (const cameraIndex of [0, 1]) {
    const items: Buffer[] = [];
    for (const ex of main.fidelity) {
      const view = ex.views[cameraIndex];
      if (!view) continue;
      items.push(
        await panel(view.truth, size, `truth ${view.camera}`),
        await panel(view.render, size, ex.label.slice(0, 18)),
        await panel(absDiff(view.render, view.truth), size, "error x4", 4),
      );
    }
    if (items.length) rows.push(items);
  }
  const rank = (c: string) => (SHEET_CATEGORIES.includes(c) ? SHEET_CATEGORIES.indexOf(c) : SHEET_CATEGORIES.length);
  const shown = [...main.interpolation.keys()]
    .sort((i, j) => rank(main.interpolation[i]!.category) - rank(main.interpolation[j]!.category))
    .slice(0, maxPairs);
  for (const k of shown) {
    const p = main.interpolation[k]!;
    for (const [which, pics] of [["", p] as const, ["no stage 2 ", baseline?.interpolation[k]] as const]) {
      if (!pics) continue;
      const items = [await panel(pics.a, size, `${which}${p.category} A`)];
      for (const a of pics.alphas)
        items.push(
          await panel(a.truth, size, `truth ${a.alpha}`),
          await panel(a.render, size, `${which}render ${a.alpha}`),
        );
      items.push(await panel(pics.b, size, `${which}B`), await panel(absDiff(pics.a, pics.b), size, "|A - B| x4", 4));
      rows.push(items);
    }
  }
  const blank = await sharp({ create: { width: size, height: size, channels: 3, background: { r: 30, g: 32, b: 36 } } })
    .png()
    .toBuffer();
  const cols = Math.max(...rows.map((r) => r.length));
  const panels = rows.flatMap((r) => [...r, ...Array.from({ length: cols - r.length }, () => blank)]);
  return contactSheet(panels, cols, size);
}
