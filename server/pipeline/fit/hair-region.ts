/**
 * The person's hair in the photo, on a small square crop around the fitted
 * head (HAIR_CROP_SIDE px; a camera for that crop lets the generator's hair
 * be rendered onto the same pixels, hair-fit.ts):
 *
 *   hair = person matte
 *          - the face (head-model faces where the generator never grows hair:
 *            the front of the face below the highest hairline, nose, eyes,
 *            brows, lips, ears, the beard zone) and the neck,
 *          - everything below the chin's level that the head does not cover
 *            (the body, a table, long hair over the shoulders),
 *          - everything farther than WINDOW_REACH_M from the head's outline
 *            (matte leaks onto the background; the generator's hair is a
 *            shell at most 2.1 cm thick),
 *          - pixels the colour of the skin (de-shaded like texture.ts).
 *
 * The first three parts do not depend on the photo's colours: they are the
 * `window` in which a photo's hair and a rendered hair are compared.
 * De-shading as texture.ts does it (its PhotoShading, the studio's by
 * default): a pixel over the head divides by the shading of the head's
 * normal there (the generator's hair shells follow the head's normals); a
 * pixel beyond the outline by that of the outline's normal (perpendicular to
 * the view, pointing away from the head's centre).
 */
import { Region, landmarkPositions, type HeadModel } from "../../../render-core/head";
import { MeshPart } from "../../../render-core/head/mesh";
import type { Camera } from "../../../render-core/math/camera";
import type { Rgb } from "../synthesise/identity";
import type { HeadFit } from "./fit-head";
import { luma, medianRgb, sampleRgb, type RgbImage } from "./image";
import { projectVertices, rasterizeMesh, type MeshRaster, type PosedHead } from "./mesh-view";
import { STUDIO_SHADING, farFromSkin, type PhotoShading, type SkinTolerance } from "./texture";

/** Crop side in pixels: a head about 100 px wide, enough for a 2 mm change of the hair's volume to move its outline. */
export const HAIR_CROP_SIDE = 160;
/** How far beyond the head's outline hair may reach (metres); the generator's thickest shell is 2.1 cm. */
export const WINDOW_REACH_M = 0.035;
/** Hair against skin: tighter than the texture's test (blond hair on a medium skin differs by about 1.4x in luma, 0.07 in chroma). */
export const HAIR_TOLERANCE: SkinTolerance = { lumaLow: 0.7, lumaHigh: 1.3, chroma: 0.06 };

/** The generator's highest hairline on the front of the head (attributes.ts hair.build at coverage 1, minus its 4 mm blend). */
const HIGHEST_HAIRLINE_Y = 0.054;
/** Where the generator's beard grows (attributes.ts beard.build): below this height, in front of BEARD_Z. */
const BEARD_Y = -0.02,
  BEARD_Z = -0.02;

export interface HairCrop {
  /** The crop's top-left corner in image pixels and its scale (crop pixels per image pixel). */
  x0: number;
  y0: number;
  scale: number;
  /** Crop side (pixels). */
  side: number;
  /** The fit's camera seeing exactly the crop. */
  camera: Camera;
  /** The posed head's z-buffer on the crop (all faces). */
  raster: MeshRaster;
  /** [S, S] u8 1 where hair is judged: near the head, above the chin or on the head, not on the face, ears or neck. */
  window: Uint8Array;
  /** [S, S] u8 1 where the head covers the pixel (any face). */
  head: Uint8Array;
  /** Crop pixels per metre at the head's depth. */
  pxPerMetre: number;
}

export interface PhotoHair {
  /** [S, S] u8 1 where the photo shows hair (inside the crop's window). */
  mask: Uint8Array;
  /** [S, S, 3] f32 de-shaded photo colour (studio shading divided out, times the texture's exposure). */
  albedo: Float32Array;
  /** [S, S] f32 matte (area average over the crop pixel). */
  matte: Float32Array;
}

/** The faces where the generator never grows hair, on the template: face front, features, ears, beard zone, neck. */
function noHairFaces(head: HeadModel): Uint8Array {
  const out = new Uint8Array(head.faceCount),
    T = head.template;
  for (let f = 0; f < head.faceCount; f++) {
    const a = head.faces[f * 3],
      b = head.faces[f * 3 + 1],
      c = head.faces[f * 3 + 2];
    if (head.vertexPart[a] !== MeshPart.head) {
      out[f] = 1;
      continue;
    }
    const r = head.faceRegion[f];
    const y = (T[a * 3 + 1] + T[b * 3 + 1] + T[c * 3 + 1]) / 3,
      z = (T[a * 3 + 2] + T[b * 3 + 2] + T[c * 3 + 2]) / 3;
    const frontFace = z > 0.04 && y < HIGHEST_HAIRLINE_Y;
    const beardZone = y < BEARD_Y && z > BEARD_Z;
    out[f] = r !== Region.skin || frontFace || beardZone ? 1 : 0;
  }
  return out;
}
const noHairCache = new WeakMap<HeadModel, Uint8Array>();

/** Chamfer (3-4) distance in pixels from every pixel to the nearest set pixel of `mask`. */
function distanceTo(mask: Uint8Array, W: number, H: number): Float32Array {
  const d = new Float32Array(W * H);
  for (let i = 0; i < d.length; i++) d[i] = mask[i] ? 0 : 1e9;
  const at = (x: number, y: number) => (x < 0 || y < 0 || x >= W || y >= H ? 1e9 : d[y * W + x]);
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++) {
      const i = y * W + x;
      d[i] = Math.min(d[i], at(x - 1, y) + 3, at(x, y - 1) + 3, at(x - 1, y - 1) + 4, at(x + 1, y - 1) + 4);
    }
  for (let y = H - 1; y >= 0; y--)
    for (let x = W - 1; x >= 0; x--) {
      const i = y * W + x;
      d[i] = Math.min(d[i], at(x + 1, y) + 3, at(x, y + 1) + 3, at(x + 1, y + 1) + 4, at(x - 1, y + 1) + 4);
    }
  for (let i = 0; i < d.length; i++) d[i] /= 3;
  return d;
}

/** The crop around the fitted head, its camera, its head raster and the window where hair is judged. */
export function hairCrop(head: HeadModel, fit: HeadFit, view: PosedHead): HairCrop {
  const S = HAIR_CROP_SIDE;
  // The skull and face (not the neck below the chin) decide the crop.
  let u0 = Infinity,
    u1 = -Infinity,
    v0 = Infinity,
    v1 = -Infinity,
    depthSum = 0,
    n = 0;
  for (let v = 0; v < head.vertexCount; v++) {
    if (head.vertexPart[v] !== MeshPart.head || head.template[v * 3 + 1] < -0.09 || !(view.depth[v] > 0)) continue;
    const u = view.px[v * 2],
      w = view.px[v * 2 + 1];
    [u0, u1, v0, v1] = [Math.min(u0, u), Math.max(u1, u), Math.min(v0, w), Math.max(v1, w)];
    depthSum += view.depth[v];
    n++;
  }
  if (n === 0) throw new Error("hairCrop: no head vertex lies in front of the fit's camera");
  const sideImg = Math.max(u1 - u0, v1 - v0) * 1.5;
  const x0 = (u0 + u1) / 2 - sideImg / 2,
    y0 = (v0 + v1) / 2 - sideImg / 2,
    scale = S / sideImg;
  const c = fit.camera;
  const camera: Camera = {
    ...c,
    width: S,
    height: S,
    fx: c.fx * scale,
    fy: c.fy * scale,
    cx: (c.cx - x0) * scale,
    cy: (c.cy - y0) * scale,
  };
  const px = new Float64Array(view.px.length);
  for (let i = 0; i < px.length; i += 2) {
    px[i] = (view.px[i] - x0) * scale;
    px[i + 1] = (view.px[i + 1] - y0) * scale;
  }
  const raster = rasterizeMesh(px, view.depth, head.faces, S, S, 1);
  const pxPerMetre = (camera.fx * n) / depthSum;

  let noHair = noHairCache.get(head);
  if (!noHair) noHairCache.set(head, (noHair = noHairFaces(head)));
  const onHead = new Uint8Array(S * S);
  for (let i = 0; i < S * S; i++) onHead[i] = raster.face[i] >= 0 ? 1 : 0;
  const dist = distanceTo(onHead, S, S);
  // The chin's level along the head's own up direction (chin -> between the brows), so a tilted head is cut square.
  const lm = projectVertices(camera, landmarkPositions(head, view.positions)).px;
  const chin = [lm[16], lm[17]],
    brows = [(lm[38] + lm[48]) / 2, (lm[39] + lm[49]) / 2];
  const upLen = Math.hypot(brows[0] - chin[0], brows[1] - chin[1]) || 1;
  const up = [(brows[0] - chin[0]) / upLen, (brows[1] - chin[1]) / upLen];
  const judged = new Uint8Array(S * S),
    reach = WINDOW_REACH_M * pxPerMetre;
  for (let y = 0; y < S; y++)
    for (let x = 0; x < S; x++) {
      const i = y * S + x,
        f = raster.face[i];
      if (f >= 0) judged[i] = noHair[f] ? 0 : 1;
      else {
        const aboveChin = (x + 0.5 - chin[0]) * up[0] + (y + 0.5 - chin[1]) * up[1] > 0;
        judged[i] = aboveChin && dist[i] <= reach ? 1 : 0;
      }
    }
  return { x0, y0, scale, side: S, camera, raster, window: judged, head: onHead, pxPerMetre };
}

/** Photo colour and matte averaged over each crop pixel's footprint (bilinear at its centre where the crop is finer than the photo). */
function sampleCrop(crop: HairCrop, image: RgbImage, matte: Float32Array | null) {
  const { side: S, x0, y0, scale } = crop,
    W = image.width,
    H = image.height;
  const rgb = new Float32Array(S * S * 3),
    alpha = new Float32Array(S * S),
    count = new Float32Array(S * S);
  const i0 = Math.max(0, Math.floor(x0)),
    i1 = Math.min(W - 1, Math.ceil(x0 + S / scale)),
    j0 = Math.max(0, Math.floor(y0)),
    j1 = Math.min(H - 1, Math.ceil(y0 + S / scale));
  for (let j = j0; j <= j1; j++) {
    const cy = Math.floor((j + 0.5 - y0) * scale);
    if (cy < 0 || cy >= S) continue;
    for (let i = i0; i <= i1; i++) {
      const cx = Math.floor((i + 0.5 - x0) * scale);
      if (cx < 0 || cx >= S) continue;
      const q = cy * S + cx,
        p = j * W + i;
      for (let k = 0; k < 3; k++) rgb[q * 3 + k] += image.rgb[p * 3 + k] / 255;
      alpha[q] += matte ? matte[p] : 1;
      count[q]++;
    }
  }
  const c = new Float64Array(3);
  for (let q = 0; q < S * S; q++) {
    if (count[q] > 0) {
      for (let k = 0; k < 3; k++) rgb[q * 3 + k] /= count[q];
      alpha[q] /= count[q];
      continue;
    }
    const u = x0 + ((q % S) + 0.5) / scale,
      v = y0 + (Math.floor(q / S) + 0.5) / scale;
    if (u < 0 || v < 0 || u >= W || v >= H) continue; // outside the photo: no person
    sampleRgb(image, u, v, c);
    rgb.set(c, q * 3);
    alpha[q] = matte ? matte[Math.floor(v) * W + Math.floor(u)] : 1;
  }
  return { rgb, alpha };
}

/**
 * The photo's hair on the crop (see the file comment) with each pixel's
 * de-shaded colour. `exposure` and `shading` are the texture's (texture.ts),
 * so hair and skin colours are on one scale.
 */
export function photoHairRegion(
  crop: HairCrop,
  view: PosedHead,
  head: HeadModel,
  image: RgbImage,
  matte: Float32Array | null,
  skin: Rgb,
  exposure: number,
  shading: PhotoShading = STUDIO_SHADING,
): PhotoHair {
  const S = crop.side,
    { raster, camera } = crop;
  const { rgb, alpha } = sampleCrop(crop, image, matte);
  // Camera -> world rotation (the transpose of worldToCamera's 3x3) for the outline's normals.
  const m = camera.worldToCamera;
  const toWorld = (x: number, y: number, z: number) => [
    m[0] * x + m[4] * y + m[8] * z,
    m[1] * x + m[5] * y + m[9] * z,
    m[2] * x + m[6] * y + m[10] * z,
  ];
  let hx = 0,
    hy = 0,
    hn = 0;
  for (let i = 0; i < S * S; i++)
    if (crop.head[i]) [hx, hy, hn] = [hx + (i % S) + 0.5, hy + Math.floor(i / S) + 0.5, hn + 1];
  [hx, hy] = [hx / Math.max(1, hn), hy / Math.max(1, hn)];
  const N = view.normals,
    F = head.faces;
  const toCamera = toWorld(0, 0, -1),
    shade = new Float64Array(4);
  const mask = new Uint8Array(S * S),
    albedo = new Float32Array(S * S * 3);
  for (let i = 0; i < S * S; i++) {
    if (!crop.window[i] || alpha[i] < 0.5) continue;
    const f = raster.face[i];
    let n: number[];
    if (f >= 0) {
      n = [0, 1, 2].map((k) => N[F[f * 3] * 3 + k] + N[F[f * 3 + 1] * 3 + k] + N[F[f * 3 + 2] * 3 + k]);
    } else {
      // Camera axes: x right, y down; the outline's normal points away from the head's centre, across the view.
      n = toWorld((i % S) + 0.5 - hx, Math.floor(i / S) + 0.5 - hy, 0);
    }
    const l = Math.hypot(n[0], n[1], n[2]) || 1;
    // No cavity occlusion (the generator's hair has none) and no skin highlight (out[3]): hair is not skin.
    shading.shade(n[0] / l, n[1] / l, n[2] / l, toCamera[0], toCamera[1], toCamera[2], 1, shade);
    const c = [0, 1, 2].map((k) => Math.min(1, (rgb[i * 3 + k] / shade[k]) * exposure));
    albedo.set(c, i * 3);
    if (farFromSkin(c, skin, HAIR_TOLERANCE)) mask[i] = 1;
  }
  return { mask, albedo, matte: alpha };
}

/**
 * The hair's colour: per-channel median of the hair pixels' de-shaded
 * colours after dropping the brightest 5 % (highlights) and those darker
 * than half the median luma (shadows, gaps between strands). Only the hair
 * over the head when there are `minPixels` of it: there the head's normal
 * de-shades it and the matte plays no part (beyond the outline a matte that
 * leaks onto the background passes the background for hair). Null when
 * fewer than `minPixels` hair pixels in all.
 */
export function hairColour(hair: PhotoHair, crop: HairCrop, minPixels = 20): Rgb | null {
  const all: number[] = [],
    overHead: number[] = [];
  for (let i = 0; i < hair.mask.length; i++) if (hair.mask[i]) (crop.head[i] ? overHead : all).push(i);
  if (all.length + overHead.length < minPixels) return null;
  const ids = overHead.length >= minPixels ? overHead : [...overHead, ...all];
  const l = (i: number) => luma(hair.albedo.subarray(i * 3, i * 3 + 3));
  ids.sort((a, b) => l(a) - l(b));
  const kept = ids.slice(0, Math.max(1, Math.floor(ids.length * 0.95)));
  const medianLuma = l(kept[kept.length >> 1]);
  const lit = kept.filter((i) => l(i) >= 0.5 * medianLuma);
  return medianRgb(lit.map((i) => hair.albedo.subarray(i * 3, i * 3 + 3)));
}
