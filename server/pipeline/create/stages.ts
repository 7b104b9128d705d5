/**
 * The creation pipeline: one portrait to an editable avatar, as six stages
 * the job runner (server/jobs/) runs in order. Each stage writes under the
 * creation's folders (server/storage/layout.ts) and starts by checking what
 * is already there, so a restarted job skips finished work (and training
 * resumes from its checkpoint):
 *
 *   jobDir/analyse/   portrait.png, analysis.json, matte.png, overlay.png (analyse-stage.ts)
 *   jobDir/fit/       fit.json, identity.json (the dataset's person), texture-uv.png (its UV albedo), fit.png,
 *                     texture.png (a picture of the UV texture and its sources)
 *   jobDir/dataset/   the synthetic attribute dataset (docs/dataset-format.md)
 *   jobDir/train/     checkpoints, loss-curve.png, and bundle/ until the bundle stage moves it
 *   jobDir/evaluate/  identity.json (+ evaluation.json for held-out figures), identity-sheet.png
 *   DATA_DIR/avatars/<avatarId>/bundle/   the finished bundle, with the portrait's thumbnail
 *
 * The bundle is written once, by training (with the portrait in it); the
 * bundle stage adds the thumbnail and renames the folder into place.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import sharp from "sharp";
import type { Avatar } from "../../../render-core/avatar/avatar";
import {
  CpuAvatarRenderer,
  WebGpuAvatarRenderer,
  type AvatarRenderer,
} from "../../../render-core/avatar/avatar-renderer";
import { createHeadModel, type HeadModel } from "../../../render-core/head";
import { GpuMeshRenderer } from "../../../render-core/mesh/renderer";
import { readAvatarBundleDir, writeAvatarBundleDir } from "../../avatar/bundle-files";
import { createNodeGpu, type NodeGpu } from "../../gpu/node-device";
import { moveDirIntoPlace, writeFileAtomicSync } from "../../storage/atomic";
import { BUNDLE_THUMBNAIL, type CreationFolders } from "../../storage/layout";
import { faceDescriptor } from "../analyse/analyse";
import { decodePortrait } from "../analyse/decode";
import type { StoredAnalysis } from "../analyse/stored-analysis";
import {
  FACE_API_CONVENTION,
  STUDIO_SHADING,
  UvSource,
  buildUvTexture,
  estimateSourceAttributes,
  fitHead,
  fitOverlayPng,
  shPhotoShading,
  textureFromPhoto,
  uvTexturePng,
  type HeadFit,
  type PhotoShading,
} from "../fit";
import { buildHairTexture } from "../fit/hair-texture";
import { estimatePhotoLight } from "../fit/photo-light";
import { ALL_CATEGORIES, generateDataset, sourceAttributes, type SynthOptions } from "../synthesise/dataset";
import { identitySchema, proceduralIdentity, texturePngBytes, type Identity } from "../synthesise/identity";
import { renderPortrait } from "../synthesise/portrait";
import { lossCurvePng, runTraining, trainedBundleDir } from "../train/train-run";
import { TRAIN_PRESETS, type TrainConfig } from "../train/trainer";
import { evaluateAvatar } from "../evaluate/evaluate";
import { formatIdentity, identitySheet, measureIdentity, type IdentityFigures } from "../evaluate/identity";
import { runLadder } from "../likeness/ladder";
import { formatLadder, ladderFigures } from "../likeness/ladder-report";
import {
  analyseFiles,
  analyseStage,
  MODEL_ANALYSER,
  readAnalysis,
  readMatte,
  type PortraitAnalyser,
} from "./analyse-stage";
import { CREATION_PLANS, planNameOf, type CreationConfig, type PlanName } from "./configs";
import { readJson, resumableStage, throwIfCancelled } from "./resumable-stage";
import type { StageContext, StageDef } from "./stage";

/** A creation config resolved: the dataset options and the training preset its plan names (configs.ts). */
export interface CreationPlan {
  config: PlanName;
  dataset: Omit<SynthOptions, "identity">;
  train: TrainConfig;
  evaluateHeldOut: boolean;
  gpuSynthesis: boolean;
}

export function creationPlan(config: CreationConfig): CreationPlan {
  const name = planNameOf(config);
  const { trainPreset, dataset, ...rest } = CREATION_PLANS[name];
  const categories = dataset.categories === "all" ? ALL_CATEGORIES : [...dataset.categories];
  return {
    ...rest,
    config: name,
    dataset: { ...dataset, alphas: [...dataset.alphas], categories },
    train: TRAIN_PRESETS[trainPreset],
  };
}

const fitFiles = (d: CreationFolders) => ({
  overlay: path.join(d.fit, "fit.png"),
  texture: path.join(d.fit, "texture.png"),
  /** The UV albedo the identity is drawn with (identity.texture names it). */
  textureUv: path.join(d.fit, "texture-uv.png"),
  /** The person's hair as a UV texture from the photo (identity.hairTexture names it; absent when bald). */
  hairUv: path.join(d.fit, "hair-uv.png"),
  fit: path.join(d.fit, "fit.json"),
  /** The dataset's person; written last. */
  identity: path.join(d.fit, "identity.json"),
});

// 2. The head model fitted to the landmarks, the photo's colours on it, the person's own attributes.
const fit = resumableStage({
  name: "fit",
  label: "Fit the head and texture",
  weight: 1,
  done: (d) => fs.existsSync(fitFiles(d).identity),
  artifacts: (d) => [
    ["fit", fitFiles(d).overlay],
    ["texture", fitFiles(d).texture],
  ],
  async make(ctx, d) {
    const files = fitFiles(d);
    const head = createHeadModel();
    const a = readAnalysis(d);
    const image = await decodePortrait(fs.readFileSync(analyseFiles(d).portrait));
    const matte = await readMatte(d);
    // face-api's 68 points sit where its training data put them, not on the model's own landmarks: the table maps them.
    // With Human's mesh the fit is dense (fit/dense-fit.ts); the 68 points only start it.
    const result = fitHead(
      head,
      Float32Array.from(a.landmarks),
      { width: image.width, height: image.height },
      { convention: FACE_API_CONVENTION, mesh: a.mesh ? Float32Array.from(a.mesh) : null },
    );
    const percent = (px: number) => ((100 * px) / result.interocularPx).toFixed(1);
    ctx.log(
      `fit (${result.mode === "dense" ? "Human's 478 points" : "68 landmarks"}): landmark error ${result.landmarkErrorPx.toFixed(2)} px (${percent(result.landmarkErrorPx)}% of the inter-ocular distance) after ${result.iterations} iterations${result.heldOutErrorPx != null ? `; held-out mesh points ${result.heldOutErrorPx.toFixed(2)} px (${percent(result.heldOutErrorPx)}%)` : ""}`,
    );
    ctx.progress(0.4);
    // The photo's own light (the studio's when it cannot be estimated): the textures and the hair colour are de-lit
    // by it, and the dataset is rendered under it again (identity.light), so the person looks as photographed.
    let shading: PhotoShading = STUDIO_SHADING;
    let light: Identity["light"];
    try {
      const estimate = estimatePhotoLight(image, result, head, { matte });
      shading = shPhotoShading(estimate.light);
      light = { sh: Array.from(estimate.light), direction: estimate.direction };
      ctx.log(
        `fit: the photo's light peaks toward (${estimate.direction.map((v) => v.toFixed(2)).join(", ")}), ambient ratio ${estimate.ambientRatio.toFixed(2)}, from ${estimate.samples} skin samples`,
      );
    } catch (err) {
      ctx.log(`fit: the photo's light was not estimated (${(err as Error).message}); de-shading with the studio's`);
    }
    const texture = textureFromPhoto(head, result, image, matte, { shading });
    const own = estimateSourceAttributes(head, result, image, matte, texture, { shading });
    ctx.log(
      `fit: the person's own look: ${Object.entries(own.attributes)
        .map(
          ([k, p]) =>
            `${k} ${Object.entries(p)
              .map(([n, v]) => `${n}=${v.toFixed(2)}`)
              .join(" ")}`,
        )
        .join("; ")}`,
    );
    ctx.progress(0.6);
    const uv = buildUvTexture(head, result, image, {
      matte,
      faceMesh: a.mesh,
      shading,
      fallbackIris: own.colours.iris,
    });
    const share = (s: number) => ((100 * uv.source.filter((x) => x === s).length) / uv.source.length).toFixed(0);
    ctx.log(
      `fit: UV texture ${uv.width} px in ${(uv.millis / 1000).toFixed(1)} s: ${share(UvSource.photo)}% photo, ${share(UvSource.mirrored)}% mirrored, ${share(UvSource.skinFill)}% skin fill; irises ${uv.eyes.sightings.filter(Boolean).length} of 2 seen, colour from ${uv.eyes.irisSamples} texels`,
    );
    // The person's own hair, coloured from the photo's hair pixels (none when the photo shows no hair).
    const hairUv =
      own.attributes.hair.coverage > 0.01
        ? buildHairTexture(head, result, image, own.attributes.hair, {
            matte,
            shading,
            skin: texture.skinTone,
            exposure: texture.exposure,
          })
        : null;
    if (hairUv)
      ctx.log(
        `fit: hair UV texture ${hairUv.width} px in ${(hairUv.millis / 1000).toFixed(1)} s: ${(100 * hairUv.seenShare).toFixed(0)}% of the scalp from the photo, colour (${hairUv.colour.map((v) => v.toFixed(2)).join(", ")})`,
      );
    const identity: Identity = identitySchema.parse({
      kind: "portrait",
      seed: seedOf(ctx.input.portraitId),
      shape: Array.from(result.shape),
      ...own.colours,
      iris: uv.iris,
      freckles: 0,
      albedo: Array.from(texture.albedo, (v) => Math.round(v * 1000) / 1000),
      source: own.attributes,
      texture: path.basename(files.textureUv),
      ...(hairUv ? { hairTexture: path.basename(files.hairUv) } : {}),
      ...(light ? { light } : {}),
    });
    writeFileAtomicSync(files.overlay, await fitOverlayPng(image, head, result));
    writeFileAtomicSync(files.textureUv, await texturePngBytes(uv));
    if (hairUv) writeFileAtomicSync(files.hairUv, await texturePngBytes(hairUv));
    writeFileAtomicSync(files.texture, await uvTexturePng(uv));
    writeFileAtomicSync(files.fit, JSON.stringify(storedFit(result)));
    writeFileAtomicSync(files.identity, JSON.stringify(identity));
  },
});

function storedFit(f: HeadFit) {
  return {
    shape: Array.from(f.shape),
    shapeStd: Array.from(f.shapeStd),
    expression: Array.from(f.expression),
    pose: Array.from(f.pose),
    camera: { ...f.camera, worldToCamera: Array.from(f.camera.worldToCamera) },
    landmarkErrorPx: f.landmarkErrorPx,
    perLandmarkErrorPx: Array.from(f.perLandmarkErrorPx),
    interocularPx: f.interocularPx,
    iterations: f.iterations,
    rotation: f.rotation,
    mode: f.mode ?? "landmarks68",
    heldOutErrorPx: f.heldOutErrorPx ?? null,
  };
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

const contactSheetOf = (d: CreationFolders) => path.join(d.dataset, "contact-sheet.png");

// 3. The synthetic dataset of this person: the source video and one edit per video.
const synthesise = resumableStage({
  name: "synthesise",
  label: "Render the attribute dataset",
  weight: 3,
  done: (d) => fs.existsSync(contactSheetOf(d)),
  artifacts: (d) => [["contact-sheet", contactSheetOf(d)]],
  async make(ctx, d) {
    const plan = creationPlan(ctx.input.config);
    const options: SynthOptions = { ...plan.dataset, identity: `portrait:${fitFiles(d).identity}` };
    await withGpu(async (gpu) => {
      const renderer = gpu && plan.gpuSynthesis ? new GpuMeshRenderer(gpu.device) : null;
      ctx.log(
        `synthesise: ${plan.config} dataset, ${options.perCategory} videos per category x ${options.frames} frames at ${options.size} px, ${renderer ? "WebGPU" : "CPU"}`,
      );
      let last = 0;
      try {
        const run = await generateDataset(options, {
          out: d.dataset,
          gpu: renderer,
          onProgress: (p) => {
            throwIfCancelled(ctx);
            ctx.progress(p.done / p.total, p.etaSeconds);
            if (p.done - last >= Math.max(1, Math.round(p.total / 10)) || p.done === p.total) {
              last = p.done;
              ctx.log(`synthesise: ${p.done}/${p.total} frames, ${p.framesPerSecond.toFixed(1)}/s`);
            }
          },
        });
        ctx.log(
          `synthesise: ${run.manifest.videos.length} videos, ${run.rendered} frames rendered in ${run.seconds.toFixed(0)} s`,
        );
      } finally {
        renderer?.destroy();
      }
    });
  },
});

const lossCurveOf = (d: CreationFolders) => path.join(d.train, "loss-curve.png");
const hasBundle = (dir: string) => fs.existsSync(path.join(dir, "manifest.json"));
/** The bundle's name in its manifest. */
const bundleName = (ctx: StageContext) => `portrait ${ctx.input.portraitId}`;

// 4. Training (resumes from its checkpoint after a restart); its bundle carries the portrait, so it is written once.
const train = resumableStage({
  name: "train",
  label: "Train the avatar",
  weight: 12,
  // The trained bundle, or, once the bundle stage has moved it, the avatar's.
  done: (d) => hasBundle(trainedBundleDir(d.train)) || hasBundle(d.bundle),
  artifacts: (d) => [["loss-curve", lossCurveOf(d)]],
  async make(ctx, d) {
    const plan = creationPlan(ctx.input.config);
    const portrait = await portraitSquare(analyseFiles(d).portrait, readAnalysis(d), 192);
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
        bundle: { name: bundleName(ctx), portrait },
        // A step's batches on all cores (the weights do not depend on the thread count).
        workers: os.availableParallelism(),
        signal: stop,
        onLog: (line) => ctx.log(line),
        onProgress: (p) => {
          ctx.progress(p.iteration / p.total, p.etaSeconds);
          const now = performance.now();
          if (now - lastLog > 15_000 || p.iteration === p.total) {
            lastLog = now;
            ctx.log(
              `train: stage ${p.stage}, iteration ${p.iteration}/${p.total}, loss ${p.loss.toFixed(4)}, PSNR ${p.psnr.toFixed(1)} dB, ${p.gaussians} Gaussians`,
            );
          }
        },
        // A loss curve at every checkpoint, for the progress page.
        onCheckpoint: async (state) => {
          writeFileAtomicSync(
            lossCurveOf(d),
            await lossCurvePng(state, `${plan.train.name}: iteration ${state.iteration}, ${state.count} Gaussians`),
          );
          ctx.publish("loss-curve", path.relative(ctx.jobDir, lossCurveOf(d)));
        },
      });
      if (!result.finished) throw new Error("cancelled");
      ctx.log(
        `train: ${result.log.iterations} iterations in ${(result.log.seconds / 60).toFixed(1)} min, ${result.log.gaussians} Gaussians, PSNR ${result.log.first.psnr.toFixed(1)} -> ${result.log.last.psnr.toFixed(1)} dB`,
      );
    } finally {
      ctx.signal.removeEventListener("abort", onAbort);
    }
  },
});

const makeRenderer =
  (gpu: NodeGpu | null) =>
  (a: Avatar, head: HeadModel): AvatarRenderer =>
    gpu ? new WebGpuAvatarRenderer(gpu.device, a, head) : new CpuAvatarRenderer(a, head);

const evaluateFiles = (d: CreationFolders) => ({
  sheet: path.join(d.evaluate, "identity-sheet.png"),
  heldOut: path.join(d.evaluate, "evaluation.json"),
  /** The identity figures; written last. */
  identity: path.join(d.evaluate, "identity.json"),
});

// 5. Identity (the portrait's face descriptor against renders of every edit) and, for full plans, held-out fidelity.
const evaluate = resumableStage({
  name: "evaluate",
  label: "Measure identity and fidelity",
  weight: 2,
  done: (d) => fs.existsSync(evaluateFiles(d).identity),
  artifacts: (d) => [["identity-sheet", evaluateFiles(d).sheet]],
  async make(ctx, d) {
    const files = evaluateFiles(d);
    const plan = creationPlan(ctx.input.config);
    const head = createHeadModel();
    const avatar = await readAvatarBundleDir(trainedBundleDir(d.train), {
      headFaceCount: head.faceCount,
      headShapeCount: head.shapeNames.length,
    });
    const a = readAnalysis(d);
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
        { label: "fitted head", png: fs.readFileSync(fitFiles(d).overlay) },
        { label: "texture", png: fs.readFileSync(fitFiles(d).texture) },
      ];
      writeFileAtomicSync(
        files.sheet,
        await identitySheet(await portraitSquare(analyseFiles(d).portrait, a), fitPictures, result.renders),
      );
      const fitted = readJson<{ landmarkErrorPx: number; interocularPx: number }>(fitFiles(d).fit);
      const figures: IdentityFigures & {
        landmarkErrorPx: number;
        landmarkErrorPercent: number;
        likeness?: ReturnType<typeof ladderFigures>;
      } = {
        ...result.figures,
        landmarkErrorPx: fitted.landmarkErrorPx,
        landmarkErrorPercent: (100 * fitted.landmarkErrorPx) / fitted.interocularPx,
      };
      // The likeness ladder's L1 and L3, both recognisers (docs/likeness.md); a failure leaves the rest as it is.
      try {
        const ladder = await runLadder({
          portrait: analyseFiles(d).portrait,
          creation: ctx.jobDir,
          rungs: ["L1", "L3"],
          makeRenderer: makeRenderer(gpu),
          head,
          signal: ctx.signal,
        });
        figures.likeness = ladderFigures(ladder.report);
        ctx.log(formatLadder(ladder.report));
      } catch (err) {
        if (ctx.signal.aborted) throw err;
        ctx.log(`evaluate: the likeness ladder failed: ${(err as Error).message}`);
      }
      if (plan.evaluateHeldOut) {
        const held = await evaluateAvatar({
          avatar: d.train,
          dataset: d.dataset,
          makeRenderer: makeRenderer(gpu),
          head,
          onProgress: (done, total) => ctx.progress(0.3 + 0.7 * (done / total)),
        });
        writeFileAtomicSync(files.heldOut, JSON.stringify(held.report, null, 1));
        const interp = held.report.interpolation.heldOutPairs;
        ctx.log(
          `evaluate: held-out frames PSNR ${held.report.fidelity.heldOutFrames.psnr.toFixed(2)} dB${interp ? `, interpolation on held-out pairs ${interp.psnr.toFixed(2)} dB` : ""}`,
        );
      }
      writeFileAtomicSync(files.identity, JSON.stringify(figures, null, 1));
    });
  },
});

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
  const cx = a.box.x + a.box.width / 2,
    cy = a.box.y + a.box.height / 2;
  const half = Math.min(Math.max(a.box.width, a.box.height) * 1.1, cx, cy, a.width - cx, a.height - cy);
  const side = Math.max(16, Math.floor(2 * half));
  const left = Math.max(0, Math.min(a.width - side, Math.round(cx - side / 2))),
    top = Math.max(0, Math.min(a.height - side, Math.round(cy - side / 2)));
  return sharp(file)
    .extract({ left, top, width: Math.min(side, a.width), height: Math.min(side, a.height) })
    .resize(size, size)
    .png()
    .toBuffer();
}

// 6. The trained bundle, with the portrait's thumbnail beside it, renamed into the avatar's folder (so it never
// holds half a bundle); the job runner then marks the avatar ready.
const bundle = resumableStage({
  name: "bundle",
  label: "Package the avatar",
  weight: 0.5,
  done: (d) => hasBundle(d.bundle),
  async make(ctx, d) {
    const trained = trainedBundleDir(d.train);
    const head = createHeadModel();
    const avatar = await readAvatarBundleDir(trained, {
      headFaceCount: head.faceCount,
      headShapeCount: head.shapeNames.length,
    });
    if (!avatar.portrait) {
      // Trained by a server from before training carried the portrait: add it now.
      avatar.portrait = await portraitSquare(analyseFiles(d).portrait, readAnalysis(d), 192);
      await writeAvatarBundleDir(trained, avatar, { name: bundleName(ctx), headFaceCount: head.faceCount });
    }
    writeFileAtomicSync(path.join(trained, BUNDLE_THUMBNAIL), avatar.portrait);
    await moveDirIntoPlace(trained, d.bundle);
    ctx.log(
      `bundle: ${avatar.count} Gaussians, ${avatar.anchors.length} anchors, in ${path.relative(ctx.dataDir, d.bundle)}`,
    );
  },
});

export interface CreationStagesOptions {
  /** What analyses the portrait. Default: the pretrained models (analyse/). */
  analyser?: PortraitAnalyser;
}

export function creationStages(options: CreationStagesOptions = {}): StageDef[] {
  return [analyseStage(options.analyser ?? MODEL_ANALYSER), fit, synthesise, train, evaluate, bundle];
}
