/**
 * The person's hair as the photo shows it, as a UV texture in the head's
 * layout (uv-layout.ts: the generator's hair shells are the head surface
 * offset along its normals, so they share the head's UVs). Size x size
 * RGBA8, 1024 by default like the face's texture; alpha 255 (the hair
 * category keeps its strand texture's alpha, attributes.ts). Colours are
 * albedo on the scale of the face's texture (de-shaded, times its exposure).
 *
 *   1. Every scalp texel (where the generator can grow hair at full
 *      coverage and length) gets its point on the fitted hair's OUTER shell
 *      (posed head + normal x the fitted volume's offset x the fitted
 *      hair's weight: on bare skin the shell is the skin) and is projected
 *      into the photo with the fit's camera.
 *   2. Photo weight w = visible x hair x ((n.v - tau) / (1 - tau))^k:
 *      visible by the z-buffer of that shell-and-head mesh (mesh-view.ts,
 *      uv-texture.ts visibleAt), hair by the photo's hair region
 *      (hair-region.ts: matte minus face, neck, body and skin-coloured
 *      pixels) read bilinearly on its crop, grazing texels fading out.
 *   3. Colour: the photo sampled bilinearly (a 5-tap average where a texel
 *      covers two photo pixels or more), less the highlight the renderer
 *      adds to the hair shells under the dataset's lights, divided by the
 *      PhotoShading of the texel's normal (no occlusion, no skin highlight:
 *      as hair-region.ts), times the face texture's exposure.
 *   4. Statistics of the seen hair: dropping the brightest 5 % (highlights;
 *      dark texels stay: a darker crown is hair too), the weighted
 *      per-channel median is the hair's colour; the relative spread of luma
 *      sets the strength of the fill's strand variation.
 *   5. Three sources joined by a multi-band blend (multiband.ts) with the
 *      squared weights as masks: the photo (extended by push-pull so its
 *      bands exist everywhere); its mirror (texel (S - 1 - x, y): the layout
 *      is exactly symmetric) at mirrorWeight x w; a fill at weight 0.02: the
 *      robust seen colours extended smoothly over the scalp (push-pull; far
 *      away their mean) times vertical strand-like streaks. The fill covers
 *      the whole scalp, so length and coverage edits find colours.
 */
import type { HeadModel } from "../../../render-core/head";
import { MeshPart } from "../../../render-core/head/mesh";
import { mulberry32 } from "../../../render-core/math/prng";
import { STUDIO_LIGHTS, type MeshLights, type MeshTexture } from "../../../render-core/mesh/scene";
import {
  SHELL_MATERIAL,
  categoryByName,
  checkParams,
  hairShellOffset,
  hairWeight,
  type Params,
} from "../synthesise/attributes";
import type { Rgb } from "../synthesise/identity";
import type { HeadFit } from "./fit-head";
import { hairCrop, photoHairRegion, type HairCrop, type PhotoHair } from "./hair-region";
import { checkImage, luma, sampleRgb, type RgbImage } from "./image";
import { cameraPosition, posedHead, projectVertices, rasterizeMesh } from "./mesh-view";
import { multibandBlend, pushPullFill, type Plane } from "./multiband";
import { STUDIO_SHADING, type PhotoShading } from "./texture";
import { visibleAt } from "./uv-texture";
import { atTexel, uvLayout } from "../../../render-core/head/uv-layout";

/** Where a texel's colour came from (the largest weight). */
export const HairSource = { photo: 0, mirrored: 1, fill: 2, notScalp: 255 } as const;

export interface HairTextureOptions {
  /** Texture side in texels. Default 1024 (the face texture's). */
  size?: number;
  /** [H, W] person matte in [0, 1] (the analyse stage's). */
  matte?: Float32Array | null;
  /** The photo's light for de-shading (the face texture's). Default the studio's. */
  shading?: PhotoShading;
  /**
   * The lights the dataset draws the hair under (identityLights): the renderer adds their key's highlight on the
   * hair shells (attributes.ts SHELL_MATERIAL), so it is taken out of the photo first. Default the studio's.
   */
  lights?: MeshLights;
  /** The face texture's skin tone: hair-region.ts tells hair from skin by it. */
  skin: Rgb;
  /** The face texture's exposure gain (texture.ts), so hair and skin sit on one scale. */
  exposure: number;
  /** The photo's hair region when already made (hair-fit.ts estimateHairFromPhoto); made here otherwise. */
  region?: { crop: HairCrop; hair: PhotoHair } | null;
  /** tau: the n.v below which the photo gives nothing. Default 0.2. */
  minFacing?: number;
  /** k: the exponent of the view-angle weight. Default 2. */
  facingPower?: number;
  /** The mirrored photo's weight relative to the photo's. Default 0.3 (hair is less symmetric than a face in detail, as much in colour). */
  mirrorWeight?: number;
}

export interface HairTexture extends MeshTexture {
  /** [S * S] u8 HairSource per texel. */
  source: Uint8Array;
  /** [S * S] f32 photo weight. */
  weight: Float32Array;
  /** The seen hair's robust colour (step 4): the fill's colour far from what the photo shows. */
  colour: Rgb;
  /** Share of the scalp's texels whose largest weight is the photo's. */
  seenShare: number;
  /** Wall time of the build, milliseconds. */
  millis: number;
}

export const DEFAULT_HAIR_TEXTURE_SIZE = 1024;
const FILL_WEIGHT = 0.02;
/** Fewest seen hair texels for statistics of their own; fewer and the hair parameters' colour stands in. */
const MIN_SEEN = 50;

const smooth = (e0: number, e1: number, x: number) => {
  const t = Math.min(1, Math.max(0, (x - e0) / (e1 - e0)));
  return t * t * (3 - 2 * t);
};

/** Bilinear read of a [S, S] u8 mask at crop pixel coordinates (centres at i + 0.5); 0 outside. */
function maskAt(mask: Uint8Array, S: number, x: number, y: number): number {
  const fx = x - 0.5,
    fy = y - 0.5;
  const x0 = Math.floor(fx),
    y0 = Math.floor(fy);
  const at = (i: number, j: number) => (i < 0 || j < 0 || i >= S || j >= S ? 0 : mask[j * S + i]);
  const tx = fx - x0,
    ty = fy - y0;
  return (
    (at(x0, y0) * (1 - tx) + at(x0 + 1, y0) * tx) * (1 - ty) +
    (at(x0, y0 + 1) * (1 - tx) + at(x0 + 1, y0 + 1) * tx) * ty
  );
}

/** Weighted per-channel median. */
function weightedMedian(values: Float32Array, weights: number[], ids: number[]): Rgb {
  const out: Rgb = [0, 0, 0];
  const total = ids.reduce((s, _, q) => s + weights[q], 0);
  for (let k = 0; k < 3; k++) {
    const order = ids.map((_, q) => q).sort((a, b) => values[ids[a] * 3 + k] - values[ids[b] * 3 + k]);
    let acc = 0;
    for (const q of order) {
      acc += weights[q];
      if (acc >= total / 2) {
        out[k] = values[ids[q] * 3 + k];
        break;
      }
    }
  }
  return out;
}

/**
 * [S * S] f32 strand-like streaks around 1: per texel column a random level, changing slowly down the column
 * (the layout's v runs up and down the head, as the generator's strands do). Deterministic.
 */
function strandStreaks(S: number, amplitude: number): Float32Array {
  const rand = mulberry32(1619);
  const period = Math.max(8, S >> 4);
  const knots = Math.ceil(S / period) + 2;
  const levels = Float32Array.from({ length: S * knots }, () => rand() * 2 - 1);
  // Neighbouring columns share part of their level: strands a few texels wide, not single-texel noise.
  const out = new Float32Array(S * S);
  const width = Math.max(1, S >> 8);
  for (let x = 0; x < S; x++) {
    const col = Math.floor(x / width);
    for (let y = 0; y < S; y++) {
      const t = y / period,
        j = Math.floor(t),
        f = t - j;
      const a = levels[(col % S) * knots + j],
        b = levels[(col % S) * knots + j + 1];
      out[y * S + x] = 1 + amplitude * (a + (b - a) * f * f * (3 - 2 * f));
    }
  }
  return out;
}

/** Median photo pixels per texel (linear) over the scalp's faces seen in the photo: how much the photo is minified. */
function scalpFootprint(head: HeadModel, px: Float64Array, S: number, scalp: Float32Array): number {
  const ratios: number[] = [];
  const uv = head.uvCoords;
  for (let f = 0; f < head.faceCount; f++) {
    const a = head.faces[f * 3],
      b = head.faces[f * 3 + 1],
      c = head.faces[f * 3 + 2];
    if (!(scalp[a] > 0 && scalp[b] > 0 && scalp[c] > 0)) continue;
    const pxArea = Math.abs(
      (px[b * 2] - px[a * 2]) * (px[c * 2 + 1] - px[a * 2 + 1]) -
        (px[b * 2 + 1] - px[a * 2 + 1]) * (px[c * 2] - px[a * 2]),
    );
    const [ta, tb, tc] = [0, 1, 2].map((k) => head.faceUvs[f * 3 + k]);
    const uvArea =
      Math.abs(
        (uv[tb * 2] - uv[ta * 2]) * (uv[tc * 2 + 1] - uv[ta * 2 + 1]) -
          (uv[tb * 2 + 1] - uv[ta * 2 + 1]) * (uv[tc * 2] - uv[ta * 2]),
      ) *
      S *
      S;
    if (uvArea > 0 && pxArea > 0) ratios.push(pxArea / uvArea);
  }
  if (!ratios.length) return 1;
  ratios.sort((x, y) => x - y);
  return Math.sqrt(ratios[ratios.length >> 1]);
}

/** The fitted hair's UV texture from the photo (see the file comment for the steps). `hair`: the fitted hair parameters. */
export function buildHairTexture(
  head: HeadModel,
  fit: HeadFit,
  image: RgbImage,
  hair: Params,
  options: HairTextureOptions,
): HairTexture {
  const t0 = performance.now();
  const matte = options.matte ?? null;
  checkImage("buildHairTexture", image, matte);
  if (fit.camera.width !== image.width || fit.camera.height !== image.height)
    throw new Error(
      `buildHairTexture: the fit's camera is ${fit.camera.width} x ${fit.camera.height} but the image is ${image.width} x ${image.height}`,
    );
  const S = options.size ?? DEFAULT_HAIR_TEXTURE_SIZE;
  if (!Number.isInteger(S) || S < 64 || S > 4096)
    throw new Error(`buildHairTexture: size must be a whole number in [64, 4096], got ${S}`);
  const tau = options.minFacing ?? 0.2,
    power = options.facingPower ?? 2,
    mirrorWeight = options.mirrorWeight ?? 0.3;
  if (!(tau >= 0 && tau < 1)) throw new Error(`buildHairTexture: minFacing must be in [0, 1), got ${tau}`);
  if (!(power > 0)) throw new Error(`buildHairTexture: facingPower must be > 0, got ${power}`);
  if (!(mirrorWeight >= 0 && mirrorWeight <= 1))
    throw new Error(`buildHairTexture: mirrorWeight must be in [0, 1], got ${mirrorWeight}`);
  if (!(options.exposure > 0)) throw new Error(`buildHairTexture: exposure must be > 0, got ${options.exposure}`);
  const p = checkParams(categoryByName("hair"), hair);
  if (p.coverage <= 0.01)
    throw new Error(`buildHairTexture: the hair has no coverage (${p.coverage}): nothing to texture`);
  const shading = options.shading ?? STUDIO_SHADING;
  const lights = options.lights ?? STUDIO_LIGHTS;
  const { width: W, height: H } = image;
  const view = posedHead(head, fit);
  const region =
    options.region ??
    (() => {
      const crop = hairCrop(head, fit, view);
      return { crop, hair: photoHairRegion(crop, view, head, image, matte, options.skin, options.exposure, shading) };
    })();
  const { crop } = region;

  // Step 1: the outer shell (head + normal x offset x weight), projected, and its z-buffer.
  const weightV = hairWeight(head, p);
  const scalpV = hairWeight(head, { ...p, coverage: 1, length: 1 });
  const offset = hairShellOffset(p.volume);
  const shell = new Float32Array(view.positions.length);
  for (let v = 0; v < head.vertexCount; v++)
    for (let k = 0; k < 3; k++)
      shell[v * 3 + k] = view.positions[v * 3 + k] + view.normals[v * 3 + k] * offset * weightV[v];
  const proj = projectVertices(fit.camera, shell);
  const raster = rasterizeMesh(proj.px, proj.depth, head.faces, W, H, Math.min(1, 1024 / Math.max(W, H)));
  const footprint = scalpFootprint(head, proj.px, S, scalpV);
  const tap = footprint >= 2 ? footprint / 3 : 0;
  const eye = cameraPosition(fit.camera);
  const m = fit.camera.worldToCamera,
    { fx, fy, cx, cy } = fit.camera;
  const layout = uvLayout(head, S);

  // Steps 2-3: photo colour and weight per scalp texel.
  const N = S * S;
  const photo = new Float32Array(N * 3),
    weight = new Float32Array(N),
    scalp = new Uint8Array(N);
  const P = [0, 0, 0],
    Nn = [0, 0, 0],
    Sc = [0];
  const c = new Float64Array(3),
    acc = new Float64Array(3),
    sh = new Float64Array(4);
  for (let i = 0; i < N; i++) {
    const f = layout.face[i];
    if (f < 0 || head.vertexPart[head.faces[f * 3]] !== MeshPart.head) continue;
    atTexel(head, layout, i, scalpV, 1, Sc);
    if (!(Sc[0] > 1e-3)) continue;
    scalp[i] = 1;
    atTexel(head, layout, i, shell, 3, P);
    const z = m[8] * P[0] + m[9] * P[1] + m[10] * P[2] + m[11];
    if (!(z > 0)) continue;
    atTexel(head, layout, i, view.normals, 3, Nn);
    const nl = Math.hypot(Nn[0], Nn[1], Nn[2]) || 1;
    const vx = eye[0] - P[0],
      vy = eye[1] - P[1],
      vz = eye[2] - P[2];
    const vl = Math.hypot(vx, vy, vz) || 1;
    const facing = (Nn[0] * vx + Nn[1] * vy + Nn[2] * vz) / (nl * vl);
    if (facing <= tau) continue;
    const u = (fx * (m[0] * P[0] + m[1] * P[1] + m[2] * P[2] + m[3])) / z + cx,
      v = (fy * (m[4] * P[0] + m[5] * P[1] + m[6] * P[2] + m[7])) / z + cy;
    if (u < 0 || v < 0 || u >= W || v >= H) continue;
    if (!visibleAt(raster, proj.px, proj.depth, head.faces, f, u, v, z)) continue;
    const isHair = smooth(
      0.25,
      0.75,
      maskAt(region.hair.mask, crop.side, (u - crop.x0) * crop.scale, (v - crop.y0) * crop.scale),
    );
    if (isHair <= 0) continue;
    if (tap > 0) {
      // A texel covering several photo pixels: the mean of five taps over its footprint (no aliasing on big photos).
      acc.fill(0);
      for (const [du, dv] of [
        [0, 0],
        [-tap, -tap],
        [tap, -tap],
        [-tap, tap],
        [tap, tap],
      ]) {
        sampleRgb(image, u + du, v + dv, c);
        for (let k = 0; k < 3; k++) acc[k] += c[k] / 5;
      }
      c.set(acc);
    } else sampleRgb(image, u, v, c);
    shading.shade(Nn[0] / nl, Nn[1] / nl, Nn[2] / nl, vx / vl, vy / vl, vz / vl, 1, sh);
    // The shells' highlight as the renderer draws it (Blinn-Phong on the key): it comes back when rendered.
    const hx = lights.keyDir[0] + vx / vl,
      hy = lights.keyDir[1] + vy / vl,
      hz = lights.keyDir[2] + vz / vl;
    const nh = Math.max(0, (Nn[0] * hx + Nn[1] * hy + Nn[2] * hz) / (nl * (Math.hypot(hx, hy, hz) || 1)));
    const highlight = SHELL_MATERIAL.specular * lights.key * nh ** SHELL_MATERIAL.shininess;
    for (let k = 0; k < 3; k++)
      photo[i * 3 + k] = Math.min(1, (Math.max(0, c[k] - highlight) / sh[k]) * options.exposure);
    weight[i] = ((facing - tau) / (1 - tau)) ** power * isHair;
  }

  // Step 4: the seen hair's robust colour and spread.
  const seen: number[] = [];
  for (let i = 0; i < N; i++) if (weight[i] > 0.05) seen.push(i);
  const inlier = new Float32Array(N);
  let colour: Rgb = [p.colourR, p.colourG, p.colourB];
  let spread = 0.1;
  if (seen.length >= MIN_SEEN) {
    const l = (i: number) => luma(photo.subarray(i * 3, i * 3 + 3));
    seen.sort((a, b) => l(a) - l(b));
    // Highlights out; dark texels stay (unlike hair-region.ts hairColour's gaps: here a dark crown is hair too).
    const ids = seen.slice(0, Math.max(1, Math.floor(seen.length * 0.95)));
    const medianLuma = l(ids[ids.length >> 1]);
    colour = weightedMedian(
      photo,
      ids.map((i) => weight[i]),
      ids,
    );
    for (const i of ids) inlier[i] = 1;
    // Quartile spread of luma relative to the median: how much strands differ in the photo.
    const q1 = l(ids[Math.floor(ids.length * 0.25)]),
      q3 = l(ids[Math.floor(ids.length * 0.75)]);
    spread = Math.min(0.25, Math.max(0.05, (q3 - q1) / Math.max(1e-3, 2 * medianLuma)));
  }

  // Step 5: sources, masks, multi-band blend.
  const known = Float32Array.from(weight, (w) => (w > 0 ? 1 : 0));
  const photoPlane = pushPullFill({ width: S, height: S, channels: 3, data: photo }, known, colour);
  const fillPlane = pushPullFill({ width: S, height: S, channels: 3, data: photo }, inlier, colour);
  const streaks = strandStreaks(S, spread);
  for (let i = 0; i < N; i++) for (let k = 0; k < 3; k++) fillPlane.data[i * 3 + k] *= streaks[i];
  const mirrorPlane: Plane = { width: S, height: S, channels: 3, data: new Float32Array(N * 3) };
  const masks = [new Float32Array(N), new Float32Array(N), new Float32Array(N)];
  const source = new Uint8Array(N).fill(HairSource.notScalp);
  let scalpCount = 0,
    photoCount = 0;
  for (let y = 0; y < S; y++)
    for (let x = 0; x < S; x++) {
      const i = y * S + x,
        mi = y * S + (S - 1 - x);
      for (let k = 0; k < 3; k++) mirrorPlane.data[i * 3 + k] = photoPlane.data[mi * 3 + k];
      if (!scalp[i]) {
        masks[2][i] = 1;
        continue;
      }
      const wp = weight[i],
        wmir = scalp[mi] ? mirrorWeight * weight[mi] : 0;
      masks[0][i] = wp * wp;
      masks[1][i] = wmir * wmir;
      masks[2][i] = FILL_WEIGHT * FILL_WEIGHT;
      const label = wp >= wmir && wp > FILL_WEIGHT ? 0 : wmir > FILL_WEIGHT ? 1 : 2;
      source[i] = [HairSource.photo, HairSource.mirrored, HairSource.fill][label];
      scalpCount++;
      if (label === 0) photoCount++;
    }
  const blended = multibandBlend([photoPlane, mirrorPlane, fillPlane], masks);
  const data = new Uint8Array(N * 4);
  for (let i = 0; i < N; i++) {
    for (let k = 0; k < 3; k++) data[i * 4 + k] = Math.round(255 * Math.min(1, Math.max(0, blended.data[i * 3 + k])));
    data[i * 4 + 3] = 255;
  }
  return {
    width: S,
    height: S,
    data,
    source,
    weight,
    colour,
    seenShare: photoCount / Math.max(1, scalpCount),
    millis: performance.now() - t0,
  };
}
