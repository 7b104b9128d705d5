/**
 * The creation pipeline: one portrait to an editable avatar, as six stages
 * the job runner (server/jobs/) runs in order. Each stage writes under the
 * job's folder and starts by checking what is already there, so a restarted
 * job skips finished work (and training resumes from its checkpoint):
 *
 *   jobDir/analyse/   portrait.png, analysis.json, matte.png, overlay.png
 *   jobDir/fit/       fit.json, identity.json (the dataset's person), fit.png, texture.png
 *   jobDir/dataset/   the synthetic attribute dataset (docs/dataset-format.md)
 *   jobDir/train/     checkpoints, bundle/, loss-curve.png
 *   jobDir/evaluate/  identity.json (+ evaluation.json for held-out figures), identity-sheet.png
 *   DATA_DIR/avatars/<avatarId>/bundle/   the finished bundle, with the portrait's thumbnail
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import sharp from "sharp";
import type { Avatar } from "../../../render-core/avatar/avatar";
import { CpuAvatarRenderer, WebGpuAvatarRenderer, type AvatarRenderer } from "../../../render-core/avatar/avatar-renderer";
import { createHeadModel, type HeadModel } from "../../../render-core/head";
import { GpuMeshRenderer } from "../../../render-core/mesh/renderer";
import { readAvatarBundleDir, writeAvatarBundleDir } from "../../avatar/bundle-files";
import { createNodeGpu, type NodeGpu } from "../../gpu/node-device";
import { analysePortrait, analysisOverlayPng, faceDescriptor, type PortraitAnalysis } from "../analyse/analyse";
import { decodePortrait } from "../analyse/decode";
import { FACE_API_CONVENTION, estimateSourceAttributes, fitHead, fitOverlayPng, texturePng, textureFromPhoto, type HeadFit } from "../fit";
import { ALL_CATEGORIES, generateDataset, sourceAttributes, writeAtomic, type SynthOptions } from "../synthesise/dataset";
import { identitySchema, proceduralIdentity, type Identity } from "../synthesise/identity";
import { renderPortrait } from "../synthesise/portrait";
import { lossCurvePng, runTraining } from "../train/train-run";
import { TRAIN_PRESETS, type TrainConfig } from "../train/trainer";
import { evaluateAvatar } from "../evaluate/evaluate";
import { formatIdentity, identitySheet, measureIdentity, type IdentityFigures } from "../evaluate/identity";
import type { CreationInput, StageContext, StageDef } from "./stage";

/** What each quality setting makes: the dataset and the training preset. */
export interface CreationPlan {
  config: Exclude<CreationInput["config"], "auto">;
  dataset: Omit<SynthOptions, "identity">;
  train: TrainConfig;
  /** Held-out fidelity figures (needs the extra camera): off for the tiny plan. */
  evaluateHeldOut: boolean;
}

const PLANS: Record<CreationPlan["config"], CreationPlan> = {
  tiny: {
    config: "tiny",
    dataset: { perCategory: 2, frames: 4, size: 48, fps: 30, categories: ["hair", "eyewear", "hat"], inbetweenPairs: 1, alphas: [0.5], extraCameras: 0 },
    train: TRAIN_PRESETS.tiny!,
    evaluateHeldOut: false,
  },
  // The demo avatar's settings (docs/evaluation.md): about 30 minutes on a 2-core CPU.
  compact: {
    config: "compact",
    dataset: { perCategory: 6, frames: 60, size: 128, fps: 30, categories: ALL_CATEGORIES, inbetweenPairs: 2, alphas: [0.25, 0.5, 0.75], extraCameras: 1 },
    train: TRAIN_PRESETS.compact!,
    evaluateHeldOut: true,
  },
  paper: {
    config: "paper",
    dataset: { perCategory: 10, frames: 100, size: 512, fps: 30, categories: ALL_CATEGORIES, inbetweenPairs: 2, alphas: [0.25, 0.5, 0.75], extraCameras: 1 },
    train: TRAIN_PRESETS.paper!,
    evaluateHeldOut: true,
  },
};

/** "auto" is compact: training runs on the CPU twins (a chained GPU training step is not built yet). */
export function creationPlan(config: CreationInput["config"]): CreationPlan {
  return PLANS[config === "auto" ? "compact" : config];
}

const dirs = (ctx: StageContext) => ({
  analyse: path.join(ctx.jobDir, "analyse"),
  fit: path.join(ctx.jobDir, "fit"),
  dataset: path.join(ctx.jobDir, "dataset"),
  train: path.join(ctx.jobDir, "train"),
  evaluate: path.join(ctx.jobDir, "evaluate"),
  bundle: path.join(ctx.dataDir, "avatars", ctx.avatarId, "bundle"),
});

const readJson = <T>(file: string): T => JSON.parse(fs.readFileSync(file, "utf8")) as T;
const cancelled = (ctx: StageContext) => {
  if (ctx.signal.aborted) throw new Error("cancelled");
};

/** The matte as an 8-bit PNG (it is [H, W] floats in memory). */
async function mattePng(matte: Float32Array, width: number, height: number): Promise<Buffer> {
  const px = Buffer.alloc(width * height);
  for (let i = 0; i < px.length; i++) px[i] = Math.round(Math.min(1, Math.max(0, matte[i]!)) * 255);
  return sharp(px, { raw: { width, height, channels: 1 } }).png().toBuffer();
}

async function readMatte(file: string): Promise<Float32Array> {
  const { data } = await sharp(file).extractChannel(0).raw().toBuffer({ resolveWithObject: true });
  return Float32Array.from(data, (v) => v / 255);
}


type StoredAnalysis = Omit<PortraitAnalysis, "landmarks" | "descriptor" | "matte" | "mesh"> & { landmarks: number[]; descriptor: number[]; mesh: number[] | null };

// 1. The portrait, decoded and analysed again (cheap: seconds), so the job does not depend on the upload's own files.
const analyse: StageDef = {
  name: "analyse",
  label: "Analyse the portrait",
  weight: 1,
  async run(ctx) {
    const d = dirs(ctx).analyse;
    const done = path.join(d, "analysis.json");
    if (fs.existsSync(done)) return ctx.publish("overlay", "analyse/overlay.png");
    const upload = path.join(ctx.dataDir, "portraits", ctx.input.portraitId, "portrait.png");
    if (!fs.existsSync(upload)) throw new Error(`The uploaded portrait ${ctx.input.portraitId} is gone from the server (no ${path.relative(ctx.dataDir, upload)}).`);
    const image = await decodePortrait(fs.readFileSync(upload));
    ctx.progress(0.2);
    const a = await analysePortrait(image);
    ctx.log(`analyse: face at ${a.box.x.toFixed(0)},${a.box.y.toFixed(0)} (${a.box.width.toFixed(0)} px wide), inter-ocular ${a.interocularPx.toFixed(0)} px, yaw ${a.rotation.yawDeg.toFixed(0)} pitch ${a.rotation.pitchDeg.toFixed(0)} roll ${a.rotation.rollDeg.toFixed(0)} degrees`);
    writeAtomic(path.join(d, "portrait.png"), await sharp(Buffer.from(image.rgb), { raw: { width: image.width, height: image.height, channels: 3 } }).png().toBuffer());
    if (a.matte) writeAtomic(path.join(d, "matte.png"), await mattePng(a.matte, image.width, image.height));
    writeAtomic(path.join(d, "overlay.png"), await analysisOverlayPng(image, a));
    const { matte: _matte, ...rest } = a; // the matte is matte.png
    const stored: StoredAnalysis = { ...rest, landmarks: Array.from(a.landmarks), descriptor: Array.from(a.descriptor), mesh: a.mesh ? Array.from(a.mesh) : null };
    writeAtomic(done, JSON.stringify(stored));
    ctx.publish("overlay", "analyse/overlay.png");
  },
};

// 2. The head model fitted to the landmarks, the photo's colours on it, the person's own attributes.
const fit: StageDef = {
  name: "fit",
  label: "Fit the head and texture",
  weight: 1,
  async run(ctx) {
    const d = dirs(ctx);
    const identityFile = path.join(d.fit, "identity.json");
    if (fs.existsSync(identityFile)) {
      ctx.publish("fit", "fit/fit.png");
      return ctx.publish("texture", "fit/texture.png");
    }
    const head = createHeadModel();
    const a = readJson<StoredAnalysis>(path.join(d.analyse, "analysis.json"));
    const image = await decodePortrait(fs.readFileSync(path.join(d.analyse, "portrait.png")));
    const matteFile = path.join(d.analyse, "matte.png");
    const matte = fs.existsSync(matteFile) ? await readMatte(matteFile) : null;
    // face-api's 68 points sit where its training data put them, not on the model's own landmarks: the table maps them.
    const result = fitHead(head, Float32Array.from(a.landmarks), { width: image.width, height: image.height }, { convention: FACE_API_CONVENTION });
    ctx.log(`fit: landmark error ${result.landmarkErrorPx.toFixed(2)} px (${((100 * result.landmarkErrorPx) / result.interocularPx).toFixed(1)}% of the inter-ocular distance) after ${result.iterations} iterations`);
    ctx.progress(0.4);
    const texture = textureFromPhoto(head, result, image, matte);
    const own = estimateSourceAttributes(head, result, image, matte, texture);
    ctx.log(`fit: the person's own look: ${Object.entries(own.attributes).map(([k, p]) => `${k} ${Object.entries(p).map(([n, v]) => `${n}=${v.toFixed(2)}`).join(" ")}`).join("; ")}`);
    const identity: Identity = identitySchema.parse({
      kind: "portrait",
      seed: seedOf(ctx.input.portraitId),
      shape: Array.from(result.shape),
      ...own.colours,
      freckles: 0,
      albedo: Array.from(texture.albedo, (v) => Math.round(v * 1000) / 1000),
      source: own.attributes,
    });
    writeAtomic(path.join(d.fit, "fit.png"), await fitOverlayPng(image, head, result));
    writeAtomic(path.join(d.fit, "texture.png"), await texturePng(head, texture.albedo, texture.source));
    writeAtomic(path.join(d.fit, "fit.json"), JSON.stringify(storedFit(result)));
    writeAtomic(identityFile, JSON.stringify(identity));
    ctx.publish("fit", "fit/fit.png");
    ctx.publish("texture", "fit/texture.png");
  },
};

function storedFit(f: HeadFit) {
  return { shape: Array.from(f.shape), shapeStd: Array.from(f.shapeStd), expression: Array.from(f.expression), pose: Array.from(f.pose), camera: { ...f.camera, worldToCamera: Array.from(f.camera.worldToCamera) }, landmarkErrorPx: f.landmarkErrorPx, perLandmarkErrorPx: Array.from(f.perLandmarkErrorPx), interocularPx: f.interocularPx, iterations: f.iterations, rotation: f.rotation };
}

/** A stable seed per portrait, so the attribute variants of a re-run are the same. */
function seedOf(id: string): number {
  let h = 2166136261;
  for (const c of id) h = Math.imul(h ^ c.charCodeAt(0), 16777619) >>> 0;
  return h % 1_000_000_000;
}

/** WebGPU when this process has an adapter (faster on llvmpipe too), else the CPU twins. */
async function withGpu<T>(fn: (gpu: NodeGpu | null) => Promise<T>): Promise<T> {
  const gpu = await createNodeGpu({ log: { info: () => {}, warn: () => {}, error: () => {} } }).catch(() => null);
  try {
    return await fn(gpu);
  } finally {
    gpu?.destroy();
  }
}

// 3. The synthetic dataset of this person: the source video and one edit per video.
const synthesise: StageDef = {
  name: "synthesise",
  label: "Render the attribute dataset",
  weight: 3,
  async run(ctx) {
    const d = dirs(ctx);
    const plan = creationPlan(ctx.input.config);
    const sheet = path.join(d.dataset, "contact-sheet.png");
    if (fs.existsSync(sheet)) return ctx.publish("contact-sheet", "dataset/contact-sheet.png");
    const options: SynthOptions = { ...plan.dataset, identity: `portrait:${path.join(d.fit, "identity.json")}` };
    await withGpu(async (gpu) => {
      // The tiny plan's frames are too small for the GPU's set-up cost to pay.
      const renderer = gpu && plan.config !== "tiny" ? new GpuMeshRenderer(gpu.device) : null;
      ctx.log(`synthesise: ${plan.config} dataset, ${options.perCategory} videos per category x ${options.frames} frames at ${options.size} px, ${renderer ? "WebGPU" : "CPU"}`);
      let last = 0;
      try {
        const run = await generateDataset(options, {
          out: d.dataset,
          gpu: renderer,
          onProgress: (p) => {
            cancelled(ctx);
            ctx.progress(p.done / p.total, p.etaSeconds);
            if (p.done - last >= Math.max(1, Math.round(p.total / 10)) || p.done === p.total) {
              last = p.done;
              ctx.log(`synthesise: ${p.done}/${p.total} frames, ${p.framesPerSecond.toFixed(1)}/s`);
            }
          },
        });
        ctx.log(`synthesise: ${run.manifest.videos.length} videos, ${run.rendered} frames rendered in ${run.seconds.toFixed(0)} s`);
      } finally {
        renderer?.destroy();
      }
    });
    ctx.publish("contact-sheet", "dataset/contact-sheet.png");
  },
};

// 4. Training (resumes from its checkpoint after a restart).
const train: StageDef = {
  name: "train",
  label: "Train the avatar",
  weight: 12,
  async run(ctx) {
    const d = dirs(ctx);
    const plan = creationPlan(ctx.input.config);
    if (fs.existsSync(path.join(d.train, "bundle", "manifest.json"))) return ctx.publish("loss-curve", "train/loss-curve.png");
    const stop = { stop: false };
    const onAbort = () => (stop.stop = true);
    ctx.signal.addEventListener("abort", onAbort);
    let lastLog = 0;
    try {
      const result = await runTraining({
        dataset: d.dataset,
        out: d.train,
        config: plan.train,
        stage2: true,
        // A step's batches on all cores (the weights do not depend on the thread count).
        workers: os.availableParallelism(),
        signal: stop,
        onLog: (line) => ctx.log(line),
        onProgress: (p) => {
          ctx.progress(p.iteration / p.total, p.etaSeconds);
          const now = performance.now();
          if (now - lastLog > 15_000 || p.iteration === p.total) {
            lastLog = now;
            ctx.log(`train: stage ${p.stage}, iteration ${p.iteration}/${p.total}, loss ${p.loss.toFixed(4)}, PSNR ${p.psnr.toFixed(1)} dB, ${p.gaussians} Gaussians`);
          }
        },
        // A loss curve at every checkpoint, for the progress page.
        onCheckpoint: async (state) => {
          writeAtomic(path.join(d.train, "loss-curve.png"), await lossCurvePng(state, `${plan.train.name}: iteration ${state.iteration}, ${state.count} Gaussians`));
          ctx.publish("loss-curve", "train/loss-curve.png");
        },
      });
      if (!result.finished) throw new Error("cancelled");
      ctx.log(`train: ${result.log.iterations} iterations in ${(result.log.seconds / 60).toFixed(1)} min, ${result.log.gaussians} Gaussians, PSNR ${result.log.first.psnr.toFixed(1)} -> ${result.log.last.psnr.toFixed(1)} dB`);
    } finally {
      ctx.signal.removeEventListener("abort", onAbort);
    }
    ctx.publish("loss-curve", "train/loss-curve.png");
  },
};

const makeRenderer = (gpu: NodeGpu | null) => (a: Avatar, head: HeadModel): AvatarRenderer => (gpu ? new WebGpuAvatarRenderer(gpu.device, a, head) : new CpuAvatarRenderer(a, head));

// 5. Identity (the portrait's face descriptor against renders of every edit) and, for full plans, held-out fidelity.
const evaluate: StageDef = {
  name: "evaluate",
  label: "Measure identity and fidelity",
  weight: 2,
  async run(ctx) {
    const d = dirs(ctx);
    const plan = creationPlan(ctx.input.config);
    const out = path.join(d.evaluate, "identity.json");
    if (fs.existsSync(out)) return ctx.publish("identity-sheet", "evaluate/identity-sheet.png");
    const head = createHeadModel();
    const avatar = await readAvatarBundleDir(path.join(d.train, "bundle"), { headFaceCount: head.faceCount, headShapeCount: head.shapeNames.length });
    const a = readJson<StoredAnalysis>(path.join(d.analyse, "analysis.json"));
    await withGpu(async (gpu) => {
      const result = await measureIdentity({
        avatar,
        head,
        portraitDescriptor: Float32Array.from(a.descriptor),
        impostorDescriptors: () => impostorDescriptors(head),
        makeRenderer: makeRenderer(gpu),
        signal: ctx.signal,
        onProgress: (done, total) => ctx.progress((plan.evaluateHeldOut ? 0.3 : 1) * (done / total)),
      });
      ctx.log(formatIdentity(result.figures));
      const fitPictures = [
        { label: "fitted head", png: fs.readFileSync(path.join(d.fit, "fit.png")) },
        { label: "texture", png: fs.readFileSync(path.join(d.fit, "texture.png")) },
      ];
      writeAtomic(path.join(d.evaluate, "identity-sheet.png"), await identitySheet(await portraitSquare(path.join(d.analyse, "portrait.png"), a), fitPictures, result.renders));
      const fitted = readJson<{ landmarkErrorPx: number; interocularPx: number }>(path.join(d.fit, "fit.json"));
      const figures: IdentityFigures & { landmarkErrorPx: number; landmarkErrorPercent: number } = { ...result.figures, landmarkErrorPx: fitted.landmarkErrorPx, landmarkErrorPercent: (100 * fitted.landmarkErrorPx) / fitted.interocularPx };
      if (plan.evaluateHeldOut) {
        const held = await evaluateAvatar({ avatar: d.train, dataset: d.dataset, makeRenderer: makeRenderer(gpu), head, onProgress: (done, total) => ctx.progress(0.3 + 0.7 * (done / total)) });
        writeAtomic(path.join(d.evaluate, "evaluation.json"), JSON.stringify(held.report, null, 1));
        const interp = held.report.interpolation.heldOutPairs;
        ctx.log(`evaluate: held-out frames PSNR ${held.report.fidelity.heldOutFrames.psnr.toFixed(2)} dB${interp ? `, interpolation on held-out pairs ${interp.psnr.toFixed(2)} dB` : ""}`);
      }
      writeAtomic(out, JSON.stringify(figures, null, 1));
    });
    ctx.publish("identity-sheet", "evaluate/identity-sheet.png");
  },
};

/** Seeds of the other people the identity figures are compared with (procedural identities, as photographed). */
const IMPOSTOR_SEEDS = [101, 102, 103, 104, 105, 106];

/** face-api descriptors of other people's portraits, rendered here (about a second each). */
async function impostorDescriptors(head: HeadModel): Promise<Float32Array[]> {
  const out: Float32Array[] = [];
  for (const seed of IMPOSTOR_SEEDS) {
    const identity = proceduralIdentity(seed, head);
    const portrait = await renderPortrait({ head, identity, attributes: sourceAttributes(identity), size: 384 });
    const found = await faceDescriptor({ width: portrait.width, height: portrait.height, rgb: portrait.rgb });
    if (found) out.push(found.descriptor);
  }
  return out;
}

/** A square crop of the portrait around the face (for the sheets and the bundle's thumbnail). */
async function portraitSquare(file: string, a: StoredAnalysis, size = 256): Promise<Buffer> {
  const cx = a.box.x + a.box.width / 2, cy = a.box.y + a.box.height / 2;
  const half = Math.min(Math.max(a.box.width, a.box.height) * 1.1, cx, cy, a.width - cx, a.height - cy);
  const side = Math.max(16, Math.floor(2 * half));
  const left = Math.max(0, Math.min(a.width - side, Math.round(cx - side / 2))), top = Math.max(0, Math.min(a.height - side, Math.round(cy - side / 2)));
  return sharp(file).extract({ left, top, width: Math.min(side, a.width), height: Math.min(side, a.height) }).resize(size, size).png().toBuffer();
}

// 6. The bundle the editor opens, with the portrait's thumbnail; the job runner then marks the avatar ready.
const bundle: StageDef = {
  name: "bundle",
  label: "Package the avatar",
  weight: 0.5,
  async run(ctx) {
    const d = dirs(ctx);
    if (fs.existsSync(path.join(d.bundle, "manifest.json"))) return;
    const head = createHeadModel();
    const avatar = await readAvatarBundleDir(path.join(d.train, "bundle"), { headFaceCount: head.faceCount, headShapeCount: head.shapeNames.length });
    const a = readJson<StoredAnalysis>(path.join(d.analyse, "analysis.json"));
    avatar.portrait = await portraitSquare(path.join(d.analyse, "portrait.png"), a, 192);
    // Written beside and renamed, so the avatar folder never holds half a bundle.
    const tmp = `${d.bundle}.tmp-${process.pid}`;
    fs.rmSync(tmp, { recursive: true, force: true });
    await writeAvatarBundleDir(tmp, avatar, { name: `portrait ${ctx.input.portraitId}`, headFaceCount: head.faceCount });
    fs.writeFileSync(path.join(tmp, "thumbnail.png"), avatar.portrait);
    fs.mkdirSync(path.dirname(d.bundle), { recursive: true });
    fs.renameSync(tmp, d.bundle);
    ctx.log(`bundle: ${avatar.count} Gaussians, ${avatar.anchors.length} anchors, in ${path.relative(ctx.dataDir, d.bundle)}`);
  },
};

export function creationStages(): StageDef[] {
  return [analyse, fit, synthesise, train, evaluate, bundle];
}
