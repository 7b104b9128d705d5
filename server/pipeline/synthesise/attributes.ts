/**
 * Attribute categories of the synthetic dataset. Each category has named
 * CONTINUOUS parameters (so two variants interpolate by a plain lerp and the
 * in-between at alpha is exact), a "none" value (the attribute absent:
 * glasses with zero frame thickness and clear lenses, hair with zero
 * coverage...), a seeded variant generator with a human label, and a builder
 * that turns parameters into meshes on the posed head (and/or recolours the
 * skin). Parsing classes follow PERSE-METHOD.md: 13 hair, 14 beard,
 * 16 glasses, 17 headwear, 18 facewear (earrings).
 */
import { Region, evalSurfacePoints, type HeadModel } from "../../../render-core/head";
import { MeshPart } from "../../../render-core/head/mesh";
import type { MeshDraw, MeshTexture } from "../../../render-core/mesh/scene";
import { mulberry32 } from "../../../render-core/math/prng";
import { mixRgb, type Identity, type Rgb } from "./identity";
import {
  AGE_ANCHORS,
  AGE_YEARS,
  NO_AGE,
  STYLE_ANCHORS,
  agedSkinTone,
  flattenVertexColours,
  greyHair,
  greyHairTexture,
  type AgeLook,
  type StyleLook,
} from "./face-looks";

export type Params = Record<string, number>;

/** What a builder sees: the head model, this frame's posed vertices and normals, and the head's colours to edit. */
export interface BuildContext {
  head: HeadModel;
  identity: Identity;
  /** [V, 3] posed head vertices and unit normals. */
  posed: Float32Array;
  normals: Float32Array;
  /** [V, 3] head albedo, edited in place by skin-like categories. */
  colours: Float32Array;
  /** The person's own hair as a UV texture (identity.hairTexture, fit/hair-texture.ts): the hair takes its colours. */
  hairTexture?: MeshTexture | null;
  /** The frame's age and style (face-looks.ts; absent: none): hair, brows and beard grey with age. */
  age?: AgeLook;
  style?: StyleLook;
  /** The head is drawn with a UV texture: the looks' fine detail goes there (scene.ts), not into these colours. */
  textured?: boolean;
}

export interface AttributeCategory {
  name: string;
  /** Parameter ranges; every value is a number. */
  params: Record<string, { min: number; max: number }>;
  none: Params;
  /** Edits the head's colours (ctx.colours) and nothing that depends on the pose: a textured head takes it as a tint. */
  recolours?: boolean;
  /** A variant: the dataset's k-th anchor with `index` = k (most draw at random; age and style follow a ladder, from 0). */
  variant(rand: () => number, index?: number): { label: string; params: Params };
  build(p: Params, ctx: BuildContext): MeshDraw[];
}

export function lerpParams(a: Params, b: Params, alpha: number): Params {
  const out: Params = {};
  for (const k of Object.keys(a)) out[k] = a[k]! + (b[k]! - a[k]!) * alpha;
  return out;
}

const smooth = (e0: number, e1: number, x: number) => {
  const t = Math.min(1, Math.max(0, (x - e0) / (e1 - e0)));
  return t * t * (3 - 2 * t);
};
const rgbOf = (p: Params, prefix: string): Rgb => [p[`${prefix}R`]!, p[`${prefix}G`]!, p[`${prefix}B`]!];
const pick = <T>(rand: () => number, xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
const rgbParams = (prefix: string) => ({
  [`${prefix}R`]: { min: 0, max: 1 },
  [`${prefix}G`]: { min: 0, max: 1 },
  [`${prefix}B`]: { min: 0, max: 1 },
});
const rgbValues = (prefix: string, c: Rgb) => ({ [`${prefix}R`]: c[0], [`${prefix}G`]: c[1], [`${prefix}B`]: c[2] });

const HAIR_COLOURS: Array<[string, Rgb]> = [
  ["black", [0.05, 0.04, 0.035]],
  ["dark brown", [0.18, 0.1, 0.06]],
  ["auburn", [0.42, 0.17, 0.08]],
  ["blond", [0.75, 0.6, 0.35]],
  ["grey", [0.6, 0.6, 0.6]],
];

/** A strand texture: vertical strands of varying alpha; `curl` bends them. Deterministic. */
function strandTexture(colour: Rgb, curl: number, density: number, seed: number): MeshTexture {
  const W = 64,
    H = 64,
    data = new Uint8Array(W * H * 4);
  const rand = mulberry32(seed);
  const phase = Array.from({ length: W }, () => rand() * Math.PI * 2);
  const shade = Array.from({ length: W }, () => 0.75 + 0.5 * rand());
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const sx = (x + Math.round(curl * 3 * Math.sin((y / H) * Math.PI * 6 + phase[x]!)) + W) % W;
      const a = Math.min(1, density * (0.5 + 0.5 * Math.sin(phase[sx]! * 3 + sx)));
      const s = shade[sx]!;
      data.set(
        [
          Math.min(255, colour[0] * s * 255),
          Math.min(255, colour[1] * s * 255),
          Math.min(255, colour[2] * s * 255),
          a * 255,
        ],
        (y * W + x) * 4,
      );
    }
  }
  return { width: W, height: H, data };
}

/** The hair and beard shells' material (fit/hair-texture.ts takes its highlight out of the photo's hair). */
export const SHELL_MATERIAL = { specular: 0.2, shininess: 30, opacity: 1, blend: true } as const;

/**
 * Shells over the head where `weight` (per vertex, [0, 1]) is positive:
 * `layers` copies pushed out along the normals by up to `offset`, tapered
 * by the weight so a shell meets the skin at its edge.
 */
function shells(
  ctx: BuildContext,
  weight: Float32Array,
  offset: number,
  layers: number,
  texture: MeshTexture,
  classId: number,
): MeshDraw[] {
  const { head, posed, normals } = ctx;
  const faces: number[] = [];
  for (let f = 0; f < head.faceCount; f++) {
    const [a, b, c] = [head.faces[f * 3]!, head.faces[f * 3 + 1]!, head.faces[f * 3 + 2]!];
    if (weight[a]! > 0.02 && weight[b]! > 0.02 && weight[c]! > 0.02) faces.push(a, b, c);
  }
  if (faces.length === 0 || offset <= 0) return [];
  const indices = Uint32Array.from(faces);
  const draws: MeshDraw[] = [];
  for (let l = 1; l <= layers; l++) {
    const positions = new Float32Array(posed.length);
    for (let v = 0; v < head.vertexCount; v++)
      for (let k = 0; k < 3; k++)
        positions[v * 3 + k] = posed[v * 3 + k]! + normals[v * 3 + k]! * offset * (l / layers) * weight[v]!;
    draws.push({
      positions,
      normals,
      indices,
      uvs: head.uvs,
      texture,
      material: SHELL_MATERIAL,
      classId,
    });
  }
  return draws;
}

/** Per-vertex weight over the head surface from a function of the rest-pose position (head part only). */
function regionWeight(head: HeadModel, f: (x: number, y: number, z: number, region: number) => number): Float32Array {
  const w = new Float32Array(head.vertexCount);
  for (let v = 0; v < head.vertexCount; v++) {
    if (head.vertexPart[v] !== MeshPart.head) continue;
    w[v] = Math.max(
      0,
      Math.min(
        1,
        f(head.template[v * 3]!, head.template[v * 3 + 1]!, head.template[v * 3 + 2]!, head.vertexRegion[v]!),
      ),
    );
  }
  return w;
}

const hair: AttributeCategory = {
  name: "hair",
  params: {
    coverage: { min: 0, max: 1 },
    length: { min: 0, max: 1 },
    volume: { min: 0, max: 1 },
    curl: { min: 0, max: 1 },
    ...rgbParams("colour"),
  },
  none: { coverage: 0, length: 0, volume: 0, curl: 0, ...rgbValues("colour", [0.18, 0.1, 0.06]) },
  variant(rand) {
    const [colourName, colour] = pick(rand, HAIR_COLOURS);
    const length = rand(),
      curl = rand() < 0.3 ? 0.6 + 0.4 * rand() : 0.2 * rand();
    const label = `${length > 0.6 ? "long" : length > 0.3 ? "medium" : "short"}${curl > 0.5 ? " curly" : ""} ${colourName}`;
    return {
      label,
      params: {
        coverage: 0.7 + 0.3 * rand(),
        length,
        volume: 0.2 + 0.6 * rand(),
        curl,
        ...rgbValues("colour", colour),
      },
    };
  },
  build(p, ctx) {
    if (p.coverage! <= 0.01) return [];
    const w = hairWeight(ctx.head, { ...p, coverage: p.coverage! * (1 - 0.35 * (ctx.age ?? NO_AGE).older) });
    const grey = (ctx.age ?? NO_AGE).grey;
    const strands = strandTexture(greyHair(rgbOf(p, "colour"), grey), p.curl!, 1.2, 11);
    if (!ctx.hairTexture) return shells(ctx, w, hairShellOffset(p.volume!), HAIR_SHELLS, strands, 13);
    // The person's own hair: colours from the photo's texture, the strands' alpha; a colour edit tints it by the
    // new colour over the person's own (length, volume and curl edits keep the photo's colours).
    const own = ctx.identity.source?.hair;
    const tint = [0, 1, 2].map((k) => {
      const key = ["colourR", "colourG", "colourB"][k]!;
      return own ? Math.min(MAX_HAIR_TINT, Math.max(0.02, p[key]!) / Math.max(0.02, own[key] ?? p[key]!)) : 1;
    }) as Rgb;
    const greyed = greyHairTexture(ctx.hairTexture, grey);
    return photoHairShells(ctx, w, hairShellOffset(p.volume!), photoHairStrands(greyed, strands), tint);
  },
};

/** The generator's hair shells: how many, and how far the outermost lies off the skin (metres) at `volume`. */
export const HAIR_SHELLS = 4;
export const hairShellOffset = (volume: number) => 0.003 + 0.018 * volume;
/** Largest tint of a hair-colour edit on the person's own hair (black to platinum is about 15). */
const MAX_HAIR_TINT = 16;

/** Per-vertex weight [V] of the generator's hair (coverage, length), tapered at the hairline. */
export function hairWeight(head: HeadModel, p: Params): Float32Array {
  // Hairline: at the front it rises as coverage drops; at the back it falls with length (to the nape and below).
  const front = 0.058 + 0.05 * (1 - p.coverage!),
    back = 0.02 - 0.11 * p.length!;
  return regionWeight(head, (_x, y, z, region) => {
    if (
      region === Region.leftEar ||
      region === Region.rightEar ||
      region === Region.leftBrow ||
      region === Region.rightBrow
    )
      return 0;
    const line = z > 0.04 ? front : z < -0.03 ? back : back + ((front - back) * (z + 0.03)) / 0.07;
    return smooth(line - 0.004, line + 0.008, y) * p.coverage!;
  });
}

const photoStrandsCache = new WeakMap<MeshTexture, Map<string, MeshTexture>>();

/**
 * The hair texture's colours with the strand texture's alpha at the same UVs (bilinear, as the renderer reads it),
 * at the hair texture's size. Cached per hair texture and strand pattern (the GPU renderer keeps it uploaded).
 */
function photoHairStrands(hairTexture: MeshTexture, strands: MeshTexture): MeshTexture {
  const { width: W, height: H } = hairTexture;
  if (!(W > 0 && H > 0) || hairTexture.data.length !== W * H * 4)
    throw new Error(`synthesise: the hair texture must be ${W} x ${H} RGBA8, got ${hairTexture.data.length} bytes`);
  let byPattern = photoStrandsCache.get(hairTexture);
  if (!byPattern) photoStrandsCache.set(hairTexture, (byPattern = new Map()));
  // The strand texture's alpha is all that is read: its key is the alpha channel itself.
  let key = "";
  for (let i = 3; i < strands.data.length; i += 4) key += String.fromCharCode(strands.data[i]!);
  const hit = byPattern.get(key);
  if (hit) return hit;
  const data = Uint8Array.from(hairTexture.data);
  const sw = strands.width,
    sh = strands.height,
    sa = strands.data;
  for (let y = 0; y < H; y++) {
    const fy = Math.min(Math.max(((y + 0.5) / H) * sh - 0.5, 0), sh - 1),
      y0 = Math.floor(fy),
      y1 = Math.min(y0 + 1, sh - 1),
      ty = fy - y0;
    for (let x = 0; x < W; x++) {
      const fx = Math.min(Math.max(((x + 0.5) / W) * sw - 0.5, 0), sw - 1),
        x0 = Math.floor(fx),
        x1 = Math.min(x0 + 1, sw - 1),
        tx = fx - x0;
      const a =
        (sa[(y0 * sw + x0) * 4 + 3]! * (1 - tx) + sa[(y0 * sw + x1) * 4 + 3]! * tx) * (1 - ty) +
        (sa[(y1 * sw + x0) * 4 + 3]! * (1 - tx) + sa[(y1 * sw + x1) * 4 + 3]! * tx) * ty;
      data[(y * W + x) * 4 + 3] = Math.round(a);
    }
  }
  const texture = { width: W, height: H, data };
  // A handful of patterns per texture (an edit video's curl changes it a few times).
  if (byPattern.size >= 4) byPattern.delete(byPattern.keys().next().value!);
  byPattern.set(key, texture);
  return texture;
}

/**
 * The hair shells drawn with the person's UV hair texture: split along the UV seam (one draw vertex per uvCoords
 * entry, corners from faceUvs, as the textured head is drawn), so the back of the head does not smear the whole
 * texture across the seam; `tint` multiplies the texture.
 */
function photoHairShells(
  ctx: BuildContext,
  weight: Float32Array,
  offset: number,
  texture: MeshTexture,
  tint: Rgb,
): MeshDraw[] {
  const { head, posed, normals } = ctx;
  const T = head.uvCoords.length / 2;
  const vertexOf = new Uint32Array(T);
  for (let v = 0; v < head.vertexCount; v++) vertexOf[v] = v;
  const faces: number[] = [];
  for (let f = 0; f < head.faceCount; f++) {
    for (let k = 0; k < 3; k++) vertexOf[head.faceUvs[f * 3 + k]!] = head.faces[f * 3 + k]!;
    const [a, b, c] = [head.faces[f * 3]!, head.faces[f * 3 + 1]!, head.faces[f * 3 + 2]!];
    if (weight[a]! > 0.02 && weight[b]! > 0.02 && weight[c]! > 0.02)
      faces.push(head.faceUvs[f * 3]!, head.faceUvs[f * 3 + 1]!, head.faceUvs[f * 3 + 2]!);
  }
  if (faces.length === 0 || offset <= 0) return [];
  const indices = Uint32Array.from(faces);
  const drawNormals = new Float32Array(T * 3),
    colors = new Float32Array(T * 3);
  for (let t = 0; t < T; t++) {
    drawNormals.set(normals.subarray(vertexOf[t]! * 3, vertexOf[t]! * 3 + 3), t * 3);
    colors.set(tint, t * 3);
  }
  const draws: MeshDraw[] = [];
  for (let l = 1; l <= HAIR_SHELLS; l++) {
    const positions = new Float32Array(T * 3);
    for (let t = 0; t < T; t++) {
      const v = vertexOf[t]!;
      for (let k = 0; k < 3; k++)
        positions[t * 3 + k] = posed[v * 3 + k]! + normals[v * 3 + k]! * offset * (l / HAIR_SHELLS) * weight[v]!;
    }
    draws.push({
      positions,
      normals: drawNormals,
      indices,
      uvs: head.uvCoords,
      texture,
      colors,
      material: SHELL_MATERIAL,
      classId: 13,
    });
  }
  return draws;
}

const beard: AttributeCategory = {
  name: "beard",
  params: { coverage: { min: 0, max: 1 }, length: { min: 0, max: 1 }, ...rgbParams("colour") },
  none: { coverage: 0, length: 0, ...rgbValues("colour", [0.15, 0.09, 0.05]) },
  variant(rand) {
    const [colourName, colour] = pick(rand, HAIR_COLOURS);
    const coverage = 0.3 + 0.7 * rand(),
      length = rand();
    return {
      label: `${coverage < 0.55 ? "goatee" : length > 0.5 ? "full beard" : "stubble"} ${colourName}`,
      params: { coverage, length, ...rgbValues("colour", colour) },
    };
  },
  build(p, ctx) {
    if (p.coverage! <= 0.01) return [];
    const halfWidth = 0.015 + 0.06 * p.coverage!;
    const w = regionWeight(ctx.head, (x, y, z, region) => {
      if (region !== Region.skin) return 0;
      // Below the mouth corners' height on the front of the lower face, widening with coverage; the jaw's underside too.
      const band =
        smooth(-0.02, -0.035, y) * smooth(halfWidth, halfWidth - 0.012, Math.abs(x)) * smooth(-0.02, 0.02, z);
      return band * Math.min(1, 0.4 + p.coverage!);
    });
    return shells(
      ctx,
      w,
      0.001 + 0.012 * p.length!,
      2,
      strandTexture(greyHair(rgbOf(p, "colour"), (ctx.age ?? NO_AGE).grey), 0.5, 0.9 + 0.5 * p.coverage!, 23),
      14,
    );
  },
};

const eyebrows: AttributeCategory = {
  name: "eyebrows",
  recolours: true,
  params: { density: { min: 0, max: 1 }, ...rgbParams("colour") },
  none: { density: 0.5, ...rgbValues("colour", [0.15, 0.1, 0.07]) },
  variant(rand) {
    const [name, colour] = pick(rand, HAIR_COLOURS);
    const density = rand();
    return {
      label: `${density > 0.6 ? "bold" : density < 0.3 ? "faint" : "natural"} ${name} brows`,
      params: { density, ...rgbValues("colour", colour) },
    };
  },
  build(p, ctx) {
    for (let v = 0; v < ctx.head.vertexCount; v++) {
      const r = ctx.head.vertexRegion[v];
      if (r !== Region.leftBrow && r !== Region.rightBrow) continue;
      const colour = greyHair(rgbOf(p, "colour"), (ctx.age ?? NO_AGE).grey);
      ctx.colours.set(mixRgb(ctx.identity.skin, colour, 0.3 + 0.7 * p.density!), v * 3);
    }
    return [];
  },
};

/** A disc (fan) and a ring in the plane (centre, ax, ay) facing along az. */
function lensGeometry(centre: number[], ax: number[], ay: number[], az: number[], radius: number, rim: number) {
  const S = 20;
  const disc: number[] = [],
    ring: number[] = [];
  const at = (r: number, t: number, dz: number) =>
    [0, 1, 2].map((k) => centre[k]! + r * Math.cos(t) * ax[k]! + r * Math.sin(t) * ay[k]! + dz * az[k]!);
  disc.push(...at(0, 0, 0));
  for (let s = 0; s < S; s++) disc.push(...at(radius, (2 * Math.PI * s) / S, 0));
  for (let s = 0; s < S; s++)
    ring.push(...at(radius, (2 * Math.PI * s) / S, 0.0005), ...at(radius + rim, (2 * Math.PI * s) / S, 0.0005));
  const discIdx: number[] = [],
    ringIdx: number[] = [];
  for (let s = 0; s < S; s++) {
    discIdx.push(0, 1 + s, 1 + ((s + 1) % S));
    const a = 2 * s,
      b = 2 * ((s + 1) % S);
    ringIdx.push(a, a + 1, b + 1, a, b + 1, b);
  }
  return {
    disc: Float32Array.from(disc),
    discIdx: Uint32Array.from(discIdx),
    ring: Float32Array.from(ring),
    ringIdx: Uint32Array.from(ringIdx),
  };
}

const flat = (n: number, dir: number[]) => {
  const out = new Float32Array(n * 3);
  for (let i = 0; i < n; i++) out.set(dir, i * 3);
  return out;
};
const colours = (n: number, c: Rgb) => flat(n, c);

const eyewear: AttributeCategory = {
  name: "eyewear",
  params: { frame: { min: 0, max: 1 }, size: { min: 0, max: 1 }, tint: { min: 0, max: 1 }, ...rgbParams("colour") },
  none: { frame: 0, size: 0.5, tint: 0, ...rgbValues("colour", [0.1, 0.1, 0.1]) },
  variant(rand) {
    const tint = rand() < 0.3 ? 0.4 + 0.5 * rand() : 0.05 * rand();
    const colour: Rgb = pick(rand, [
      [0.08, 0.08, 0.08],
      [0.55, 0.35, 0.15],
      [0.7, 0.7, 0.72],
    ] as Rgb[]);
    const frame = 0.3 + 0.7 * rand();
    return {
      label: `${tint > 0.3 ? "sunglasses" : "glasses"}, ${frame > 0.7 ? "thick" : "thin"} frame`,
      params: { frame, size: rand(), tint, ...rgbValues("colour", colour) },
    };
  },
  build(p, ctx) {
    if (p.frame! <= 0.01 && p.tint! <= 0.01) return [];
    const lm = evalSurfacePoints(ctx.posed, ctx.head.faces, ctx.head.landmarks);
    const mean = (ids: number[]) => [0, 1, 2].map((k) => ids.reduce((s, i) => s + lm[i * 3 + k]!, 0) / ids.length);
    const right = mean([36, 37, 38, 39, 40, 41]),
      left = mean([42, 43, 44, 45, 46, 47]);
    const sub = (a: number[], b: number[]) => a.map((v, k) => v - b[k]!);
    const norm = (a: number[]) => a.map((v) => v / (Math.hypot(...a) || 1));
    const ax = norm(sub(left, right));
    const ay0 = norm(
      sub(
        lm.subarray(27 * 3, 27 * 3 + 3) as unknown as number[],
        lm.subarray(30 * 3, 30 * 3 + 3) as unknown as number[],
      ),
    );
    // Forward (+z at rest) = across the eyes (+x, to the subject's left) x up.
    const az = norm([
      ax[1]! * ay0[2]! - ax[2]! * ay0[1]!,
      ax[2]! * ay0[0]! - ax[0]! * ay0[2]!,
      ax[0]! * ay0[1]! - ax[1]! * ay0[0]!,
    ]);
    const ay = [
      az[1]! * ax[2]! - az[2]! * ax[1]!,
      az[2]! * ax[0]! - az[0]! * ax[2]!,
      az[0]! * ax[1]! - az[1]! * ax[0]!,
    ];
    const radius = 0.015 + 0.008 * p.size!,
      rim = 0.0035 * p.frame!;
    const draws: MeshDraw[] = [];
    for (const eye of [right, left]) {
      const centre = eye.map((v, k) => v + 0.016 * az[k]!);
      const g = lensGeometry(centre, ax, ay, az, radius, rim);
      if (rim > 0)
        draws.push({
          positions: g.ring,
          normals: flat(g.ring.length / 3, az),
          indices: g.ringIdx,
          colors: colours(g.ring.length / 3, rgbOf(p, "colour")),
          material: { specular: 0.5, shininess: 40, opacity: 1 },
          classId: 16,
        });
      if (p.tint! > 0.01)
        draws.push({
          positions: g.disc,
          normals: flat(g.disc.length / 3, az),
          indices: g.discIdx,
          colors: colours(g.disc.length / 3, [0.1, 0.1, 0.12]),
          material: { specular: 0.6, shininess: 80, opacity: Math.min(0.9, p.tint!) },
          classId: 16,
        });
    }
    return draws;
  },
};

const hat: AttributeCategory = {
  name: "hat",
  params: { height: { min: 0, max: 1 }, ...rgbParams("colour") },
  none: { height: 0, ...rgbValues("colour", [0.2, 0.25, 0.4]) },
  variant(rand) {
    const colour: Rgb = pick(rand, [
      [0.15, 0.2, 0.45],
      [0.6, 0.1, 0.1],
      [0.2, 0.2, 0.2],
      [0.75, 0.7, 0.55],
    ] as Rgb[]);
    const height = 0.3 + 0.7 * rand();
    return { label: height > 0.7 ? "beanie" : "cap", params: { height, ...rgbValues("colour", colour) } };
  },
  build(p, ctx) {
    if (p.height! <= 0.01) return [];
    const line = 0.1 - 0.06 * p.height!;
    const w = regionWeight(ctx.head, (_x, y, _z, region) =>
      region === Region.leftEar || region === Region.rightEar ? 0 : smooth(line - 0.003, line + 0.003, y),
    );
    const faces: number[] = [];
    for (let f = 0; f < ctx.head.faceCount; f++) {
      const [a, b, c] = [ctx.head.faces[f * 3]!, ctx.head.faces[f * 3 + 1]!, ctx.head.faces[f * 3 + 2]!];
      if (w[a]! > 0.5 && w[b]! > 0.5 && w[c]! > 0.5) faces.push(a, b, c);
    }
    if (!faces.length) return [];
    const positions = new Float32Array(ctx.posed.length);
    for (let v = 0; v < ctx.head.vertexCount; v++)
      for (let k = 0; k < 3; k++) positions[v * 3 + k] = ctx.posed[v * 3 + k]! + ctx.normals[v * 3 + k]! * 0.026;
    return [
      {
        positions,
        normals: ctx.normals,
        indices: Uint32Array.from(faces),
        colors: colours(ctx.head.vertexCount, rgbOf(p, "colour")),
        material: { specular: 0.05, shininess: 8, opacity: 1 },
        classId: 17,
      },
    ];
  },
};

const earrings: AttributeCategory = {
  name: "earrings",
  params: { size: { min: 0, max: 1 }, ...rgbParams("colour") },
  none: { size: 0, ...rgbValues("colour", [0.85, 0.7, 0.3]) },
  variant(rand) {
    const [name, colour] = pick(rand, [
      ["gold", [0.85, 0.68, 0.3]],
      ["silver", [0.8, 0.8, 0.82]],
      ["pearl", [0.95, 0.93, 0.88]],
    ] as Array<[string, Rgb]>);
    const size = 0.3 + 0.7 * rand();
    return {
      label: `${size > 0.7 ? "large" : "small"} ${name} earrings`,
      params: { size, ...rgbValues("colour", colour) },
    };
  },
  build(p, ctx) {
    if (p.size! <= 0.01) return [];
    const draws: MeshDraw[] = [];
    for (const region of [Region.leftEar, Region.rightEar]) {
      // The ear's lowest vertex at rest is its lobe; follow it as posed.
      let lobe = -1;
      for (let v = 0; v < ctx.head.vertexCount; v++)
        if (
          ctx.head.vertexRegion[v] === region &&
          (lobe < 0 || ctx.head.template[v * 3 + 1]! < ctx.head.template[lobe * 3 + 1]!)
        )
          lobe = v;
      if (lobe < 0) continue;
      const r = 0.002 + 0.004 * p.size!;
      const c = [0, 1, 2].map((k) => ctx.posed[lobe * 3 + k]! + (k === 1 ? -r : 0));
      const S = 10,
        T = 6,
        pos: number[] = [],
        nrm: number[] = [],
        idx: number[] = [];
      for (let t = 0; t <= T; t++) {
        for (let s = 0; s <= S; s++) {
          const th = (Math.PI * t) / T,
            ph = (2 * Math.PI * s) / S;
          const n = [Math.sin(th) * Math.cos(ph), Math.cos(th), Math.sin(th) * Math.sin(ph)];
          nrm.push(...n);
          pos.push(...n.map((v, k) => c[k]! + r * v));
        }
      }
      for (let t = 0; t < T; t++)
        for (let s = 0; s < S; s++) {
          const a = t * (S + 1) + s,
            b = a + S + 1;
          idx.push(a, b, a + 1, a + 1, b, b + 1);
        }
      draws.push({
        positions: Float32Array.from(pos),
        normals: Float32Array.from(nrm),
        indices: Uint32Array.from(idx),
        colors: colours(pos.length / 3, rgbOf(p, "colour")),
        material: { specular: 0.8, shininess: 60, opacity: 1 },
        classId: 18,
      });
    }
    return draws;
  },
};

const skin: AttributeCategory = {
  name: "skin",
  recolours: true,
  params: { tone: { min: -1, max: 1 }, age: { min: 0, max: 1 } },
  none: { tone: 0, age: 0 },
  // `age` is kept for stored datasets and identities; new anchors leave it at 0 (ageing is its own category).
  variant(rand) {
    const tone = rand() * 2 - 1;
    rand(); // the draw the old skin age took: tones stay as they were for every seed
    return { label: `${tone > 0.3 ? "darker" : tone < -0.3 ? "lighter" : "same"} tone`, params: { tone, age: 0 } };
  },
  build(p, ctx) {
    const rand = mulberry32(97);
    const target: Rgb = p.tone! >= 0 ? [0.3, 0.2, 0.14] : [0.98, 0.88, 0.8];
    for (let v = 0; v < ctx.head.vertexCount; v++) {
      const r = ctx.head.vertexRegion[v];
      const spot = rand(); // drawn for every vertex, so spots stay put as parameters change
      if (r !== Region.skin && r !== Region.nose && r !== Region.neck && r !== Region.leftEar && r !== Region.rightEar)
        continue;
      let c = mixRgb(
        [ctx.colours[v * 3]!, ctx.colours[v * 3 + 1]!, ctx.colours[v * 3 + 2]!],
        target,
        0.6 * Math.abs(p.tone!),
      );
      // Legacy age (stored skin anchors): a greyer, less saturated skin with darker spots.
      c = mixRgb(c, [c[0] * 0.85 + 0.05, c[1] * 0.85 + 0.05, c[2] * 0.85 + 0.05], p.age!);
      if (spot < 0.05 * p.age!) c = mixRgb(c, [0.35, 0.25, 0.2], 0.5);
      ctx.colours.set(c, v * 3);
    }
    return [];
  },
};

const lips: AttributeCategory = {
  name: "lips",
  recolours: true,
  params: { strength: { min: 0, max: 1 }, ...rgbParams("colour") },
  none: { strength: 0, ...rgbValues("colour", [0.7, 0.15, 0.2]) },
  variant(rand) {
    const [name, colour] = pick(rand, [
      ["red", [0.75, 0.08, 0.12]],
      ["pink", [0.85, 0.45, 0.55]],
      ["plum", [0.4, 0.1, 0.25]],
      ["nude", [0.7, 0.48, 0.4]],
    ] as Array<[string, Rgb]>);
    return { label: `${name} lips`, params: { strength: 0.5 + 0.5 * rand(), ...rgbValues("colour", colour) } };
  },
  build(p, ctx) {
    for (let v = 0; v < ctx.head.vertexCount; v++) {
      const r = ctx.head.vertexRegion[v];
      if (r !== Region.upperLip && r !== Region.lowerLip) continue;
      ctx.colours.set(
        mixRgb(
          [ctx.colours[v * 3]!, ctx.colours[v * 3 + 1]!, ctx.colours[v * 3 + 2]!],
          rgbOf(p, "colour"),
          p.strength!,
        ),
        v * 3,
      );
    }
    return [];
  },
};

/**
 * Age (face-looks.ts): years from the person's own apparent age. Here only the skin's tone (per vertex; a tint on a
 * textured head); the scene applies its shape and texture detail, and hair, brows and beard grey through ctx.age.
 */
const age: AttributeCategory = {
  name: "age",
  recolours: true,
  params: { years: { ...AGE_YEARS } },
  none: { years: 0 },
  variant(rand, index = 0) {
    const anchor = AGE_ANCHORS[index % AGE_ANCHORS.length]!;
    // Past the ladder (a large dataset), anchors spread a few years around its rungs.
    const years =
      index < AGE_ANCHORS.length
        ? anchor.years
        : Math.min(AGE_YEARS.max, Math.max(AGE_YEARS.min, anchor.years + (rand() - 0.5) * 6));
    const label =
      index < AGE_ANCHORS.length
        ? anchor.label
        : `${Math.abs(Math.round(years))} years ${years < 0 ? "younger" : "older"}`;
    return { label, params: { years } };
  },
  build(_p, ctx) {
    const look = ctx.age ?? NO_AGE;
    if (look.older === 0) return [];
    for (let v = 0; v < ctx.head.vertexCount; v++) {
      const r = ctx.head.vertexRegion[v];
      if (r !== Region.skin && r !== Region.nose && r !== Region.neck && r !== Region.leftEar && r !== Region.rightEar)
        continue;
      ctx.colours.set(
        agedSkinTone([ctx.colours[v * 3]!, ctx.colours[v * 3 + 1]!, ctx.colours[v * 3 + 2]!], look),
        v * 3,
      );
    }
    return [];
  },
};

/**
 * Style: from the photo-real look towards a cartoon of the same person (face-looks.ts): flat colour regions and a
 * matte skin, ink outlines, exaggerated features. Applied last, over every other colour.
 */
const style: AttributeCategory = {
  name: "style",
  recolours: true,
  params: { flat: { min: 0, max: 1 }, outline: { min: 0, max: 1 }, exaggerate: { min: 0, max: 1 } },
  none: { flat: 0, outline: 0, exaggerate: 0 },
  variant(rand, index = 0) {
    const anchor = STYLE_ANCHORS[index % STYLE_ANCHORS.length]!;
    if (index < STYLE_ANCHORS.length) return { label: anchor.label, params: { ...anchor.look } };
    const jitter = (x: number) => Math.min(1, Math.max(0, x + (rand() - 0.5) * 0.3));
    const { flat, outline, exaggerate } = anchor.look;
    return {
      label: `${anchor.label} (varied)`,
      params: { flat: jitter(flat), outline: jitter(outline), exaggerate: jitter(exaggerate) },
    };
  },
  build(_p, ctx) {
    if (!ctx.textured && ctx.style) flattenVertexColours(ctx.head, ctx.colours, ctx.style.flat);
    return [];
  },
};

/**
 * The categories in the order they are applied: skin first (others colour on top of it), age on the skin's tone,
 * style last (over every colour).
 */
export const CATEGORIES: readonly AttributeCategory[] = [
  skin,
  age,
  lips,
  eyebrows,
  hair,
  beard,
  eyewear,
  hat,
  earrings,
  style,
];

export function categoryByName(name: string): AttributeCategory {
  const c = CATEGORIES.find((x) => x.name === name);
  if (!c) throw new Error(`synthesise: unknown category "${name}" (have ${CATEGORIES.map((x) => x.name).join(", ")})`);
  return c;
}

/** Clamps and completes parameters for a category; refuses unknown names and non-numbers. */
export function checkParams(category: AttributeCategory, p: Params): Params {
  const out: Params = {};
  for (const [k, range] of Object.entries(category.params)) {
    const v = p[k] ?? category.none[k]!;
    if (typeof v !== "number" || !Number.isFinite(v))
      throw new Error(`synthesise: ${category.name}.${k} must be a finite number, got ${String(v)}`);
    out[k] = Math.min(range.max, Math.max(range.min, v));
  }
  for (const k of Object.keys(p))
    if (!(k in category.params))
      throw new Error(
        `synthesise: ${category.name} has no parameter "${k}" (has ${Object.keys(category.params).join(", ")})`,
      );
  return out;
}
