/**
 * The person's hair as the dataset generator's hair parameters, fitted to
 * the photo's hair (hair-region.ts) by analysis by synthesis: the
 * generator's hair (attributes.ts, category "hair") is built on the fitted
 * head and rendered through the fitted camera onto the same small crop
 * (render-core/mesh/render.cpu.ts; its parsing class 13 is the hair), and a
 * small search over coverage (front hairline), length (back hairline) and
 * volume (shell thickness) keeps the parameters whose hair outline overlaps
 * the photo's best (IoU inside the crop's window). The generator's hair is
 * symmetric, so the side the photo cannot see takes the seen side's
 * parameters. Curl only changes the strand texture, not the outline: 0.
 *
 * The colour is the robust median of the photo's hair pixels, de-shaded
 * (hair-region.ts hairColour).
 */
import type { HeadModel } from "../../../render-core/head";
import { renderMeshCpu } from "../../../render-core/mesh/render.cpu";
import type { MeshDraw } from "../../../render-core/mesh/scene";
import { CATEGORIES, checkParams, type BuildContext, type Params } from "../synthesise/attributes";
import type { Identity, Rgb } from "../synthesise/identity";
import type { HeadFit } from "./fit-head";
import { hairColour, hairCrop, photoHairRegion, type HairCrop, type PhotoHair } from "./hair-region";
import type { RgbImage } from "./image";
import type { PosedHead } from "./mesh-view";
import type { PhotoShading } from "./texture";

/** The renderer's parsing class of hair (PERSE-METHOD.md; attributes.ts hair.build). */
export const HAIR_CLASS = 13;
/**
 * Below this share of the head's crop area, the photo's hair pixels are not
 * hair (a bald head's outline, where the matte blends skin and background).
 */
export const MIN_HAIR_SHARE = 0.06;
/** Below this best IoU the generator's hair does not explain what the photo shows: no hair. */
export const MIN_HAIR_IOU = 0.3;

/**
 * IoU given up per unit of length away from 0.5: the back hairline shows only
 * beside the neck of a turned head, so a frontal photo, whose outline hardly
 * depends on it, keeps a middle length instead of an extreme one.
 */
const LENGTH_PRIOR = 0.02;

const hairCategory = CATEGORIES.find((c) => c.name === "hair")!;
/** hair.build reads only the head and its posed vertices; the identity's fields are not used. */
const NO_IDENTITY: Identity = {
  kind: "portrait",
  seed: 0,
  shape: [],
  skin: [0.5, 0.5, 0.5],
  lips: [0.5, 0.5, 0.5],
  brows: [0.5, 0.5, 0.5],
  iris: [0.5, 0.5, 0.5],
  freckles: 0,
};

/** The draw with only the vertices its triangles use (a hair shell carries every head vertex; the renderer transforms them all). */
function compactDraw(d: MeshDraw): MeshDraw {
  const V = d.positions.length / 3,
    remap = new Int32Array(V).fill(-1);
  let n = 0;
  for (let i = 0; i < d.indices.length; i++) if (remap[d.indices[i]] < 0) remap[d.indices[i]] = n++;
  if (n === V) return d;
  const positions = new Float32Array(n * 3),
    normals = new Float32Array(n * 3),
    uvs = d.uvs ? new Float32Array(n * 2) : undefined;
  for (let v = 0; v < V; v++) {
    const w = remap[v];
    if (w < 0) continue;
    positions.set(d.positions.subarray(v * 3, v * 3 + 3), w * 3);
    normals.set(d.normals.subarray(v * 3, v * 3 + 3), w * 3);
    if (uvs) uvs.set(d.uvs!.subarray(v * 2, v * 2 + 2), w * 2);
  }
  const indices = new Uint32Array(d.indices.length);
  for (let i = 0; i < indices.length; i++) indices[i] = remap[d.indices[i]];
  const colors = d.colors ? new Float32Array(n * 3) : undefined;
  if (colors)
    for (let v = 0; v < V; v++) if (remap[v] >= 0) colors.set(d.colors!.subarray(v * 3, v * 3 + 3), remap[v] * 3);
  return { ...d, positions, normals, indices, ...(uvs ? { uvs } : {}), ...(colors ? { colors } : {}) };
}

/** [S, S] u8 1 where the generator's hair with `params` is seen on the crop (the head occludes what is behind it). */
export function renderHairMask(head: HeadModel, view: PosedHead, crop: HairCrop, params: Params): Uint8Array {
  const ctx: BuildContext = {
    head,
    identity: NO_IDENTITY,
    posed: view.positions,
    normals: view.normals,
    colours: new Float32Array(head.vertexCount * 3),
  };
  const headDraw: MeshDraw = {
    positions: view.positions,
    normals: view.normals,
    indices: head.faces,
    material: { specular: 0, shininess: 1, opacity: 1 },
    classId: 1,
  };
  const hair = hairCategory.build(checkParams(hairCategory, params), ctx).map(compactDraw);
  const frame = renderMeshCpu([headDraw, ...hair], crop.camera);
  const out = new Uint8Array(frame.parse.length);
  for (let i = 0; i < out.length; i++) out[i] = frame.parse[i] === HAIR_CLASS ? 1 : 0;
  return out;
}

/** IoU of two [S, S] masks counted inside `window`. */
export function windowIou(a: Uint8Array, b: Uint8Array, window: Uint8Array): number {
  let inter = 0,
    union = 0;
  for (let i = 0; i < a.length; i++) {
    if (!window[i]) continue;
    if (a[i] && b[i]) inter++;
    if (a[i] || b[i]) union++;
  }
  return union ? inter / union : 0;
}

export interface HairShapeFit {
  coverage: number;
  length: number;
  volume: number;
  /** IoU of the fitted hair's outline with the photo's hair, inside the window. */
  iou: number;
  /** Hair renders the search made. */
  renders: number;
}

/**
 * A sweep of each parameter over five values (volume, then coverage, then
 * length, each at the best of the ones before), then coordinate steps of
 * 0.1, 0.05 and 0.025 on all three: about 30-40 renders of the crop.
 */
export function fitHairShape(head: HeadModel, view: PosedHead, crop: HairCrop, photo: Uint8Array): HairShapeFit {
  type P = { c: number; l: number; v: number };
  const cache = new Map<string, number>();
  const score = (p: P) => {
    const key = `${p.c},${p.l},${p.v}`;
    let s = cache.get(key);
    if (s === undefined) {
      const mask = renderHairMask(head, view, crop, { coverage: p.c, length: p.l, volume: p.v, curl: 0 });
      s = windowIou(mask, photo, crop.window) - LENGTH_PRIOR * Math.abs(p.l - 0.5);
      cache.set(key, s);
    }
    return s;
  };
  let best: P = { c: 0.8, l: 0.5, v: 0.5 },
    bestS = score(best);
  const tryAt = (p: P) => {
    const s = score(p);
    if (s > bestS + 1e-9) [best, bestS] = [p, s];
    return s;
  };
  const GRID = { v: [0, 0.25, 0.5, 0.75, 1], c: [0.2, 0.4, 0.6, 0.8, 1], l: [0, 0.25, 0.5, 0.75, 1] };
  for (const axis of ["v", "c", "l"] as const) {
    const from = best;
    for (const x of GRID[axis]) tryAt({ ...from, [axis]: x });
  }
  const round = (x: number, lo: number) => Math.min(1, Math.max(lo, Math.round(x * 1e4) / 1e4));
  for (const step of [0.1, 0.05, 0.025])
    for (let pass = 0, moved = true; moved && pass < 3; pass++) {
      moved = false;
      for (const axis of ["v", "c", "l"] as const)
        for (const dir of [-1, 1]) {
          const from = best;
          const x = round(from[axis] + dir * step, axis === "c" ? 0.05 : 0);
          if (x !== from[axis] && tryAt({ ...from, [axis]: x }) > score(from) + 1e-9) moved = true;
        }
    }
  const iou = bestS + LENGTH_PRIOR * Math.abs(best.l - 0.5);
  return { coverage: best.c, length: best.l, volume: best.v, iou, renders: cache.size };
}

export interface PhotoHairEstimate {
  /** The generator's hair parameters (checkParams-clean), or null for no hair. */
  params: Params | null;
  colour: Rgb | null;
  crop: HairCrop;
  region: PhotoHair;
  evidence: Record<string, number>;
}

/** The person's own hair from the photo: region, colour, then the generator's outline fitted to it. */
export function estimateHairFromPhoto(
  head: HeadModel,
  fit: HeadFit,
  view: PosedHead,
  image: RgbImage,
  matte: Float32Array | null,
  skin: Rgb,
  exposure: number,
  shading?: PhotoShading,
): PhotoHairEstimate {
  const t0 = performance.now();
  const crop = hairCrop(head, fit, view);
  const region = photoHairRegion(crop, view, head, image, matte, skin, exposure, shading);
  let hairPx = 0,
    headPx = 0;
  for (let i = 0; i < region.mask.length; i++) [hairPx, headPx] = [hairPx + region.mask[i], headPx + crop.head[i]];
  const evidence: Record<string, number> = { hairPixels: hairPx, hairShare: hairPx / Math.max(1, headPx) };
  const colour = hairColour(region, crop);
  const none = (): PhotoHairEstimate => {
    evidence.hairMs = performance.now() - t0;
    return { params: null, colour: null, crop, region, evidence };
  };
  if (!colour || evidence.hairShare < MIN_HAIR_SHARE) return none();
  const shape = fitHairShape(head, view, crop, region.mask);
  Object.assign(evidence, { hairIoU: shape.iou, hairRenders: shape.renders });
  if (shape.iou < MIN_HAIR_IOU) return none();
  evidence.hairMs = performance.now() - t0;
  const params = checkParams(hairCategory, {
    coverage: shape.coverage,
    length: shape.length,
    volume: shape.volume,
    curl: 0,
    colourR: colour[0],
    colourG: colour[1],
    colourB: colour[2],
  });
  return { params, colour, crop, region, evidence };
}
