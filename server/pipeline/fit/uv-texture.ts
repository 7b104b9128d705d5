/**
 * The photo onto the fitted head as a UV texture (size x size RGBA8, 1024 by
 * default), the dense successor of texture.ts's colour per vertex. Linear-ish
 * albedo in [0, 1] like identityColours; texel (x, y) at u = (x + 0.5) / S,
 * v = (y + 0.5) / S (uv-layout.ts), as MeshTexture samples it.
 *
 *   1. Every head texel gets its point and normal on the fitted, posed head
 *      (the UV layout rasterised once per size: face and barycentric weights
 *      per texel) and is projected into the photo with the fit's camera.
 *   2. Photo weight w = visible x matte x ((n.v - tau) / (1 - tau))^k: the
 *      z-buffer of mesh-view.ts (at the photo's resolution, at most 1024 px)
 *      decides visibility, the matte drops the background, grazing texels
 *      fade out (tau 0.2, k 2); clipped pixels and texels the light barely
 *      reaches (shading under 0.6 of a camera-facing surface's) count for
 *      less. A lid or lip texel that lands inside the
 *      photo's eye or mouth opening (Human's mesh) gets nothing: the pixel
 *      shows an eyeball or teeth where the fitted model has skin. The weight
 *      fades in over 8 texels from every edge of what the photo gives, so
 *      sources change gradually. The photo is box-blurred first when a texel
 *      covers more than two photo pixels (no aliasing on big photos).
 *   3. Colour: the photo sampled bilinearly and de-shaded through a
 *      PhotoShading (the photo's SH light, else the studio's) without the
 *      cavity term (the photo holds its own occlusion; scene.ts draws a
 *      textured head without it), then the exposure of texture.ts (skin at
 *      most 0.95). Highlights stay: taking them out left grey patches.
 *   4. Covered skin: a skin, nose, ear or neck texel whose colour is far
 *      from the skin tone (UV_SKIN_TOLERANCE: hair, a beard, glasses frames,
 *      not freckles, make-up or shadow) gets w = 0, unless it sees the photo
 *      inside Human's brow outline (grown by BROW_GROW): a brow is kept where
 *      it lands, even when the model's brow region sits a little off it. The
 *      skin tone is the median of the cheek and forehead texels.
 *   5. Three sources: the photo; its mirror (texel (x, y) reads (S - 1 - x,
 *      y): the model's UV layout is exactly symmetric, u -> 1 - u is x -> -x)
 *      at weight 0.2 w; a fill at weight 0.02: the seen skin-like texels
 *      extended smoothly (push-pull) over the rest, so hidden or covered skin
 *      takes its surroundings' colour and, far away, the seen skin's mean
 *      (lips, brows and other regions: everything seen, extended).
 *      The photo too is extended past its texels so its bands are defined
 *      everywhere; the three are joined by a multi-band blend (multiband.ts)
 *      with the squared weights as masks: colour differences melt over a wide
 *      seam, and where one source is much better the other's detail stays
 *      faint. `source` names the largest weight per texel.
 *   6. Eyeballs are painted (uv-eyes.ts: pupil, iris, sclera at Human's iris
 *      points, colours from the pixels seen through the lids); the mouth bag
 *      and the eye sockets keep identityColours' layout in this photo's skin
 *      tone; texels no face reaches take their neighbours' colours.
 */
import type { HeadModel } from "../../../render-core/head";
import { MeshPart } from "../../../render-core/head/mesh";
import type { MeshTexture } from "../../../render-core/mesh/scene";
import { identityColours, type Rgb } from "../synthesise/identity";
import type { HeadFit } from "./fit-head";
import { checkImage, luma, medianRgb, sampleMatte, sampleRgb, type RgbImage } from "./image";
import { cameraPosition, posedHead, rasterizeMesh, type MeshRaster } from "./mesh-view";
import { multibandBlend, pushPullFill, type Plane } from "./multiband";
import {
  DEFAULT_IRIS,
  MAX_SKIN,
  SKIN_LIKE,
  STUDIO_SHADING,
  TextureSource,
  farFromSkin,
  isToneSample,
  type PhotoShading,
  type SkinTolerance,
} from "./texture";
import { FACE_BROWS } from "./dense-binding";
import { faceOpenings, facePolygons, insideOpening, irisSightings, paintEyes, type EyeReport } from "./uv-eyes";
import { atTexel, uvLayout } from "../../../render-core/head/uv-layout";
import { boxBlur } from "../../images/box-blur";

/** Where a texel's colour came from: TextureSource's values, plus painted eyes and texels no face reaches. */
export const UvSource = { ...TextureSource, eye: 4, empty: 255 } as const;

export interface UvTextureOptions {
  /** Texture side in texels. Default 1024. */
  size?: number;
  /** [H, W] person matte in [0, 1] (the analyse stage's). */
  matte?: Float32Array | null;
  /** Human's face mesh [478, 3] in pixels (analysis.mesh): its iris points place and colour the irises. */
  faceMesh?: ArrayLike<number> | null;
  /** tau: the n.v below which the photo gives nothing. Default 0.2. */
  minFacing?: number;
  /** k: the exponent of the view-angle weight. Default 2. */
  facingPower?: number;
  /** The mirrored photo's weight relative to the photo's. Default 0.2. */
  mirrorWeight?: number;
  /** The photo's light for de-shading. Default the studio's (texture.ts STUDIO_SHADING). */
  shading?: PhotoShading;
  /** Iris colour when no iris is seen. Default texture.ts DEFAULT_IRIS. */
  fallbackIris?: Rgb;
}

export interface UvTexture extends MeshTexture {
  /** [S * S] u8 UvSource per texel. */
  source: Uint8Array;
  /** [S * S] f32 photo weight (0 where the photo gives nothing or shows something else than skin). */
  weight: Float32Array;
  skinTone: Rgb;
  /** The gain that brought the de-shaded skin to at most 0.95 (1 unless the photo is brightly lit). */
  exposure: number;
  iris: Rgb;
  sclera: Rgb;
  eyes: EyeReport;
  /** Wall time of the build, milliseconds. */
  millis: number;
}

export const DEFAULT_UV_TEXTURE_SIZE = 1024;
/** Depth slack of the visibility test, metres: a neighbouring face's plane, extended to the texel, bends away by less. */
const DEPTH_SLACK = 0.001;
const FILL_WEIGHT = 0.02;
/** A photo pixel with a channel at least this high is clipped; its texels' weight is multiplied by CLIPPED_WEIGHT. */
const CLIPPED = 254 / 255,
  CLIPPED_WEIGHT = 0.3;
/** Texels over which the photo's weight fades in from the edge of what it sees (occlusion, matte, covered skin). */
const FEATHER = 8;
/** Human's brow outline grown about its centre: the outline follows the brow's middle, the hairs reach past it. */
const BROW_GROW = 1.3;
/**
 * Covered skin, for the texture: wider than texture.ts's SKIN_TOLERANCE, which also took freckles, eye make-up
 * and the shadow side of a side-lit face for cover (filled, they read as blotches).
 */
export const UV_SKIN_TOLERANCE: SkinTolerance = { lumaLow: 0.25, lumaHigh: 3, chroma: 0.3 };

const smooth = (e0: number, e1: number, x: number) => {
  const t = Math.min(1, Math.max(0, (x - e0) / (e1 - e0)));
  return t * t * (3 - 2 * t);
};

/**
 * Scales each weight by smoothstep(0, width, distance to the nearest texel without weight), in place: the photo's
 * weight then fades in from the edges of what it sees instead of jumping there (chamfer distance, 2 passes).
 */
function featherWeights(weight: Float32Array, S: number, width: number): void {
  const d = new Float32Array(S * S);
  for (let i = 0; i < S * S; i++) d[i] = weight[i] > 0 ? Infinity : 0;
  const D1 = 1,
    D2 = Math.SQRT2;
  for (let y = 0; y < S; y++)
    for (let x = 0; x < S; x++) {
      const i = y * S + x;
      if (d[i] === 0) continue;
      let v = d[i];
      if (x > 0) v = Math.min(v, d[i - 1] + D1);
      if (y > 0) {
        v = Math.min(v, d[i - S] + D1);
        if (x > 0) v = Math.min(v, d[i - S - 1] + D2);
        if (x < S - 1) v = Math.min(v, d[i - S + 1] + D2);
      }
      d[i] = v;
    }
  for (let y = S - 1; y >= 0; y--)
    for (let x = S - 1; x >= 0; x--) {
      const i = y * S + x;
      if (d[i] === 0) continue;
      let v = d[i];
      if (x < S - 1) v = Math.min(v, d[i + 1] + D1);
      if (y < S - 1) {
        v = Math.min(v, d[i + S] + D1);
        if (x < S - 1) v = Math.min(v, d[i + S + 1] + D2);
        if (x > 0) v = Math.min(v, d[i + S - 1] + D2);
      }
      d[i] = v;
    }
  for (let i = 0; i < S * S; i++) if (weight[i] > 0) weight[i] *= smooth(0, width, d[i]);
}

/** Median photo pixels per texel (linear) over the front of the face: how much the photo is minified. */
function texelFootprint(head: HeadModel, px: Float64Array, size: number): number {
  const ratios: number[] = [];
  const uv = head.uvCoords;
  for (let f = 0; f < head.faceCount; f++) {
    const a = head.faces[f * 3],
      b = head.faces[f * 3 + 1],
      c = head.faces[f * 3 + 2];
    if (head.vertexPart[a] !== MeshPart.head || head.template[a * 3 + 2] < 0.05) continue;
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
      size *
      size;
    if (uvArea > 0 && pxArea > 0) ratios.push(pxArea / uvArea);
  }
  if (!ratios.length) return 1;
  ratios.sort((x, y) => x - y);
  return Math.sqrt(ratios[ratios.length >> 1]);
}

/**
 * Whether a point of face f at image (u, v) and camera depth z is the one the camera sees: the z-buffer's face at
 * that pixel is f, or that face's plane, extended to (u, v) exactly, is not nearer. (A plain depth slack at a pixel
 * lets a lip or a lid that overhangs by a few millimetres through.)
 */
export function visibleAt(
  raster: MeshRaster,
  px: Float64Array,
  depth: Float64Array,
  faces: Uint32Array,
  f: number,
  u: number,
  v: number,
  z: number,
): boolean {
  const x = Math.floor(u * raster.scale),
    y = Math.floor(v * raster.scale);
  if (x < 0 || y < 0 || x >= raster.width || y >= raster.height) return false;
  const g = raster.face[y * raster.width + x];
  if (g === f || g < 0) return true;
  const a = faces[g * 3],
    b = faces[g * 3 + 1],
    c = faces[g * 3 + 2];
  const ax = px[a * 2],
    ay = px[a * 2 + 1],
    bx = px[b * 2],
    by = px[b * 2 + 1],
    cx = px[c * 2],
    cy = px[c * 2 + 1];
  const area = (bx - ax) * (cy - ay) - (by - ay) * (cx - ax);
  if (area === 0) return true;
  const wa = ((bx - u) * (cy - v) - (by - v) * (cx - u)) / area;
  const wb = ((cx - u) * (ay - v) - (cy - v) * (ax - u)) / area;
  const inv = wa / depth[a] + wb / depth[b] + (1 - wa - wb) / depth[c];
  return !(inv > 0) || z <= 1 / inv + DEPTH_SLACK;
}

/** The fitted head's UV albedo from the photo (see the file comment for the steps). */
export function buildUvTexture(
  head: HeadModel,
  fit: HeadFit,
  image: RgbImage,
  options: UvTextureOptions = {},
): UvTexture {
  const t0 = performance.now();
  const matte = options.matte ?? null;
  checkImage("buildUvTexture", image, matte);
  if (fit.camera.width !== image.width || fit.camera.height !== image.height)
    throw new Error(
      `buildUvTexture: the fit's camera is ${fit.camera.width} x ${fit.camera.height} but the image is ${image.width} x ${image.height}`,
    );
  const S = options.size ?? DEFAULT_UV_TEXTURE_SIZE;
  if (!Number.isInteger(S) || S < 64 || S > 4096)
    throw new Error(`buildUvTexture: size must be a whole number in [64, 4096], got ${S}`);
  const tau = options.minFacing ?? 0.2,
    power = options.facingPower ?? 2,
    mirrorWeight = options.mirrorWeight ?? 0.2;
  if (!(tau >= 0 && tau < 1)) throw new Error(`buildUvTexture: minFacing must be in [0, 1), got ${tau}`);
  if (!(power > 0)) throw new Error(`buildUvTexture: facingPower must be > 0, got ${power}`);
  if (!(mirrorWeight >= 0 && mirrorWeight <= 1))
    throw new Error(`buildUvTexture: mirrorWeight must be in [0, 1], got ${mirrorWeight}`);
  const shading = options.shading ?? STUDIO_SHADING;
  const { width: W, height: H } = image;
  const layout = uvLayout(head, S);
  const view = posedHead(head, fit);
  const raster = rasterizeMesh(view.px, view.depth, head.faces, W, H, Math.min(1, 1024 / Math.max(W, H)));
  const eye = cameraPosition(fit.camera);
  const footprint = texelFootprint(head, view.px, S);
  // A cheap prefilter for minification.
  const photoImage =
    footprint >= 2
      ? { ...image, rgb: boxBlur(image.rgb, image.width, image.height, 3, Math.floor(footprint / 2)) }
      : image;
  const m = fit.camera.worldToCamera,
    { fx, fy, cx, cy } = fit.camera;
  const openings = faceOpenings(options.faceMesh);
  // The photo's brows (grown a little: Human's outline hugs them) are kept where they land, even on model skin.
  const brows = facePolygons(options.faceMesh, FACE_BROWS, BROW_GROW);

  // Steps 1-3: photo colour and weight per head texel.
  const N = S * S;
  const photo = new Float32Array(N * 3),
    weight = new Float32Array(N);
  const isHead = new Uint8Array(N);
  const onBrow = new Uint8Array(N);
  const toneTexels: number[] = [];
  const P = [0, 0, 0],
    Nn = [0, 0, 0],
    Tp = [0, 0, 0];
  const c = new Float64Array(3),
    sh = new Float64Array(4),
    ref = new Float64Array(4);
  for (let i = 0; i < N; i++) {
    const f = layout.face[i];
    if (f < 0 || head.vertexPart[head.faces[f * 3]] !== MeshPart.head) continue;
    isHead[i] = 1;
    atTexel(head, layout, i, view.positions, 3, P);
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
    if (!visibleAt(raster, view.px, view.depth, head.faces, f, u, v, z)) continue;
    if (insideOpening(openings, u, v)) continue;
    if (insideOpening(brows, u, v)) onBrow[i] = 1;
    const wm = matte ? smooth(0.3, 0.7, sampleMatte(matte, W, H, u, v)) : 1;
    if (wm <= 0) continue;
    // Occlusion 1: the photo carries its own (scene.ts draws a textured head without the cavity term).
    shading.shade(Nn[0] / nl, Nn[1] / nl, Nn[2] / nl, vx / vl, vy / vl, vz / vl, 1, sh);
    sampleRgb(photoImage, u, v, c);
    for (let k = 0; k < 3; k++) photo[i * 3 + k] = Math.max(0, c[k] - sh[3]) / sh[k];
    // A clipped pixel (a channel at 255) has lost its colour: it counts for less. So does a texel the light barely
    // reaches (a lip's or a lid's edge turned away from it): dividing by a small shading amplifies every error.
    const clipped = Math.max(c[0], c[1], c[2]) >= CLIPPED ? CLIPPED_WEIGHT : 1;
    shading.shade(vx / vl, vy / vl, vz / vl, vx / vl, vy / vl, vz / vl, 1, ref);
    const lit = smooth(0.2, 0.6, luma(sh) / Math.max(1e-6, luma(ref)));
    weight[i] = ((facing - tau) / (1 - tau)) ** power * wm * clipped * lit;
    if (layout.kind[i] === 1 && SKIN_LIKE.has(head.faceRegion[f])) {
      atTexel(head, layout, i, head.template, 3, Tp);
      if (isToneSample(Tp[0], Tp[1], Tp[2])) toneTexels.push(i);
    }
  }

  // Step 4: exposure, skin tone, covered skin.
  if (toneTexels.length < 50)
    throw new Error(
      `buildUvTexture: only ${toneTexels.length} cheek and forehead texels are visible; does the fit match the photo?`,
    );
  const stride = Math.max(1, Math.floor(toneTexels.length / 20000));
  const toneFrom: Float32Array[] = [];
  for (let q = 0; q < toneTexels.length; q += stride)
    toneFrom.push(photo.subarray(toneTexels[q] * 3, toneTexels[q] * 3 + 3));
  const rawTone = medianRgb(toneFrom);
  const exposure = Math.min(1, MAX_SKIN / Math.max(...rawTone, 1e-3));
  const skinTone = rawTone.map((x) => Math.min(1, x * exposure)) as Rgb;
  for (let i = 0; i < N; i++) {
    if (!(weight[i] > 0)) continue;
    // Over 1 after exposure (a bright spot): scaled back as a whole, so the colour keeps its hue.
    const top = Math.max(1, photo[i * 3] * exposure, photo[i * 3 + 1] * exposure, photo[i * 3 + 2] * exposure);
    for (let k = 0; k < 3; k++) photo[i * 3 + k] *= exposure / top;
    const c = photo.subarray(i * 3, i * 3 + 3);
    if (SKIN_LIKE.has(head.faceRegion[layout.face[i]]) && !onBrow[i] && farFromSkin(c, skinTone, UV_SKIN_TOLERANCE))
      weight[i] = 0;
  }

  // Step 5: sources, labels, multi-band blend.
  const known = new Float32Array(N),
    knownSkin = new Float32Array(N);
  for (let i = 0; i < N; i++) {
    known[i] = weight[i] > 0 ? 1 : 0;
    knownSkin[i] = known[i] && SKIN_LIKE.has(head.faceRegion[layout.face[i]]) ? 1 : 0;
  }
  featherWeights(weight, S, FEATHER);
  const photoPlane = pushPullFill({ width: S, height: S, channels: 3, data: photo }, known, skinTone);
  const mirrorPlane: Plane = { width: S, height: S, channels: 3, data: new Float32Array(N * 3) };
  // The skin fill: the seen skin extended smoothly over what it lacks (shadowed or covered skin takes its
  // surroundings' colour, far away the seen skin's mean), not one flat tone.
  const fillPlane = pushPullFill({ width: S, height: S, channels: 3, data: photo }, knownSkin, skinTone);
  // Lips, brows and the rest extend from everything seen around them (the photo's own extension).
  for (let i = 0; i < N; i++)
    if (isHead[i] && !SKIN_LIKE.has(head.faceRegion[layout.face[i]]))
      for (let k = 0; k < 3; k++) fillPlane.data[i * 3 + k] = photoPlane.data[i * 3 + k];
  const masks = [new Float32Array(N), new Float32Array(N), new Float32Array(N)];
  const source = new Uint8Array(N).fill(UvSource.empty);
  for (let y = 0; y < S; y++)
    for (let x = 0; x < S; x++) {
      const i = y * S + x,
        mi = y * S + (S - 1 - x);
      for (let k = 0; k < 3; k++) mirrorPlane.data[i * 3 + k] = photoPlane.data[mi * 3 + k];
      if (!isHead[i]) {
        masks[2][i] = 1;
        continue;
      }
      const wp = weight[i],
        wmir = isHead[mi] ? mirrorWeight * weight[mi] : 0;
      const label = wp >= wmir && wp > FILL_WEIGHT ? 0 : wmir > FILL_WEIGHT ? 1 : 2;
      // Squared weights: where photo and mirror are about as good the seam averages them; where one is clearly
      // better (a frontal photo texel against its mirror) the other's detail stays faint (under 5%), no ghost.
      masks[0][i] = wp * wp;
      masks[1][i] = wmir * wmir;
      masks[2][i] = FILL_WEIGHT * FILL_WEIGHT;
      source[i] = [UvSource.photo, UvSource.mirrored, UvSource.skinFill][label];
    }
  const blended = multibandBlend([photoPlane, mirrorPlane, fillPlane], masks);

  // Step 6: the head from the blend, bags and sockets from the layout, eyes painted, gaps filled.
  const rgb = new Float32Array(N * 3);
  const covered = new Float32Array(N);
  const layoutColours = identityColours(
    {
      kind: "portrait",
      seed: 0,
      shape: [],
      skin: skinTone,
      lips: skinTone,
      brows: skinTone,
      iris: options.fallbackIris ?? DEFAULT_IRIS,
      freckles: 0,
    },
    head,
  );
  const col = [0, 0, 0];
  for (let i = 0; i < N; i++) {
    const f = layout.face[i];
    if (f < 0) continue;
    covered[i] = 1;
    if (isHead[i]) {
      for (let k = 0; k < 3; k++) rgb[i * 3 + k] = Math.min(1, Math.max(0, blended.data[i * 3 + k]));
      continue;
    }
    atTexel(head, layout, i, layoutColours, 3, col);
    rgb.set(col, i * 3);
    source[i] = UvSource.default;
  }
  const painted = new Uint8Array(N);
  const eyes = paintEyes(
    {
      head,
      layout,
      view,
      raster,
      camera: fit.camera,
      eye,
      image: photoImage,
      shading,
      exposure,
      irises: irisSightings(options.faceMesh),
      openings,
      fallbackIris: options.fallbackIris ?? DEFAULT_IRIS,
    },
    rgb,
    painted,
  );
  for (let i = 0; i < N; i++) if (painted[i]) source[i] = UvSource.eye;
  const gaps = pushPullFill({ width: S, height: S, channels: 3, data: rgb }, covered, skinTone);
  const data = new Uint8Array(N * 4);
  for (let i = 0; i < N; i++) {
    const from = covered[i] ? rgb : gaps.data;
    for (let k = 0; k < 3; k++) data[i * 4 + k] = Math.round(255 * Math.min(1, Math.max(0, from[i * 3 + k])));
    data[i * 4 + 3] = 255;
  }
  return {
    width: S,
    height: S,
    data,
    source,
    weight,
    skinTone,
    exposure,
    iris: eyes.iris,
    sclera: eyes.sclera,
    eyes,
    millis: performance.now() - t0,
  };
}
