import { describe, expect, it } from "vitest";
import { createHeadModel } from "../../../render-core/head";
import { sourceAttributes } from "../synthesise/dataset";
import { proceduralIdentity } from "../synthesise/identity";
import { renderPortrait } from "../synthesise/portrait";
import {
  cosineDistance,
  distances,
  embedAlignedCrop,
  embedImage,
  faceresDeepRecogniser,
  FACERES_CROP,
  RECOGNISERS,
} from "./recognisers";

const head = createHeadModel();

async function portrait(seed: number) {
  const identity = proceduralIdentity(seed, head);
  const p = await renderPortrait({ head, identity, attributes: sourceAttributes(identity), size: 384 });
  return { width: p.width, height: p.height, rgb: p.rgb };
}

describe("face recognisers", () => {
  it("measure cosine distance as 1 - cos", () => {
    const a = Float32Array.from([1, 0, 0]);
    expect(cosineDistance(a, Float32Array.from([3, 0, 0]))).toBeCloseTo(0, 12);
    expect(cosineDistance(a, Float32Array.from([0, 2, 0]))).toBeCloseTo(1, 12);
    expect(cosineDistance(a, Float32Array.from([-1, 0, 0]))).toBeCloseTo(2, 12);
    expect(() => cosineDistance(a, new Float32Array(2))).toThrow(/same non-zero length/);
  });

  it("put a rendered person at distance 0 from itself and further from another rendered person", async () => {
    const [a, b] = [await portrait(101), await portrait(102)];
    const ea = await embedImage(a, "always");
    const eb = await embedImage(b, "always");
    expect(ea && eb, "a face in both portraits").toBeTruthy();
    expect(ea!.embeddings["faceres-deep"].length).toBe(1024);
    expect(ea!.embeddings["face-api"].length).toBe(128);
    const self = distances(ea!.embeddings, (await embedImage(a, "always"))!.embeddings);
    const other = distances(ea!.embeddings, eb!.embeddings);
    console.log(`rendered seed 101 vs 102: ${JSON.stringify(other)}`);
    for (const r of RECOGNISERS) {
      // The same pixels give the same vector (deterministic wasm kernels).
      expect(self[r.name]).toBeLessThan(1e-6);
      // Measured 0.173 (face-api) and 0.101 (faceres-deep): rendered people look alike to both (docs/likeness.md),
      // but not identical.
      expect(other[r.name]).toBeGreaterThan(0.05);
    }
  });

  it("refuse a crop of the wrong size", async () => {
    await expect(embedAlignedCrop({ width: 112, height: 112, rgb: new Uint8Array(112 * 112 * 3) })).rejects.toThrow(
      /must be 224 x 224/,
    );
    expect(FACERES_CROP.size).toBe(224);
    expect(faceresDeepRecogniser.metric).toBe("cosine");
  });
});
