/**
 * The project's rendered heads with what the analyse stage's detectors find
 * on them (face-api's 68 landmarks, Human's 478-point mesh through the same
 * box and crop as analysePortrait), and how far a fit's shape lands from
 * their known truth. Used to measure render-core/head/human-mesh-binding.json
 * (dense-calibrate.ts, server/cli/calibrate-dense.ts) and by the dense fit's
 * tests.
 */
import { createHeadParams, poseVertices, type HeadModel } from "../../../render-core/head";
import { mulberry32 } from "../../../render-core/math/prng";
import { detectFaces } from "../analyse/detect";
import { faceMesh } from "../analyse/mesh";
import { exclusive, getModels } from "../analyse/models";
import { CATEGORIES, type Params } from "../synthesise/attributes";
import { proceduralIdentity, type Identity } from "../synthesise/identity";
import { renderPortrait, type Portrait } from "../synthesise/portrait";
import { MESH_POINTS, boundPoint, type DenseBinding } from "./dense-binding";
import type { HeadFit } from "./fit-head";
import { FIT_EXPRESSIONS } from "./fit-solver";
import { projectVertices } from "./mesh-view";

/** A rendered head with what the analyse stage's detectors find on it. */
export interface DenseSample {
  identity: Identity;
  portrait: Portrait;
  /** [68, 2] face-api's landmarks (pixels). */
  landmarks: Float32Array;
  /** [478, 3] Human's mesh (pixels; z depth). */
  mesh: Float32Array;
  yaw: number;
  pitch: number;
  roll: number;
}

export interface DenseSampleOptions {
  /** Portrait size in pixels. Default 512. */
  size?: number;
  /** Largest |yaw| and |pitch| in degrees. Default 25 and 12. */
  maxYawDeg?: number;
  maxPitchDeg?: number;
  /** Field of view range, degrees. Default [20, 40]. */
  fovDeg?: [number, number];
  /** Random hair, beard, glasses and brows (each with probability 0.4). Default true. */
  looks?: boolean;
  /** Random expressions (each fitted one with probability 0.25, up to 0.6). Default true. */
  expressions?: boolean;
  /** Called after each portrait with how many are done. */
  onProgress?: (done: number) => void;
}

/** Portraits of identities seed0 .. seed0 + count - 1; ones where a detector fails are left out (logged to stderr). */
export async function denseSamples(
  head: HeadModel,
  count: number,
  seed0: number,
  o: DenseSampleOptions = {},
): Promise<DenseSample[]> {
  const rand = mulberry32(seed0);
  const looks = ["hair", "beard", "eyewear", "eyebrows"].map((n) => CATEGORIES.find((c) => c.name === n)!);
  const models = await getModels();
  const [fov0, fov1] = o.fovDeg ?? [20, 40];
  const out: DenseSample[] = [];
  for (let n = 0; n < count; n++) {
    const identity = proceduralIdentity(seed0 + n, head);
    const yaw = (rand() * 2 - 1) * (o.maxYawDeg ?? 25),
      pitch = (rand() * 2 - 1) * (o.maxPitchDeg ?? 12),
      roll = (rand() * 2 - 1) * 5,
      fov = fov0 + (fov1 - fov0) * rand();
    const attributes: Record<string, Params> = {};
    if (o.looks !== false)
      for (const c of looks)
        if (rand() < 0.4)
          attributes[c.name] = { ...c.variant(rand).params, ...(c.name === "eyewear" ? { tint: 0 } : {}) };
    const expression = new Float32Array(head.expressionNames.length);
    if (o.expressions !== false)
      for (const name of FIT_EXPRESSIONS)
        if (rand() < 0.25) expression[head.expressionNames.indexOf(name)] = 0.6 * rand();
    const portrait = await renderPortrait({
      head,
      identity,
      yawDeg: yaw,
      pitchDeg: pitch,
      rollDeg: roll,
      fovYDeg: fov,
      size: o.size ?? 512,
      attributes,
      expression,
    });
    const found = await exclusive(async () => {
      const { faces } = await detectFaces(models, portrait, { minScore: 0.3, pad: "auto" });
      if (faces.length === 0) return null;
      const main = faces.reduce((a, b) => (b.box.width > a.box.width ? b : a));
      const mesh = await faceMesh(models, portrait, main.box);
      return mesh ? { landmarks: main.landmarks, mesh: mesh.mesh } : null;
    });
    if (found) out.push({ identity, portrait, ...found, yaw, pitch, roll });
    else console.error(`denseSamples: no face or no mesh on portrait ${seed0 + n}`);
    o.onProgress?.(n + 1);
  }
  return out;
}

/** How far a fit's shape is from the truth: RMS over the 24 coefficients, and over the face region's neutral vertices (mm, after removing the mean offset: a shift of the whole face is the camera's). */
export function shapeError(
  head: HeadModel,
  shape: ArrayLike<number>,
  truth: ArrayLike<number>,
  region: Uint32Array,
): { coefRms: number; vertexRmsMm: number } {
  const S = head.shapeNames.length;
  let c2 = 0;
  for (let c = 0; c < S; c++) c2 += (shape[c] - truth[c]) ** 2;
  const diff = new Float64Array(region.length * 3);
  const mean = [0, 0, 0];
  region.forEach((v, q) => {
    for (let a = 0; a < 3; a++) {
      let d = 0;
      for (let c = 0; c < S; c++) d += head.shapeDirs[(v * 3 + a) * S + c] * (shape[c] - truth[c]);
      diff[q * 3 + a] = d;
      mean[a] += d / region.length;
    }
  });
  let v2 = 0;
  for (let q = 0; q < region.length; q++) for (let a = 0; a < 3; a++) v2 += (diff[q * 3 + a] - mean[a]) ** 2;
  return { coefRms: Math.sqrt(c2 / S), vertexRmsMm: 1000 * Math.sqrt(v2 / region.length) };
}

/** Mean image distance (pixels) between a fit's bound mesh points and Human's, over the binding's usable points. */
export function meshPointError(head: HeadModel, fit: HeadFit, mesh: Float32Array, binding: DenseBinding): number {
  const posed = poseVertices(
    head,
    createHeadParams(head, { shape: fit.shape, expression: fit.expression, pose: fit.pose }),
  );
  const world = new Float32Array(MESH_POINTS * 3);
  for (let i = 0; i < MESH_POINTS; i++)
    world.set(
      boundPoint(posed, head.faces, binding.faces[i], binding.bary.subarray(i * 3, i * 3 + 3), binding.offset[i]),
      i * 3,
    );
  const { px } = projectVertices(fit.camera, world);
  let s = 0,
    n = 0;
  for (let i = 0; i < MESH_POINTS; i++) {
    if (!binding.usable[i]) continue;
    s += Math.hypot(px[i * 2] - mesh[i * 3], px[i * 2 + 1] - mesh[i * 3 + 1]);
    n++;
  }
  return s / n;
}
