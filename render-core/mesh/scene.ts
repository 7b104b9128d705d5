/**
 * Triangle-mesh scenes for the synthetic dataset generator: what the mesh
 * renderers draw (GPU: ./renderer.ts, CPU twin: ./render.cpu.ts). Each draw
 * is one mesh with one material and one parsing class; a frame gives RGB, a
 * foreground mask (coverage) and a parsing map.
 *
 * Shading, in world space, per pixel (both back ends):
 *   n  = the interpolated normal, flipped toward the viewer (thin geometry is two-sided)
 *   c  = albedo * diffuse(n) + specular * key * max(0, n.h)^shininess,   h = normalise(lKey + toViewer)
 *   diffuse(n) = ambient + key * max(0, n.lKey) + fill * max(0, n.lFill)    (one value for r, g, b)
 *              = max(0, s(n)) per channel when the lights carry an SH9 light `sh`
 *                (render-core/light/sh.ts shShading: a photo's light; the key still makes the highlight)
 *   albedo = texture.rgb * colors when a draw has both (the colours tint the texture:
 *            skin-tone and lip edits on a textured head), else whichever it has, else 0.6 grey.
 * Draws with opacity < 1 (or a texture alpha < 1) come after all opaque
 * draws, in draw and triangle order, depth-tested against the opaque depth
 * without writing it: colour and mask blend "over"; the parsing class is
 * written where the fragment's alpha is >= 0.5.
 */

import { SH_LIGHT_LENGTH, shShading } from "../light/sh";

export interface MeshTexture {
  width: number;
  height: number;
  /** [H, W, 4] RGBA8, row 0 at v = 0; sampled bilinearly, clamped at the edges. */
  data: Uint8Array;
}

export interface MeshMaterial {
  /** Specular strength (0 for matte; skin about 0.15, lenses 0.6). */
  specular: number;
  /** Blinn-Phong exponent. */
  shininess: number;
  /** Multiplies the texture's alpha; < 1 draws the mesh blended. */
  opacity: number;
  /** Blend with the texture's alpha (hair cards, lenses); otherwise a texture's alpha is ignored. */
  blend?: boolean;
}

export interface MeshDraw {
  /** [V, 3] f32 world positions. */
  positions: Float32Array;
  /** [V, 3] f32 normals (need not be unit length). */
  normals: Float32Array;
  /** [F * 3] u32 triangles. */
  indices: Uint32Array;
  /** [V, 2] f32 texture coordinates (with `texture`). */
  uvs?: Float32Array;
  texture?: MeshTexture;
  /** [V, 3] f32 albedo in [0, 1] (default mid grey); with a texture, a tint the texture is multiplied by. */
  colors?: Float32Array;
  material: MeshMaterial;
  /** Parsing class id written where this mesh is seen (PERSE-METHOD.md classes). */
  classId: number;
}

export interface MeshLights {
  /** Unit direction toward the key light, world space (with `key`, the specular highlight's light, `sh` or not). */
  keyDir: [number, number, number];
  key: number;
  fillDir: [number, number, number];
  fill: number;
  ambient: number;
  /**
   * [27] an SH9 light (render-core/light/sh.ts, index k * 3 + c): when given,
   * the diffuse term is albedo * max(0, s(n)) per channel instead of the
   * ambient, key and fill above.
   */
  sh?: ArrayLike<number>;
}

/** A soft key from the front, above and the subject's right, a weaker fill from the other side, some ambient. */
export const STUDIO_LIGHTS: MeshLights = {
  keyDir: normalise([-0.45, 0.55, 0.7]),
  key: 0.75,
  fillDir: normalise([0.6, 0.1, 0.8]),
  fill: 0.25,
  ambient: 0.3,
};

export interface MeshFrame {
  width: number;
  height: number;
  /** [H, W, 3] f32 colour over the background. */
  rgb: Float32Array;
  /** [H, W] f32 coverage in [0, 1]. */
  mask: Float32Array;
  /** [H, W] u8 parsing class (0 = background). */
  parse: Uint8Array;
}

/** Throws unless an SH light, when the lights carry one, holds 27 finite numbers. */
export function checkMeshLights(lights: MeshLights, owner: string): void {
  if (!lights.sh) return;
  if (lights.sh.length !== SH_LIGHT_LENGTH)
    throw new Error(
      `${owner}: lights.sh must hold ${SH_LIGHT_LENGTH} numbers (9 SH coefficients x RGB), got ${lights.sh.length}`,
    );
  for (let i = 0; i < SH_LIGHT_LENGTH; i++)
    if (!Number.isFinite(lights.sh[i]!)) throw new Error(`${owner}: lights.sh[${i}] is not finite (${lights.sh[i]})`);
}

/** The diffuse term of the shading above for a unit normal, per channel, into outRgb. */
export function meshDiffuse(
  L: MeshLights,
  nx: number,
  ny: number,
  nz: number,
  outRgb: Float64Array | Float32Array | number[],
): void {
  if (L.sh) {
    shShading(L.sh, nx, ny, nz, outRgb);
    for (let c = 0; c < 3; c++) outRgb[c] = Math.max(0, outRgb[c]!);
    return;
  }
  const d =
    L.ambient +
    L.key * Math.max(0, nx * L.keyDir[0] + ny * L.keyDir[1] + nz * L.keyDir[2]) +
    L.fill * Math.max(0, nx * L.fillDir[0] + ny * L.fillDir[1] + nz * L.fillDir[2]);
  outRgb[0] = outRgb[1] = outRgb[2] = d;
}

export function normalise(v: [number, number, number]): [number, number, number] {
  const l = Math.hypot(v[0], v[1], v[2]) || 1;
  return [v[0] / l, v[1] / l, v[2] / l];
}

/** Throws with the draw and field when arrays disagree or indices run past the vertices. */
export function checkMeshDraws(draws: readonly MeshDraw[], owner: string): void {
  draws.forEach((d, k) => {
    const V = d.positions.length / 3;
    const bad = (m: string): never => {
      throw new Error(`${owner}: draw ${k}: ${m}`);
    };
    if (!Number.isInteger(V)) bad(`positions must be [V, 3], got ${d.positions.length} numbers`);
    if (d.normals.length !== V * 3) bad(`normals must hold ${V * 3} numbers, got ${d.normals.length}`);
    if (d.indices.length % 3 !== 0) bad(`indices must be triangles, got ${d.indices.length}`);
    for (let i = 0; i < d.indices.length; i++)
      if (d.indices[i]! >= V) bad(`index ${d.indices[i]} at ${i} is past the ${V} vertices`);
    if (d.texture) {
      if (!d.uvs || d.uvs.length !== V * 2) bad("a textured draw needs uvs [V, 2]");
      const t = d.texture;
      if (!(t.width > 0 && t.height > 0) || t.data.length !== t.width * t.height * 4)
        bad(`texture data must be ${t.width} x ${t.height} RGBA8`);
    }
    if (d.colors && d.colors.length !== V * 3) bad(`colors must hold ${V * 3} numbers, got ${d.colors.length}`);
    if (!(d.classId >= 0 && d.classId <= 255) || !Number.isInteger(d.classId))
      bad(`classId must be a whole number in [0, 255], got ${d.classId}`);
    if (!(d.material.opacity >= 0 && d.material.opacity <= 1))
      bad(`opacity must be in [0, 1], got ${d.material.opacity}`);
  });
}

/** Whether a draw is blended: it is see-through, or uses its texture's alpha. */
export function isBlended(d: MeshDraw): boolean {
  return d.material.opacity < 1 || d.material.blend === true;
}

/** Opaque draws first, then blended ones, each group in the given order. */
export function drawOrder(draws: readonly MeshDraw[]): number[] {
  return [...draws.keys()].sort((a, b) => Number(isBlended(draws[a]!)) - Number(isBlended(draws[b]!)) || a - b);
}
