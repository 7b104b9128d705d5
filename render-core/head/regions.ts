/**
 * Region labels with the face-parsing class ids of PERSE-METHOD.md section 1
 * (0 bg, 1 skin, 2 nose, 3/4 eyes, 5/6 brows, 7/8 ears, 9 mouth interior,
 * 10 upper lip, 11 lower lip, 12 neck). "Left" is the SUBJECT'S left (+x),
 * as for FLAME's left-eye joint: in a frontal image it is on the viewer's right.
 * Labels are decided once on the template from which implicit part a vertex
 * lies on (head-sdf.ts) and where it is; faces take their vertices' majority.
 */
import { HEAD, headParts } from "./head-sdf";
import { MeshPart, type TemplateMesh } from "./mesh";

export const Region = {
  background: 0,
  skin: 1,
  nose: 2,
  leftEye: 3,
  rightEye: 4,
  leftBrow: 5,
  rightBrow: 6,
  leftEar: 7,
  rightEar: 8,
  mouthInterior: 9,
  upperLip: 10,
  lowerLip: 11,
  neck: 12,
} as const;
export type Region = (typeof Region)[keyof typeof Region];

/** Region names by id, for legends and UIs. */
export const REGION_NAMES: readonly string[] = Object.keys(Region);

/** Eyebrow band (left brow; the right mirrors x): centre line height and half-thickness at |x|. */
export function browBand(ax: number): { yc: number; half: number } | null {
  const u = (ax - 0.034) / 0.024;
  if (Math.abs(u) > 1) return null;
  return { yc: 0.0335 + 0.0035 * (1 - u * u) - 0.0025 * u, half: 0.0048 * (1 - 0.45 * u * u) };
}

/** Below this height (a function of depth z) the head surface counts as neck: under the jaw line and the skull. */
function neckLine(z: number): number {
  if (z >= 0.055) return -0.094;
  if (z >= 0) return -0.074 + ((-0.094 + 0.074) * z) / 0.055;
  if (z >= -0.035) return -0.074 + ((-0.058 + 0.074) * -z) / 0.035;
  return -0.058;
}

function headVertexRegion(x: number, y: number, z: number, slitSide: number): Region {
  const p = headParts(x, y, z);
  const eps = 0.0006;
  if (p.ear < p.base + eps && p.ear < 0.002 && Math.abs(x) > 0.06) return x > 0 ? Region.leftEar : Region.rightEar;
  if (p.lips < Math.min(p.base, p.nose) + eps && p.lips < 0.002) {
    const upper = slitSide !== 0 ? slitSide > 0 : y > HEAD.mouthY;
    return upper ? Region.upperLip : Region.lowerLip;
  }
  if (p.nose < Math.min(p.base, p.lips) + eps && p.nose < 0.002) return Region.nose;
  const brow = browBand(Math.abs(x));
  if (brow && z > 0.05 && Math.abs(y - brow.yc) < brow.half) return x > 0 ? Region.leftBrow : Region.rightBrow;
  if (y < neckLine(z)) return Region.neck;
  return Region.skin;
}

/** [V] u8 region id per template vertex. */
export function labelVertices(mesh: TemplateMesh): Uint8Array {
  const V = mesh.part.length;
  const out = new Uint8Array(V);
  const P = mesh.positions;
  for (let i = 0; i < V; i++) {
    switch (mesh.part[i]) {
      case MeshPart.mouthBag:
        out[i] = Region.mouthInterior;
        break;
      case MeshPart.socketLeft:
      case MeshPart.eyeballLeft:
        out[i] = Region.leftEye;
        break;
      case MeshPart.socketRight:
      case MeshPart.eyeballRight:
        out[i] = Region.rightEye;
        break;
      default:
        out[i] = headVertexRegion(P[i * 3], P[i * 3 + 1], P[i * 3 + 2], mesh.slitSide[i]);
    }
  }
  return out;
}

/** [F] u8 region per face: the majority of its three vertices (the first vertex's on a three-way tie). */
export function labelFaces(faces: Uint32Array, vertexRegion: Uint8Array): Uint8Array {
  const F = faces.length / 3;
  const out = new Uint8Array(F);
  for (let f = 0; f < F; f++) {
    const a = vertexRegion[faces[f * 3]],
      b = vertexRegion[faces[f * 3 + 1]],
      c = vertexRegion[faces[f * 3 + 2]];
    out[f] = b === c ? b : a;
  }
  return out;
}
