/**
 * The project's own parametric head (FLAME's licence forbids shipping FLAME):
 * a closed head-and-neck mesh with mouth interior, eye sockets and eyeballs,
 * region labels (PERSE parsing ids), 68 iBUG landmarks, 24 shape and 24
 * expression blendshapes, 5 joints with linear blend skinning. Everything is
 * generated in code from head-sdf.ts; createHeadModel() is deterministic.
 *
 * Conventions: metres; +y up; the face looks along +z; +x is the SUBJECT'S
 * left (viewer's right in a frontal view); right-handed; origin near the
 * head centre about 1 cm below eye level (crown y = 0.116, chin y = -0.097,
 * neck bottom y = -0.2). "Left"/"right" in names are the subject's.
 * To render with an OpenCV camera (x right, y down, z forward) looking at
 * the face from +z: worldToCamera = diag(1, -1, -1) then a translation,
 * i.e. camera x = world x, camera y = -world y, camera z = d - world z.
 *
 * Posing: poseVertices() in lbs.cpu.ts (CPU twin) and lbs.ts (WebGPU).
 */
import { buildTemplateMesh, MeshPart, type TemplateMesh } from "./mesh";
import { labelFaces, labelVertices } from "./regions";
import { bindLandmarks } from "./landmarks";
import { type SurfacePoint } from "./mesh-query";
import { JOINT_COUNT, JOINT_NAMES, JOINT_PARENTS, computeSkinWeights, jointRestPositions } from "./skeleton";
import { SHAPE_FIELDS, SHAPE_NAMES } from "./shape";
import { EXPRESSION_FIELDS, EXPRESSION_NAMES } from "./expression";
import { assembleDirs, fieldVertices, type FieldVertex } from "./blendshapes";

export interface HeadModelOptions {
  /** Mesh density multiplier in [0.5, 3]; 1 (default) gives about 7.6k vertices. Landmarks, weights and bases adapt. */
  detail?: number;
}

export interface HeadModel {
  vertexCount: number;
  faceCount: number;
  /** [V, 3] f32 neutral template, metres (mouth closed: the zero pose). */
  template: Float32Array;
  /** [F, 3] u32 triangles, counter-clockwise seen from outside. */
  faces: Uint32Array;
  /** [V, 2] f32 per-vertex UVs in [0, 1]; the head's seam is at the back (theta = pi), see faceUvs. */
  uvs: Float32Array;
  /** [T, 2] f32 UV table with the back seam split (vertex UVs first, then the seam duplicates with u = 1). */
  uvCoords: Float32Array;
  /** [F, 3] u32 indices into uvCoords, per face corner. */
  faceUvs: Uint32Array;
  /** [V] u8 PERSE parsing class per vertex (regions.ts Region). */
  vertexRegion: Uint8Array;
  /** [F] u8 PERSE parsing class per face. */
  faceRegion: Uint8Array;
  /** [V] u8 MeshPart per vertex (head surface, mouth bag, sockets, eyeballs). */
  vertexPart: Uint8Array;
  shapeNames: readonly string[];
  expressionNames: readonly string[];
  jointNames: readonly string[];
  /** [V, 3, S] f32 shape blendshapes (offset per unit coefficient). */
  shapeDirs: Float32Array;
  /** [V, 3, E] f32 expression blendshapes. */
  exprDirs: Float32Array;
  /** [J] i32 parent joint, -1 for the root. */
  jointParents: Int32Array;
  /** [J, 3] f32 joint rest positions for the neutral shape. */
  jointRest: Float32Array;
  /** [J, 3, S] f32 joint offsets per unit shape coefficient. */
  jointShapeDirs: Float32Array;
  /** [V, J] f32 skinning weights, rows sum to 1. */
  skinWeights: Float32Array;
  /** The 68 iBUG landmarks bound to faces. */
  landmarks: readonly SurfacePoint[];
  /** [68] u32 landmark faces and [68, 3] f32 barycentric weights (the same data, packed). */
  landmarkFaces: Uint32Array;
  landmarkBary: Float32Array;
  /** First vertex and vertex count of the left and right eyeballs. */
  eyeballs: readonly [{ start: number; count: number }, { start: number; count: number }];
  /** Vertex loops of the lip slit and the two lid slits (corner, upper edge, corner, lower edge). */
  mouthLoop: Uint32Array;
  eyeLoops: readonly [Uint32Array, Uint32Array];
}

function gridUvs(mesh: TemplateMesh): { uvs: Float32Array; uvCoords: Float32Array; faceUvs: Uint32Array } {
  const V = mesh.part.length;
  const uvs = new Float32Array(V * 2);
  const rows = mesh.layout.rows.length,
    cols = mesh.layout.thetas.length;
  const P = mesh.positions;
  // Islands below the head (v < 0.1): planar projections of the bags and eyeballs.
  const islands: Record<number, { u0: number; u1: number; axes: [number, number]; lo: number[]; hi: number[] }> = {};
  for (const [part, u0, u1, axes] of [
    [MeshPart.mouthBag, 0, 0.3, [0, 2]],
    [MeshPart.socketLeft, 0.3, 0.45, [0, 1]],
    [MeshPart.socketRight, 0.45, 0.6, [0, 1]],
    [MeshPart.eyeballLeft, 0.6, 0.8, [0, 1]],
    [MeshPart.eyeballRight, 0.8, 1, [0, 1]],
  ] as const)
    islands[part] = {
      u0,
      u1,
      axes: [axes[0], axes[1]],
      lo: [Infinity, Infinity, Infinity],
      hi: [-Infinity, -Infinity, -Infinity],
    };
  for (let i = 0; i < V; i++) {
    const isl = islands[mesh.part[i]];
    if (!isl) continue;
    for (let a = 0; a < 3; a++) {
      isl.lo[a] = Math.min(isl.lo[a], P[i * 3 + a]);
      isl.hi[a] = Math.max(isl.hi[a], P[i * 3 + a]);
    }
  }
  for (let i = 0; i < V; i++) {
    const r = mesh.gridRow[i],
      c = mesh.gridCol[i];
    if (r >= 0) {
      const lower = mesh.lowerCopy[mesh.gridIndex(r, c)] === i && mesh.slitSide[i] < 0;
      const pole = r === 0 || r === rows - 1;
      uvs[i * 2] = pole ? 0.5 : c / cols;
      uvs[i * 2 + 1] = 0.1 + (0.9 * (r - (lower ? 0.3 : 0))) / (rows - 1);
      continue;
    }
    const isl = islands[mesh.part[i]];
    const [a, b] = isl.axes;
    uvs[i * 2] = isl.u0 + ((isl.u1 - isl.u0) * (P[i * 3 + a] - isl.lo[a])) / Math.max(1e-9, isl.hi[a] - isl.lo[a]);
    uvs[i * 2 + 1] = (0.095 * (P[i * 3 + b] - isl.lo[b])) / Math.max(1e-9, isl.hi[b] - isl.lo[b]);
  }
  // Seam: faces joining the last column to column 0 read column 0 at u = 1.
  const extra: number[] = [];
  const dup = new Map<number, number>();
  const faceUvs = mesh.faces.slice();
  for (let f = 0; f < mesh.faces.length / 3; f++) {
    const cs = [0, 1, 2].map((k) => mesh.gridCol[mesh.faces[f * 3 + k]]);
    if (!(cs.includes(cols - 1) && cs.includes(0))) continue;
    for (let k = 0; k < 3; k++) {
      const v = mesh.faces[f * 3 + k];
      if (mesh.gridCol[v] !== 0 || mesh.gridRow[v] === 0 || mesh.gridRow[v] === rows - 1) continue;
      if (!dup.has(v)) {
        dup.set(v, V + extra.length / 2);
        extra.push(1, uvs[v * 2 + 1]);
      }
      faceUvs[f * 3 + k] = dup.get(v)!;
    }
  }
  const uvCoords = new Float32Array(V * 2 + extra.length);
  uvCoords.set(uvs);
  uvCoords.set(extra, V * 2);
  return { uvs, uvCoords, faceUvs };
}

/** Builds the head model. Deterministic; about 1.5 s at detail 1 on one core (cache it). */
export function createHeadModel(options: HeadModelOptions = {}): HeadModel {
  const detail = options.detail ?? 1;
  if (!(detail >= 0.5 && detail <= 3)) throw new Error(`createHeadModel: detail must be in [0.5, 3], got ${detail}`);
  const mesh = buildTemplateMesh({ detail });
  const V = mesh.part.length,
    F = mesh.faces.length / 3;
  const vertexRegion = labelVertices(mesh);
  const skinWeights = computeSkinWeights(mesh);
  const jaw = new Float32Array(V);
  for (let i = 0; i < V; i++)
    jaw[i] =
      skinWeights[i * JOINT_COUNT + 2] /
      Math.max(1e-6, skinWeights[i * JOINT_COUNT + 1] + skinWeights[i * JOINT_COUNT + 2]);
  const verts = fieldVertices(mesh, vertexRegion, jaw);
  const shapeDirs = assembleDirs(verts, SHAPE_FIELDS);
  const isEyeball = (v: FieldVertex) => v.part === MeshPart.eyeballLeft || v.part === MeshPart.eyeballRight;
  const exprDirs = assembleDirs(verts, EXPRESSION_FIELDS, isEyeball);
  const jointRest = jointRestPositions();
  const jointVerts: FieldVertex[] = [];
  for (let j = 0; j < JOINT_COUNT; j++)
    jointVerts.push({
      p: [jointRest[j * 3], jointRest[j * 3 + 1], jointRest[j * 3 + 2]],
      side: 0,
      part: MeshPart.head,
      region: 0,
      jaw: 0,
    });
  const jointShapeDirs = assembleDirs(jointVerts, SHAPE_FIELDS);
  const landmarks = bindLandmarks(mesh, vertexRegion);
  const { uvs, uvCoords, faceUvs } = gridUvs(mesh);
  const [l, r] = mesh.eyeballStart;
  return {
    vertexCount: V,
    faceCount: F,
    template: mesh.positions,
    faces: mesh.faces,
    uvs,
    uvCoords,
    faceUvs,
    vertexRegion,
    faceRegion: labelFaces(mesh.faces, vertexRegion),
    vertexPart: mesh.part,
    shapeNames: SHAPE_NAMES,
    expressionNames: EXPRESSION_NAMES,
    jointNames: JOINT_NAMES,
    shapeDirs,
    exprDirs,
    jointParents: new Int32Array(JOINT_PARENTS),
    jointRest,
    jointShapeDirs,
    skinWeights,
    landmarks,
    landmarkFaces: new Uint32Array(landmarks.map((p) => p.face)),
    landmarkBary: new Float32Array(landmarks.flatMap((p) => p.bary)),
    eyeballs: [
      { start: l, count: mesh.eyeballCount },
      { start: r, count: mesh.eyeballCount },
    ],
    mouthLoop: mesh.mouthLoop,
    eyeLoops: mesh.eyeLoops,
  };
}
