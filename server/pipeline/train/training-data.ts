/**
 * A synthetic attribute dataset (docs/dataset-format.md) as training and
 * evaluation read it: the manifest validated, the split of docs/evaluation.md,
 * and frames decoded to float RGB (optionally resized to the training size).
 *
 * Split: every 5th frame (f % 5 === 4) is held out of training; all frames of
 * the extra cameras are held out (the view cameras that take turns seeing the
 * videos' frames are trained on); per category the LAST in-between pair is held
 * out (its in-betweens are never trained on), the others feed stage 2. With one
 * pair per category, that pair is held out and stage 2 has nothing there.
 */
import fs from "node:fs";
import path from "node:path";
import sharp from "sharp";
import type { Camera } from "../../../render-core/math/camera";
import { DATASET_FORMAT, frameCameraIndex, heldOutCameraIndices, type DatasetManifest } from "../synthesise/dataset";

export const HELD_OUT_EVERY = 5;

export type InbetweenPair = DatasetManifest["inbetween"][number];

export interface DatasetSplit {
  trainFrames: number[];
  heldOutFrames: number[];
  /** Camera names whose frames are all held out (every camera but the first and the view cameras). */
  heldOutCameras: string[];
  trainPairs: InbetweenPair[];
  heldOutPairs: InbetweenPair[];
}

export function splitDataset(manifest: DatasetManifest): DatasetSplit {
  const frames = Array.from({ length: manifest.motion.frames }, (_, f) => f);
  const lastPair = new Map<string, InbetweenPair>();
  for (const p of manifest.inbetween) lastPair.set(p.category, p);
  return {
    trainFrames: frames.filter((f) => f % HELD_OUT_EVERY !== HELD_OUT_EVERY - 1),
    heldOutFrames: frames.filter((f) => f % HELD_OUT_EVERY === HELD_OUT_EVERY - 1),
    heldOutCameras: heldOutCameraIndices(manifest).map((k) => manifest.cameras[k]!.name),
    trainPairs: manifest.inbetween.filter((p) => lastPair.get(p.category) !== p),
    heldOutPairs: [...lastPair.values()],
  };
}

export interface FramePoseRecord {
  expression: number[];
  pose: number[];
}

const pad = (n: number) => String(n).padStart(4, "0");

/** A dataset folder opened for reading; images come back as [H, W, C] floats in [0, 1] at `size`. */
export class TrainingData {
  readonly manifest: DatasetManifest;
  readonly split: DatasetSplit;
  readonly motion: FramePoseRecord[];
  readonly size: number;

  private constructor(
    readonly dir: string,
    manifest: DatasetManifest,
    motion: FramePoseRecord[],
    size: number,
  ) {
    this.manifest = manifest;
    this.split = splitDataset(manifest);
    this.motion = motion;
    this.size = size;
  }

  /** Opens `dir`; `size` (default: the dataset's) is the square size images are resized to. */
  static open(dir: string, size?: number): TrainingData {
    const file = path.join(dir, "manifest.json");
    if (!fs.existsSync(file)) throw new Error(`dataset: no manifest.json in ${dir} (make one with npm run synth)`);
    let manifest: DatasetManifest;
    try {
      manifest = JSON.parse(fs.readFileSync(file, "utf8")) as DatasetManifest;
    } catch (err) {
      throw new Error(`dataset: ${file} is not JSON (${(err as Error).message})`);
    }
    if (manifest.format !== DATASET_FORMAT || manifest.version !== 1)
      throw new Error(`dataset: ${file} is not a ${DATASET_FORMAT} v1 manifest`);
    if (!Array.isArray(manifest.videos) || manifest.videos.length === 0)
      throw new Error(`dataset: ${file} lists no videos`);
    const first = manifest.videos[0]!;
    const params = JSON.parse(fs.readFileSync(path.join(dir, "videos", first.id, "params.json"), "utf8")) as {
      frames: FramePoseRecord[];
    };
    if (params.frames.length !== manifest.motion.frames)
      throw new Error(
        `dataset: ${first.id}/params.json has ${params.frames.length} frames, the manifest says ${manifest.motion.frames}`,
      );
    const native = manifest.options.size;
    const s = size ?? native;
    if (!Number.isInteger(s) || s < 8 || s > native)
      throw new Error(`dataset: size must be an integer in [8, ${native}], got ${s}`);
    return new TrainingData(dir, manifest, params.frames, s);
  }

  /** The dataset camera by name, scaled to the read size. */
  camera(name = this.manifest.cameras[0]!.name): Camera {
    const entry = this.manifest.cameras.find((c) => c.name === name);
    if (!entry) throw new Error(`dataset: no camera "${name}"`);
    const k = this.size / entry.camera.width;
    const c = entry.camera;
    return {
      ...c,
      width: this.size,
      height: this.size,
      fx: c.fx * k,
      fy: c.fy * k,
      cx: c.cx * k,
      cy: c.cy * k,
      worldToCamera: Float32Array.from(c.worldToCamera),
    };
  }

  /** The camera that sees frame f: a held-out camera by name, else the view camera of that frame. */
  viewCamera(f: number, heldOutName?: string): Camera {
    return this.camera(heldOutName ?? this.manifest.cameras[frameCameraIndex(this.manifest, f)]!.name);
  }

  private viewDir(videoId: string, cameraName?: string): string {
    const root = path.join(this.dir, "videos", videoId);
    return !cameraName || cameraName === this.manifest.cameras[0]!.name ? root : path.join(root, "views", cameraName);
  }

  private async decode(file: string, channels: 1 | 3): Promise<Float32Array> {
    const img = sharp(file).removeAlpha();
    const raw = await (
      this.size === this.manifest.options.size ? img : img.resize(this.size, this.size, { kernel: "lanczos3" })
    )
      .toColourspace(channels === 1 ? "b-w" : "srgb")
      .raw()
      .toBuffer({ resolveWithObject: true });
    if (raw.info.channels !== channels)
      throw new Error(`dataset: ${file} decoded to ${raw.info.channels} channels, expected ${channels}`);
    return Float32Array.from(raw.data, (v) => v / 255);
  }

  rgb(videoId: string, frame: number, cameraName?: string): Promise<Float32Array> {
    return this.decode(path.join(this.viewDir(videoId, cameraName), "rgb", `${pad(frame)}.png`), 3);
  }

  mask(videoId: string, frame: number, cameraName?: string): Promise<Float32Array> {
    return this.decode(path.join(this.viewDir(videoId, cameraName), "mask", `${pad(frame)}.png`), 1);
  }

  /** Parsing classes per pixel (nearest-neighbour when resized, so classes stay whole). */
  async parse(videoId: string, frame: number, cameraName?: string): Promise<Uint8Array> {
    const file = path.join(this.viewDir(videoId, cameraName), "parse", `${pad(frame)}.png`);
    const img = sharp(file).removeAlpha().toColourspace("b-w");
    const raw = await (
      this.size === this.manifest.options.size ? img : img.resize(this.size, this.size, { kernel: "nearest" })
    )
      .raw()
      .toBuffer();
    return new Uint8Array(raw);
  }

  inbetween(pair: InbetweenPair, alpha: number, frame: number): Promise<Float32Array> {
    return this.decode(path.join(this.dir, pair.dir, alpha.toFixed(2), `${pad(frame)}.png`), 3);
  }
}

/** Parsing classes (docs/dataset-format.md) that show each attribute category. */
export const CATEGORY_CLASSES: Record<string, number[]> = {
  skin: [1, 2, 7, 8, 12],
  lips: [10, 11],
  eyebrows: [5, 6],
  hair: [13],
  beard: [14],
  eyewear: [16],
  hat: [17],
  earrings: [18],
};

/**
 * The anchor each training video becomes in the exported bundle: its category and
 * its label, made unique within the category ("long curly", "long curly 2").
 * The source video has none: it is the avatar's neutral latents.
 */
export function videoAnchors(manifest: DatasetManifest): Map<string, { category: string; label: string }> {
  const out = new Map<string, { category: string; label: string }>();
  const seen = new Map<string, number>();
  for (const v of manifest.videos) {
    if (v.category === "source") continue;
    const key = `${v.category}\u0000${v.label}`;
    const n = (seen.get(key) ?? 0) + 1;
    seen.set(key, n);
    out.set(v.id, { category: v.category, label: n === 1 ? v.label : `${v.label} ${n}` });
  }
  return out;
}

/** [C, L] latents for showing `category` at `latent` and everything else neutral. */
export function latentsWith(
  categories: readonly string[],
  neutral: ArrayLike<number>,
  latentDim: number,
  category: string | null,
  latent: ArrayLike<number> | null,
): Float32Array {
  const out = Float32Array.from(neutral);
  if (category !== null && category !== "source" && latent) {
    const c = categories.indexOf(category);
    if (c < 0) throw new Error(`latents: the avatar has no category "${category}"`);
    for (let k = 0; k < latentDim; k++) out[c * latentDim + k] = Number(latent[k]);
  }
  return out;
}
