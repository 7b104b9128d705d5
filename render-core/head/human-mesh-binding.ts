/**
 * Where Human's 478 face-mesh points (468 MediaPipe points + 2 x 5 iris
 * points, server/pipeline/analyse/mesh.ts) sit on the project's head model:
 * per point a face and barycentric weights on the template, measured on the
 * project's rendered heads by back-projecting Human's points onto the known
 * mesh (server/cli/calibrate-dense.ts, server/pipeline/fit/dense-calibrate.ts),
 * with how consistent Human is there. The one table both readers share: the
 * server's dense photo fit (server/pipeline/fit/dense-fit.ts, through
 * dense-binding.ts) and the browser's camera drive (animation/face-drive.ts).
 * The table (human-mesh-binding.json, 165 kB, most of it the error modes)
 * is imported only from here: import this file directly, not through
 * head/index.ts, so bundles that never drive from a camera do not carry it.
 */
import table from "./human-mesh-binding.json";
import { type HeadModel } from "./head-model";
import { MeshPart } from "./mesh";

/** Human's mesh: 468 MediaPipe points and 5 iris points per eye. */
export const MESH_POINTS = 478;

/** Human's eye openings (lower lid then upper lid back) and the mouth's inner lip line, as mesh indices. */
export const FACE_OPENINGS: readonly (readonly number[])[] = [
  [33, 7, 163, 144, 145, 153, 154, 155, 133, 173, 157, 158, 159, 160, 161, 246],
  [263, 249, 390, 373, 374, 380, 381, 382, 362, 398, 384, 385, 386, 387, 388, 466],
  [78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308, 415, 310, 311, 312, 13, 82, 81, 80, 191],
];

/**
 * Human's brows (its annotations' eyebrow upper line, then the lower line back), as mesh indices: what the photo
 * shows inside them is brow, whichever model region it lands on.
 */
export const FACE_BROWS: readonly (readonly number[])[] = [
  [70, 63, 105, 66, 107, 55, 65, 52, 53, 46],
  [300, 293, 334, 296, 336, 285, 295, 282, 283, 276],
];

/**
 * MediaPipe's face oval (FACEMESH_FACE_OVAL; Human's `annotations.silhouette`),
 * from the forehead's top clockwise in the image: detectors put it on the
 * face's outline, which moves over the skin as the head turns.
 */
export const FACE_OVAL: readonly number[] = [
  10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377, 152, 148, 176, 149, 150, 136,
  172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109,
];

/** The table as human-mesh-binding.json holds it. */
export interface DenseBindingTable {
  /** Which detector, and how the table was made. */
  name: string;
  portraits: number;
  /** The head model it was measured on (createHeadModel() at detail 1). */
  headModel: { vertexCount: number; faceCount: number };
  /** [478] bound face per point, -1 where Human's point was never seen on the head. */
  face: number[];
  /** [478, 3] barycentric weights on that face. */
  bary: number[];
  /** [478] offset along the face's unit normal, millimetres (Human's 3D face is not the model's: its points sit above or below the surface). */
  offsetMm: number[];
  /** [478, 3] the bound point on the template (offset included), millimetres (checks that the table fits the head model). */
  pointMm: number[];
  /** [478] RMS distance (mm, on the template, each sample capped at 10 mm) of the single portraits' hits from the bound point. */
  scatterMm: number[];
  /** [478] RMS image distance of Human's point from the bound point posed with the true parameters, inter-ocular units (capped at 0.3 per portrait). */
  residual: number[];
  /** [478] share of portraits where the bound point was visible (not behind the nose or the cheek). */
  visible: number[];
  /**
   * [K, 478, 2] Human's correlated errors: the principal patterns of its
   * points' offsets from the bound points posed with the truth, each at one
   * standard deviation, in the eye-line frame of face-api's landmarks
   * (x along the eye line, y down) in inter-ocular units.
   */
  modes: number[];
  /** [478] RMS offset of each point once the modes are fitted out (inter-ocular units): the independent part of its noise. */
  noise: number[];
}

/** The table in the form the fit uses. */
export interface DenseBinding {
  table: DenseBindingTable;
  /** [478] i32 bound face (0 for unbound points, which have `usable` false). */
  faces: Int32Array;
  /** [478, 3] f32 barycentric weights. */
  bary: Float32Array;
  /** [478] f32 offset along the face's unit normal, metres. */
  offset: Float32Array;
  /** Error modes: count and [K, 478, 2] f64 patterns (the table's `modes`). */
  modeCount: number;
  modes: Float64Array;
  /** [478] whether the point takes part in a fit: bound, seen in at least half the portraits, residual <= 0.15. */
  usable: Uint8Array;
}

/** Human 3.3.6's 478-point mesh on the project's rendered heads (the analyse stage's faceMesh). */
export const HUMAN_MESH_BINDING: DenseBindingTable = table;

/** A point Human places more than this far from its bound point (inter-ocular units, RMS) is not fitted. */
const MAX_RESIDUAL = 0.15;
/** A table point more than this far (mm) from the head model's surface point means the model changed since calibration. */
const STALE_MM = 0.5;

const cache = new WeakMap<HeadModel, WeakMap<DenseBindingTable, DenseBinding>>();

/** The binding checked against this head model (throws when the table was measured on another one); cached. */
export function denseBinding(head: HeadModel, t: DenseBindingTable = HUMAN_MESH_BINDING): DenseBinding {
  let perHead = cache.get(head);
  if (!perHead) cache.set(head, (perHead = new WeakMap()));
  const hit = perHead.get(t);
  if (hit) return hit;
  const n = MESH_POINTS;
  for (const [k, len] of [
    ["face", n],
    ["bary", n * 3],
    ["offsetMm", n],
    ["pointMm", n * 3],
    ["scatterMm", n],
    ["residual", n],
    ["visible", n],
    ["noise", n],
  ] as const)
    if (t[k].length !== len) throw new Error(`denseBinding: ${t.name}: ${k} has ${t[k].length} numbers, need ${len}`);
  if (t.headModel.vertexCount !== head.vertexCount || t.headModel.faceCount !== head.faceCount)
    throw new Error(
      `denseBinding: ${t.name} was measured on a head with ${t.headModel.vertexCount} vertices / ${t.headModel.faceCount} faces, this one has ${head.vertexCount} / ${head.faceCount}; run server/cli/calibrate-dense.ts`,
    );
  if (t.modes.length % (n * 2) !== 0)
    throw new Error(`denseBinding: ${t.name}: modes has ${t.modes.length} numbers, not a multiple of ${n * 2}`);
  const faces = new Int32Array(n),
    bary = new Float32Array(n * 3),
    offset = new Float32Array(n),
    usable = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const f = t.face[i];
    if (f < 0) {
      bary[i * 3] = 1;
      continue;
    }
    faces[i] = f;
    offset[i] = t.offsetMm[i] / 1000;
    const x = boundPoint(head.template, head.faces, f, t.bary.slice(i * 3, i * 3 + 3), offset[i]);
    let d2 = 0;
    for (let a = 0; a < 3; a++) d2 += (x[a] * 1000 - t.pointMm[i * 3 + a]) ** 2;
    if (Math.sqrt(d2) > STALE_MM)
      throw new Error(
        `denseBinding: ${t.name}: point ${i} lies ${Math.sqrt(d2).toFixed(2)} mm from where the table put it; the head model changed, run server/cli/calibrate-dense.ts`,
      );
    bary.set(t.bary.slice(i * 3, i * 3 + 3), i * 3);
    usable[i] = t.visible[i] >= 0.5 && t.residual[i] <= MAX_RESIDUAL ? 1 : 0;
  }
  const out = {
    table: t,
    faces,
    bary,
    offset,
    modeCount: t.modes.length / (n * 2),
    modes: Float64Array.from(t.modes),
    usable,
  };
  perHead.set(t, out);
  return out;
}

/** A point on `face` of vertices [V, 3] at barycentrics `bary`, `offset` metres along the face's unit normal (CCW faces: outward). */
export function boundPoint(
  vertices: ArrayLike<number>,
  faces: ArrayLike<number>,
  face: number,
  bary: ArrayLike<number>,
  offset: number,
): [number, number, number] {
  const a = faces[face * 3] * 3,
    b = faces[face * 3 + 1] * 3,
    c = faces[face * 3 + 2] * 3;
  const e1 = [0, 1, 2].map((k) => vertices[b + k] - vertices[a + k]),
    e2 = [0, 1, 2].map((k) => vertices[c + k] - vertices[a + k]);
  const n = [e1[1] * e2[2] - e1[2] * e2[1], e1[2] * e2[0] - e1[0] * e2[2], e1[0] * e2[1] - e1[1] * e2[0]];
  const s = offset / (Math.hypot(n[0], n[1], n[2]) || 1);
  return [0, 1, 2].map(
    (k) => bary[0] * vertices[a + k] + bary[1] * vertices[b + k] + bary[2] * vertices[c + k] + s * n[k],
  ) as [number, number, number];
}

/**
 * Head-surface vertices of the face region: in front (z > 0) and inside the
 * face oval's bound points seen from the front (the area the dense fit sees).
 */
export function faceRegionVertices(head: HeadModel, binding: DenseBinding = denseBinding(head)): Uint32Array {
  const poly: [number, number][] = [];
  for (const i of FACE_OVAL) {
    if (binding.table.face[i] < 0) continue;
    poly.push([binding.table.pointMm[i * 3] / 1000, binding.table.pointMm[i * 3 + 1] / 1000]);
  }
  if (poly.length < 8) throw new Error(`faceRegionVertices: only ${poly.length} face-oval points are bound`);
  const inside = (x: number, y: number) => {
    let c = false;
    for (let a = 0, b = poly.length - 1; a < poly.length; b = a++) {
      const [xa, ya] = poly[a],
        [xb, yb] = poly[b];
      if (ya > y !== yb > y && x < ((xb - xa) * (y - ya)) / (yb - ya) + xa) c = !c;
    }
    return c;
  };
  const out: number[] = [];
  for (let v = 0; v < head.vertexCount; v++)
    if (
      head.vertexPart[v] === MeshPart.head &&
      head.template[v * 3 + 2] > 0 &&
      inside(head.template[v * 3], head.template[v * 3 + 1])
    )
      out.push(v);
  return Uint32Array.from(out);
}
