/**
 * One synthetic frame as meshes: the identity's head posed for the frame
 * (one draw per parsing region, so every face carries its class), with each
 * category's parameters applied (CATEGORIES order: skin and lips recolour the
 * head first, then hair, beard, glasses, hat and earrings add meshes).
 *
 * With a UV texture (a portrait identity's texture-uv.png) the head is drawn
 * textured: one draw vertex per uvCoords entry (vertices on the back seam
 * split), per-corner UVs from faceUvs. Colour edits still act: the draw's
 * colours are a tint, the edited colour over the person's own (their base
 * colours with their own skin, lip and brow parameters applied); the
 * renderer multiplies the texture by it. No cavity occlusion on textured
 * faces: a photo texture carries the photo's own, and the model's cavity
 * term, divided out of the photo and multiplied back, clipped to grey
 * patches in deep folds (lids, philtrum). Faces that
 * join two UV islands (the lip and lid slits' rims into the mouth bag and
 * sockets) have no texels and keep per-vertex colours.
 */
import { createHeadParams, poseVertices, type HeadModel } from "../../../render-core/head";
import type { MeshDraw, MeshTexture } from "../../../render-core/mesh/scene";
import { MeshPart } from "../../../render-core/head/mesh";
import { CATEGORIES, categoryByName, checkParams, type Params } from "./attributes";
import { ageLook, detailTexture, lookShape, lookTexture, styleLook } from "./face-looks";
import { crossesIslands } from "../../../render-core/head/uv-layout";
import type { Identity } from "./identity";

export interface FramePose {
  expression: ArrayLike<number>;
  pose: ArrayLike<number>;
  translation?: ArrayLike<number>;
}

/** Unit vertex normals of a posed mesh (area-weighted face normals). */
export function vertexNormals(positions: Float32Array, faces: Uint32Array): Float32Array {
  const n = new Float32Array(positions.length);
  for (let t = 0; t < faces.length; t += 3) {
    const [a, b, c] = [faces[t]! * 3, faces[t + 1]! * 3, faces[t + 2]! * 3];
    const e1 = [0, 1, 2].map((k) => positions[b + k]! - positions[a + k]!),
      e2 = [0, 1, 2].map((k) => positions[c + k]! - positions[a + k]!);
    const f = [e1[1]! * e2[2]! - e1[2]! * e2[1]!, e1[2]! * e2[0]! - e1[0]! * e2[2]!, e1[0]! * e2[1]! - e1[1]! * e2[0]!];
    for (const v of [a, b, c]) for (let k = 0; k < 3; k++) n[v + k]! += f[k]!;
  }
  for (let v = 0; v < n.length; v += 3) {
    const l = Math.hypot(n[v]!, n[v + 1]!, n[v + 2]!) || 1;
    for (let k = 0; k < 3; k++) n[v + k]! /= l;
  }
  return n;
}

/** The head's faces grouped by parsing region (built once per head model). */
export function regionFaces(head: HeadModel): Map<number, Uint32Array> {
  const groups = new Map<number, number[]>();
  for (let f = 0; f < head.faceCount; f++) {
    const r = head.faceRegion[f]!;
    if (!groups.has(r)) groups.set(r, []);
    groups.get(r)!.push(head.faces[f * 3]!, head.faces[f * 3 + 1]!, head.faces[f * 3 + 2]!);
  }
  return new Map([...groups].map(([r, idx]) => [r, Uint32Array.from(idx)]));
}

const occlusionCache = new WeakMap<HeadModel, Float32Array>();

/**
 * A cheap ambient-occlusion stand-in, per head vertex in [0.35, 1]: creases
 * and hollows (neighbours rising above the vertex's tangent plane) darken,
 * the mouth's inside and the eye sockets darken most. Computed once on the
 * rest template; it multiplies the albedo, so both renderers agree.
 */
export function cavityOcclusion(head: HeadModel): Float32Array {
  const cached = occlusionCache.get(head);
  if (cached) return cached;
  const V = head.vertexCount,
    P = head.template;
  const n = vertexNormals(P, head.faces);
  const sum = new Float64Array(V),
    count = new Uint16Array(V);
  for (let t = 0; t < head.faces.length; t += 3) {
    for (let e = 0; e < 3; e++) {
      const a = head.faces[t + e]!,
        b = head.faces[t + ((e + 1) % 3)]!;
      for (const [v, w] of [
        [a, b],
        [b, a],
      ] as const) {
        const d = [0, 1, 2].map((k) => P[w * 3 + k]! - P[v * 3 + k]!);
        const l = Math.hypot(d[0]!, d[1]!, d[2]!) || 1;
        sum[v]! += (d[0]! * n[v * 3]! + d[1]! * n[v * 3 + 1]! + d[2]! * n[v * 3 + 2]!) / l;
        count[v]!++;
      }
    }
  }
  const ao = new Float32Array(V);
  for (let v = 0; v < V; v++) {
    const part = head.vertexPart[v];
    const rise = count[v] ? sum[v]! / count[v]! : 0;
    ao[v] =
      part === MeshPart.mouthBag
        ? 0.35
        : part === MeshPart.socketLeft || part === MeshPart.socketRight
          ? 0.5
          : Math.min(1, Math.max(0.45, 1 - 2.5 * Math.max(0, rise)));
  }
  occlusionCache.set(head, ao);
  return ao;
}

export interface SceneInput {
  head: HeadModel;
  identity: Identity;
  /** [V, 3] the identity's head colours (identityColours). */
  baseColours: Float32Array;
  regions: Map<number, Uint32Array>;
  /** Parameters per category name; categories left out are absent ("none"). */
  attributes: Record<string, Params>;
  frame: FramePose;
  /** The identity's UV albedo (identity.ts loadIdentityTexture); the head is drawn with it when given. */
  texture?: MeshTexture | null;
  /** The identity's UV hair texture (identity.hairTexture): the hair category colours the person's hair with it. */
  hairTexture?: MeshTexture | null;
}

export interface UvDrawGeometry {
  /** [T] u32 the head vertex of each draw vertex (T = uvCoords entries: the vertices, then the seam's copies). */
  vertexOf: Uint32Array;
  /** Per parsing region: textured triangles (draw vertices, faceUvs) and triangles across UV islands (head vertices). */
  regions: Map<number, { textured: Uint32Array; plain: Uint32Array }>;
}

const uvGeometryCache = new WeakMap<HeadModel, UvDrawGeometry>();

/** The head split along its UV seam for a textured draw (built once per head model). */
export function uvDrawGeometry(head: HeadModel): UvDrawGeometry {
  const hit = uvGeometryCache.get(head);
  if (hit) return hit;
  const T = head.uvCoords.length / 2;
  const vertexOf = new Uint32Array(T);
  for (let v = 0; v < head.vertexCount; v++) vertexOf[v] = v;
  const groups = new Map<number, { textured: number[]; plain: number[] }>();
  for (let f = 0; f < head.faceCount; f++) {
    for (let k = 0; k < 3; k++) vertexOf[head.faceUvs[f * 3 + k]!] = head.faces[f * 3 + k]!;
    const r = head.faceRegion[f]!;
    if (!groups.has(r)) groups.set(r, { textured: [], plain: [] });
    const g = groups.get(r)!;
    const from = crossesIslands(head, f) ? head.faces : head.faceUvs;
    (crossesIslands(head, f) ? g.plain : g.textured).push(from[f * 3]!, from[f * 3 + 1]!, from[f * 3 + 2]!);
  }
  const regions = new Map(
    [...groups].map(([r, g]) => [r, { textured: Uint32Array.from(g.textured), plain: Uint32Array.from(g.plain) }]),
  );
  const geometry = { vertexOf, regions };
  uvGeometryCache.set(head, geometry);
  return geometry;
}

const ownColoursCache = new WeakMap<Float32Array, { identity: Identity; colours: Float32Array }>();

/** The person as they are: base colours with their own recolouring attributes (identity.source, else "none"). */
function ownColours(head: HeadModel, identity: Identity, base: Float32Array): Float32Array {
  const hit = ownColoursCache.get(base);
  if (hit && hit.identity === identity) return hit.colours;
  const colours = base.slice();
  // Recolouring categories read neither the pose nor the normals: the template stands in for both.
  const ctx = { head, identity, posed: head.template, normals: head.template, colours };
  for (const category of CATEGORIES) {
    if (!category.recolours) continue;
    category.build(checkParams(category, identity.source?.[category.name] ?? category.none), ctx);
  }
  ownColoursCache.set(base, { identity, colours });
  return colours;
}

/** Largest tint: a lighter-skin edit on a dark texel brightens it by at most this much. */
const MAX_TINT = 4;

export function buildScene(input: SceneInput): MeshDraw[] {
  const { head, identity } = input;
  const looks = {
    age: ageLook(checkParams(categoryByName("age"), input.attributes.age ?? { years: 0 }).years!),
    style: styleLook(checkParams(categoryByName("style"), input.attributes.style ?? {})),
  };
  const params = createHeadParams(head, {
    shape: lookShape(identity.shape, looks.age, looks.style),
    expression: input.frame.expression,
    pose: input.frame.pose,
    ...(input.frame.translation ? { translation: input.frame.translation } : {}),
  });
  const posed = poseVertices(head, params);
  const normals = vertexNormals(posed, head.faces);
  const colours = input.baseColours.slice();
  const textured = !!input.texture;
  const ctx = { head, identity, posed, normals, colours, hairTexture: input.hairTexture, ...looks, textured };
  const extra: MeshDraw[] = [];
  for (const category of CATEGORIES) {
    const p = input.attributes[category.name];
    extra.push(...category.build(checkParams(category, p ?? category.none), ctx));
  }
  const ao = cavityOcclusion(head);
  // A cartoon's skin is matte.
  const skinMaterial = { specular: 0.12 * (1 - looks.style.flat), shininess: 20, opacity: 1 };
  if (input.texture) {
    // The photo texture times a tint: the edited colour over the person's own.
    const own = ownColours(head, input.identity, input.baseColours);
    const tint = (v: number, k: number) => Math.min(MAX_TINT, colours[v * 3 + k]! / Math.max(0.02, own[v * 3 + k]!));
    const texture = lookTexture(head, input.texture, looks.age, looks.style);
    return [...texturedHead(input, texture, tint, posed, normals, colours, ao, skinMaterial), ...extra];
  }
  // A procedural person: the looks' detail (wrinkles, outlines) as a white texture times the shaded colours.
  const detail = detailTexture(head, looks.age, looks.style);
  if (detail) {
    const shaded = (v: number, k: number) => colours[v * 3 + k]! * ao[v]!;
    return [...texturedHead(input, detail, shaded, posed, normals, colours, ao, skinMaterial), ...extra];
  }
  for (let v = 0; v < head.vertexCount; v++) for (let k = 0; k < 3; k++) colours[v * 3 + k]! *= ao[v]!;
  const headDraws: MeshDraw[] = [...input.regions].map(([classId, indices]) => ({
    positions: posed,
    normals,
    indices,
    colors: colours,
    material: skinMaterial,
    classId,
  }));
  return [...headDraws, ...extra];
}

/**
 * The head's draws with a UV texture (see the file comment), in the order of input.regions: `texture` times
 * `vertexColour(v, k)` on textured faces, the shaded per-vertex colours on faces across UV islands.
 */
function texturedHead(
  input: SceneInput,
  texture: MeshTexture,
  vertexColour: (v: number, k: number) => number,
  posed: Float32Array,
  normals: Float32Array,
  colours: Float32Array,
  ao: Float32Array,
  material: MeshDraw["material"],
): MeshDraw[] {
  const { head } = input;
  const geo = uvDrawGeometry(head);
  const T = geo.vertexOf.length;
  const positions = new Float32Array(T * 3),
    drawNormals = new Float32Array(T * 3),
    tint = new Float32Array(T * 3);
  for (let t = 0; t < T; t++) {
    const v = geo.vertexOf[t]!;
    for (let k = 0; k < 3; k++) {
      positions[t * 3 + k] = posed[v * 3 + k]!;
      drawNormals[t * 3 + k] = normals[v * 3 + k]!;
      tint[t * 3 + k] = vertexColour(v, k);
    }
  }
  const plainColours = colours.slice();
  for (let v = 0; v < head.vertexCount; v++) for (let k = 0; k < 3; k++) plainColours[v * 3 + k]! *= ao[v]!;
  const draws: MeshDraw[] = [];
  for (const classId of input.regions.keys()) {
    const g = geo.regions.get(classId);
    if (!g) continue;
    if (g.textured.length)
      draws.push({
        positions,
        normals: drawNormals,
        indices: g.textured,
        uvs: head.uvCoords,
        texture,
        colors: tint,
        material,
        classId,
      });
    if (g.plain.length)
      draws.push({ positions: posed, normals, indices: g.plain, colors: plainColours, material, classId });
  }
  return draws;
}
