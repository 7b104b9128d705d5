import { describe, expect, it } from "vitest";
import { createHeadModel, type HeadModel } from "./head-model";
import { MeshPart } from "./mesh";
import { Region } from "./regions";
import { landmarkPositions } from "./lbs.cpu";
import { HEAD } from "./head-sdf";
import { JOINT_COUNT } from "./skeleton";

const model = createHeadModel();

/** Connected components of the face graph, as lists of face ids. */
function components(m: HeadModel): number[][] {
  const parent = new Int32Array(m.vertexCount).map((_, i) => i);
  const find = (a: number): number => (parent[a] === a ? a : (parent[a] = find(parent[a])));
  for (let f = 0; f < m.faceCount; f++) {
    const a = find(m.faces[f * 3]);
    for (let k = 1; k < 3; k++) parent[find(m.faces[f * 3 + k])] = a;
  }
  const byRoot = new Map<number, number[]>();
  for (let f = 0; f < m.faceCount; f++) {
    const r = find(m.faces[f * 3]);
    if (!byRoot.has(r)) byRoot.set(r, []);
    byRoot.get(r)!.push(f);
  }
  return [...byRoot.values()];
}

function signedVolume(m: HeadModel, faces: number[]): number {
  const P = m.template;
  let vol = 0;
  for (const f of faces) {
    const [a, b, c] = [m.faces[f * 3] * 3, m.faces[f * 3 + 1] * 3, m.faces[f * 3 + 2] * 3];
    vol +=
      (P[a] * (P[b + 1] * P[c + 2] - P[b + 2] * P[c + 1]) -
        P[a + 1] * (P[b] * P[c + 2] - P[b + 2] * P[c]) +
        P[a + 2] * (P[b] * P[c + 1] - P[b + 1] * P[c])) /
      6;
  }
  return vol;
}

describe("head mesh", () => {
  it("has a few thousand vertices and is built the same way every time", () => {
    expect(model.vertexCount).toBeGreaterThan(3000);
    expect(model.vertexCount).toBeLessThan(10000);
    const again = createHeadModel();
    expect(Buffer.from(again.template.buffer).equals(Buffer.from(model.template.buffer))).toBe(true);
    expect(Buffer.from(again.faces.buffer).equals(Buffer.from(model.faces.buffer))).toBe(true);
  });

  it("is closed and consistently wound: every directed edge appears once and its reverse once", () => {
    const V = model.vertexCount;
    const edges = new Set<number>();
    let repeated = 0,
      unmatched = 0;
    for (let f = 0; f < model.faceCount; f++) {
      for (let k = 0; k < 3; k++) {
        const key = model.faces[f * 3 + k] * V + model.faces[f * 3 + ((k + 1) % 3)];
        if (edges.has(key)) repeated++;
        edges.add(key);
      }
    }
    for (const key of edges) if (!edges.has((key % V) * V + Math.floor(key / V))) unmatched++;
    expect(repeated).toBe(0);
    expect(unmatched).toBe(0);
  });

  it("is three sphere-like parts (head with mouth and sockets, two eyeballs), each wound outward", () => {
    const comps = components(model);
    expect(comps.length).toBe(3);
    for (const faces of comps) {
      const verts = new Set<number>();
      const edges = new Set<string>();
      for (const f of faces) {
        for (let k = 0; k < 3; k++) {
          const a = model.faces[f * 3 + k],
            b = model.faces[f * 3 + ((k + 1) % 3)];
          verts.add(a);
          edges.add(a < b ? `${a},${b}` : `${b},${a}`);
        }
      }
      expect(verts.size - edges.size + faces.length).toBe(2); // Euler characteristic of a sphere
      expect(signedVolume(model, faces)).toBeGreaterThan(0);
    }
    const head = comps.reduce((a, b) => (a.length > b.length ? a : b));
    // Head and neck of an adult: a few litres.
    expect(signedVolume(model, head)).toBeGreaterThan(0.0025);
    expect(signedVolume(model, head)).toBeLessThan(0.007);
  });

  it("has no degenerate triangles (every area above 0.01 mm^2)", () => {
    const P = model.template;
    let minArea = Infinity;
    for (let f = 0; f < model.faceCount; f++) {
      const [a, b, c] = [model.faces[f * 3] * 3, model.faces[f * 3 + 1] * 3, model.faces[f * 3 + 2] * 3];
      const u = [P[b] - P[a], P[b + 1] - P[a + 1], P[b + 2] - P[a + 2]],
        v = [P[c] - P[a], P[c + 1] - P[a + 1], P[c + 2] - P[a + 2]];
      minArea = Math.min(
        minArea,
        0.5 * Math.hypot(u[1] * v[2] - u[2] * v[1], u[2] * v[0] - u[0] * v[2], u[0] * v[1] - u[1] * v[0]),
      );
    }
    expect(minArea).toBeGreaterThan(1e-8);
  });

  it("is about 0.2 m tall from crown to chin and faces +z", () => {
    const lm = landmarkPositions(model, model.template);
    let top = -Infinity;
    for (let i = 0; i < model.vertexCount; i++) top = Math.max(top, model.template[i * 3 + 1]);
    expect(top - lm[8 * 3 + 1]).toBeGreaterThan(0.18);
    expect(top - lm[8 * 3 + 1]).toBeLessThan(0.23);
    expect(lm[30 * 3 + 2]).toBeGreaterThan(0.1); // nose tip in front
  });

  it("labels regions with the PERSE ids on the right parts and sides", () => {
    const mean = (region: number, axis: number) => {
      let s = 0,
        n = 0;
      for (let i = 0; i < model.vertexCount; i++)
        if (model.vertexRegion[i] === region) {
          s += model.template[i * 3 + axis];
          n++;
        }
      expect(n).toBeGreaterThan(0);
      return s / n;
    };
    for (let r = 1; r <= 12; r++) expect(model.vertexRegion.includes(r)).toBe(true);
    expect(mean(Region.leftEye, 0)).toBeGreaterThan(0.02);
    expect(mean(Region.rightEye, 0)).toBeLessThan(-0.02);
    expect(mean(Region.leftBrow, 0)).toBeGreaterThan(0.02);
    expect(mean(Region.leftEar, 0)).toBeGreaterThan(0.06);
    expect(mean(Region.rightEar, 0)).toBeLessThan(-0.06);
    expect(mean(Region.leftBrow, 1)).toBeGreaterThan(mean(Region.leftEye, 1));
    expect(mean(Region.upperLip, 1)).toBeGreaterThan(mean(Region.lowerLip, 1));
    expect(mean(Region.nose, 2)).toBeGreaterThan(mean(Region.upperLip, 2) - 0.005);
    expect(mean(Region.neck, 1)).toBeLessThan(-0.1);
    for (let i = 0; i < model.vertexCount; i++) {
      if (model.vertexPart[i] === MeshPart.mouthBag) expect(model.vertexRegion[i]).toBe(Region.mouthInterior);
      if (model.vertexPart[i] === MeshPart.eyeballLeft) expect(model.vertexRegion[i]).toBe(Region.leftEye);
    }
    expect(model.faceRegion.length).toBe(model.faceCount);
  });

  it("has UVs in [0, 1] with the back seam split so no face wraps around", () => {
    expect(model.uvs.every((u) => u >= 0 && u <= 1)).toBe(true);
    const T = model.uvCoords.length / 2;
    expect(model.faceUvs.every((i) => i < T)).toBe(true);
    let wrapping = 0;
    for (let f = 0; f < model.faceCount; f++) {
      const us = [0, 1, 2].map((k) => model.uvCoords[model.faceUvs[f * 3 + k] * 2]);
      // Faces at the crown and neck-bottom poles fan over all u: the one singularity of a cylindrical map.
      const pole = [0, 1, 2].some(
        (k) =>
          model.uvCoords[model.faceUvs[f * 3 + k] * 2] === 0.5 &&
          [Math.fround(0.1), 1].includes(model.uvCoords[model.faceUvs[f * 3 + k] * 2 + 1]),
      );
      if (model.vertexPart[model.faces[f * 3]] === MeshPart.head && !pole && Math.max(...us) - Math.min(...us) >= 0.5)
        wrapping++;
    }
    expect(wrapping).toBe(0);
  });

  it("has skinning weights that are non-negative, sum to 1 and put eyeballs on their eye joints", () => {
    expect(model.skinWeights.every((w) => w >= 0)).toBe(true);
    let worst = 0;
    for (let i = 0; i < model.vertexCount; i++) {
      let s = 0;
      for (let j = 0; j < JOINT_COUNT; j++) s += model.skinWeights[i * JOINT_COUNT + j];
      worst = Math.max(worst, Math.abs(s - 1));
    }
    expect(worst).toBeLessThan(1e-6);
    for (const [e, joint] of [
      [0, 3],
      [1, 4],
    ]) {
      const eb = model.eyeballs[e];
      for (let i = eb.start; i < eb.start + eb.count; i++)
        if (model.skinWeights[i * JOINT_COUNT + joint] !== 1)
          expect.fail(`eyeball vertex ${i} weight ${model.skinWeights[i * JOINT_COUNT + joint]}`);
    }
    // The lower lip rides the jaw, the upper lip does not.
    const lipJaw = (region: number) => {
      let s = 0,
        n = 0;
      for (let i = 0; i < model.vertexCount; i++)
        if (model.vertexRegion[i] === region) {
          s += model.skinWeights[i * JOINT_COUNT + 2];
          n++;
        }
      return s / n;
    };
    expect(lipJaw(Region.lowerLip)).toBeGreaterThan(0.9);
    expect(lipJaw(Region.upperLip)).toBeLessThan(0.1);
  });
});

describe("landmarks", () => {
  const lm = landmarkPositions(model, model.template);
  const p = (i: number) => [lm[i * 3], lm[i * 3 + 1], lm[i * 3 + 2]];

  it("are 68 points on the mesh with valid barycentric weights", () => {
    expect(model.landmarks.length).toBe(68);
    for (const pt of model.landmarks) {
      expect(pt.face).toBeLessThan(model.faceCount);
      expect(Math.abs(pt.bary[0] + pt.bary[1] + pt.bary[2] - 1)).toBeLessThan(1e-6);
      for (const b of pt.bary) expect(b).toBeGreaterThanOrEqual(-1e-9);
      expect(model.vertexPart[model.faces[pt.face * 3]]).toBe(MeshPart.head);
    }
  });

  it("are mirror-symmetric in pairs across x = 0", () => {
    const pairs = [
      [0, 16],
      [4, 12],
      [17, 26],
      [21, 22],
      [31, 35],
      [36, 45],
      [39, 42],
      [37, 44],
      [41, 46],
      [48, 54],
      [49, 53],
      [59, 55],
      [61, 63],
      [67, 65],
    ];
    for (const [r, l] of pairs) {
      expect(Math.abs(p(r)[0] + p(l)[0])).toBeLessThan(2e-4);
      expect(Math.abs(p(r)[1] - p(l)[1])).toBeLessThan(2e-4);
      expect(p(r)[0]).toBeLessThan(0); // iBUG's first of a pair is the subject's right (-x)
    }
  });

  it("sit in the right places relative to each other", () => {
    // Eye corners: right outer < right inner < nose bridge < left inner < left outer.
    const xs = [36, 39, 27, 42, 45].map((i) => p(i)[0]);
    for (let k = 1; k < xs.length; k++) expect(xs[k]).toBeGreaterThan(xs[k - 1] + 0.004);
    // Chin is the lowest landmark; brows above eyes above nose tip above mouth above chin.
    for (let i = 0; i < 68; i++) if (i !== 8) expect(p(8)[1]).toBeLessThan(p(i)[1]);
    expect(p(19)[1]).toBeGreaterThan(p(37)[1] + 0.008);
    expect(p(37)[1]).toBeGreaterThan(p(30)[1] + 0.02);
    expect(p(30)[1]).toBeGreaterThan(p(51)[1]);
    expect(p(51)[1]).toBeGreaterThan(p(62)[1]);
    expect(p(62)[1]).toBeGreaterThanOrEqual(p(66)[1]);
    expect(p(66)[1]).toBeGreaterThan(p(57)[1]);
    // Mouth corners lie between the eyes' outer corners and between the nose and the chin.
    for (const m of [48, 54]) {
      expect(Math.abs(p(m)[0])).toBeLessThan(Math.abs(p(36)[0]));
      expect(Math.abs(p(m)[0])).toBeGreaterThan(Math.abs(p(33)[0]) + 0.01);
      expect(p(m)[1]).toBeLessThan(p(33)[1]);
      expect(p(m)[1]).toBeGreaterThan(p(8)[1]);
    }
    // Nose tip is the most forward point; upper lids above lower lids.
    for (let i = 0; i < 68; i++) if (i !== 30) expect(p(30)[2]).toBeGreaterThan(p(i)[2]);
    expect(p(37)[1]).toBeGreaterThan(p(41)[1] + 0.006);
    expect(p(44)[1]).toBeGreaterThan(p(46)[1] + 0.006);
    // Eye landmarks are near their eyeball.
    const [ex, ey] = HEAD.eyeCenter;
    expect(Math.abs((p(42)[0] + p(45)[0]) / 2 - ex)).toBeLessThan(0.004);
    expect(Math.abs((p(42)[1] + p(45)[1]) / 2 - ey)).toBeLessThan(0.004);
  });
});
