/**
 * The photo onto the fitted head: a colour per head-model vertex.
 *
 *   1. Pose and project the head with the fit; a triangle z-buffer at half
 *      the photo's resolution (at most 640 px) decides which vertices the
 *      camera sees, and n.v >= 0.25 drops grazing ones (their samples smear).
 *   2. A seen vertex samples the photo bilinearly and is de-shaded: divided
 *      by the renderer's own shading for its normal (scene.ts: ambient + key
 *      and fill Lambert of STUDIO_LIGHTS, times the cavity occlusion the
 *      dataset renderer multiplies in), clamped. Specular highlights are not
 *      removed. A real photo's light differs from the studio's: what is left
 *      over stays in the albedo (the avatar is re-lit by the same studio
 *      lights, so the shading the photo shares with them cancels).
 *   3. The skin tone is the median of seen cheek and forehead vertices; a
 *      seen skin, nose, ear or neck vertex whose colour is far from it (hair,
 *      a beard, glasses, a shadow) is treated as covered.
 *   4. Vertices not taken from the photo take their mirror partner's photo
 *      colour (the closest template vertex to (-x, y, z)); the rest is the
 *      skin tone, blended into its photo neighbours by rounds of averaging
 *      over the mesh's edges.
 *   5. Eyeballs keep the white / iris / pupil layout of identityColours with
 *      the iris colour sampled from the photo; the mouth interior and the
 *      eye-socket bags keep their defaults.
 */
import { Region, buildVertexGrid, closestVertex, type HeadModel } from "../../../render-core/head";
import { MeshPart } from "../../../render-core/head/mesh";
import { SH_LIGHT_LENGTH, shShading } from "../../../render-core/light/sh";
import { STUDIO_LIGHTS } from "../../../render-core/mesh/scene";
import { cavityOcclusion } from "../synthesise/scene";
import { identityColours, type Rgb } from "../synthesise/identity";
import type { HeadFit } from "./fit-head";
import { checkImage, luma, medianRgb, sampleMatte, sampleRgb, type RgbImage } from "./image";
import { cameraPosition, posedHead, rasterDepthAt, rasterizeMesh, vertexNeighbours } from "./mesh-view";

/** Where a vertex's colour came from. */
export const TextureSource = { default: 0, photo: 1, mirrored: 2, skinFill: 3 } as const;

export interface PhotoTexture {
  /** [V, 3] f32 albedo in [0, 1]. */
  albedo: Float32Array;
  /** [V] u8 TextureSource: 0 default layout (eyeballs, mouth interior, sockets), 1 photo, 2 mirrored, 3 skin fill. */
  source: Uint8Array;
  skinTone: Rgb;
  /** Iris colour sampled from the photo (the default brown when no iris was seen). */
  iris: Rgb;
  /** [V] u8 1 where the camera sees the vertex (unoccluded, facing, inside the matte), before the skin-colour test. */
  seen: Uint8Array;
  /** [V, 3] f32 de-shaded photo colour where `seen`, 0 elsewhere. */
  photo: Float32Array;
  /** The gain that brought the de-shaded skin to at most 0.95 (1 unless the photo is brightly lit). */
  exposure: number;
}

export interface TextureOptions {
  /** Minimum n.v (cosine between the normal and the direction to the camera) for a photo sample. Default 0.25. */
  minFacing?: number;
  /** Divide by the studio shading (default true). */
  deshade?: boolean;
  /** Rounds of neighbour averaging that blend the skin fill into the photo. Default 12. */
  blendRounds?: number;
  /** The photo's light for de-shading (default the studio's). */
  shading?: PhotoShading;
}

const MIN_FACING = 0.25;
/** Depth slack of the visibility test, metres: a few triangles' curvature at half resolution. */
const DEPTH_SLACK = 0.004;
/** buildScene's skin material (server/pipeline/synthesise/scene.ts). */
const SKIN_SPECULAR = 0.12,
  SKIN_SHININESS = 20;
/** Eyeballs sit 1.6 mm under the lid shell: a tighter slack keeps lid-covered eyeball vertices out. */
const EYEBALL_SLACK = 0.0008;
/** The brightest skin channel after exposure (the generator's lightest skin tone is 0.93). */
export const MAX_SKIN = 0.95;
export const DEFAULT_IRIS: Rgb = [0.33, 0.2, 0.1];
/** Regions whose photo colour must look like skin to be taken (else hair, a beard or glasses cover them). */
export const SKIN_LIKE: ReadonlySet<number> = new Set<number>([
  Region.skin,
  Region.nose,
  Region.leftEar,
  Region.rightEar,
  Region.neck,
]);

/** How far from the skin tone a colour may be and still pass as skin: luma ratio range and chromaticity (L1) distance. */
export interface SkinTolerance {
  lumaLow: number;
  lumaHigh: number;
  chroma: number;
}

/** The texture's test: loose, so shading left over after de-shading still passes as skin. */
export const SKIN_TOLERANCE: SkinTolerance = { lumaLow: 0.6, lumaHigh: 1.5, chroma: 0.1 };

/** Whether colour c is far from the skin tone s: much darker or lighter, or another hue. */
export function farFromSkin(c: ArrayLike<number>, s: ArrayLike<number>, tol: SkinTolerance = SKIN_TOLERANCE): boolean {
  const ratio = luma(c) / Math.max(1e-3, luma(s));
  if (ratio < tol.lumaLow || ratio > tol.lumaHigh) return true;
  const cs = c[0] + c[1] + c[2] || 1e-3,
    ss = s[0] + s[1] + s[2] || 1e-3;
  return (
    Math.abs(c[0] / cs - s[0] / ss) + Math.abs(c[1] / cs - s[1] / ss) + Math.abs(c[2] / cs - s[2] / ss) > tol.chroma
  );
}

/** The renderer's diffuse shading for a unit world normal (scene.ts, without the specular term). */
export function studioDiffuse(nx: number, ny: number, nz: number): number {
  const L = STUDIO_LIGHTS;
  return (
    L.ambient +
    L.key * Math.max(0, nx * L.keyDir[0] + ny * L.keyDir[1] + nz * L.keyDir[2]) +
    L.fill * Math.max(0, nx * L.fillDir[0] + ny * L.fillDir[1] + nz * L.fillDir[2])
  );
}

/** The skin's studio highlight (scene.ts Blinn-Phong with buildScene's skin material) for a unit normal and a direction to the camera. */
export function studioSpecular(nx: number, ny: number, nz: number, vx: number, vy: number, vz: number): number {
  const L = STUDIO_LIGHTS,
    vl = Math.hypot(vx, vy, vz) || 1;
  const hx = L.keyDir[0] + vx / vl,
    hy = L.keyDir[1] + vy / vl,
    hz = L.keyDir[2] + vz / vl;
  const hl = Math.hypot(hx, hy, hz) || 1;
  return SKIN_SPECULAR * L.key * Math.max(0, (nx * hx + ny * hy + nz * hz) / hl) ** SKIN_SHININESS;
}

/**
 * How the photo is lit, as de-shading sees it: albedo = max(0, photo - out[3]) / out[0..2] (per channel).
 * The studio model today; a light estimated from the photo can take its place.
 */
export interface PhotoShading {
  /** For a unit normal n, a unit direction v toward the camera and the cavity occlusion ao: shading per channel in out[0..2], an additive highlight in out[3]. */
  shade(nx: number, ny: number, nz: number, vx: number, vy: number, vz: number, ao: number, out: Float64Array): void;
}

/** The renderer's studio light (ambient + key + fill, times the cavity occlusion, at least 0.3) and the skin's highlight. */
export const STUDIO_SHADING: PhotoShading = {
  shade(nx, ny, nz, vx, vy, vz, ao, out) {
    const s = Math.max(0.3, studioDiffuse(nx, ny, nz) * ao);
    out[0] = out[1] = out[2] = s;
    out[3] = studioSpecular(nx, ny, nz, vx, vy, vz);
  },
};

/**
 * De-lighting by a light estimated from the photo (photo-light.ts: an SH9 light, render-core/light/sh.ts):
 * shading = SH shading x cavity occlusion per channel, at least a quarter of the light's frontal shading (so a
 * deep shadow does not blow up), no highlight (the light has no specular part).
 */
export function shPhotoShading(light: ArrayLike<number>): PhotoShading {
  if (light.length !== SH_LIGHT_LENGTH)
    throw new Error(`shPhotoShading: the light needs ${SH_LIGHT_LENGTH} numbers (9 SH x RGB), got ${light.length}`);
  const frontal = [0, 0, 0];
  shShading(light, 0, 0, 1, frontal);
  const floor = frontal.map((x) => Math.max(1e-3, 0.25 * x));
  const s = new Float64Array(3);
  return {
    shade(nx, ny, nz, _vx, _vy, _vz, ao, out) {
      shShading(light, nx, ny, nz, s);
      for (let k = 0; k < 3; k++) out[k] = Math.max(floor[k], s[k] * ao);
      out[3] = 0;
    },
  };
}

/** Whether a template point is on the cheeks or the forehead, where the skin tone is measured. */
export function isToneSample(x: number, y: number, z: number): boolean {
  const ax = Math.abs(x);
  const forehead = y > 0.045 && y < 0.065 && ax < 0.03 && z > 0.05;
  const cheek = y > -0.025 && y < -0.005 && ax > 0.03 && ax < 0.055 && z > 0.02;
  return forehead || cheek;
}

interface HeadTables {
  mirror: Int32Array;
  neighbours: { start: Int32Array; ids: Int32Array };
  /** Template cheek and forehead vertices (skin-tone samples). */
  toneSamples: number[];
  /** [V] the iris band of the eyeballs (identityColours' layout). */
  irisBand: Uint8Array;
}

const tablesCache = new WeakMap<HeadModel, HeadTables>();

function headTables(head: HeadModel): HeadTables {
  const hit = tablesCache.get(head);
  if (hit) return hit;
  const V = head.vertexCount,
    P = head.template;
  const flipped = new Float32Array(V * 3);
  for (let v = 0; v < V; v++) flipped.set([-P[v * 3], P[v * 3 + 1], P[v * 3 + 2]], v * 3);
  const mirror = closestVertex(buildVertexGrid(P), flipped);
  const toneSamples: number[] = [];
  for (let v = 0; v < V; v++) {
    if (head.vertexRegion[v] !== Region.skin || head.vertexPart[v] !== MeshPart.head) continue;
    if (isToneSample(P[v * 3], P[v * 3 + 1], P[v * 3 + 2])) toneSamples.push(v);
  }
  // identityColours' layout: the iris band is where the eyeball's forward coordinate is in (0.8, 0.93].
  const irisBand = new Uint8Array(V);
  const probe = identityColours(
    {
      kind: "portrait",
      seed: 0,
      shape: [],
      skin: [1, 1, 1],
      lips: [1, 1, 1],
      brows: [1, 1, 1],
      iris: [0, 1, 0],
      freckles: 0,
    },
    head,
  );
  for (let v = 0; v < V; v++) {
    const part = head.vertexPart[v];
    if (
      (part === MeshPart.eyeballLeft || part === MeshPart.eyeballRight) &&
      probe[v * 3] === 0 &&
      probe[v * 3 + 1] === 1
    )
      irisBand[v] = 1;
  }
  const tables = { mirror, neighbours: vertexNeighbours(V, head.faces), toneSamples, irisBand };
  tablesCache.set(head, tables);
  return tables;
}

/** Per-vertex albedo of the fitted head from the photo (see the file comment for the steps). */
export function textureFromPhoto(
  head: HeadModel,
  fit: HeadFit,
  image: RgbImage,
  matte?: Float32Array | null,
  options: TextureOptions = {},
): PhotoTexture {
  checkImage("textureFromPhoto", image, matte);
  if (fit.camera.width !== image.width || fit.camera.height !== image.height)
    throw new Error(
      `textureFromPhoto: the fit's camera is ${fit.camera.width} x ${fit.camera.height} but the image is ${image.width} x ${image.height}`,
    );
  const minFacing = options.minFacing ?? MIN_FACING;
  const V = head.vertexCount;
  const T = headTables(head);
  const view = posedHead(head, fit);
  const scale = Math.min(0.5, 640 / Math.max(image.width, image.height));
  const raster = rasterizeMesh(view.px, view.depth, head.faces, image.width, image.height, scale);
  const eye = cameraPosition(fit.camera);
  const ao = cavityOcclusion(head);

  const seen = new Uint8Array(V),
    photo = new Float32Array(V * 3);
  const c = new Float64Array(3),
    sh = new Float64Array(4);
  const shading = options.shading ?? STUDIO_SHADING;
  for (let v = 0; v < V; v++) {
    const u = view.px[v * 2],
      w = view.px[v * 2 + 1];
    if (!(view.depth[v] > 0) || u < 0 || w < 0 || u >= image.width || w >= image.height) continue;
    const nx = view.normals[v * 3],
      ny = view.normals[v * 3 + 1],
      nz = view.normals[v * 3 + 2];
    const dx = eye[0] - view.positions[v * 3],
      dy = eye[1] - view.positions[v * 3 + 1],
      dz = eye[2] - view.positions[v * 3 + 2];
    const facing = (nx * dx + ny * dy + nz * dz) / (Math.hypot(dx, dy, dz) || 1);
    if (facing < minFacing) continue;
    const part = head.vertexPart[v];
    const slack = part === MeshPart.eyeballLeft || part === MeshPart.eyeballRight ? EYEBALL_SLACK : DEPTH_SLACK;
    if (view.depth[v] > rasterDepthAt(raster, u, w) + slack) continue;
    if (matte && sampleMatte(matte, image.width, image.height, u, w) < 0.5) continue;
    sampleRgb(image, u, w, c);
    const dl = Math.hypot(dx, dy, dz) || 1;
    if (options.deshade !== false) shading.shade(nx, ny, nz, dx / dl, dy / dl, dz / dl, ao[v], sh);
    else sh.set([1, 1, 1, 0]);
    // Not clamped yet: a brightly lit photo de-shades above 1, and the exposure below brings it back.
    for (let k = 0; k < 3; k++) photo[v * 3 + k] = Math.max(0, c[k] - sh[3]) / sh[k];
    seen[v] = 1;
  }

  const toneFrom = T.toneSamples.filter((v) => seen[v]);
  if (toneFrom.length < 5)
    throw new Error(
      `textureFromPhoto: only ${toneFrom.length} cheek and forehead vertices are visible; does the fit match the photo?`,
    );
  // Exposure: a flash photo de-shades to a skin brighter than any albedo; scale it down so the skin's brightest
  // channel is at most MAX_SKIN (else clipped skin makes every shadow look like hair or beard). Renders are unchanged.
  const rawTone = medianRgb(toneFrom.map((v) => photo.subarray(v * 3, v * 3 + 3)));
  const exposure = Math.min(1, MAX_SKIN / Math.max(...rawTone));
  for (let i = 0; i < photo.length; i++) photo[i] = Math.min(1, photo[i] * exposure);
  const skinTone = rawTone.map((x) => Math.min(1, x * exposure)) as Rgb;
  const irisSamples: Float32Array[] = [];
  for (let v = 0; v < V; v++) if (T.irisBand[v] && seen[v]) irisSamples.push(photo.subarray(v * 3, v * 3 + 3));
  const iris: Rgb = irisSamples.length >= 3 ? medianRgb(irisSamples) : DEFAULT_IRIS;

  const albedo = new Float32Array(V * 3).fill(NaN),
    source = new Uint8Array(V);
  // Step 1: photo colours of seen surface vertices that look like what they are.
  for (let v = 0; v < V; v++) {
    if (head.vertexPart[v] !== MeshPart.head || !seen[v]) continue;
    const col = photo.subarray(v * 3, v * 3 + 3);
    if (SKIN_LIKE.has(head.vertexRegion[v]) && farFromSkin(col, skinTone)) continue;
    albedo.set(col, v * 3);
    source[v] = TextureSource.photo;
  }
  // Step 2: the mirror partner's photo colour; step 3: the skin tone, blended below.
  const fill: number[] = [];
  for (let v = 0; v < V; v++) {
    if (head.vertexPart[v] !== MeshPart.head || source[v]) continue;
    const m = T.mirror[v];
    if (source[m] === TextureSource.photo) {
      albedo.set(albedo.subarray(m * 3, m * 3 + 3), v * 3);
      source[v] = TextureSource.mirrored;
    } else fill.push(v);
  }
  for (const v of fill) {
    albedo.set(skinTone, v * 3);
    source[v] = TextureSource.skinFill;
  }
  // Filled vertices relax toward their neighbours (photo and mirrored ones stay): a smooth seam, the plain tone far away.
  const rounds = options.blendRounds ?? 12;
  const { start, ids } = T.neighbours;
  const next = new Float32Array(fill.length * 3);
  for (let r = 0; r < rounds; r++) {
    fill.forEach((v, q) => {
      let n = 0;
      const s = [0, 0, 0];
      for (let k = start[v]; k < start[v + 1]; k++) {
        const w = ids[k];
        if (head.vertexPart[w] !== MeshPart.head) continue;
        for (let a = 0; a < 3; a++) s[a] += albedo[w * 3 + a];
        n++;
      }
      for (let a = 0; a < 3; a++) next[q * 3 + a] = n ? s[a] / n : albedo[v * 3 + a];
    });
    fill.forEach((v, q) => albedo.set(next.subarray(q * 3, q * 3 + 3), v * 3));
  }
  // Eyeballs, mouth interior and sockets: the identity layout with this photo's colours.
  const layout = identityColours(
    { kind: "portrait", seed: 0, shape: [], skin: skinTone, lips: skinTone, brows: skinTone, iris, freckles: 0 },
    head,
  );
  for (let v = 0; v < V; v++) {
    if (head.vertexPart[v] === MeshPart.head) continue;
    albedo.set(layout.subarray(v * 3, v * 3 + 3), v * 3);
    source[v] = TextureSource.default;
  }
  for (let i = 0; i < albedo.length; i++)
    if (!Number.isFinite(albedo[i]))
      throw new Error(`textureFromPhoto: vertex ${Math.floor(i / 3)} was left without a colour`);
  return { albedo, source, skinTone, iris, seen, photo, exposure };
}
