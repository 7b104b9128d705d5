/**
 * The person's own look, as the dataset generator's parameters
 * (server/pipeline/synthesise/attributes.ts), so the synthetic videos start
 * from someone who looks like the photo. Every estimate reads the fitted
 * head: per-vertex de-shaded photo colours (texture.ts), the skin tone, the
 * projected silhouette and the person matte; the hair, the photo's pixels.
 *
 *   hair      the person's own hair in the photo (hair-region.ts: the
 *             matte minus the face, neck, body and skin-coloured pixels);
 *             its colour is the robust median of those pixels, de-shaded;
 *             coverage, length and volume are the generator's whose hair,
 *             rendered through the fitted camera, overlaps it best
 *             (hair-fit.ts). Curl is not estimated (0).
 *   eyebrows  the generator draws brows as mix(skin, colour, 0.3 + 0.7 d):
 *             the brows' median colour fixes d once the hair's darkness is
 *             assumed (the hair colour, or a dark brown when bald), and
 *             the colour then reproduces the photo's brows exactly.
 *   eyewear   rings around each eye in the plane and at the depth where the
 *             generator puts a frame: along the lower half, a band of
 *             radii whose colour departs from the rest of the profile is a
 *             frame; a sclera darker than white behind a found frame is a tinted lens.
 *   beard     seen lower-face skin darker than the skin tone; coverage is
 *             the generator's beard width that best explains it.
 */
import { Region, landmarkPositions, type HeadModel } from "../../../render-core/head";
import { MeshPart } from "../../../render-core/head/mesh";
import { CATEGORIES, checkParams, type Params } from "../synthesise/attributes";
import type { Rgb } from "../synthesise/identity";
import type { HeadFit } from "./fit-head";
import { checkImage, luma, medianRgb, sampleRgb, type RgbImage } from "./image";
import { posedHead, projectVertices, rasterDepthAt, rasterizeMesh, type MeshRaster } from "./mesh-view";
import { estimateHairFromPhoto } from "./hair-fit";
import { HAIR_TOLERANCE } from "./hair-region";
import { farFromSkin, studioDiffuse, type PhotoShading, type PhotoTexture } from "./texture";

export interface SourceAttributes {
  /** The identity's colours (identity.ts fields). */
  colours: { skin: Rgb; lips: Rgb; brows: Rgb; iris: Rgb };
  /** Generator parameters per category (hair, eyebrows, eyewear, beard), each accepted by checkParams; an absent attribute is the category's `none`. */
  attributes: Record<string, Params>;
  /** The measurements behind each decision (for logs and the docs). */
  evidence: Record<string, number>;
}

export interface SourceAttributeOptions {
  /** The de-shading the texture was made with (TextureOptions.shading); default the studio's. */
  shading?: PhotoShading;
}

/**
 * Share of the ring's lower half that must show a frame. Measured with fits
 * on the true landmarks: no glasses <= 0.45, dark frames >= 0.83, thin brown
 * ones 0.47-0.86; through face-api's landmarks the fit is looser and a dark
 * frame scored 0.52 once (no glasses <= 0.41).
 */
const GLASSES_SCORE = 0.5;

const smooth = (e0: number, e1: number, x: number) => {
  const t = Math.min(1, Math.max(0, (x - e0) / (e1 - e0)));
  return t * t * (3 - 2 * t);
};
const category = (name: string) => CATEGORIES.find((c) => c.name === name)!;
const rgbParams = (prefix: string, c: Rgb): Params => ({
  [`${prefix}R`]: c[0],
  [`${prefix}G`]: c[1],
  [`${prefix}B`]: c[2],
});
const clamp01 = (x: number) => Math.min(1, Math.max(0, x));
const dist = (a: ArrayLike<number>, b: ArrayLike<number>) => Math.hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2]);

/** The generator's beard weight (attributes.ts beard.build) at a template point. */
function beardWeight(coverage: number, x: number, y: number, z: number): number {
  const halfWidth = 0.015 + 0.06 * coverage;
  return (
    smooth(-0.02, -0.035, y) *
    smooth(halfWidth, halfWidth - 0.012, Math.abs(x)) *
    smooth(-0.02, 0.02, z) *
    Math.min(1, 0.4 + coverage)
  );
}

/** Whether the studio light (which texture.ts divides out) reaches the posed vertex well enough for its de-shaded colour to be trusted. */
function wellLit(c: Ctx, v: number): boolean {
  const n = c.view.normals;
  return studioDiffuse(n[v * 3], n[v * 3 + 1], n[v * 3 + 2]) >= WELL_LIT;
}
const WELL_LIT = 0.55;
/** A beard's luma is below this share of the skin's (the generator's beard colours all are, on every skin tone but the darkest). */
const BEARD_DARKER = 0.85;

/** The (a, b) on a grid of [0, 1] x [0, 1] in steps of 0.05 that minimises `cost`; ties go to the smaller a, then b. */
function gridSearch(cost: (a: number, b: number) => number, withB: boolean): { a: number; b: number; cost: number } {
  let best = { a: 0, b: 0, cost: Infinity };
  for (let i = 0; i <= 20; i++)
    for (let j = 0; j <= (withB ? 20 : 0); j++) {
      const c = cost(i / 20, j / 20);
      if (c < best.cost - 1e-9) best = { a: i / 20, b: j / 20, cost: c };
    }
  return best;
}

interface Ctx {
  head: HeadModel;
  fit: HeadFit;
  image: RgbImage;
  matte: Float32Array | null;
  texture: PhotoTexture;
  skin: Rgb;
  view: ReturnType<typeof posedHead>;
  raster: MeshRaster;
  /** The texture's de-shading (texture.ts), for the hair's pixels. */
  shading: PhotoShading | undefined;
  evidence: Record<string, number>;
}

function estimateHair(c: Ctx): { params: Params | null; colour: Rgb | null } {
  const est = estimateHairFromPhoto(c.head, c.fit, c.view, c.image, c.matte, c.skin, c.texture.exposure, c.shading);
  Object.assign(c.evidence, est.evidence);
  return { params: est.params, colour: est.params ? est.colour : null };
}

function estimateEyebrows(c: Ctx, hairColour: Rgb | null): { params: Params; brows: Rgb } {
  const { head, texture } = c;
  const samples: Float32Array[] = [];
  for (let v = 0; v < head.vertexCount; v++) {
    const r = head.vertexRegion[v];
    if ((r === Region.leftBrow || r === Region.rightBrow) && texture.seen[v])
      samples.push(texture.photo.subarray(v * 3, v * 3 + 3));
  }
  if (samples.length < 5) return { params: { ...category("eyebrows").none }, brows: c.skin };
  const brows = medianRgb(samples);
  const ls = luma(c.skin),
    lb = luma(brows);
  // Assumed darkness of the brow hair: the hair's when darker than the skin, else a dark brown's.
  const hairLuma = hairColour && luma(hairColour) < ls - 0.05 ? luma(hairColour) : Math.min(0.1, ls / 2);
  const t = ls - hairLuma > 0.02 ? Math.min(1, Math.max(0.3, (ls - lb) / (ls - hairLuma))) : 0.3;
  const density = clamp01((t - 0.3) / 0.7);
  const colour = [0, 1, 2].map((k) => clamp01(c.skin[k] + (brows[k] - c.skin[k]) / (0.3 + 0.7 * density))) as Rgb;
  c.evidence.browContrast = 1 - lb / Math.max(1e-3, ls);
  return { params: { density, ...rgbParams("colour", colour) }, brows };
}

function estimateEyewear(c: Ctx): Params | null {
  const { head, view, fit, image, raster } = c;
  const lm = landmarkPositions(head, view.positions);
  const mean = (ids: number[]) => [0, 1, 2].map((k) => ids.reduce((s, i) => s + lm[i * 3 + k], 0) / ids.length);
  const right = mean([36, 37, 38, 39, 40, 41]),
    left = mean([42, 43, 44, 45, 46, 47]);
  const norm = (a: number[]) => a.map((v) => v / (Math.hypot(a[0], a[1], a[2]) || 1));
  const cross = (a: number[], b: number[]) => [
    a[1] * b[2] - a[2] * b[1],
    a[2] * b[0] - a[0] * b[2],
    a[0] * b[1] - a[1] * b[0],
  ];
  // The generator's frame: across the eyes, up the nose, forward; 16 mm in front of each eye's landmark centre.
  const ax = norm(left.map((v, k) => v - right[k]));
  const up = norm([0, 1, 2].map((k) => lm[27 * 3 + k] - lm[30 * 3 + k]));
  const az = norm(cross(ax, up)),
    ay = cross(az, ax);
  // Radii every 0.5 mm; a frame is a ridge: a colour unlike both the samples 4.5 mm inside and outside (wider than the thickest rim).
  const STEP = 0.0005,
    SIDE = 9,
    RIDGE = 0.08,
    CONSISTENT = 0.08;
  const radii: number[] = [];
  for (let r = 0.014 - SIDE * STEP; r <= 0.0306 + SIDE * STEP; r += STEP) radii.push(r);
  const angles: number[] = [];
  for (let a = 200; a <= 340; a += 5) angles.push((a * Math.PI) / 180);
  const hits = new Float64Array(radii.length),
    seen = new Float64Array(radii.length);
  const frameSamples: Rgb[][] = radii.map(() => []);
  const pts = new Float32Array(radii.length * 3);
  const col = new Float64Array(3);
  for (const eye of [right, left]) {
    const centre = eye.map((v, k) => v + 0.016 * az[k]);
    for (const th of angles) {
      radii.forEach((r, i) => {
        for (let k = 0; k < 3; k++) pts[i * 3 + k] = centre[k] + r * (Math.cos(th) * ax[k] + Math.sin(th) * ay[k]);
      });
      const { px, depth } = projectVertices(fit.camera, pts);
      const profile: (Rgb | null)[] = radii.map((_, i) => {
        const u = px[i * 2],
          v = px[i * 2 + 1];
        if (u < 0 || v < 0 || u >= image.width || v >= image.height) return null;
        // A frame here would sit behind the face: no evidence either way.
        if (depth[i] > rasterDepthAt(raster, u, v) + 0.001) return null;
        sampleRgb(image, u, v, col);
        return [col[0], col[1], col[2]];
      });
      for (let i = SIDE; i < radii.length - SIDE; i++) {
        const p = profile[i],
          a = profile[i - SIDE],
          b = profile[i + SIDE];
        if (!p || !a || !b) continue;
        seen[i]++;
        if (dist(p, a) > RIDGE && dist(p, b) > RIDGE) {
          hits[i]++;
          frameSamples[i].push(p);
        }
      }
    }
  }
  // A frame is one colour all round (flat, evenly lit): count only the hits near the median hit colour at that radius.
  const score = radii.map((_, i) => {
    if (seen[i] < 8 || frameSamples[i].length === 0) return 0;
    const m = medianRgb(frameSamples[i]);
    return frameSamples[i].filter((p) => dist(p, m) < CONSISTENT).length / seen[i];
  });
  let bestI = 0,
    bestF = 0;
  score.forEach((f, i) => {
    if (f > bestF) [bestF, bestI] = [f, i];
  });
  c.evidence.glassesScore = bestF;
  // A tinted lens darkens what shows of an eyeball: its brightest samples are sclera, about 0.88 de-shaded without a lens.
  // Per eye (a turned head can hide one lens behind the face), the darker eye decides.
  let scleraLuma = 1;
  for (const { start, count } of head.eyeballs) {
    const l: number[] = [];
    for (let v = start; v < start + count; v++)
      if (c.texture.seen[v]) l.push(luma(c.texture.photo.subarray(v * 3, v * 3 + 3)));
    if (l.length >= 8) scleraLuma = Math.min(scleraLuma, l.sort((a, b) => a - b)[Math.floor(0.95 * (l.length - 1))]);
  }
  // A dark sclera alone is as often a squint, lashes or eye make-up (4 of 5 real portraits without glasses read as
  // tinted lenses 0.46-0.69 on it, and the source avatar wore sunglasses): a tint needs a frame found too.
  const tint = bestF >= GLASSES_SCORE ? clamp01((0.75 - scleraLuma) / 0.6) : 0;
  c.evidence.scleraLuma = scleraLuma;
  if (bestF < GLASSES_SCORE) return null;
  // The band of frame-like radii around the best one: its inner edge is the lens radius, its width the rim.
  let i0 = bestI,
    i1 = bestI;
  const f = (i: number) => score[i];
  while (i0 > 0 && f(i0 - 1) >= 0.5 * bestF) i0--;
  while (i1 < radii.length - 1 && f(i1 + 1) >= 0.5 * bestF) i1++;
  const rim = radii[i1] - radii[i0] + 0.0005;
  const colour = bestF >= GLASSES_SCORE ? medianRgb(frameSamples.slice(i0, i1 + 1).flat()) : ([0.1, 0.1, 0.1] as Rgb);
  return {
    frame: bestF >= GLASSES_SCORE ? clamp01(rim / 0.0035) : 0,
    size: clamp01((radii[i0] - 0.015) / 0.008),
    tint: tint >= 0.3 ? tint : 0,
    ...rgbParams("colour", colour),
  };
}

function estimateBeard(c: Ctx): Params | null {
  const { head, texture } = c;
  const T = head.template;
  const ids: number[] = [],
    isBeard: boolean[] = [];
  for (let v = 0; v < head.vertexCount; v++) {
    if (head.vertexPart[v] !== MeshPart.head || !texture.seen[v] || head.vertexRegion[v] !== Region.skin) continue;
    const x = T[v * 3],
      y = T[v * 3 + 1],
      z = T[v * 3 + 2];
    if (!(y < -0.015 && y > -0.11 && z > 0 && Math.abs(x) < 0.08)) continue;
    // Under the jaw the studio light is dim, so de-shading multiplies a real photo's (flash, window) light there several times over.
    if (!wellLit(c, v)) continue;
    const col = texture.photo.subarray(v * 3, v * 3 + 3);
    ids.push(v);
    // Darker than the skin too: a real photo's lower face is often lit brighter than the studio assumes, never a beard's cause.
    isBeard.push(farFromSkin(col, c.skin, HAIR_TOLERANCE) && luma(col) < BEARD_DARKER * luma(c.skin));
  }
  const count = isBeard.filter(Boolean).length;
  c.evidence.beardCandidates = ids.length;
  c.evidence.beardVertices = count;
  if (ids.length < 20 || count < Math.max(12, 0.06 * ids.length)) return null;
  const best = gridSearch((coverage) => {
    let miss = 0;
    ids.forEach((v, q) => {
      if (beardWeight(coverage, T[v * 3], T[v * 3 + 1], T[v * 3 + 2]) > 0.3 !== isBeard[q]) miss++;
    });
    return miss;
  }, false);
  c.evidence.beardMismatch = best.cost / ids.length;
  if (best.a <= 0.01) return null;
  const colour = medianRgb(ids.filter((_, q) => isBeard[q]).map((v) => texture.photo.subarray(v * 3, v * 3 + 3)));
  // Length (how far the strands stand off the skin) is not measured: a middle value.
  return { coverage: best.a, length: 0.4, ...rgbParams("colour", colour) };
}

/** The person's colours and the generator parameters of their hair, brows, glasses and beard. */
export function estimateSourceAttributes(
  head: HeadModel,
  fit: HeadFit,
  image: RgbImage,
  matte: Float32Array | null,
  texture: PhotoTexture,
  options: SourceAttributeOptions = {},
): SourceAttributes {
  checkImage("estimateSourceAttributes", image, matte);
  if (fit.camera.width !== image.width || fit.camera.height !== image.height)
    throw new Error(
      `estimateSourceAttributes: the fit's camera is ${fit.camera.width} x ${fit.camera.height} but the image is ${image.width} x ${image.height}`,
    );
  if (texture.albedo.length !== head.vertexCount * 3 || texture.seen.length !== head.vertexCount)
    throw new Error(
      `estimateSourceAttributes: the texture has ${texture.seen.length} vertices, the head ${head.vertexCount}`,
    );
  const view = posedHead(head, fit);
  const headFaces: number[] = [];
  for (let f = 0; f < head.faceCount; f++) if (head.vertexPart[head.faces[f * 3]] === MeshPart.head) headFaces.push(f);
  const scale = Math.min(0.5, 640 / Math.max(image.width, image.height));
  const raster = rasterizeMesh(view.px, view.depth, head.faces, image.width, image.height, scale, headFaces);
  const c: Ctx = {
    head,
    fit,
    image,
    matte,
    texture,
    skin: texture.skinTone,
    view,
    raster,
    shading: options.shading,
    evidence: {},
  };

  const hair = estimateHair(c);
  const eyebrows = estimateEyebrows(c, hair.colour);
  const eyewear = estimateEyewear(c);
  const beard = estimateBeard(c);
  const lipSamples: Float32Array[] = [];
  for (let v = 0; v < head.vertexCount; v++) {
    const r = head.vertexRegion[v];
    if ((r === Region.upperLip || r === Region.lowerLip) && texture.seen[v])
      lipSamples.push(texture.photo.subarray(v * 3, v * 3 + 3));
  }
  const lips = lipSamples.length >= 5 ? medianRgb(lipSamples) : c.skin;
  const attributes: Record<string, Params> = {
    hair: checkParams(category("hair"), hair.params ?? category("hair").none),
    eyebrows: checkParams(category("eyebrows"), eyebrows.params),
    eyewear: checkParams(category("eyewear"), eyewear ?? category("eyewear").none),
    beard: checkParams(category("beard"), beard ?? category("beard").none),
  };
  return {
    colours: { skin: c.skin, lips, brows: eyebrows.brows, iris: texture.iris },
    attributes,
    evidence: c.evidence,
  };
}
