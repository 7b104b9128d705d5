/**
 * The synthetic attribute dataset (docs/dataset-format.md): one identity,
 * one driving motion, a "source" video of the person and, per category,
 * videos that differ from it in that category only; exact in-between frames
 * for pairs of videos of a category. Planned first (manifest.json, fully
 * determined by the options), then rendered frame by frame. Every file is
 * written under a temporary name and renamed, so a killed run never leaves
 * half a frame, and a rerun skips every frame already on disk.
 */
import fs from "node:fs";
import path from "node:path";
import sharp from "sharp";
import type { Camera } from "../../../render-core/math/camera";
import { orbitCamera } from "../../../render-core/math/camera";
import { mulberry32 } from "../../../render-core/math/prng";
import { createHeadModel, type HeadModel } from "../../../render-core/head";
import { renderMeshCpu } from "../../../render-core/mesh/render.cpu";
import type { GpuMeshRenderer } from "../../../render-core/mesh/renderer";
import type { MeshFrame } from "../../../render-core/mesh/scene";
import { CATEGORIES, categoryByName, checkParams, lerpParams, type Params } from "./attributes";
import {
  identityColours,
  identityLights,
  identitySchema,
  loadIdentityTexture,
  proceduralIdentity,
  type Identity,
} from "./identity";
import { drivingMotion } from "./motion";
import { buildScene, regionFaces, type FramePose } from "./scene";
import { contactSheet, labelledPanel } from "../../images/png";
import { writeFileAtomicSync } from "../../storage/atomic";

export const DATASET_FORMAT = "perse-synthetic-dataset";
export const BACKGROUND: [number, number, number] = [0.16, 0.17, 0.2];

export interface SynthOptions {
  /** "seed:N" (a procedural identity) or "portrait:FILE" (an identity.json from the portrait pipeline). */
  identity: string;
  perCategory: number;
  frames: number;
  size: number;
  fps: number;
  categories: string[];
  /** Pairs of videos per category that get in-between frames. */
  inbetweenPairs: number;
  alphas: number[];
  /** Extra held-out cameras (evaluation), besides the main one. */
  extraCameras: number;
  /**
   * Cameras that take turns seeing the videos' frames (1 = the main camera only): the main camera and
   * K - 1 orbit cameras at the corners of VIEW_ORBIT, so the person is seen from more sides than the
   * driving motion's head turn alone shows. Frame f of every video is seen by the same camera.
   */
  viewCameras?: number;
}

/** The orbit cameras' yaw and pitch (degrees): with the motion's +-30 degree head turn, views reach +-50 yaw, +-22 pitch. */
export const VIEW_ORBIT = { yawDeg: 20, pitchDeg: 10 } as const;

/** Which of K view cameras sees frame f: a rotation that also moves every HELD_OUT_EVERY-th frame round the cameras. */
export function viewCameraIndex(f: number, k: number): number {
  return (f + Math.floor(f / k)) % k;
}

export interface DatasetVideo {
  id: string;
  category: string;
  label: string;
  /** Parameters of every category present in this video. */
  attributes: Record<string, Params>;
}

export interface DatasetManifest {
  format: typeof DATASET_FORMAT;
  version: 1;
  generator: "graphics-v1";
  options: SynthOptions;
  identity: Identity;
  categories: string[];
  cameras: Array<{ name: string; camera: Omit<Camera, "worldToCamera"> & { worldToCamera: number[] } }>;
  /** Per frame, the camera that sees the videos' frame (absent: the first camera for every frame). */
  frameCameras?: string[];
  motion: { fps: number; frames: number };
  videos: DatasetVideo[];
  inbetween: Array<{ a: string; b: string; category: string; alphas: number[]; dir: string }>;
}

const slug = (s: string) =>
  s
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-|-$/g, "")
    .slice(0, 40) || "video";
const pad = (n: number) => String(n).padStart(4, "0");

/** "seed:N" (a procedural person) or "portrait:FILE" (an identity.json written by the portrait pipeline's fit stage). */
export function parseIdentity(spec: string, head: HeadModel): Identity {
  const m = /^seed:(\d{1,9})$/.exec(spec);
  if (m) return proceduralIdentity(Number(m[1]), head);
  if (spec.startsWith("portrait:")) return readPortraitIdentity(spec.slice("portrait:".length), head);
  throw new Error(
    `synthesise: --identity must be seed:N (a procedural person) or portrait:FILE (an identity.json from the portrait pipeline), got "${spec}"`,
  );
}

export function readPortraitIdentity(file: string, head: HeadModel): Identity {
  let json: unknown;
  try {
    json = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (err) {
    throw new Error(
      `synthesise: cannot read the identity ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
    );
  }
  const parsed = identitySchema.safeParse(json);
  if (!parsed.success)
    throw new Error(
      `synthesise: ${file} is not an identity: ${parsed.error.issues[0]?.path.join(".")} ${parsed.error.issues[0]?.message}`,
    );
  const identity = parsed.data;
  if (identity.shape.length !== head.shapeNames.length)
    throw new Error(
      `synthesise: ${file} has ${identity.shape.length} shape coefficients, the head model ${head.shapeNames.length}`,
    );
  if (identity.albedo && identity.albedo.length !== head.vertexCount * 3)
    throw new Error(
      `synthesise: ${file}'s albedo has ${identity.albedo.length / 3} vertices, the head model ${head.vertexCount}`,
    );
  for (const [name, p] of Object.entries(identity.source ?? {})) checkParams(categoryByName(name), p);
  return identity;
}

/** The person's own look: a portrait identity's estimated attributes, else a hair style and brows drawn from the seed. */
export function sourceAttributes(identity: Identity): Record<string, Params> {
  if (identity.source)
    return Object.fromEntries(
      Object.entries(identity.source).map(([name, p]) => [name, checkParams(categoryByName(name), p)]),
    );
  const rand = mulberry32(identity.seed * 13 + 5);
  return {
    hair: categoryByName("hair").variant(rand).params,
    eyebrows: categoryByName("eyebrows").variant(rand).params,
  };
}

export function planDataset(options: SynthOptions, head: HeadModel): DatasetManifest {
  const identity = parseIdentity(options.identity, head);
  const source = sourceAttributes(identity);
  const videos: DatasetVideo[] = [
    { id: `${pad(0)}_source_the-person`, category: "source", label: "the person", attributes: source },
  ];
  const inbetween: DatasetManifest["inbetween"] = [];
  for (const name of options.categories) {
    const c = categoryByName(name);
    const rand = mulberry32(identity.seed * 101 + name.length * 7 + name.charCodeAt(0));
    const ids: string[] = [];
    for (let k = 0; k < options.perCategory; k++) {
      // Hair's first variant is none at all (the person shaved), so "on/off" is in the data too.
      const v = k === 0 && name === "hair" ? { label: "bald", params: c.none } : c.variant(rand, k);
      const id = `${pad(videos.length)}_${name}_${slug(v.label)}`;
      videos.push({ id, category: name, label: v.label, attributes: { ...source, [name]: v.params } });
      ids.push(id);
    }
    for (let p = 0; p < Math.min(options.inbetweenPairs, Math.floor(ids.length / 2)); p++) {
      const a = ids[2 * p]!,
        b = ids[2 * p + 1]!;
      inbetween.push({ a, b, category: name, alphas: options.alphas, dir: `inbetween/${a}__${b}` });
    }
  }
  const views = options.viewCameras ?? 1;
  if (!Number.isInteger(views) || views < 1 || views > 5)
    throw new Error(`synthesise: viewCameras must be a whole number from 1 to 5, got ${views}`);
  const corners = [
    [1, 1],
    [-1, 1],
    [1, -1],
    [-1, -1],
  ] as const;
  const cameras = [
    { name: "main", yaw: 0, pitch: 0 },
    ...corners.slice(0, views - 1).map(([sy, sp], k) => ({
      name: `view-${k + 1}`,
      yaw: sy * VIEW_ORBIT.yawDeg,
      pitch: sp * VIEW_ORBIT.pitchDeg,
    })),
    ...Array.from({ length: options.extraCameras }, (_, k) => ({
      name: `held-out-${k + 1}`,
      yaw: k % 2 ? -35 : 35,
      pitch: 10,
    })),
  ].map(({ name, yaw, pitch }) => {
    const cam = orbitCamera({
      width: options.size,
      height: options.size,
      yawDeg: yaw,
      pitchDeg: pitch,
      distance: 0.62,
      target: [0, 0.0, 0],
    });
    return { name, camera: { ...cam, worldToCamera: Array.from(cam.worldToCamera) } };
  });
  const frameCameras =
    views > 1 ? Array.from({ length: options.frames }, (_, f) => cameras[viewCameraIndex(f, views)]!.name) : undefined;
  return {
    format: DATASET_FORMAT,
    version: 1,
    generator: "graphics-v1",
    options,
    identity,
    categories: options.categories,
    cameras,
    ...(frameCameras ? { frameCameras } : {}),
    motion: { fps: options.fps, frames: options.frames },
    videos,
    inbetween,
  };
}

export interface SynthProgress {
  done: number;
  total: number;
  skipped: number;
  framesPerSecond: number;
  etaSeconds: number;
}

export interface SynthRun {
  manifest: DatasetManifest;
  rendered: number;
  skipped: number;
  seconds: number;
  contactSheet: string;
}

async function png(frame: MeshFrame, what: "rgb" | "mask" | "parse"): Promise<Buffer> {
  const { width, height } = frame;
  if (what === "rgb") {
    const px = Buffer.alloc(width * height * 3);
    for (let i = 0; i < px.length; i++) px[i] = Math.round(Math.min(1, Math.max(0, frame.rgb[i]!)) * 255);
    return sharp(px, { raw: { width, height, channels: 3 } })
      .png()
      .toBuffer();
  }
  const px = Buffer.alloc(width * height);
  for (let i = 0; i < px.length; i++)
    px[i] = what === "mask" ? Math.round(Math.min(1, Math.max(0, frame.mask[i]!)) * 255) : frame.parse[i]!;
  return sharp(px, { raw: { width, height, channels: 1 } })
    .png()
    .toBuffer();
}

/** Index into manifest.cameras of the camera that sees frame f of every video (and of the in-betweens). */
export function frameCameraIndex(manifest: Pick<DatasetManifest, "cameras" | "frameCameras">, f: number): number {
  const name = manifest.frameCameras?.[f];
  if (name === undefined) return 0;
  const k = manifest.cameras.findIndex((c) => c.name === name);
  if (k < 0) throw new Error(`dataset: frame ${f}'s camera "${name}" is not in the manifest's cameras`);
  return k;
}

/** The cameras no training frame is seen from: every camera but the first and the view cameras (held out for evaluation). */
export function heldOutCameraIndices(manifest: Pick<DatasetManifest, "cameras" | "frameCameras">): number[] {
  const used = new Set(manifest.frameCameras ?? []);
  return manifest.cameras.flatMap((c, k) => (k === 0 || used.has(c.name) ? [] : [k]));
}

function cameraOf(entry: DatasetManifest["cameras"][number]): Camera {
  return { ...entry.camera, worldToCamera: Float32Array.from(entry.camera.worldToCamera) };
}

export interface GenerateOptions {
  out: string;
  /** GPU mesh renderer to use; null renders with the CPU twin. */
  gpu: GpuMeshRenderer | null;
  onProgress?: (p: SynthProgress) => void;
  head?: HeadModel;
}

export async function generateDataset(options: SynthOptions, run: GenerateOptions): Promise<SynthRun> {
  const head = run.head ?? createHeadModel();
  const manifest = planDataset(options, head);
  const out = path.resolve(run.out);
  try {
    fs.mkdirSync(out, { recursive: true });
    fs.accessSync(out, fs.constants.W_OK);
  } catch (err) {
    throw new Error(
      `synthesise: cannot write to ${run.out} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
    );
  }
  const manifestFile = path.join(out, "manifest.json");
  const manifestText = JSON.stringify(manifest, null, 1);
  if (fs.existsSync(manifestFile)) {
    const old = fs.readFileSync(manifestFile, "utf8");
    if (old !== manifestText)
      throw new Error(
        `synthesise: ${run.out} holds a different dataset (other options or generator); pick a new --out, or delete it to start over`,
      );
  } else writeFileAtomicSync(manifestFile, manifestText);

  const base = identityColours(manifest.identity, head);
  // A portrait identity's UV texture sits beside its identity.json.
  const texture = options.identity.startsWith("portrait:")
    ? await loadIdentityTexture(manifest.identity, options.identity.slice("portrait:".length))
    : null;
  const hairTexture = options.identity.startsWith("portrait:")
    ? await loadIdentityTexture(manifest.identity, options.identity.slice("portrait:".length), "hairTexture")
    : null;
  const regions = regionFaces(head);
  const lights = identityLights(manifest.identity);
  const motion: FramePose[] = drivingMotion(options.frames, options.fps);
  const cameras = manifest.cameras.map(cameraOf);
  const render = (attributes: Record<string, Params>, f: number, camera: Camera): Promise<MeshFrame> | MeshFrame => {
    const draws = buildScene({
      head,
      identity: manifest.identity,
      baseColours: base,
      regions,
      attributes,
      frame: motion[f]!,
      texture,
      hairTexture,
    });
    return run.gpu
      ? run.gpu.render(draws, camera, { background: BACKGROUND, lights })
      : renderMeshCpu(draws, camera, { background: BACKGROUND, lights });
  };

  // Every unit of work: a video frame (its view camera and the held-out cameras, three outputs) or an in-between
  // frame (its view camera, RGB).
  const frameCamera = (f: number) => cameras[frameCameraIndex(manifest, f)]!;
  const heldOut = heldOutCameraIndices(manifest);
  type Job = { files: string[]; make: () => Promise<void> };
  const jobs: Job[] = [];
  for (const video of manifest.videos) {
    const dir = path.join(out, "videos", video.id);
    const views = [
      { camera: frameCamera, root: dir },
      ...heldOut.map((k) => ({ camera: () => cameras[k]!, root: path.join(dir, "views", manifest.cameras[k]!.name) })),
    ];
    for (const v of views)
      for (const what of ["rgb", "mask", "parse"]) fs.mkdirSync(path.join(v.root, what), { recursive: true });
    const paramsFile = path.join(dir, "params.json");
    if (!fs.existsSync(paramsFile)) {
      writeFileAtomicSync(
        paramsFile,
        JSON.stringify({
          video: video.id,
          category: video.category,
          label: video.label,
          attributes: video.attributes,
          fps: options.fps,
          shape: manifest.identity.shape,
          cameras: manifest.cameras.map((c) => c.name),
          ...(manifest.frameCameras ? { frameCameras: manifest.frameCameras } : {}),
          frames: motion,
        }),
      );
    }
    for (let f = 0; f < options.frames; f++) {
      const files = views.flatMap((v) => ["rgb", "mask", "parse"].map((w) => path.join(v.root, w, `${pad(f)}.png`)));
      jobs.push({
        files,
        make: async () => {
          for (const v of views) {
            const frame = await render(video.attributes, f, v.camera(f));
            for (const w of ["rgb", "mask", "parse"] as const)
              writeFileAtomicSync(path.join(v.root, w, `${pad(f)}.png`), await png(frame, w));
          }
        },
      });
    }
  }
  for (const pair of manifest.inbetween) {
    const a = manifest.videos.find((v) => v.id === pair.a)!,
      b = manifest.videos.find((v) => v.id === pair.b)!;
    for (const alpha of pair.alphas) {
      const dir = path.join(out, pair.dir, alpha.toFixed(2));
      fs.mkdirSync(dir, { recursive: true });
      const attributes = {
        ...a.attributes,
        [pair.category]: lerpParams(a.attributes[pair.category]!, b.attributes[pair.category]!, alpha),
      };
      for (let f = 0; f < options.frames; f++) {
        const file = path.join(dir, `${pad(f)}.png`);
        jobs.push({
          files: [file],
          make: async () => writeFileAtomicSync(file, await png(await render(attributes, f, frameCamera(f)), "rgb")),
        });
      }
    }
  }

  const t0 = performance.now();
  let done = 0,
    skipped = 0,
    rendered = 0;
  for (const job of jobs) {
    if (job.files.every((f) => fs.existsSync(f))) skipped++;
    else {
      await job.make();
      rendered++;
    }
    done++;
    if (run.onProgress && (done % 5 === 0 || done === jobs.length)) {
      const seconds = (performance.now() - t0) / 1000;
      const fps = rendered / Math.max(seconds, 1e-3);
      run.onProgress({
        done,
        total: jobs.length,
        skipped,
        framesPerSecond: fps,
        etaSeconds: fps > 0 ? (jobs.length - done) / fps : 0,
      });
    }
  }
  const sheet = path.join(out, "contact-sheet.png");
  writeFileAtomicSync(sheet, await datasetContactSheet(out, manifest));
  return { manifest, rendered, skipped, seconds: (performance.now() - t0) / 1000, contactSheet: sheet };
}

/** One row per video, six frames each (the same frames in every row), labelled. */
export async function datasetContactSheet(
  out: string,
  manifest: DatasetManifest,
  columns = 6,
  size = 112,
): Promise<Buffer> {
  const F = manifest.motion.frames;
  const picks = Array.from({ length: Math.min(columns, F) }, (_, k) =>
    Math.round((k * (F - 1)) / Math.max(1, Math.min(columns, F) - 1)),
  );
  const panels: Buffer[] = [];
  for (const video of manifest.videos) {
    for (const [k, f] of picks.entries()) {
      const file = path.join(out, "videos", video.id, "rgb", `${pad(f)}.png`);
      panels.push(await labelledPanel(fs.readFileSync(file), size, k === 0 ? `${video.category}: ${video.label}` : ""));
    }
  }
  return contactSheet(panels, picks.length, size);
}

export const ALL_CATEGORIES = CATEGORIES.map((c) => c.name);
