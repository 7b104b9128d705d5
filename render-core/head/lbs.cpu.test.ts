import { describe, expect, it } from "vitest";
import { createHeadModel } from "./head-model";
import {
  blendVertices,
  canonicalParams,
  createHeadParams,
  jointTransforms,
  landmarkPositions,
  poseVertices,
  rodrigues,
  unposePoints,
  type HeadParams,
} from "./lbs.cpu";
import { raycastMesh } from "./mesh-query";
import { HEAD } from "./head-sdf";
import { MeshPart } from "./mesh";
import { Joint } from "./skeleton";

const model = createHeadModel();
const V = model.vertexCount;
const lm0 = landmarkPositions(model, model.template);
const withParams = (f: (p: HeadParams) => void): HeadParams => {
  const p = createHeadParams(model);
  f(p);
  return p;
};
const expr = (name: string) => model.expressionNames.indexOf(name);
const lmOf = (p: HeadParams) => landmarkPositions(model, poseVertices(model, p));
const at = (a: Float32Array, i: number) => [a[i * 3], a[i * 3 + 1], a[i * 3 + 2]];

function faceNormals(P: Float32Array): Float64Array {
  const F = model.faceCount,
    T = model.faces;
  const n = new Float64Array(F * 3);
  for (let f = 0; f < F; f++) {
    const a = T[f * 3] * 3,
      b = T[f * 3 + 1] * 3,
      c = T[f * 3 + 2] * 3;
    const u = [P[b] - P[a], P[b + 1] - P[a + 1], P[b + 2] - P[a + 2]],
      v = [P[c] - P[a], P[c + 1] - P[a + 1], P[c + 2] - P[a + 2]];
    const x = u[1] * v[2] - u[2] * v[1],
      y = u[2] * v[0] - u[0] * v[2],
      z = u[0] * v[1] - u[1] * v[0];
    const l = Math.hypot(x, y, z) || 1;
    n[f * 3] = x / l;
    n[f * 3 + 1] = y / l;
    n[f * 3 + 2] = z / l;
  }
  return n;
}

describe("poseVertices (CPU twin)", () => {
  it("returns the template for zero parameters", () => {
    const v = poseVertices(model, createHeadParams(model));
    let worst = 0;
    for (let i = 0; i < V * 3; i++) worst = Math.max(worst, Math.abs(v[i] - model.template[i]));
    expect(worst).toBeLessThan(1e-6);
  });

  it("opens the jaw: chin and lower lip go down, the lip gap widens, the upper lip stays", () => {
    const open = lmOf(withParams((p) => (p.pose[Joint.jaw * 3] = 0.3)));
    expect(open[8 * 3 + 1]).toBeLessThan(lm0[8 * 3 + 1] - 0.015); // chin drops more than 1.5 cm
    expect(open[57 * 3 + 1]).toBeLessThan(lm0[57 * 3 + 1] - 0.01);
    const gap = (l: Float32Array) => l[62 * 3 + 1] - l[66 * 3 + 1];
    expect(gap(open)).toBeGreaterThan(gap(lm0) + 0.015);
    expect(Math.abs(open[51 * 3 + 1] - lm0[51 * 3 + 1])).toBeLessThan(5e-4);
    expect(Math.abs(open[30 * 3 + 1] - lm0[30 * 3 + 1])).toBeLessThan(1e-6); // nose untouched
  });

  it("blinks: the left upper lid closes over the eyeball and the right eye stays open", () => {
    const verts = poseVertices(
      model,
      withParams((p) => (p.expression[expr("blinkL")] = 1)),
    );
    const lm = landmarkPositions(model, verts);
    const [ex, ey, ez] = HEAD.eyeCenter;
    for (const i of [43, 44]) {
      expect(lm[i * 3 + 1]).toBeLessThan(ey); // upper lid edge below the pupil
      expect(Math.hypot(lm[i * 3] - ex, lm[i * 3 + 1] - ey, lm[i * 3 + 2] - ez)).toBeGreaterThan(HEAD.eyeballRadius); // in front of, not inside, the eyeball
    }
    expect(lm[44 * 3 + 1] - lm[46 * 3 + 1]).toBeLessThan(0.0015); // lids meet
    // A ray from the viewer to the pupil now hits the lid (head surface) before the eyeball.
    const firstPart = (P: Float32Array, x: number) => {
      const hit = raycastMesh(P, model.faces, [x, ey, 0.3], [0, 0, -1]);
      return model.vertexPart[model.faces[hit!.face * 3]];
    };
    expect(firstPart(model.template, ex)).toBe(MeshPart.eyeballLeft);
    expect(firstPart(verts, ex)).toBe(MeshPart.head);
    expect(firstPart(verts, -ex)).toBe(MeshPart.eyeballRight);
    // Mid-blink the lid slides over, never into, the eyeball.
    const half = poseVertices(
      model,
      withParams((p) => (p.expression[expr("blinkL")] = 0.5)),
    );
    for (const v of model.eyeLoops[0])
      expect(Math.hypot(half[v * 3] - ex, half[v * 3 + 1] - ey, half[v * 3 + 2] - ez)).toBeGreaterThan(
        HEAD.eyeballRadius,
      );
  });

  it("turns landmarks by an exact rigid rotation under a global yaw (about the root joint)", () => {
    const yaw = 0.4;
    const lm = lmOf(withParams((p) => (p.pose[1] = yaw)));
    const R = rodrigues(0, yaw, 0);
    const J = at(model.jointRest, Joint.global);
    let worst = 0;
    for (let i = 0; i < 68; i++) {
      const d = [lm0[i * 3] - J[0], lm0[i * 3 + 1] - J[1], lm0[i * 3 + 2] - J[2]];
      for (let r = 0; r < 3; r++)
        worst = Math.max(
          worst,
          Math.abs(R[r * 3] * d[0] + R[r * 3 + 1] * d[1] + R[r * 3 + 2] * d[2] + J[r] - lm[i * 3 + r]),
        );
    }
    expect(worst).toBeLessThan(1e-6);
    // Positive yaw turns the face toward +x (the subject's left).
    expect(lm[30 * 3]).toBeGreaterThan(0.02);
  });

  it("turns the face rigidly about the neck joint under a neck yaw (points above the jaw)", () => {
    const lm = lmOf(withParams((p) => (p.pose[Joint.neck * 3 + 1] = 0.5)));
    const R = rodrigues(0, 0.5, 0);
    const J = at(model.jointRest, Joint.neck);
    for (let i = 17; i < 48; i++) {
      const d = [lm0[i * 3] - J[0], lm0[i * 3 + 1] - J[1], lm0[i * 3 + 2] - J[2]];
      for (let r = 0; r < 3; r++)
        expect(
          Math.abs(R[r * 3] * d[0] + R[r * 3 + 1] * d[1] + R[r * 3 + 2] * d[2] + J[r] - lm[i * 3 + r]),
        ).toBeLessThan(1e-5);
    }
  });

  it("adds the translation to every vertex", () => {
    const v = poseVertices(
      model,
      withParams((p) => p.translation.set([0.1, -0.2, 0.3])),
    );
    expect(v[0] - model.template[0]).toBeCloseTo(0.1, 6);
    expect(v[(V - 1) * 3 + 2] - model.template[(V - 1) * 3 + 2]).toBeCloseTo(0.3, 6);
  });

  it("rotates eyeballs about their centres with the eye joints and leaves the lids alone", () => {
    const v = poseVertices(
      model,
      withParams((p) => (p.pose[Joint.leftEye * 3 + 1] = 0.4)),
    );
    const [ex, ey, ez] = HEAD.eyeCenter;
    const eb = model.eyeballs[0];
    for (let i = eb.start; i < eb.start + eb.count; i++)
      expect(
        Math.abs(Math.hypot(v[i * 3] - ex, v[i * 3 + 1] - ey, v[i * 3 + 2] - ez) - HEAD.eyeballRadius),
      ).toBeLessThan(1e-6);
    expect(v[eb.start * 3]).toBeGreaterThan(ex + 0.004); // the pupil looks toward +x
    for (const i of model.eyeLoops[0]) expect(v[i * 3 + 1]).toBe(model.template[i * 3 + 1]);
  });

  it("moves joints with the shape, so eyeballs stay centred on their pivots", () => {
    const p = withParams((q) => (q.shape[model.shapeNames.indexOf("eyeSpacing")] = 1));
    const A = jointTransforms(model, p);
    const v = poseVertices(model, p);
    // The posed left eye joint pivot is where the shaped eyeball centre is.
    const eb = model.eyeballs[0];
    const centre = [0, 1, 2].map((a) => (v[eb.start * 3 + a] + v[(eb.start + eb.count - 1) * 3 + a]) / 2);
    expect(centre[0]).toBeGreaterThan(HEAD.eyeCenter[0] + 0.002);
    expect(Math.abs(A[Joint.leftEye * 12 + 3])).toBeLessThan(1e-7); // rest pose: no offset
  });

  it("un-poses canonical (jaw open) vertices back to the template", () => {
    const canon = canonicalParams(model);
    const posed = poseVertices(model, canon);
    const lm = landmarkPositions(model, posed);
    expect(lm[62 * 3 + 1] - lm[66 * 3 + 1]).toBeGreaterThan(0.005); // canonical lips are apart
    const back = unposePoints(model, posed, model.skinWeights, canon);
    let worst = 0;
    for (let i = 0; i < V * 3; i++) worst = Math.max(worst, Math.abs(back[i] - model.template[i]));
    expect(worst).toBeLessThan(1e-5);
  });

  it("rejects parameters of the wrong size, naming the field", () => {
    const p = createHeadParams(model);
    p.shape = new Float32Array(3);
    expect(() => poseVertices(model, p)).toThrow(/params\.shape needs 24 numbers, got 3/);
  });
});

describe("blendshapes", () => {
  // Bounds: the largest intended offset is the blink (the lid edge travels ~1.4 cm); 2 cm leaves room, 3 cm would be a bug.
  const MAX_MOVE = 0.02;
  it("keep every coefficient at +-1 finite, within 2 cm of the template and without flipped triangles", () => {
    const rest = faceNormals(model.template);
    const report: string[] = [];
    for (const [kind, names] of [
      ["shape", model.shapeNames],
      ["expression", model.expressionNames],
    ] as const) {
      names.forEach((name, k) => {
        for (const sign of [1, -1]) {
          const p = createHeadParams(model);
          p[kind][k] = sign;
          const v = blendVertices(model, p);
          let move = 0;
          for (let i = 0; i < V; i++)
            move = Math.max(
              move,
              Math.hypot(
                v[i * 3] - model.template[i * 3],
                v[i * 3 + 1] - model.template[i * 3 + 1],
                v[i * 3 + 2] - model.template[i * 3 + 2],
              ),
            );
          const n = faceNormals(v);
          let flipped = 0;
          for (let f = 0; f < model.faceCount; f++)
            if (n[f * 3] * rest[f * 3] + n[f * 3 + 1] * rest[f * 3 + 1] + n[f * 3 + 2] * rest[f * 3 + 2] <= 0)
              flipped++;
          if (!Number.isFinite(move) || move > MAX_MOVE || flipped > 0)
            report.push(`${name} ${sign > 0 ? "+" : "-"}1: move ${(move * 1000).toFixed(1)} mm, flipped ${flipped}`);
        }
      });
    }
    expect(report).toEqual([]);
  });
});
