/**
 * CPU twin of shaders/head/lbs.wgsl.ts (host: ./lbs.ts): params -> posed vertices.
 *   1. v = template + shapeDirs . shape + exprDirs . expression
 *   2. joints J = jointRest + jointShapeDirs . shape
 *   3. per joint, Rodrigues(pose[3j..3j+3]) chained from the root:
 *      G_j = G_parent(j) * [R_j | J_j - J_parent(j)],  A_j = G_j * [I | -J_j]
 *      (A_j maps a rest-space point to its posed place; translation is added to every A_j)
 *   4. LBS: v' = sum_j w_vj A_j v
 * Both back ends share jointTransforms(): the 5 joint matrices are computed
 * here on the CPU and uploaded; the kernel does steps 1 and 4 per vertex.
 *
 * Canonical pose (PERSE): Gaussians live in the pose with the jaw open by
 * CANONICAL_JAW_OPEN. A canonical point x_c with weights w is un-posed by the
 * inverse of its blended canonical transform, x_0 = (sum_j w_j A_j(canon))^-1 x_c,
 * then expression offsets and the target pose apply as for mesh vertices
 * (unposePoints below).
 */
import { type HeadModel } from "./head-model";
import { CANONICAL_JAW_OPEN, JOINT_COUNT } from "./skeleton";
import { evalSurfacePoints } from "./mesh-query";

export interface HeadParams {
  /** [S] f32 shape coefficients. */
  shape: Float32Array;
  /** [E] f32 expression coefficients. */
  expression: Float32Array;
  /** [15] f32 axis-angle per joint (global, neck, jaw, left eye, right eye), radians. */
  pose: Float32Array;
  /** [3] f32 translation added after skinning, metres. */
  translation: Float32Array;
}

/** Zero parameters (neutral shape and expression, rest pose, mouth closed), optionally overridden. */
export function createHeadParams(
  model: HeadModel,
  init: Partial<Record<keyof HeadParams, ArrayLike<number>>> = {},
): HeadParams {
  const make = (name: keyof HeadParams, n: number): Float32Array => {
    const src = init[name];
    if (src && src.length !== n) throw new Error(`createHeadParams: ${name} needs ${n} numbers, got ${src.length}`);
    return src ? Float32Array.from(src) : new Float32Array(n);
  };
  return {
    shape: make("shape", model.shapeNames.length),
    expression: make("expression", model.expressionNames.length),
    pose: make("pose", JOINT_COUNT * 3),
    translation: make("translation", 3),
  };
}

/** Parameters of the canonical pose: `shape` (default neutral) with the jaw open by CANONICAL_JAW_OPEN. */
export function canonicalParams(model: HeadModel, shape?: ArrayLike<number>): HeadParams {
  const p = createHeadParams(model, shape ? { shape } : {});
  p.pose[6] = CANONICAL_JAW_OPEN;
  return p;
}

export function checkParams(owner: string, model: HeadModel, params: HeadParams): void {
  const want: [keyof HeadParams, number][] = [
    ["shape", model.shapeNames.length],
    ["expression", model.expressionNames.length],
    ["pose", JOINT_COUNT * 3],
    ["translation", 3],
  ];
  for (const [name, n] of want) {
    const a = params[name];
    if (!a || a.length !== n) throw new Error(`${owner}: params.${name} needs ${n} numbers, got ${a ? a.length : a}`);
    for (let i = 0; i < n; i++)
      if (!Number.isFinite(a[i])) throw new Error(`${owner}: params.${name}[${i}] is ${a[i]}`);
  }
}

/** Row-major 3x3 rotation of axis-angle (x, y, z); exact near zero. */
export function rodrigues(x: number, y: number, z: number): Float64Array {
  const th = Math.hypot(x, y, z);
  const r = new Float64Array(9);
  // Small angles: sin(t)/t and (1-cos t)/t^2 by their series, so the rotation stays smooth through 0.
  const a = th < 1e-4 ? 1 - (th * th) / 6 : Math.sin(th) / th;
  const b = th < 1e-4 ? 0.5 - (th * th) / 24 : (1 - Math.cos(th)) / (th * th);
  r[0] = 1 - b * (y * y + z * z);
  r[1] = -a * z + b * x * y;
  r[2] = a * y + b * x * z;
  r[3] = a * z + b * x * y;
  r[4] = 1 - b * (x * x + z * z);
  r[5] = -a * x + b * y * z;
  r[6] = -a * y + b * x * z;
  r[7] = a * x + b * y * z;
  r[8] = 1 - b * (x * x + y * y);
  return r;
}

/** [J, 3] f64 joint positions for a shape. */
export function shapedJoints(model: HeadModel, shape: ArrayLike<number>): Float64Array {
  const S = model.shapeNames.length;
  const J = new Float64Array(JOINT_COUNT * 3);
  for (let j = 0; j < JOINT_COUNT * 3; j++) {
    let v = model.jointRest[j];
    for (let s = 0; s < S; s++) v += model.jointShapeDirs[j * S + s] * shape[s];
    J[j] = v;
  }
  return J;
}

/** [J, 12] f32 skinning transforms A_j, row-major 3x4 (rotation | translation), translation included. */
export function jointTransforms(model: HeadModel, params: HeadParams): Float32Array {
  checkParams("jointTransforms", model, params);
  const J = shapedJoints(model, params.shape);
  const G = new Float64Array(JOINT_COUNT * 12);
  const out = new Float32Array(JOINT_COUNT * 12);
  for (let j = 0; j < JOINT_COUNT; j++) {
    const R = rodrigues(params.pose[j * 3], params.pose[j * 3 + 1], params.pose[j * 3 + 2]);
    const par = model.jointParents[j];
    const local = new Float64Array(12);
    for (let r = 0; r < 3; r++) {
      for (let c = 0; c < 3; c++) local[r * 4 + c] = R[r * 3 + c];
      local[r * 4 + 3] = J[j * 3 + r] - (par >= 0 ? J[par * 3 + r] : 0);
    }
    if (par < 0) G.set(local, j * 12);
    else {
      if (par >= j) throw new Error(`jointTransforms: joint ${j} has parent ${par}; parents must come first`);
      for (let r = 0; r < 3; r++) {
        for (let c = 0; c < 4; c++) {
          let v = c === 3 ? G[par * 12 + r * 4 + 3] : 0;
          for (let k = 0; k < 3; k++) v += G[par * 12 + r * 4 + k] * local[k * 4 + c];
          G[j * 12 + r * 4 + c] = v;
        }
      }
    }
    for (let r = 0; r < 3; r++) {
      let t = G[j * 12 + r * 4 + 3] + params.translation[r];
      for (let k = 0; k < 3; k++) t -= G[j * 12 + r * 4 + k] * J[j * 3 + k];
      for (let c = 0; c < 3; c++) out[j * 12 + r * 4 + c] = G[j * 12 + r * 4 + c];
      out[j * 12 + r * 4 + 3] = t;
    }
  }
  return out;
}

/** Step 1: template + blendshapes, no pose. Returns [V, 3] f32 (into `out` when given). */
export function blendVertices(model: HeadModel, params: HeadParams, out?: Float32Array): Float32Array {
  checkParams("blendVertices", model, params);
  const V = model.vertexCount,
    S = model.shapeNames.length,
    E = model.expressionNames.length;
  const res = out ?? new Float32Array(V * 3);
  if (res.length !== V * 3) throw new Error(`blendVertices: out needs ${V * 3} floats, got ${res.length}`);
  const { shape, expression } = params;
  for (let i = 0; i < V * 3; i++) {
    let v = model.template[i];
    for (let s = 0; s < S; s++) v += model.shapeDirs[i * S + s] * shape[s];
    for (let e = 0; e < E; e++) v += model.exprDirs[i * E + e] * expression[e];
    res[i] = v;
  }
  return res;
}

/** Applies blended transforms A ([J, 12] f32) with weights ([N, J] f32) to points ([N, 3] f32), in place. */
export function skinPoints(points: Float32Array, weights: Float32Array, A: Float32Array): Float32Array {
  const N = points.length / 3;
  if (weights.length !== N * JOINT_COUNT)
    throw new Error(`skinPoints: weights need ${N * JOINT_COUNT} floats, got ${weights.length}`);
  const M = new Float64Array(12);
  for (let i = 0; i < N; i++) {
    M.fill(0);
    for (let j = 0; j < JOINT_COUNT; j++) {
      const w = weights[i * JOINT_COUNT + j];
      if (w === 0) continue;
      for (let k = 0; k < 12; k++) M[k] += w * A[j * 12 + k];
    }
    const x = points[i * 3],
      y = points[i * 3 + 1],
      z = points[i * 3 + 2];
    for (let r = 0; r < 3; r++) points[i * 3 + r] = M[r * 4] * x + M[r * 4 + 1] * y + M[r * 4 + 2] * z + M[r * 4 + 3];
  }
  return points;
}

/** params -> posed vertices, [V, 3] f32. */
export function poseVertices(model: HeadModel, params: HeadParams, out?: Float32Array): Float32Array {
  const v = blendVertices(model, params, out);
  return skinPoints(v, model.skinWeights, jointTransforms(model, params));
}

/** [68, 3] f32 landmark positions on posed (or any) vertices ([V, 3] f32). */
export function landmarkPositions(model: HeadModel, vertices: Float32Array): Float32Array {
  return evalSurfacePoints(vertices, model.faces, model.landmarks);
}

/**
 * Un-poses points ([N, 3] f32) with weights ([N, J] f32) from the pose of
 * `params` (e.g. canonicalParams) back to the rest pose: each point is mapped
 * by the inverse of its blended transform. Returns a new [N, 3] f32.
 */
export function unposePoints(
  model: HeadModel,
  points: Float32Array,
  weights: Float32Array,
  params: HeadParams,
): Float32Array {
  const A = jointTransforms(model, params);
  const N = points.length / 3;
  if (weights.length !== N * JOINT_COUNT)
    throw new Error(`unposePoints: weights need ${N * JOINT_COUNT} floats, got ${weights.length}`);
  const out = new Float32Array(N * 3);
  const M = new Float64Array(12);
  for (let i = 0; i < N; i++) {
    M.fill(0);
    for (let j = 0; j < JOINT_COUNT; j++)
      for (let k = 0; k < 12; k++) M[k] += weights[i * JOINT_COUNT + j] * A[j * 12 + k];
    // Invert the 3x3 part (a blend of rotations: invertible for non-negative weights and moderate angles).
    const [a, b, c, , d, e, f, , g, h, k] = [M[0], M[1], M[2], M[3], M[4], M[5], M[6], M[7], M[8], M[9], M[10]];
    const det = a * (e * k - f * h) - b * (d * k - f * g) + c * (d * h - e * g);
    if (!(Math.abs(det) > 1e-9))
      throw new Error(`unposePoints: blended transform of point ${i} is singular (det ${det})`);
    const inv = [
      (e * k - f * h) / det,
      (c * h - b * k) / det,
      (b * f - c * e) / det,
      (f * g - d * k) / det,
      (a * k - c * g) / det,
      (c * d - a * f) / det,
      (d * h - e * g) / det,
      (b * g - a * h) / det,
      (a * e - b * d) / det,
    ];
    const px = points[i * 3] - M[3],
      py = points[i * 3 + 1] - M[7],
      pz = points[i * 3 + 2] - M[11];
    for (let r = 0; r < 3; r++) out[i * 3 + r] = inv[r * 3] * px + inv[r * 3 + 1] * py + inv[r * 3 + 2] * pz;
  }
  return out;
}
