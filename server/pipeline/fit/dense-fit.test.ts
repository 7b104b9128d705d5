import { beforeAll, describe, expect, it } from "vitest";
import {
  createHeadModel,
  createHeadParams,
  landmarkPositions,
  poseVertices,
  type HeadModel,
} from "../../../render-core/head";
import { orbitCamera } from "../../../render-core/math/camera";
import { gaussian, mulberry32 } from "../../../render-core/math/prng";
import { proceduralIdentity } from "../synthesise/identity";
import { projectPoints } from "../synthesise/portrait";
import {
  FACE_OVAL,
  HUMAN_MESH_BINDING,
  MESH_POINTS,
  boundPoint,
  denseBinding,
  faceRegionVertices,
  type DenseBinding,
} from "./dense-binding";
import { denseSamples, shapeError, type DenseSample } from "./dense-samples";
import { fitHead } from "./fit-head";
import { FACE_API_CONVENTION } from "./landmark-convention";

let head: HeadModel;
let binding: DenseBinding;
let region: Uint32Array;
const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;

/** Human's points where the table binds them, on a head posed with `shape` and a random pose, plus 1 px noise; the 68 landmarks likewise. */
function exactCase(seed: number) {
  const identity = proceduralIdentity(seed, head);
  const rand = mulberry32(seed + 100);
  const pose = new Float32Array(15);
  pose.set([(rand() * 2 - 1) * 0.2, (rand() * 2 - 1) * 0.4, (rand() * 2 - 1) * 0.08], 0);
  const camera = orbitCamera({
    width: 512,
    height: 512,
    distance: 0.75,
    fovYDeg: 25 + 10 * rand(),
    target: [0, -0.01, 0],
  });
  const posed = poseVertices(head, createHeadParams(head, { shape: identity.shape, pose }));
  const noise = gaussian(mulberry32(seed + 200));
  const world = new Float32Array(MESH_POINTS * 3);
  for (let i = 0; i < MESH_POINTS; i++)
    world.set(
      boundPoint(posed, head.faces, binding.faces[i], binding.bary.subarray(i * 3, i * 3 + 3), binding.offset[i]),
      i * 3,
    );
  const px = projectPoints(camera, world);
  const mesh = new Float32Array(MESH_POINTS * 3);
  for (let i = 0; i < MESH_POINTS; i++) {
    mesh[i * 3] = px[i * 2] + noise();
    mesh[i * 3 + 1] = px[i * 2 + 1] + noise();
  }
  const landmarks = Float32Array.from(projectPoints(camera, landmarkPositions(head, posed)), (v) => v + noise());
  return { identity, camera, mesh, landmarks, size: { width: 512, height: 512 } };
}

beforeAll(() => {
  head = createHeadModel();
  binding = denseBinding(head);
  region = faceRegionVertices(head, binding);
});

describe("dense binding table", () => {
  it("binds nearly every Human point to the head model, with error modes, and refuses a table of another head", () => {
    const usable = binding.usable.reduce((s, u) => s + u, 0);
    // Measured 477 of 478 (calibrate-dense.ts 80): one point strays more than 15 % of the inter-ocular distance.
    expect(usable).toBeGreaterThanOrEqual(470);
    for (const i of FACE_OVAL) expect(HUMAN_MESH_BINDING.face[i]).toBeGreaterThanOrEqual(0);
    for (let i = 0; i < MESH_POINTS; i++) {
      const w = binding.bary.subarray(i * 3, i * 3 + 3);
      expect(Math.abs(w[0] + w[1] + w[2] - 1)).toBeLessThan(1e-4);
      expect(Math.abs(binding.offset[i])).toBeLessThan(0.02);
    }
    expect(binding.modeCount).toBe(16);
    // The face region: the front of the head inside the face oval (about a third of the head's vertices).
    expect(region.length).toBeGreaterThan(1500);
    expect(region.length).toBeLessThan(4000);
    expect(() => denseBinding(head, { ...HUMAN_MESH_BINDING, headModel: { vertexCount: 5, faceCount: 6 } })).toThrow(
      /measured on a head with 5 vertices \/ 6 faces.*calibrate-dense/,
    );
    const moved = { ...HUMAN_MESH_BINDING, pointMm: HUMAN_MESH_BINDING.pointMm.map((v, k) => (k === 30 ? v + 2 : v)) };
    expect(() => denseBinding(head, moved)).toThrow(/point 10 lies 2\.00 mm from where the table put it/);
  });
});

describe("fitHead dense mode", () => {
  it("on exact mesh points (+1 px) recovers the shape better than 68 exact landmarks (+1 px)", () => {
    const rows = { dense: [] as number[][], l68: [] as number[][] };
    const held: number[] = [];
    for (let seed = 41; seed <= 46; seed++) {
      const c = exactCase(seed);
      const f68 = fitHead(head, c.landmarks, c.size);
      const fd = fitHead(head, c.landmarks, c.size, { mesh: c.mesh });
      expect(fd.mode).toBe("dense");
      for (const [k, f] of [
        ["l68", f68],
        ["dense", fd],
      ] as const) {
        const e = shapeError(head, f.shape, c.identity.shape, region);
        rows[k].push([e.coefRms, e.vertexRmsMm]);
      }
      held.push(fd.heldOutErrorPx!);
      expect(fd.dense!.heldOutPoints).toBe(Math.round(0.2 * fd.dense!.usedPoints));
    }
    const coef = (k: "dense" | "l68") => mean(rows[k].map((r) => r[0])),
      mm = (k: "dense" | "l68") => mean(rows[k].map((r) => r[1]));
    console.log(
      `exact points: coefficient RMS ${coef("dense").toFixed(3)} vs ${coef("l68").toFixed(3)}, vertex RMS ${mm("dense").toFixed(2)} vs ${mm("l68").toFixed(2)} mm, held-out ${held.map((h) => h.toFixed(2)).join(" ")} px`,
    );
    // Measured: dense 0.374 / 0.81 mm against 68 points 0.415 / 0.94 mm (truth RMS 0.5; guessing 0 scores about
    // 2 mm). The mesh points are weighted for Human's noise (meshSigmaScale 4), so clean points gain less than they could.
    expect(coef("dense")).toBeLessThan(0.4);
    expect(mm("dense")).toBeLessThan(0.9);
    expect(coef("dense") / coef("l68")).toBeLessThan(0.95);
    expect(mm("dense") / mm("l68")).toBeLessThan(0.92);
    // 1 px noise puts a point 1.25 px off on average; measured 1.24-1.41 px held out.
    for (const h of held) expect(h).toBeLessThan(1.8);
  });

  it("reports per-point errors that the full head model reproduces through createHeadParams, the table and the camera", () => {
    const c = exactCase(50);
    const fit = fitHead(head, c.landmarks, c.size, { mesh: c.mesh });
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
    const px = projectPoints(fit.camera, world);
    for (let i = 0; i < MESH_POINTS; i += 7) {
      const e = Math.hypot(px[i * 2] - c.mesh[i * 3], px[i * 2 + 1] - c.mesh[i * 3 + 1]);
      expect(Math.abs(e - fit.dense!.perPointErrorPx[i])).toBeLessThan(2e-3);
    }
    expect(fit.dense!.pointErrorPx).toBeGreaterThan(0.8);
    expect(fit.dense!.pointErrorPx).toBeLessThan(2);
  });

  it("stays the 68-point fit without a mesh, and refuses a malformed mesh", () => {
    const c = exactCase(51);
    const plain = fitHead(head, c.landmarks, c.size);
    expect(plain.mode).toBe("landmarks68");
    expect(plain.heldOutErrorPx).toBeNull();
    expect(plain.dense).toBeNull();
    expect(fitHead(head, c.landmarks, c.size, { mesh: null }).shape).toEqual(plain.shape);
    expect(() => fitHead(head, c.landmarks, c.size, { mesh: new Float32Array(468 * 3) })).toThrow(
      /mesh must be a Float32Array \[478, 3\] \(1434 numbers\), got 1404/,
    );
    expect(() => fitHead(head, c.landmarks, c.size, { mesh: c.mesh.map(() => NaN) })).toThrow(
      /478 of 478 mesh points are not finite/,
    );
    expect(() => fitHead(head, c.landmarks, c.size, { mesh: c.mesh.map((v) => v * 20) })).toThrow(
      /mesh points lie far outside the 512 x 512 image/,
    );
    expect(() => fitHead(head, c.landmarks, c.size, { mesh: c.mesh, dense: { heldOutFraction: 0.9 } })).toThrow(
      /heldOutFraction must be in \[0, 0\.5\], got 0\.9/,
    );
  });
});

describe("fitHead dense mode on Human's mesh", () => {
  let samples: DenseSample[];
  beforeAll(async () => {
    // Twelve rendered heads (random shape, pose, expression and looks), 320 px: Human's crop is 320 px whatever the size.
    samples = await denseSamples(head, 12, 7000, { size: 320 });
  }, 120_000);

  it("recovers shape better than face-api's 68 points, with a bounded held-out error", () => {
    expect(samples.length).toBe(12);
    const rows = { dense: [] as number[][], l68: [] as number[][] };
    for (const s of samples) {
      const f68 = fitHead(head, s.landmarks, s.portrait, { convention: FACE_API_CONVENTION });
      const t0 = performance.now();
      const fd = fitHead(head, s.landmarks, s.portrait, { convention: FACE_API_CONVENTION, mesh: s.mesh });
      const ms = performance.now() - t0;
      for (const [k, f] of [
        ["l68", f68],
        ["dense", fd],
      ] as const) {
        const e = shapeError(head, f.shape, s.identity.shape, region);
        rows[k].push([e.coefRms, e.vertexRmsMm, (f.heldOutErrorPx ?? NaN) / f.interocularPx, ms]);
      }
    }
    const col = (k: "dense" | "l68", j: number) => mean(rows[k].map((r) => r[j]));
    console.log(
      `dense vs 68 on ${samples.length} rendered heads: coefficient RMS ${col("dense", 0).toFixed(3)} vs ${col("l68", 0).toFixed(3)}, face vertex RMS ${col("dense", 1).toFixed(2)} vs ${col("l68", 1).toFixed(2)} mm, held-out ${(100 * col("dense", 2)).toFixed(2)} % inter-ocular (max ${(100 * Math.max(...rows.dense.map((r) => r[2]))).toFixed(2)} %), dense fit ${col("dense", 3).toFixed(0)} ms`,
    );
    // Measured: 0.520 vs 0.551 and 1.77 vs 2.03 mm (truth RMS 0.48; guessing 0 scores about 2.0 mm): Human sees
    // only part of the model's shape change, so the gain is real but small; the bounds keep that order.
    expect(col("dense", 0)).toBeLessThan(0.55);
    expect(col("dense", 1)).toBeLessThan(1.9);
    expect(col("dense", 0) / col("l68", 0)).toBeLessThan(0.98);
    expect(col("dense", 1) / col("l68", 1)).toBeLessThan(0.93);
    // Held-out mesh points: measured 2.43 % of the inter-ocular distance on average, 4.40 % at worst.
    expect(col("dense", 2)).toBeLessThan(0.03);
    expect(Math.max(...rows.dense.map((r) => r[2]))).toBeLessThan(0.06);
  });
});
