/**
 * Helpers for procedural blendshape bases: smooth compact falloffs and the
 * assembly of displacement fields into [V, 3, K] arrays (FLAME's layout:
 * vertex, axis, coefficient). A field maps a template vertex to its offset
 * at coefficient +1; linear blendshapes use offset * coefficient.
 */
import { HEAD } from "./head-sdf";
import { MeshPart, type TemplateMesh } from "./mesh";

/** What a displacement field may read about one template vertex. */
export interface FieldVertex {
  /** Template position (the eyeball centre for eyeball vertices, so that eyeballs move rigidly). */
  p: [number, number, number];
  /** Side of the lip / lid slit: +1 upper, -1 lower, 0 neither (positions decide away from slits). */
  side: number;
  part: number;
  region: number;
  /** Jaw skinning weight of the vertex (0..1). */
  jaw: number;
}

export type Field = (v: FieldVertex) => [number, number, number];

/** (1 - (d / r)^2)^2 inside radius r, else 0: C1-smooth, compact. */
export function bump(p: readonly number[], c: readonly number[], r: number): number {
  const q = ((p[0] - c[0]) ** 2 + (p[1] - c[1]) ** 2 + (p[2] - c[2]) ** 2) / (r * r);
  return q >= 1 ? 0 : (1 - q) * (1 - q);
}

/** Anisotropic bump with radii (rx, ry, rz). */
export function bumpE(p: readonly number[], c: readonly number[], r: readonly number[]): number {
  const q = ((p[0] - c[0]) / r[0]) ** 2 + ((p[1] - c[1]) / r[1]) ** 2 + ((p[2] - c[2]) / r[2]) ** 2;
  return q >= 1 ? 0 : (1 - q) * (1 - q);
}

export function smoothstep(a: number, b: number, x: number): number {
  const t = Math.min(1, Math.max(0, (x - a) / (b - a)));
  return t * t * (3 - 2 * t);
}

/** Smooth max(0, x) with a rounding width w (metres). */
export function softPos(x: number, w = 0.01): number {
  return 0.5 * (x + Math.sqrt(x * x + w * w)) - 0.5 * w;
}

/** Mirror a left-side (+x) centre to the side of p. */
export function sideOf(p: readonly number[], c: readonly number[]): [number, number, number] {
  return [p[0] >= 0 ? c[0] : -c[0], c[1], c[2]];
}

/** Eye centre on the given side (+1 left / -1 right). */
export function eyeCentre(sign: number): [number, number, number] {
  return [sign * HEAD.eyeCenter[0], HEAD.eyeCenter[1], HEAD.eyeCenter[2]];
}

/** Upper-side test for lip-driven fields: slit side where known, else above the lip line. */
export function lipUpper(v: FieldVertex): number {
  if (v.side !== 0) return v.side > 0 ? 1 : 0;
  return smoothstep(HEAD.mouthY - 0.002, HEAD.mouthY + 0.002, v.p[1]);
}

/** Per-vertex inputs for fields; eyeballs report their centre. */
export function fieldVertices(mesh: TemplateMesh, vertexRegion: Uint8Array, jawWeight: Float32Array): FieldVertex[] {
  const V = mesh.part.length;
  const out: FieldVertex[] = new Array(V);
  for (let i = 0; i < V; i++) {
    const part = mesh.part[i];
    const eye = part === MeshPart.eyeballLeft ? 1 : part === MeshPart.eyeballRight ? -1 : 0;
    const p: [number, number, number] = eye
      ? eyeCentre(eye)
      : [mesh.positions[i * 3], mesh.positions[i * 3 + 1], mesh.positions[i * 3 + 2]];
    out[i] = { p, side: mesh.slitSide[i], part, region: vertexRegion[i], jaw: jawWeight[i] };
  }
  return out;
}

/**
 * Evaluates K fields on V vertices into [V, 3, K] f32. `skip(i)` vertices
 * get zero (e.g. eyeballs for expressions).
 */
export function assembleDirs(
  verts: readonly FieldVertex[],
  fields: readonly Field[],
  skip?: (v: FieldVertex) => boolean,
): Float32Array {
  const V = verts.length,
    K = fields.length;
  const out = new Float32Array(V * 3 * K);
  for (let i = 0; i < V; i++) {
    if (skip?.(verts[i])) continue;
    for (let k = 0; k < K; k++) {
      const d = fields[k](verts[i]);
      for (let a = 0; a < 3; a++) {
        if (!Number.isFinite(d[a])) throw new Error(`assembleDirs: field ${k} gave ${d[a]} at vertex ${i}`);
        out[(i * 3 + a) * K + k] = d[a];
      }
    }
  }
  return out;
}
