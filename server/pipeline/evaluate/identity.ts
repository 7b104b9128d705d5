/**
 * Identity, measured: does the avatar still look like the person in the
 * portrait, as it is and under every edit? face-api's 128-d descriptor of the
 * portrait against frontal, neutral-expression renders of the avatar at its
 * source latents and at every anchor of every category. Euclidean distance;
 * under 0.6 is face-api's usual "same person" threshold.
 */
import type { Avatar } from "../../../render-core/avatar/avatar";
import type { AvatarRenderer } from "../../../render-core/avatar/avatar-renderer";
import type { HeadModel } from "../../../render-core/head";
import { orbitCamera } from "../../../render-core/math/camera";
import { imageToPng, contactSheet, labelledPanel } from "../../images/png";
import { descriptorDistance, faceDescriptor } from "../analyse/analyse";
import type { RgbImage } from "../analyse/decode";
import { BACKGROUND } from "../synthesise/dataset";
import { latentsWith } from "../train/training-data";

export const SAME_PERSON = 0.6;

export interface IdentityRow {
  category: string;
  label: string;
  /** null when face-api found no face in the render. */
  distance: number | null;
}

export interface IdentityFigures {
  /** Distance portrait vs. the avatar as it is (source latents). */
  source: number | null;
  /** Every anchor of every category. */
  edits: IdentityRow[];
  median: number | null;
  worst: number | null;
  /** Share of edits (found or not) under SAME_PERSON. */
  fractionSame: number;
  /** Renders where no face was found. */
  notFound: number;
  /**
   * The avatar's source render against OTHER people's portraits (median and
   * nearest): how far "someone else" is for this face recogniser. Rendered
   * faces all look alike to it, so this says how much a small distance means.
   */
  impostors: { count: number; median: number | null; nearest: number | null };
  renderSize: number;
  seconds: number;
}

export interface IdentityOptions {
  avatar: Avatar;
  head: HeadModel;
  portraitDescriptor: Float32Array;
  /** Descriptors of other people's portraits (the impostor baseline); asked for only when the source render shows a face. */
  impostorDescriptors?: () => Promise<Float32Array[]>;
  makeRenderer: (avatar: Avatar, head: HeadModel) => AvatarRenderer;
  /** Called with every render (source first, then the edits), for other measures of the same pictures (the likeness ladder). */
  onRender?: (row: { category: string; label: string }, image: RgbImage) => Promise<void>;
  /** Render size in pixels (default 256). */
  size?: number;
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
}

export interface IdentityResult {
  figures: IdentityFigures;
  /** PNG renders in row order: source first, then the edits. */
  renders: Array<{ label: string; png: Buffer; distance: number | null }>;
}

/** The dataset's main camera framing (distance 0.62), square, at `size`; `yawDeg` turns the camera toward the subject's left. */
export function frontalCamera(size: number, yawDeg = 0) {
  return orbitCamera({ width: size, height: size, distance: 0.62, target: [0, 0, 0], yawDeg });
}

/** A square render's [size, size, 3] floats in [0, 1] as 8-bit RGB. */
export function toRgbImage(rgb: Float32Array, size: number): RgbImage {
  const out = new Uint8Array(size * size * 3);
  for (let i = 0; i < out.length; i++) out[i] = Math.round(Math.min(1, Math.max(0, rgb[i]!)) * 255);
  return { width: size, height: size, rgb: out };
}

const median = (xs: number[]) => {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

export async function measureIdentity(o: IdentityOptions): Promise<IdentityResult> {
  const t0 = performance.now();
  const size = o.size ?? 256;
  const { categories, latentDim } = o.avatar.config;
  const jobs: Array<{ category: string; label: string; latents: Float32Array }> = [
    { category: "source", label: "as photographed", latents: Float32Array.from(o.avatar.neutralLatents) },
  ];
  for (const a of o.avatar.anchors)
    jobs.push({
      category: a.category,
      label: a.label,
      latents: latentsWith(categories, o.avatar.neutralLatents, latentDim, a.category, a.latent),
    });
  const renderer = o.makeRenderer(o.avatar, o.head);
  const camera = frontalCamera(size);
  const neutral = {
    expression: new Float32Array(o.head.expressionNames.length),
    pose: new Float32Array(o.head.jointNames.length * 3),
  };
  const rows: IdentityRow[] = [];
  let sourceDescriptor: Float32Array | null = null;
  const renders: IdentityResult["renders"] = [];
  try {
    for (const [k, job] of jobs.entries()) {
      if (o.signal?.aborted) throw new Error("identity: cancelled");
      await renderer.setLatents(job.latents);
      const image = await renderer.render(neutral, camera, { background: BACKGROUND });
      const rgb8 = toRgbImage(image.rgb, size);
      const found = await faceDescriptor(rgb8);
      await o.onRender?.(job, rgb8);
      const distance = found ? descriptorDistance(o.portraitDescriptor, found.descriptor) : null;
      if (k === 0 && found) sourceDescriptor = found.descriptor;
      rows.push({ category: job.category, label: job.label, distance });
      renders.push({ label: `${job.category}: ${job.label}`, png: await imageToPng(image), distance });
      o.onProgress?.(k + 1, jobs.length);
    }
  } finally {
    renderer.destroy();
  }
  const [source, ...edits] = rows;
  const found = edits.map((r) => r.distance).filter((d): d is number => d !== null);
  const others =
    sourceDescriptor && o.impostorDescriptors
      ? (await o.impostorDescriptors()).map((d) => descriptorDistance(sourceDescriptor!, d))
      : [];
  return {
    figures: {
      source: source!.distance,
      edits,
      median: median(found),
      worst: found.length ? Math.max(...found) : null,
      fractionSame: edits.length
        ? edits.filter((r) => r.distance !== null && r.distance < SAME_PERSON).length / edits.length
        : 0,
      notFound: rows.filter((r) => r.distance === null).length,
      impostors: { count: others.length, median: median(others), nearest: others.length ? Math.min(...others) : null },
      renderSize: size,
      seconds: (performance.now() - t0) / 1000,
    },
    renders,
  };
}

/** One line for logs and notes. */
export function formatIdentity(f: IdentityFigures): string {
  const d = (x: number | null) => (x === null ? "no face" : x.toFixed(3));
  const impostors = f.impostors.count
    ? `; other people: median ${d(f.impostors.median)}, nearest ${d(f.impostors.nearest)}`
    : "";
  return `identity: source ${d(f.source)}; edits median ${d(f.median)}, worst ${d(f.worst)}, ${(100 * f.fractionSame).toFixed(0)}% under ${SAME_PERSON} (${f.edits.length} edits, ${f.notFound} renders without a face found)${impostors}`;
}

/**
 * The picture for people: the portrait, the pictures of the fit (overlay,
 * texture) when given, then the avatar as it is and under edits, each with
 * its distance printed.
 */
export async function identitySheet(
  portraitPng: Buffer,
  extras: Array<{ label: string; png: Buffer }>,
  renders: IdentityResult["renders"],
  maxRenders = 14,
  panel = 192,
): Promise<Buffer> {
  const picks = renders.length <= maxRenders ? renders : [renders[0]!, ...spread(renders.slice(1), maxRenders - 1)];
  const panels: Buffer[] = [await labelledPanel(portraitPng, panel, "portrait")];
  for (const e of extras) panels.push(await labelledPanel(e.png, panel, e.label));
  // The distance first: long labels are cut at the panel's edge.
  for (const r of picks)
    panels.push(
      await labelledPanel(
        r.png,
        panel,
        `${r.distance === null ? "no face" : `d ${r.distance.toFixed(2)}`}  ${r.label}`,
      ),
    );
  return contactSheet(panels, 4, panel);
}

/** `n` items spread evenly over `xs` (first and last included). */
function spread<T>(xs: T[], n: number): T[] {
  if (xs.length <= n) return xs;
  return Array.from({ length: n }, (_, k) => xs[Math.round((k * (xs.length - 1)) / Math.max(1, n - 1))]!);
}
