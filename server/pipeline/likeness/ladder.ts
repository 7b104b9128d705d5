/**
 * The likeness ladder (issue 16 part 1, docs/likeness.md): how far from the
 * person in the photo each step of the pipeline leaves the face, measured by
 * both recognisers (recognisers.ts) against the photo itself.
 *
 *   L0  the photo resampled to the training resolution and back up (the ceiling that resolution allows)
 *   L1  the fitted, textured head (the person's own attributes) through the fitted camera: what the dataset can teach
 *   L2  the dataset's source scene at the photo's pose, at the dataset's resolution
 *   L3  the trained avatar: at the photo's pose (dataset resolution), frontal and at 3/4 (256 px, as the identity figures)
 *   L4  the avatar under every anchor of every category (evaluate/identity.ts renders them)
 *
 * L0-L3 at the photo's pose share one framing: the square window of the photo
 * that the dataset's main camera frames round the head (same scale and
 * centre, from the fit's camera), shown at up to 512 px. Rungs at the
 * dataset's resolution are made at its size (manifest options.size) and
 * scaled back up to the window's size before the recognisers look. A rung
 * whose inputs are missing (no dataset yet, no trained bundle) is reported
 * "missing" with the reason.
 */
import fs from "node:fs";
import path from "node:path";
import sharp from "sharp";
import type { Avatar } from "../../../render-core/avatar/avatar";
import type { AvatarRenderer } from "../../../render-core/avatar/avatar-renderer";
import { createHeadModel, type HeadModel } from "../../../render-core/head";
import { cameraCenter, type Camera } from "../../../render-core/math/camera";
import { renderMeshCpu } from "../../../render-core/mesh/render.cpu";
import { readAvatarBundleDir } from "../../avatar/bundle-files";
import { decodePortrait, type RgbImage } from "../analyse/decode";
import { squareCrop } from "../analyse/mesh";
import { frontalCamera, measureIdentity, toRgbImage } from "../evaluate/identity";
import { BACKGROUND, sourceAttributes } from "../synthesise/dataset";
import { identityColours, identityLights, loadIdentityTexture, type Identity } from "../synthesise/identity";
import { buildScene, regionFaces } from "../synthesise/scene";
import {
  identityFile,
  locateCreation,
  MissingInput,
  openDataset,
  readFit,
  readFitIdentity,
  type CreationPaths,
  type StoredFit,
} from "./creation";
import { embedImage, RECOGNISERS, type Embeddings, type FindPad, type RecogniserName } from "./recognisers";

export type Rung = "L0" | "L1" | "L2" | "L3" | "L4";
export const RUNGS: readonly Rung[] = ["L0", "L1", "L2", "L3", "L4"];
/** Largest side of the photo-pose window the recognisers see, pixels. */
export const WINDOW_MAX = 512;
/** The avatar's 3/4 view, degrees of camera yaw. */
export const THREE_QUARTER_YAW = 35;

type Distances = Record<RecogniserName, number | null>;

export interface LadderRow {
  rung: Rung;
  view: string;
  status: "ok" | "no-face" | "missing" | "error";
  /** Why a rung is missing or failed. */
  reason?: string;
  /** The resolution the picture was made at (before any scaling up for the recognisers). */
  madeAtPx?: number;
  /** Distance to the photo per recogniser; null where that picture showed no face (or is missing). */
  distances: Distances;
}

export interface VerificationFigures {
  /** The other photos, and each one's distance from every subject. */
  photos: Array<{ file: string; kind: "same" | "other"; found: boolean; distances: Record<string, Distances> }>;
  /** Per subject (the photo itself, L1, the avatar at the photo's pose): nearer to every same photo than to every other photo? */
  verdicts: Array<{ subject: string; verified: Record<RecogniserName, boolean | null> }>;
}

export interface LadderReport {
  portrait: string;
  creation: string;
  datasetSize: number | null;
  /** The photo-pose window: top-left corner and side in photo pixels, and the size it is shown at. */
  window: { x0: number; y0: number; side: number; shownAt: number } | null;
  thresholds: Record<RecogniserName, number>;
  rows: LadderRow[];
  /** L4 summed up per recogniser. */
  edits: Record<
    RecogniserName,
    { count: number; found: number; median: number | null; worst: number | null; underThreshold: number }
  > | null;
  verification: VerificationFigures | null;
  seconds: number;
}

export interface LadderOptions {
  /** The photo the creation was made from (file). */
  portrait: string;
  /** A creation folder (npm run create's --out, or a job folder). */
  creation: string;
  /** A trained bundle folder other than the creation's own. */
  bundle?: string;
  same?: string[];
  others?: string[];
  /** Rungs to measure (default all). */
  rungs?: readonly Rung[];
  makeRenderer: (avatar: Avatar, head: HeadModel) => AvatarRenderer;
  head?: HeadModel;
  onProgress?: (what: string) => void;
  signal?: AbortSignal;
}

export interface LadderResult {
  report: LadderReport;
  creationPaths: CreationPaths;
  /** PNG pictures for the sheet, by "rung view". */
  pictures: Map<string, Buffer>;
}

/** The square window of the photo that the dataset's main camera frames round the head. */
export function photoWindow(fitCamera: Camera, datasetCamera: Camera): { x0: number; y0: number; side: number } {
  const m = fitCamera.worldToCamera;
  const z = m[11]!;
  if (!(z > 0)) throw new Error(`photoWindow: the head is not in front of the fitted camera (depth ${z})`);
  const cx = (fitCamera.fx * m[3]!) / z + fitCamera.cx,
    cy = (fitCamera.fy * m[7]!) / z + fitCamera.cy;
  // The dataset's cameras look at the origin: half the image height covers this many metres there.
  const halfWorld =
    (datasetCamera.height / 2 / datasetCamera.fy) * Math.hypot(...cameraCenter(datasetCamera.worldToCamera));
  const side = Math.max(8, Math.round((2 * halfWorld * fitCamera.fy) / z));
  return { x0: Math.round(cx - side / 2), y0: Math.round(cy - side / 2), side };
}

/** `camera` restricted to a square window of its image, at `size` px. */
export function windowCamera(camera: Camera, w: { x0: number; y0: number; side: number }, size: number): Camera {
  const k = size / w.side;
  return {
    ...camera,
    width: size,
    height: size,
    fx: camera.fx * k,
    fy: camera.fy * k,
    cx: (camera.cx - w.x0) * k,
    cy: (camera.cy - w.y0) * k,
  };
}

const raw = (img: RgbImage) =>
  sharp(Buffer.from(img.rgb.buffer, img.rgb.byteOffset, img.rgb.byteLength), {
    raw: { width: img.width, height: img.height, channels: 3 },
  });

/** `img` resized to size x size (Lanczos). */
export async function resizeRgb(img: RgbImage, size: number): Promise<RgbImage> {
  if (img.width === size && img.height === size) return img;
  const data = await raw(img).resize(size, size, { kernel: "lanczos3", fit: "fill" }).raw().toBuffer();
  return { width: size, height: size, rgb: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}

/** The photo resampled to `size` px and back up to its own size: what a training resolution of `size` keeps. */
export async function resampleThrough(img: RgbImage, size: number): Promise<RgbImage> {
  const small = await resizeRgb(img, size);
  const data = await raw(small).resize(img.width, img.height, { kernel: "lanczos3", fit: "fill" }).raw().toBuffer();
  return { width: img.width, height: img.height, rgb: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}

/**
 * The person's own look (identity, its UV texture when it has one, the
 * attributes) at the photo's pose, drawn as the dataset draws its frames.
 */
export async function renderFittedScene(
  head: HeadModel,
  identity: Identity,
  identityFile: string,
  attributes: ReturnType<typeof sourceAttributes>,
  fit: StoredFit,
  camera: Camera,
): Promise<RgbImage> {
  const draws = buildScene({
    head,
    identity,
    baseColours: identityColours(identity, head),
    regions: regionFaces(head),
    attributes,
    frame: { expression: fit.expression, pose: fit.pose },
    texture: await loadIdentityTexture(identity, identityFile),
    hairTexture: await loadIdentityTexture(identity, identityFile, "hairTexture"),
  });
  return toRgbImage(
    renderMeshCpu(draws, camera, { background: BACKGROUND, lights: identityLights(identity) }).rgb,
    camera.width,
  );
}

const png = (img: RgbImage) => raw(img).png().toBuffer();
const noDistances = (): Distances => Object.fromEntries(RECOGNISERS.map((r) => [r.name, null])) as unknown as Distances;

export async function runLadder(o: LadderOptions): Promise<LadderResult> {
  const t0 = performance.now();
  const head = o.head ?? createHeadModel();
  const want = new Set(o.rungs ?? RUNGS);
  const pictures = new Map<string, Buffer>();
  const rows: LadderRow[] = [];
  const say = (what: string) => o.onProgress?.(what);
  const checkAbort = () => {
    if (o.signal?.aborted) throw new Error("likeness: cancelled");
  };

  if (!fs.existsSync(o.portrait)) throw new Error(`likeness: no portrait file ${o.portrait}`);
  const creation: CreationPaths = locateCreation(o.creation, o.bundle);
  say("the photo");
  const photo = await decodePortrait(fs.readFileSync(o.portrait));
  const reference = await embedImage(photo, "auto");
  if (!reference) throw new Error(`likeness: no face found in the portrait ${o.portrait}`);
  const distancesTo = (e: Embeddings | null): Distances =>
    Object.fromEntries(
      RECOGNISERS.map((r) => [r.name, e ? r.distance(reference.embeddings[r.name], e[r.name]) : null]),
    ) as unknown as Distances;

  // Inputs, each possibly missing.
  const tryRead = <T>(read: () => T): T | MissingInput => {
    try {
      return read();
    } catch (err) {
      if (err instanceof MissingInput) return err;
      throw err;
    }
  };
  const fit = tryRead(() => readFit(creation));
  const identity = tryRead(() => readFitIdentity(creation, head));
  const dataset = tryRead(() => openDataset(creation));
  // A broken bundle fails only the rungs that need it ("error", with the reader's reason).
  const avatar: Avatar | Error = creation.bundle
    ? await readAvatarBundleDir(creation.bundle, {
        headFaceCount: head.faceCount,
        headShapeCount: head.shapeNames.length,
      }).catch((err: Error) => err)
    : new MissingInput("no trained bundle (the train stage has not finished)");
  if (!(fit instanceof MissingInput) && (fit.camera.width !== photo.width || fit.camera.height !== photo.height))
    throw new Error(
      `likeness: --portrait decodes to ${photo.width} x ${photo.height} but the creation's fit is for ${fit.camera.width} x ${fit.camera.height}: pass the photo the creation was made from`,
    );
  const datasetSize = dataset instanceof MissingInput ? null : dataset.manifest.options.size;
  // The dataset's main camera framing; without a dataset, the same framing as the identity figures' camera.
  const window =
    fit instanceof MissingInput
      ? null
      : photoWindow(fit.camera, dataset instanceof MissingInput ? frontalCamera(256) : dataset.camera());
  const shownAt = window ? Math.min(WINDOW_MAX, Math.max(datasetSize ?? 0, window.side)) : 0;

  const embeddedBy = new Map<string, Embeddings | null>();
  /** Measures one picture as a rung's row; `make` may throw MissingInput. */
  const rung = async (
    r: Rung,
    view: string,
    pad: FindPad,
    make: () => Promise<{ image: RgbImage; madeAtPx: number }>,
  ) => {
    if (!want.has(r)) return;
    checkAbort();
    say(`${r} ${view}`);
    try {
      const { image, madeAtPx } = await make();
      const found = await embedImage(image, pad);
      embeddedBy.set(`${r} ${view}`, found?.embeddings ?? null);
      pictures.set(`${r} ${view}`, await png(image));
      rows.push({
        rung: r,
        view,
        status: found ? "ok" : "no-face",
        madeAtPx,
        distances: distancesTo(found?.embeddings ?? null),
      });
    } catch (err) {
      const missing = err instanceof MissingInput;
      if (!missing && o.signal?.aborted) throw err;
      rows.push({
        rung: r,
        view,
        status: missing ? "missing" : "error",
        reason: (err as Error).message,
        distances: noDistances(),
      });
    }
  };
  const needFit = () => {
    if (fit instanceof MissingInput) throw fit;
    return { fit, window: window! };
  };
  const needDataset = () => {
    const f = needFit();
    if (dataset instanceof MissingInput) throw dataset;
    return { ...f, dataset, size: datasetSize! };
  };
  const needAvatar = () => {
    if (avatar instanceof Error) throw avatar;
    return avatar;
  };
  /** The photo's window at the size the recognisers see. */
  const photoCrop = async (size: number) => {
    const w = needFit().window;
    const c = await squareCrop(photo, w.x0 + w.side / 2, w.y0 + w.side / 2, w.side / 2, size);
    return { width: size, height: size, rgb: c.rgb };
  };
  if (window) pictures.set("photo", await png(await photoCrop(shownAt)));

  await rung("L0", "photo at the training resolution", "always", async () => {
    const { size } = needDataset();
    return { image: await resampleThrough(await photoCrop(shownAt), size), madeAtPx: size };
  });
  await rung("L1", "fitted head, photo's pose", "always", async () => {
    const { fit, window } = needFit();
    if (identity instanceof MissingInput) throw identity;
    const image = await renderFittedScene(
      head,
      identity,
      identityFile(creation),
      sourceAttributes(identity),
      fit,
      windowCamera(fit.camera, window, shownAt),
    );
    return { image, madeAtPx: shownAt };
  });
  await rung("L2", "dataset's source scene, photo's pose", "always", async () => {
    const { fit, dataset, window, size } = needDataset();
    const source = dataset.manifest.videos.find((v) => v.category === "source");
    if (!source) throw new MissingInput("the dataset has no source video");
    const small = await renderFittedScene(
      head,
      dataset.manifest.identity,
      identityFile(creation),
      source.attributes,
      fit,
      windowCamera(fit.camera, window, size),
    );
    return { image: await resizeRgb(small, shownAt), madeAtPx: size };
  });
  const avatarView = async (latents: Float32Array | null, pose: StoredFit | null, camera: Camera) => {
    const a = needAvatar();
    const renderer = o.makeRenderer(a, head);
    try {
      await renderer.setLatents(latents ?? Float32Array.from(a.neutralLatents));
      const neutral = {
        expression: new Float32Array(head.expressionNames.length),
        pose: new Float32Array(head.jointNames.length * 3),
      };
      const image = await renderer.render(pose ? { expression: pose.expression, pose: pose.pose } : neutral, camera, {
        background: BACKGROUND,
      });
      return toRgbImage(image.rgb, camera.width);
    } finally {
      renderer.destroy();
    }
  };
  await rung("L3", "photo's pose", "always", async () => {
    const { fit, window, size } = needDataset();
    const small = await avatarView(null, fit, windowCamera(fit.camera, window, size));
    return { image: await resizeRgb(small, shownAt), madeAtPx: size };
  });
  await rung("L3", "frontal", "always", async () => ({
    image: await avatarView(null, null, frontalCamera(256)),
    madeAtPx: 256,
  }));
  await rung("L3", `3/4 (${THREE_QUARTER_YAW} degrees)`, "always", async () => ({
    image: await avatarView(null, null, frontalCamera(256, THREE_QUARTER_YAW)),
    madeAtPx: 256,
  }));

  // L4: every anchor, rendered by the identity figures' own code; both recognisers look at each render.
  let edits: LadderReport["edits"] = null;
  if (want.has("L4")) {
    if (avatar instanceof Error)
      rows.push({
        rung: "L4",
        view: "every anchor",
        status: avatar instanceof MissingInput ? "missing" : "error",
        reason: avatar.message,
        distances: noDistances(),
      });
    else {
      checkAbort();
      const found: Array<{ view: string; e: Embeddings | null; image: RgbImage }> = [];
      await measureIdentity({
        avatar,
        head,
        portraitDescriptor: reference.embeddings["face-api"],
        makeRenderer: o.makeRenderer,
        signal: o.signal,
        onProgress: (done, total) => say(`L4 ${done}/${total}`),
        onRender: async (row, image) => {
          if (row.category === "source") return;
          found.push({
            view: `${row.category}: ${row.label}`,
            e: (await embedImage(image, "always"))?.embeddings ?? null,
            image,
          });
        },
      });
      for (const f of found) {
        rows.push({
          rung: "L4",
          view: f.view,
          status: f.e ? "ok" : "no-face",
          madeAtPx: 256,
          distances: distancesTo(f.e),
        });
        pictures.set(`L4 ${f.view}`, await png(f.image));
      }
      edits = Object.fromEntries(
        RECOGNISERS.map((r) => {
          const ds = found.map((f) => (f.e ? distancesTo(f.e)[r.name] : null)).filter((d): d is number => d !== null);
          const sorted = [...ds].sort((a, b) => a - b);
          return [
            r.name,
            {
              count: found.length,
              found: ds.length,
              median: sorted.length ? sorted[sorted.length >> 1]! : null,
              worst: sorted.length ? sorted.at(-1)! : null,
              underThreshold: ds.filter((d) => d < r.threshold).length,
            },
          ];
        }),
      ) as unknown as LadderReport["edits"];
    }
  }

  const verification = await verify(o, reference.embeddings, embeddedBy, say);
  return {
    report: {
      portrait: o.portrait,
      creation: o.creation,
      datasetSize,
      window: window ? { ...window, shownAt } : null,
      thresholds: Object.fromEntries(RECOGNISERS.map((r) => [r.name, r.threshold])) as Record<RecogniserName, number>,
      rows,
      edits,
      verification,
      seconds: (performance.now() - t0) / 1000,
    },
    creationPaths: creation,
    pictures,
  };
}

/** Subjects of the verification: the photo itself (a baseline), the fitted head and the avatar at the photo's pose. */
const SUBJECTS = [
  ["the photo", null],
  ["L1 fitted head", "L1 fitted head, photo's pose"],
  ["L3 avatar, photo's pose", "L3 photo's pose"],
] as const;

async function verify(
  o: LadderOptions,
  photo: Embeddings,
  embeddedBy: Map<string, Embeddings | null>,
  say: (what: string) => void,
): Promise<VerificationFigures | null> {
  const files = [
    ...(o.same ?? []).map((file) => ({ file, kind: "same" as const })),
    ...(o.others ?? []).map((file) => ({ file, kind: "other" as const })),
  ];
  if (files.length === 0) return null;
  const subjects = SUBJECTS.map(([name, key]) => ({ name, e: key === null ? photo : (embeddedBy.get(key) ?? null) }));
  const photos: VerificationFigures["photos"] = [];
  for (const { file, kind } of files) {
    say(`verification: ${path.basename(file)}`);
    if (!fs.existsSync(file)) throw new Error(`likeness: no photo ${file} (--${kind === "same" ? "same" : "others"})`);
    const found = await embedImage(await decodePortrait(fs.readFileSync(file)), "auto");
    photos.push({
      file,
      kind,
      found: !!found,
      distances: Object.fromEntries(
        subjects.map((s) => [
          s.name,
          Object.fromEntries(
            RECOGNISERS.map((r) => [r.name, found && s.e ? r.distance(s.e[r.name], found.embeddings[r.name]) : null]),
          ),
        ]),
      ) as Record<string, Distances>,
    });
  }
  const verdicts = subjects.map((s) => ({
    subject: s.name,
    verified: Object.fromEntries(
      RECOGNISERS.map((r) => {
        const of = (kind: "same" | "other") =>
          photos.filter((p) => p.kind === kind).map((p) => p.distances[s.name]![r.name]);
        const same = of("same"),
          other = of("other");
        if (!s.e || !same.length || !other.length || [...same, ...other].some((d) => d === null)) return [r.name, null];
        return [r.name, Math.max(...(same as number[])) < Math.min(...(other as number[]))];
      }),
    ) as Record<RecogniserName, boolean | null>,
  }));
  return { photos, verdicts };
}
