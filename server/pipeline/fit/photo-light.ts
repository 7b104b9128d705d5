/**
 * The photo's own light as an SH9 light (render-core/light/sh.ts), fitted on
 * the face's skin with the fitted head's normals, so the dataset can be
 * rendered under it and the texture de-lit by it (albedo = photo / shading).
 *
 * Frames: the fit poses the head in world space and looks at it with a
 * camera on +z looking toward -z, OpenCV axes (fit-head.ts: camera x = world
 * x, camera y = -world y, camera z = -world z). So the light comes out in the
 * camera's frame, +x toward the image's right (the subject's left in a
 * frontal photo), +y up, +z toward the camera, which is the world the mesh
 * renderer draws in: the head turns under the light, the light stays with the
 * camera, as the room's light stays when a person turns.
 *
 * Samples: head-surface vertices of the skin and nose regions (cheeks,
 * forehead, chin; not lips, brows, eyes, ears or neck) that the camera sees
 * (z-buffer of the posed head), facing it (n.v >= 0.3), inside the matte,
 * neither clipped nor far from the skin's chromaticity (hair, glasses
 * frames, a beard). Colours are the photo's bytes / 255, the space
 * textureFromPhoto reads and the renderer writes (no gamma: the dataset is
 * compared with the photo in that space). Weighted by n.v.
 *
 * Scale and colour: I = albedo x shading fixes only their product, per
 * channel. The fit runs with a one-rgb albedo prior, the per-channel median
 * of the samples; then each channel of the light is scaled so its shading
 * where it is brightest (shDominantDirection) equals the studio lights'
 * brightest (STUDIO_LIGHTS, grey, what the dataset was lit by so far), and
 * the albedo the other way, its brightest channel capped at 0.95 as
 * textureFromPhoto's exposure caps it. So the key is white and as strong as
 * the studio's whatever its direction; the photo's exposure and white
 * balance go into the albedo as they do today; the light keeps how its
 * shadows differ from its key (a cool fill); and attribute assets (their own
 * albedo) sit in the photo's light as bright as under the studio's.
 */
import { Region, buildVertexGrid, closestVertex, type HeadModel } from "../../../render-core/head";
import { MeshPart } from "../../../render-core/head/mesh";
import {
  fitShLight,
  shAmbientRatio,
  shDominantDirection,
  shShading,
  type ShFitOptions,
  type ShLight,
} from "../../../render-core/light/sh";
import { STUDIO_LIGHTS, meshDiffuse } from "../../../render-core/mesh/scene";
import type { HeadFit } from "./fit-head";
import { checkImage, luma, medianRgb, sampleMatte, sampleRgb, type RgbImage } from "./image";
import { cameraPosition, posedHead, rasterDepthAt, rasterizeMesh } from "./mesh-view";

export interface PhotoLightOptions {
  /** [H, W] person matte in [0, 1]; samples need >= 0.5. Default none. */
  matte?: Float32Array | null;
  /** Minimum n.v (cosine between the normal and the direction to the camera). Default 0.3. */
  minFacing?: number;
  /** Largest L1 distance of a sample's chromaticity from the skin's median. Default 0.1 (texture.ts's skin test). */
  maxChroma?: number;
  /** fitShLight's options; mirrorWeight > 0 adds the symmetric-albedo term over mirrored vertex pairs. */
  fit?: ShFitOptions;
}

export interface PhotoLight {
  /** [27] the photo's light, world space (see the file comment). */
  light: ShLight;
  /** The skin's albedo under that light (the robust median; see the file comment for its scale). */
  skinAlbedo: [number, number, number];
  /** How many vertices the fit used. */
  samples: number;
  /** RMS of photo - skinAlbedo x shading over the inliers, 0-1 units. */
  rmsResidual: number;
  /** shDominantDirection: where the light's linear band points (world). */
  direction: [number, number, number];
  /** shAmbientRatio: 1 all ambient, 1/3 one directional light. */
  ambientRatio: number;
  /** [samples] the vertex of each sample, and [samples] its final robust weight (0 rejected, 1 inlier). */
  vertices: Int32Array;
  robustWeights: Float32Array;
}

const MIN_FACING = 0.3;
const MAX_CHROMA = 0.1;
/** Depth slack of the visibility test, metres (texture.ts's: a few triangles' curvature at half resolution). */
const DEPTH_SLACK = 0.004;
/** textureFromPhoto's exposure rule: the generator's lightest skin is 0.93. */
const MAX_SKIN = 0.95;
/** Fewer samples than this cannot pin 9 coefficients per channel robustly. */
const MIN_SAMPLES = 60;
const LIGHT_REGIONS = new Set<number>([Region.skin, Region.nose]);

let studioPeakCache = 0;

/** The studio lights' brightest diffuse shading over the sphere (a 4,096-point spiral). */
export function studioPeak(): number {
  if (studioPeakCache) return studioPeakCache;
  const M = 4096,
    out = [0, 0, 0];
  let best = 0;
  for (let i = 0; i < M; i++) {
    const z = 1 - (2 * (i + 0.5)) / M,
      r = Math.sqrt(1 - z * z),
      ph = i * 2.399963229728653;
    meshDiffuse(STUDIO_LIGHTS, r * Math.cos(ph), r * Math.sin(ph), z, out);
    best = Math.max(best, luma(out));
  }
  return (studioPeakCache = best);
}

const mirrorCache = new WeakMap<HeadModel, Int32Array>();

/** [V] each template vertex's mirror partner: the closest vertex to (-x, y, z). */
function mirrorVertices(head: HeadModel): Int32Array {
  const hit = mirrorCache.get(head);
  if (hit) return hit;
  const P = head.template,
    flipped = new Float32Array(P.length);
  for (let v = 0; v < head.vertexCount; v++) flipped.set([-P[v * 3], P[v * 3 + 1], P[v * 3 + 2]], v * 3);
  const mirror = closestVertex(buildVertexGrid(P), flipped);
  mirrorCache.set(head, mirror);
  return mirror;
}

const chromaDistance = (c: ArrayLike<number>, s: ArrayLike<number>) => {
  const cs = c[0] + c[1] + c[2] || 1e-3,
    ss = s[0] + s[1] + s[2] || 1e-3;
  return Math.abs(c[0] / cs - s[0] / ss) + Math.abs(c[1] / cs - s[1] / ss) + Math.abs(c[2] / cs - s[2] / ss);
};

/** Fits the photo's SH9 light on the fitted head's visible skin (see the file comment). */
export function estimatePhotoLight(
  photo: RgbImage,
  fit: HeadFit,
  head: HeadModel,
  options: PhotoLightOptions = {},
): PhotoLight {
  const owner = "estimatePhotoLight";
  checkImage(owner, photo, options.matte);
  if (fit.camera.width !== photo.width || fit.camera.height !== photo.height)
    throw new Error(
      `${owner}: the fit's camera is ${fit.camera.width} x ${fit.camera.height} but the photo is ${photo.width} x ${photo.height}`,
    );
  const minFacing = options.minFacing ?? MIN_FACING;
  const maxChroma = options.maxChroma ?? MAX_CHROMA;
  const view = posedHead(head, fit);
  const scale = Math.min(0.5, 640 / Math.max(photo.width, photo.height));
  const raster = rasterizeMesh(view.px, view.depth, head.faces, photo.width, photo.height, scale);
  const eye = cameraPosition(fit.camera);

  // Seen skin vertices: their colour and facing.
  const cand: number[] = [],
    colour: number[] = [],
    facingOf: number[] = [];
  const c = new Float64Array(3);
  for (let v = 0; v < head.vertexCount; v++) {
    if (head.vertexPart[v] !== MeshPart.head || !LIGHT_REGIONS.has(head.vertexRegion[v])) continue;
    const u = view.px[v * 2],
      w = view.px[v * 2 + 1];
    if (!(view.depth[v] > 0) || u < 0 || w < 0 || u >= photo.width || w >= photo.height) continue;
    const dx = eye[0] - view.positions[v * 3],
      dy = eye[1] - view.positions[v * 3 + 1],
      dz = eye[2] - view.positions[v * 3 + 2];
    const facing =
      (view.normals[v * 3] * dx + view.normals[v * 3 + 1] * dy + view.normals[v * 3 + 2] * dz) /
      (Math.hypot(dx, dy, dz) || 1);
    if (facing < minFacing) continue;
    if (view.depth[v] > rasterDepthAt(raster, u, w) + DEPTH_SLACK) continue;
    if (options.matte && sampleMatte(options.matte, photo.width, photo.height, u, w) < 0.5) continue;
    sampleRgb(photo, u, w, c);
    // Clipped channels are not linear in the light; near-black pixels carry no shading.
    if (Math.max(c[0], c[1], c[2]) >= 0.99 || luma(c) < 0.03) continue;
    cand.push(v);
    colour.push(c[0], c[1], c[2]);
    facingOf.push(facing);
  }
  if (cand.length < MIN_SAMPLES)
    throw new Error(
      `${owner}: only ${cand.length} skin vertices are visible and usable (at least ${MIN_SAMPLES} needed); does the fit match the photo?`,
    );
  const chromaRef = medianRgb(cand.map((_, i) => colour.slice(i * 3, i * 3 + 3)));
  const keep: number[] = [];
  cand.forEach((_, i) => {
    if (chromaDistance(colour.slice(i * 3, i * 3 + 3), chromaRef) <= maxChroma) keep.push(i);
  });
  if (keep.length < MIN_SAMPLES)
    throw new Error(
      `${owner}: only ${keep.length} visible skin vertices have the skin's colour (at least ${MIN_SAMPLES} needed)`,
    );

  const N = keep.length;
  const vertices = new Int32Array(N),
    normals = new Float32Array(N * 3),
    colours = new Float32Array(N * 3),
    weights = new Float32Array(N);
  keep.forEach((i, s) => {
    const v = cand[i];
    vertices[s] = v;
    normals.set(view.normals.subarray(v * 3, v * 3 + 3), s * 3);
    colours.set(colour.slice(i * 3, i * 3 + 3), s * 3);
    weights[s] = facingOf[i];
  });
  const prior = medianRgb(keep.map((i) => colour.slice(i * 3, i * 3 + 3))).map((x) => Math.max(1e-3, x)) as [
    number,
    number,
    number,
  ];

  let mirrorPairs: Int32Array | undefined;
  if ((options.fit?.mirrorWeight ?? 0) > 0) {
    const mirror = mirrorVertices(head);
    const sampleOf = new Map<number, number>();
    vertices.forEach((v, s) => sampleOf.set(v, s));
    const pairs: number[] = [];
    vertices.forEach((v, s) => {
      const t = sampleOf.get(mirror[v]);
      // Each pair once; a vertex on the midline is its own partner and says nothing.
      if (t !== undefined && t > s) pairs.push(s, t);
    });
    mirrorPairs = Int32Array.from(pairs);
  }
  const result = fitShLight(
    { normals, colours, albedoPrior: prior, weights, ...(mirrorPairs ? { mirrorPairs } : {}) },
    options.fit,
  );
  // The scale (file comment): the light's peak is the studio's grey, the skin's brightest channel at most MAX_SKIN.
  const direction = shDominantDirection(result.light);
  const peak = [0, 0, 0];
  shShading(result.light, direction[0], direction[1], direction[2], peak);
  const k = peak.map((p) => studioPeak() / Math.max(p, 1e-6));
  const skinAlbedo = result.albedoPrior.map((x, c) => x / k[c]!) as [number, number, number];
  const exposure = Math.min(1, MAX_SKIN / Math.max(...skinAlbedo));
  const light = result.light.map((x, i) => (x * k[i % 3]!) / exposure);
  return {
    light,
    skinAlbedo: skinAlbedo.map((x) => x * exposure) as [number, number, number],
    samples: N,
    rmsResidual: result.rmsResidual,
    direction,
    ambientRatio: shAmbientRatio(light),
    vertices,
    robustWeights: result.robustWeights,
  };
}
