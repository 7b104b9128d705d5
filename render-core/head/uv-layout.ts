/**
 * The head model's UV layout as a texel grid: which face each texel of a
 * size x size texture lies on, and where (barycentric weights), so any
 * per-vertex quantity (posed position, normal, template point, occlusion)
 * can be read per texel. Texel (x, y) is centred at u = (x + 0.5) / size,
 * v = (y + 0.5) / size: row 0 at v = 0, as MeshTexture samples it.
 *
 * Faces come from faceUvs / uvCoords (the back seam split). Faces that join
 * two UV islands (the head to the mouth bag or a socket, at the lip and lid
 * slits) have no texels: their corners lie in different islands, so the
 * textured draw leaves them to per-vertex colours (server/pipeline/synthesise/scene.ts).
 * Where islands overlap (an eyeball's or a bag's front and back share one
 * planar projection) the texel takes the face nearer the front (larger
 * template z). Texels within GUTTER texels of a face but outside every face
 * take the nearest one with clamped weights: bilinear lookups at an island's
 * edge then read plausible colours, not the background.
 */
import type { HeadModel } from "./head-model";

/** Whether face f joins two mesh parts (the head and a bag at a slit): its corners lie in different UV islands. */
export function crossesIslands(head: HeadModel, f: number): boolean {
  const a = head.vertexPart[head.faces[f * 3]!],
    b = head.vertexPart[head.faces[f * 3 + 1]!],
    c = head.vertexPart[head.faces[f * 3 + 2]!];
  return a !== b || a !== c;
}

/** Gutter width in texels around every island. */
export const GUTTER = 2;

export interface UvLayout {
  size: number;
  /** [S * S] i32 face per texel, -1 where no face (nor gutter) reaches. */
  face: Int32Array;
  /** [S * S, 3] f32 barycentric weights of the face's corners (faces[f * 3 + k]). */
  bary: Float32Array;
  /** [S * S] u8 1 inside a face, 2 in the gutter, 0 empty. */
  kind: Uint8Array;
}

const cache = new WeakMap<HeadModel, Map<number, UvLayout>>();

/** The texel grid of the head's UV layout at `size` (cached per head model and size). */
export function uvLayout(head: HeadModel, size: number): UvLayout {
  if (!Number.isInteger(size) || size < 16 || size > 8192)
    throw new Error(`uvLayout: size must be a whole number in [16, 8192], got ${size}`);
  let bySize = cache.get(head);
  if (!bySize) cache.set(head, (bySize = new Map()));
  const hit = bySize.get(size);
  if (hit) return hit;
  const S = size;
  const face = new Int32Array(S * S).fill(-1),
    bary = new Float32Array(S * S * 3),
    kind = new Uint8Array(S * S);
  const front = new Float32Array(S * S).fill(-Infinity);
  const gap = new Float32Array(S * S).fill(Infinity);
  const uv = head.uvCoords,
    T = head.template;
  const xs = [0, 0, 0],
    ys = [0, 0, 0],
    zs = [0, 0, 0];
  for (let pass = 0; pass < 2; pass++) {
    const pad = pass === 0 ? 0 : GUTTER;
    for (let f = 0; f < head.faceCount; f++) {
      if (crossesIslands(head, f)) continue;
      for (let k = 0; k < 3; k++) {
        const t = head.faceUvs[f * 3 + k];
        xs[k] = uv[t * 2] * S;
        ys[k] = uv[t * 2 + 1] * S;
        zs[k] = T[head.faces[f * 3 + k] * 3 + 2];
      }
      const area = (xs[1] - xs[0]) * (ys[2] - ys[0]) - (ys[1] - ys[0]) * (xs[2] - xs[0]);
      if (area === 0) continue;
      const x0 = Math.max(0, Math.floor(Math.min(xs[0], xs[1], xs[2]) - pad - 0.5)),
        x1 = Math.min(S - 1, Math.ceil(Math.max(xs[0], xs[1], xs[2]) + pad));
      const y0 = Math.max(0, Math.floor(Math.min(ys[0], ys[1], ys[2]) - pad - 0.5)),
        y1 = Math.min(S - 1, Math.ceil(Math.max(ys[0], ys[1], ys[2]) + pad));
      for (let y = y0; y <= y1; y++) {
        const py = y + 0.5;
        for (let x = x0; x <= x1; x++) {
          const px = x + 0.5,
            i = y * S + x;
          let wa = ((xs[1] - px) * (ys[2] - py) - (ys[1] - py) * (xs[2] - px)) / area;
          let wb = ((xs[2] - px) * (ys[0] - py) - (ys[2] - py) * (xs[0] - px)) / area;
          let wc = 1 - wa - wb;
          if (pass === 0) {
            if (wa < 0 || wb < 0 || wc < 0) continue;
            const z = wa * zs[0] + wb * zs[1] + wc * zs[2];
            if (z <= front[i]) continue;
            front[i] = z;
            kind[i] = 1;
          } else {
            if (kind[i] === 1) continue;
            // Clamp onto the triangle; keep the face whose clamped point is nearest.
            wa = Math.max(0, wa);
            wb = Math.max(0, wb);
            wc = Math.max(0, wc);
            const s = wa + wb + wc;
            wa /= s;
            wb /= s;
            wc /= s;
            const d = Math.hypot(wa * xs[0] + wb * xs[1] + wc * xs[2] - px, wa * ys[0] + wb * ys[1] + wc * ys[2] - py);
            if (d > GUTTER || d >= gap[i]) continue;
            gap[i] = d;
            kind[i] = 2;
          }
          face[i] = f;
          bary[i * 3] = wa;
          bary[i * 3 + 1] = wb;
          bary[i * 3 + 2] = wc;
        }
      }
    }
  }
  const layout = { size: S, face, bary, kind };
  bySize.set(size, layout);
  return layout;
}

/** Interpolates a per-vertex attribute ([V, n]) at texel i into out[0..n). */
export function atTexel(
  head: HeadModel,
  layout: UvLayout,
  i: number,
  values: ArrayLike<number>,
  n: number,
  out: Float64Array | number[],
): void {
  const f = layout.face[i];
  const a = head.faces[f * 3],
    b = head.faces[f * 3 + 1],
    c = head.faces[f * 3 + 2];
  const wa = layout.bary[i * 3],
    wb = layout.bary[i * 3 + 1],
    wc = layout.bary[i * 3 + 2];
  for (let k = 0; k < n; k++) out[k] = wa * values[a * n + k] + wb * values[b * n + k] + wc * values[c * n + k];
}
