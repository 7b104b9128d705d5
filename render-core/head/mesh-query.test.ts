import { describe, expect, it } from "vitest";
import { buildVertexGrid, closestOnTriangle, closestVertex, raycastMesh } from "./mesh-query";

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe("closestVertex", () => {
  it("finds the same nearest vertex as brute force, inside and outside the grid", () => {
    const r = rng(7);
    const pts = new Float32Array(3000 * 3).map(() => 0.2 * r() - 0.1);
    const grid = buildVertexGrid(pts, 0.01);
    const queries = new Float32Array(500 * 3).map(() => 0.5 * r() - 0.25);
    const got = closestVertex(grid, queries);
    for (let q = 0; q < 500; q++) {
      let best = -1,
        bestD = Infinity;
      for (let i = 0; i < 3000; i++) {
        const d =
          (pts[i * 3] - queries[q * 3]) ** 2 +
          (pts[i * 3 + 1] - queries[q * 3 + 1]) ** 2 +
          (pts[i * 3 + 2] - queries[q * 3 + 2]) ** 2;
        if (d < bestD) {
          bestD = d;
          best = i;
        }
      }
      expect(got[q]).toBe(best);
    }
  });

  it("rejects a non-positive cell size with the value", () => {
    expect(() => buildVertexGrid(new Float32Array(3), 0)).toThrow(/buildVertexGrid: cell must be > 0, got 0/);
  });
});

describe("triangle queries", () => {
  const tri = [
    [0, 0, 0],
    [1, 0, 0],
    [0, 1, 0],
  ];
  it("projects interior points onto the face and clamps outside points to edges and corners", () => {
    expect(closestOnTriangle([0.25, 0.25, 1], tri[0], tri[1], tri[2]).slice(0, 3)).toEqual([0.5, 0.25, 0.25]);
    const [wa, wb, wc, d2] = closestOnTriangle([2, -1, 0], tri[0], tri[1], tri[2]);
    expect([wa, wb, wc]).toEqual([0, 1, 0]);
    expect(d2).toBeCloseTo(2, 12);
  });

  it("raycasts to the nearest face in front of the origin", () => {
    const positions = new Float32Array([0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 1, 0, 1, 0, 1, 1]);
    const faces = new Uint32Array([0, 1, 2, 3, 4, 5]);
    const hit = raycastMesh(positions, faces, [0.2, 0.2, 5], [0, 0, -1]);
    expect(hit?.face).toBe(1);
    expect(hit?.t).toBeCloseTo(4, 6);
    expect(raycastMesh(positions, faces, [5, 5, 5], [0, 0, -1])).toBeNull();
  });
});
