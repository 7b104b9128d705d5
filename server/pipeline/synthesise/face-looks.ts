/**
 * Age and style: the two categories whose looks reach past a recolour or an
 * added mesh. Each is one or three continuous parameters (so an in-between
 * is exact, like every category's), turned here into a "look" that the
 * scene applies in four places:
 *
 *   shape    offsets in the head model's named shape space (older: fuller
 *            jowls, hollower cheeks, thinner lips, a longer nose, larger
 *            ears, lower brows; younger: fuller cheeks and lips; cartoon:
 *            larger eyes, a smaller nose), added to the person's own and
 *            clamped to the fit's prior bound, before the head is posed;
 *   texture  detail in the person's UV texture: wrinkles and folds
 *            (forehead, frown, crow's feet, under the eyes, nasolabial,
 *            marionette, neck) and age spots when older, smoothed skin when
 *            younger; posterised flat colour regions and ink outlines
 *            (eyes, brows, nose, lips, jaw) for the cartoon look;
 *   colours  per head vertex (the whole look on a head without a texture;
 *            on a textured one only the skin's tone, as a tint);
 *   hair     brows, beard and hair grey from the person's OWN colour
 *            towards silver as they age; a younger look darkens hair that
 *            has greyed.
 *
 * Every field is a function of the template (rest, neutral-shape) point, so
 * the detail stays on the same skin whatever the person's shape or pose.
 */
import {
  Region,
  SHAPE_NAMES,
  SHAPE_PRIOR_BOUND,
  evalSurfacePoints,
  type HeadModel,
  type ShapeName,
} from "../../../render-core/head";
import type { MeshTexture } from "../../../render-core/mesh/scene";
import { atTexel, uvLayout } from "../../../render-core/head/uv-layout";
import { boxBlur } from "../../images/box-blur";
import { mixRgb, type Rgb } from "./identity";

/** The age category's one parameter: years from the person's own apparent age. */
export const AGE_YEARS = { min: -15, max: 40 } as const;

export interface AgeLook {
  years: number;
  /** 0 at the person's age, 1 at AGE_YEARS.max. */
  older: number;
  /** 0 at the person's age, 1 at AGE_YEARS.min. */
  younger: number;
  /** Hair greying towards silver (> 0), or darkening of greyed hair (< 0, younger). */
  grey: number;
  /** Depth of wrinkles and folds, 0-1. */
  wrinkles: number;
  /** Strength of age spots, 0-1. */
  spots: number;
  /** Skin smoothing, 0-1. */
  smoothing: number;
}

const clamp = (x: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, x));
const smooth = (e0: number, e1: number, x: number) => {
  const t = clamp((x - e0) / (e1 - e0), 0, 1);
  return t * t * (3 - 2 * t);
};

/** What `years` does, every part monotonic in it (tests pin that). */
export function ageLook(years: number): AgeLook {
  const y = clamp(years, AGE_YEARS.min, AGE_YEARS.max);
  const older = Math.max(0, y) / AGE_YEARS.max,
    younger = Math.max(0, -y) / -AGE_YEARS.min;
  return {
    years: y,
    older,
    younger,
    grey: older > 0 ? 0.9 * smooth(0.1, 1, older) : younger > 0 ? -younger : 0,
    wrinkles: older,
    spots: smooth(0.25, 1, older),
    smoothing: younger,
  };
}

export const NO_AGE: AgeLook = ageLook(0);

export interface StyleLook {
  /** Posterised, flat colour regions and a matte skin, 0-1. */
  flat: number;
  /** Ink outlines along the features, 0-1. */
  outline: number;
  /** Exaggerated features through the shape space, 0-1. */
  exaggerate: number;
}

export const NO_STYLE: StyleLook = { flat: 0, outline: 0, exaggerate: 0 };

export function styleLook(p: Record<string, number>): StyleLook {
  return {
    flat: clamp(p.flat ?? 0, 0, 1),
    outline: clamp(p.outline ?? 0, 0, 1),
    exaggerate: clamp(p.exaggerate ?? 0, 0, 1),
  };
}

/** The editor's anchors, in order: the first two are a slider's ends (younger on the left, older on the right). */
export const AGE_ANCHORS: ReadonlyArray<{ years: number; label: string }> = [
  { years: -15, label: "15 years younger" },
  { years: 40, label: "40 years older" },
  { years: 20, label: "20 years older" },
  { years: 30, label: "30 years older" },
  { years: -8, label: "8 years younger" },
  { years: 10, label: "10 years older" },
];

export const STYLE_ANCHORS: ReadonlyArray<{ look: StyleLook; label: string }> = [
  { look: { flat: 0.9, outline: 0, exaggerate: 0.2 }, label: "flat colour" },
  { look: { flat: 1, outline: 1, exaggerate: 1 }, label: "cartoon" },
  { look: { flat: 0.6, outline: 1, exaggerate: 0.3 }, label: "ink outlines" },
  { look: { flat: 0.4, outline: 0.4, exaggerate: 1 }, label: "caricature" },
  { look: { flat: 1, outline: 0.6, exaggerate: 0.6 }, label: "comic" },
  { look: { flat: 0.5, outline: 0.2, exaggerate: 0.5 }, label: "soft cartoon" },
];

// ---- shape -----------------------------------------------------------------------------------------------------

/** Shape offsets at full strength, in the fit prior's sigmas (render-core/head/shape.ts: 1 moves a few millimetres). */
export const OLDER_SHAPE: Readonly<Partial<Record<ShapeName, number>>> = {
  jawWidth: 0.7,
  cheekFullness: -1.5,
  lipFullness: -1.5,
  noseLength: 1.2,
  noseWidth: 0.8,
  earSize: 1.2,
  browHeight: -1,
  chinHeight: 0.4,
  eyeSize: -0.7,
};
const YOUNGER_SHAPE: Readonly<Partial<Record<ShapeName, number>>> = {
  jawWidth: -0.2,
  cheekFullness: 0.8,
  lipFullness: 0.5,
  noseLength: -0.4,
  noseWidth: -0.3,
  earSize: -0.4,
};
const CARTOON_SHAPE: Readonly<Partial<Record<ShapeName, number>>> = {
  eyeSize: 1.5,
  noseLength: -0.6,
  noseWidth: -0.4,
  cheekFullness: 0.6,
  mouthWidth: 0.4,
  chinHeight: -0.4,
};

/** The person's shape with the looks' offsets, inside the prior bound (a coefficient already at the bound stays). */
export function lookShape(shape: ArrayLike<number>, age: AgeLook, style: StyleLook): Float32Array {
  const out = Float32Array.from(shape);
  if (out.length !== SHAPE_NAMES.length)
    throw new Error(`lookShape: ${out.length} shape coefficients, the head model has ${SHAPE_NAMES.length}`);
  SHAPE_NAMES.forEach((name, c) => {
    const delta =
      age.older * (OLDER_SHAPE[name] ?? 0) +
      age.younger * (YOUNGER_SHAPE[name] ?? 0) +
      style.exaggerate * (CARTOON_SHAPE[name] ?? 0);
    if (delta === 0) return;
    const own = out[c]!;
    const bound = Math.max(SHAPE_PRIOR_BOUND, Math.abs(own));
    out[c] = clamp(own + delta, -bound, bound);
  });
  return out;
}

// ---- hair ------------------------------------------------------------------------------------------------------

const SILVER: Rgb = [0.78, 0.77, 0.74];
const DARK_BROWN: Rgb = [0.16, 0.1, 0.06];
const luma = (c: ArrayLike<number>) => 0.299 * c[0]! + 0.587 * c[1]! + 0.114 * c[2]!;

/** How grey a hair colour already is: light and unsaturated. */
function greyness(c: Rgb): number {
  const spread = Math.max(c[0], c[1], c[2]) - Math.min(c[0], c[1], c[2]);
  return smooth(0.3, 0.55, luma(c)) * (1 - smooth(0.05, 0.2, spread));
}

/** A hair colour at `grey` (AgeLook.grey): towards silver from the person's own, or greyed hair darkened back. */
export function greyHair(c: Rgb, grey: number): Rgb {
  if (grey >= 0) return mixRgb(c, SILVER, grey);
  return mixRgb(c, DARK_BROWN, -grey * greyness(c));
}

// ---- fields on the skin ----------------------------------------------------------------------------------------

type Vec3 = readonly [number, number, number];

interface FaceGeometry {
  /** Landmark polylines for outlines (closed loops repeat their first point). */
  outlines: Vec3[][];
  /** Fold polylines with their groove half-width (metres). */
  folds: Array<{ line: Vec3[]; width: number }>;
  lm: (i: number) => Vec3;
}

const geometryCache = new WeakMap<HeadModel, FaceGeometry>();

function faceGeometry(head: HeadModel): FaceGeometry {
  const hit = geometryCache.get(head);
  if (hit) return hit;
  const points = evalSurfacePoints(head.template, head.faces, head.landmarks);
  const lm = (i: number): Vec3 => [points[i * 3]!, points[i * 3 + 1]!, points[i * 3 + 2]!];
  const run = (from: number, to: number, closed = false) => {
    const line: Vec3[] = [];
    for (let i = from; i <= to; i++) line.push(lm(i));
    if (closed) line.push(lm(from));
    return line;
  };
  // A point beside a landmark (side -1 mirrors x for the subject's right), at the landmark's depth.
  const off = (i: number, dx: number, dy: number, side = 1): Vec3 => {
    const p = lm(i);
    return [p[0] + side * dx, p[1] + dy, p[2]];
  };
  const folds: FaceGeometry["folds"] = [];
  for (const side of [-1, 1]) {
    const wing = side < 0 ? 31 : 35,
      corner = side < 0 ? 48 : 54;
    // Nasolabial fold: from beside the nose wing, bowing out, to beside the mouth corner.
    folds.push({
      line: [off(wing, 0.006, 0.008, side), off(wing, 0.012, -0.006, side), off(corner, 0.007, -0.006, side)],
      width: 0.002,
    });
    // Marionette line: from the mouth corner down towards the jaw.
    folds.push({ line: [off(corner, 0.003, -0.003, side), off(corner, 0.006, -0.02, side)], width: 0.001 });
  }
  const geometry: FaceGeometry = {
    outlines: [
      run(36, 41, true),
      run(42, 47, true),
      run(17, 21),
      run(22, 26),
      run(31, 35),
      run(48, 59, true),
      run(0, 16),
    ],
    folds,
    lm,
  };
  geometryCache.set(head, geometry);
  return geometry;
}

/** Distance from p to the segment a-b. */
function segmentDistance(p: Vec3, a: Vec3, b: Vec3): number {
  const ab = [b[0] - a[0], b[1] - a[1], b[2] - a[2]],
    ap = [p[0] - a[0], p[1] - a[1], p[2] - a[2]];
  const len2 = ab[0]! * ab[0]! + ab[1]! * ab[1]! + ab[2]! * ab[2]!;
  const t = len2 > 0 ? clamp((ap[0]! * ab[0]! + ap[1]! * ab[1]! + ap[2]! * ab[2]!) / len2, 0, 1) : 0;
  return Math.hypot(ap[0]! - t * ab[0]!, ap[1]! - t * ab[1]!, ap[2]! - t * ab[2]!);
}

function polylineDistance(p: Vec3, line: readonly Vec3[]): number {
  let d = Infinity;
  for (let i = 0; i + 1 < line.length; i++) d = Math.min(d, segmentDistance(p, line[i]!, line[i + 1]!));
  return d;
}

/** Every fold's width scale: fine lines must still read at the training and recogniser resolutions (a few px per cm). */
const FOLD_WIDTH = 1.8;
const groove = (d: number, width: number) => Math.exp(-((d / (width * FOLD_WIDTH)) ** 2));
/** A broad shadow (sagging skin): its own width, not FOLD_WIDTH's. */
const hollow = (d: number, width: number) => Math.exp(-((d / width) ** 2));
const SKIN_REGIONS: ReadonlySet<number> = new Set([
  Region.skin,
  Region.nose,
  Region.neck,
  Region.leftEar,
  Region.rightEar,
]);

/**
 * Wrinkle and fold depth (0-1) at a template point on the skin: forehead lines, frown lines, crow's feet,
 * under-eye lines, nasolabial folds, marionette lines, neck rings.
 */
function wrinkleDepth(head: HeadModel, p: Vec3, region: number): number {
  if (region !== Region.skin && region !== Region.nose && region !== Region.neck) return 0;
  const [x, y, z] = p;
  if (region === Region.neck) {
    if (z < 0) return 0;
    let d = 0;
    for (const yc of [-0.1, -0.114, -0.127]) d = Math.max(d, 0.5 * groove(y - yc - 0.25 * x * x, 0.001));
    return d * smooth(0, 0.03, z);
  }
  if (z < 0.03) return 0;
  const g = faceGeometry(head);
  let depth = 0;
  // Forehead: four gently arched lines above the brows, shorter higher up.
  if (y > 0.042 && y < 0.078 && Math.abs(x) < 0.05) {
    for (let k = 0; k < 4; k++) {
      // Wavy, broken lines: a drawn ruler line reads as a tattoo, not skin.
      const yc = 0.047 + 0.0075 * k + 0.9 * x * x + 0.0009 * Math.sin(x * 140 + k * 1.7);
      const reach = 0.042 - 0.004 * k;
      const strength = 0.45 + 0.25 * Math.sin(x * 90 + k * 2.3);
      depth = Math.max(depth, strength * groove(y - yc, 0.0011) * (1 - smooth(reach - 0.008, reach, Math.abs(x))));
    }
  }
  // Frown lines between the brows.
  if (y > 0.03 && y < 0.054 && Math.abs(x) < 0.012)
    depth = Math.max(
      depth,
      0.5 * groove(Math.abs(x) - 0.0045, 0.0008) * smooth(0.03, 0.036, y) * (1 - smooth(0.046, 0.054, y)),
    );
  for (const side of [-1, 1]) {
    // Crow's feet: a fan of short lines out from the eye's outer corner.
    const c = g.lm(side < 0 ? 36 : 45);
    const dx = side * (x - c[0]),
      dy = y - c[1];
    const r = Math.hypot(dx, dy);
    if (dx > 0.002 && r > 0.004 && r < 0.022) {
      const angle = Math.atan2(dy, dx);
      let fan = 0;
      for (const a of [-0.55, -0.2, 0.15, 0.5]) fan = Math.max(fan, groove(r * (angle - a), 0.0007));
      depth = Math.max(depth, fan * smooth(0.004, 0.007, r) * (1 - smooth(0.015, 0.022, r)));
    }
    // Under the eye: an arc below the lower lid.
    const lid = g.lm(side < 0 ? 40 : 47);
    const ex = (x - (lid[0] - side * 0.003)) / 0.014,
      ey = (y - (lid[1] + 0.001)) / 0.0085;
    if (ey < 0)
      depth = Math.max(depth, 0.8 * groove(Math.hypot(ex, ey) - 1, 0.12) * (1 - smooth(0.9, 1.2, Math.abs(ex))));
  }
  for (const f of g.folds) {
    const d = polylineDistance(p, f.line);
    // The fold line, and the sagging cheek's broad shadow along it.
    depth = Math.max(depth, groove(d, f.width), 0.55 * hollow(d, 0.006));
  }
  for (const side of [-1, 1]) {
    // Eye bags: a broad crescent under each eye.
    const lid = g.lm(side < 0 ? 40 : 47);
    const bx = (x - (lid[0] - side * 0.002)) / 0.016,
      by = (y - (lid[1] - 0.006)) / 0.007;
    depth = Math.max(depth, 0.7 * hollow(Math.hypot(bx, by) - 0.6, 0.35) * smooth(-0.2, 0.3, -by + 0.5));
    // Jowls: a shadow along the jaw below the mouth corners.
    const jaw = [g.lm(side < 0 ? 5 : 11), g.lm(side < 0 ? 7 : 9)] as const;
    depth = Math.max(depth, 0.45 * hollow(segmentDistance(p, jaw[0], jaw[1]), 0.007));
    // Hollow cheeks under the cheekbones.
    const cheek = Math.hypot(x - side * 0.045, y + 0.022);
    depth = Math.max(depth, 0.4 * hollow(cheek, 0.014));
    // Sunken upper lids: a shadow between the brow and the lid crease.
    const crease = g.lm(side < 0 ? 38 : 43);
    depth = Math.max(depth, 0.4 * hollow(Math.hypot((x - crease[0]) / 1.6, y - crease[1] - 0.009), 0.006));
  }
  return depth;
}

/** Ink outline strength (0-1) at a template point: the eyes, brows, nose, lips and jaw line. */
function outlineInk(head: HeadModel, p: Vec3, region: number): number {
  if (p[2] < 0 || region === Region.leftEye || region === Region.rightEye || region === Region.mouthInterior) return 0;
  let d = Infinity;
  for (const line of faceGeometry(head).outlines) d = Math.min(d, polylineDistance(p, line));
  return 1 - smooth(0.0006, 0.0013, d);
}

/** Age spots (0-1): sparse blots seeded by the template point's cell, the same on every frame. */
function spotField(p: Vec3, region: number): number {
  if (!SKIN_REGIONS.has(region)) return 0;
  const CELL = 0.007;
  const cx = Math.floor(p[0] / CELL),
    cy = Math.floor(p[1] / CELL),
    cz = Math.floor(p[2] / CELL);
  const h = (a: number) => {
    const s = Math.sin(cx * 127.1 + cy * 311.7 + cz * 74.7 + a * 53.3) * 43758.5453;
    return s - Math.floor(s);
  };
  if (h(0) > 0.28) return 0;
  const centre: Vec3 = [(cx + 0.2 + 0.6 * h(1)) * CELL, (cy + 0.2 + 0.6 * h(2)) * CELL, (cz + 0.2 + 0.6 * h(3)) * CELL];
  const radius = CELL * (0.12 + 0.15 * h(4));
  const d = Math.hypot(p[0] - centre[0], p[1] - centre[1], p[2] - centre[2]);
  return 1 - smooth(radius * 0.6, radius, d);
}

// ---- applying the looks ----------------------------------------------------------------------------------------

const SPOT_COLOUR: Rgb = [0.42, 0.3, 0.22];
/** How much a full wrinkle darkens the skin under it. */
const WRINKLE_SHADE = 0.7;
const OUTLINE_INK: Rgb = [0.08, 0.06, 0.06];

/** Skin tone with age: a little greyer and sallower. Applied per vertex (a tint on a textured head). */
export function agedSkinTone(c: Rgb, age: AgeLook): Rgb {
  const l = luma(c);
  return mixRgb(c, [l * 0.95 + 0.03, l * 0.93 + 0.03, l * 0.85 + 0.03], 0.45 * age.older);
}

/** Which flat colour a region takes in the cartoon look: skin-like regions share one; eyes and mouth keep theirs. */
function flatGroup(region: number): number {
  if (SKIN_REGIONS.has(region)) return Region.skin;
  if (region === Region.upperLip || region === Region.lowerLip) return Region.upperLip;
  if (region === Region.leftBrow || region === Region.rightBrow) return Region.leftBrow;
  return -1;
}

/** Mean colour per flat group over `count` points (groups without points are absent). */
function groupMeans(count: number, regionOf: (i: number) => number, colourOf: (i: number) => Rgb): Map<number, Rgb> {
  const sums = new Map<number, [number, number, number, number]>();
  for (let i = 0; i < count; i++) {
    const g = flatGroup(regionOf(i));
    if (g < 0) continue;
    const c = colourOf(i);
    const s = sums.get(g) ?? [0, 0, 0, 0];
    sums.set(g, [s[0] + c[0], s[1] + c[1], s[2] + c[2], s[3] + 1]);
  }
  return new Map([...sums].map(([g, s]) => [g, [s[0] / s[3], s[1] / s[3], s[2] / s[3]] as Rgb]));
}

/** How much of the point's own (blurred) colour a flat region keeps: a hint of the person's shading. */
const FLAT_KEEP = 0.12;

/** Per-vertex colours flattened towards their region's mean (a head drawn without a texture), in place. */
export function flattenVertexColours(head: HeadModel, colours: Float32Array, flat: number): void {
  if (flat === 0) return;
  const at = (v: number): Rgb => [colours[v * 3]!, colours[v * 3 + 1]!, colours[v * 3 + 2]!];
  const means = groupMeans(head.vertexCount, (v) => head.vertexRegion[v]!, at);
  for (let v = 0; v < head.vertexCount; v++) {
    const mean = means.get(flatGroup(head.vertexRegion[v]!));
    if (mean) colours.set(mixRgb(at(v), mixRgb(mean, at(v), FLAT_KEEP), flat), v * 3);
  }
}

interface TexelFields {
  wrinkle: Float32Array;
  outline: Float32Array;
  spot: Float32Array;
  /** Parsing region of the texel's face, NO_REGION outside every face. */
  region: Uint8Array;
}

const NO_REGION = 255;

const texelFieldCache = new WeakMap<HeadModel, Map<number, TexelFields>>();

/** The fields at every texel of a size x size UV texture (cached per head model and size). */
function texelFields(head: HeadModel, size: number): TexelFields {
  let bySize = texelFieldCache.get(head);
  if (!bySize) texelFieldCache.set(head, (bySize = new Map()));
  const hit = bySize.get(size);
  if (hit) return hit;
  const layout = uvLayout(head, size);
  const n = size * size;
  const fields: TexelFields = {
    wrinkle: new Float32Array(n),
    outline: new Float32Array(n),
    spot: new Float32Array(n),
    region: new Uint8Array(n).fill(NO_REGION),
  };
  const q = new Float64Array(3);
  for (let i = 0; i < n; i++) {
    const f = layout.face[i]!;
    if (f < 0) continue;
    atTexel(head, layout, i, head.template, 3, q);
    const p: Vec3 = [q[0]!, q[1]!, q[2]!];
    const region = head.faceRegion[f]!;
    fields.wrinkle[i] = wrinkleDepth(head, p, region);
    fields.outline[i] = outlineInk(head, p, region);
    fields.spot[i] = spotField(p, region);
    fields.region[i] = region;
  }
  bySize.set(size, fields);
  return fields;
}

interface TextureDerived {
  blurred?: Uint8Array;
  flatMeans?: Map<number, Rgb>;
  looks: Map<string, MeshTexture>;
}

const derivedCache = new WeakMap<MeshTexture, TextureDerived>();
/** Distinct looks kept per texture (a dataset video holds one; its in-betweens a few more). */
const LOOKS_PER_TEXTURE = 6;

function cachedLook(t: MeshTexture, key: string, make: (d: TextureDerived) => MeshTexture): MeshTexture {
  let d = derivedCache.get(t);
  if (!d) derivedCache.set(t, (d = { looks: new Map() }));
  const hit = d.looks.get(key);
  if (hit) return hit;
  const made = make(d);
  if (d.looks.size >= LOOKS_PER_TEXTURE) d.looks.delete(d.looks.keys().next().value!);
  d.looks.set(key, made);
  return made;
}

/** Skin smoothing's blur radius as a share of the texture's size (4 texels at 1024). */
const SMOOTH_RADIUS = 4 / 1024;

/**
 * The person's UV texture with the looks' detail (the texture itself when there is none). Deterministic; cached
 * per texture and look, so every frame of a video shares one texture object (the GPU keeps it uploaded).
 */
export function lookTexture(head: HeadModel, texture: MeshTexture, age: AgeLook, style: StyleLook): MeshTexture {
  if (age.years === 0 && style.flat === 0 && style.outline === 0) return texture;
  const { width: W, height: H, data } = texture;
  if (W !== H || data.length !== W * H * 4)
    throw new Error(`lookTexture: the UV texture must be square RGBA8, got ${W} x ${H} (${data.length} bytes)`);
  return cachedLook(texture, `${age.years}|${style.flat}|${style.outline}`, (derived) => {
    const fields = texelFields(head, W);
    if (age.smoothing > 0 || style.flat > 0)
      derived.blurred ??= boxBlur(data, W, H, 4, Math.max(1, Math.round(SMOOTH_RADIUS * W)));
    const blurred = derived.blurred;
    const texel = (i: number): Rgb => [data[i * 4]! / 255, data[i * 4 + 1]! / 255, data[i * 4 + 2]! / 255];
    if (style.flat > 0) derived.flatMeans ??= groupMeans(W * H, (i) => fields.region[i]!, texel);
    const out = Uint8Array.from(data);
    for (let i = 0; i < W * H; i++) {
      const region = fields.region[i]!;
      if (region === NO_REGION) continue;
      let c = texel(i);
      const soft: Rgb = blurred ? [blurred[i * 4]! / 255, blurred[i * 4 + 1]! / 255, blurred[i * 4 + 2]! / 255] : c;
      if (age.smoothing > 0 && SKIN_REGIONS.has(region)) c = mixRgb(c, soft, 0.85 * age.smoothing);
      if (age.spots > 0) c = mixRgb(c, SPOT_COLOUR, 0.5 * age.spots * fields.spot[i]!);
      if (age.wrinkles > 0) {
        const s = 1 - WRINKLE_SHADE * age.wrinkles * fields.wrinkle[i]!;
        c = [c[0] * s, c[1] * s, c[2] * s];
      }
      const mean = style.flat > 0 ? derived.flatMeans!.get(flatGroup(region)) : undefined;
      if (mean) c = mixRgb(c, mixRgb(mean, soft, FLAT_KEEP), style.flat);
      if (style.outline > 0) c = mixRgb(c, OUTLINE_INK, 0.9 * style.outline * fields.outline[i]!);
      for (let k = 0; k < 3; k++) out[i * 4 + k] = Math.round(clamp(c[k]!, 0, 1) * 255);
    }
    return { width: W, height: H, data: out };
  });
}

/** A hair texture greyed (or darkened back) by `grey` (AgeLook.grey); cached per texture and amount. */
export function greyHairTexture(texture: MeshTexture, grey: number): MeshTexture {
  if (grey === 0) return texture;
  return cachedLook(texture, `grey|${grey}`, () => {
    const data = Uint8Array.from(texture.data);
    for (let i = 0; i < data.length; i += 4) {
      const c = greyHair([data[i]! / 255, data[i + 1]! / 255, data[i + 2]! / 255], grey);
      for (let k = 0; k < 3; k++) data[i + k] = Math.round(clamp(c[k]!, 0, 1) * 255);
    }
    return { width: texture.width, height: texture.height, data };
  });
}

/** The detail texture's size for a head drawn without a photo texture. */
const DETAIL_SIZE = 512;
let white: MeshTexture | null = null;

/**
 * For a head without a photo texture (a procedural person): the looks' detail (wrinkles, spots, outlines) on a
 * white UV texture that multiplies the per-vertex colours (their flat colour is flattenVertexColours'); null when
 * the looks add no detail.
 */
export function detailTexture(head: HeadModel, age: AgeLook, style: StyleLook): MeshTexture | null {
  if (age.wrinkles === 0 && age.spots === 0 && style.outline === 0) return null;
  white ??= { width: DETAIL_SIZE, height: DETAIL_SIZE, data: new Uint8Array(DETAIL_SIZE * DETAIL_SIZE * 4).fill(255) };
  // Smoothing has nothing to smooth on white, and the flat colour is the vertices'.
  return lookTexture(head, white, { ...age, smoothing: 0 }, { ...style, flat: 0 });
}
