import { afterAll, describe, expect, it } from "vitest";
import { getTestGpu } from "../../server/gpu/test-gpu";
import { composeAppearanceBackwardGpu, positionalEncodingBackwardGpu, positionalEncodingGpu } from "./heads-grad-gpu";
import { appearanceHeads, appearanceHeadsBackward, positionalEncodingBackward } from "./heads-grad";
import { quatMulBackward } from "./rig-grad";
import { quatMul } from "../avatar/rig";
import { positionalEncoding } from "../avatar/positional-encoding";
import { mulberry32 } from "../math/prng";

const { gpu, skipReason } = await getTestGpu();
afterAll(() => gpu?.destroy());

/** Largest difference relative to the largest value. */
const rel = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let w = 0,
    scale = 0;
  for (let i = 0; i < b.length; i++) {
    w = Math.max(w, Math.abs(Number(a[i]) - Number(b[i])));
    scale = Math.max(scale, Math.abs(Number(b[i])));
  }
  return w / scale;
};

describe("positional encoding and composeAppearance: WGSL agrees with the CPU twins", () => {
  it("positional encoding forward and backward (6 frequencies)", async (ctx) => {
    if (!gpu) return ctx.skip(skipReason!);
    const rand = mulberry32(6);
    const pts = new Float32Array(100 * 3).map(() => (rand() - 0.5) * 0.3);
    const d = new Float32Array(100 * 39).map(() => rand() - 0.5);
    // sin of arguments up to 32 pi x 0.15 in float32: 1e-5 of the largest value.
    expect(rel(await positionalEncodingGpu(gpu.device, pts, 6), positionalEncoding(pts, 6))).toBeLessThan(1e-5);
    // |d/dp| reaches 32 pi: compare relative to the largest gradient.
    expect(
      rel(await positionalEncodingBackwardGpu(gpu.device, pts, 6, d), positionalEncodingBackward(pts, 6, d)),
    ).toBeLessThan(1e-4);
  });

  it("composeAppearance backward: heads, and the rotation product split between the rig and the local rotation", async (ctx) => {
    if (!gpu) return ctx.skip(skipReason!);
    const n = 100,
      scaleMax = 0.0175;
    const rand = mulberry32(5);
    const geomRaw = new Float32Array(n * 11).map(() => 3 * (rand() - 0.5));
    const residual = new Float32Array(n * 11).map(() => 0.5 * (rand() - 0.5));
    const dSplat = new Float32Array(n * 9).map(() => rand() - 0.5);
    const dGeom = new Float32Array(n * 10).map(() => rand() - 0.5);
    // The composed Gaussians: rotation = qRig (x) normalise(raw local).
    const raw = geomRaw.map((v, k) => v + residual[k]!);
    const heads = appearanceHeads(raw, scaleMax);
    const qRig: number[][] = [];
    const gaussians = new Float32Array(n * 16);
    for (let i = 0; i < n; i++) {
      const q = [1, rand() - 0.5, rand() - 0.5, rand() - 0.5];
      const l = Math.hypot(...q);
      qRig.push(q.map((v) => v / l));
      gaussians.set(quatMul(qRig[i]!, Array.from(heads.subarray(i * 11 + 6, i * 11 + 10))), i * 16 + 8);
    }
    const got = await composeAppearanceBackwardGpu(gpu.device, scaleMax, {
      gaussians,
      geomRaw,
      residual,
      dSplat,
      dGeom,
    });
    const dHeads = new Float64Array(n * 11),
      rigIn = new Float64Array(n * 7);
    for (let i = 0; i < n; i++) {
      for (let k = 0; k < 3; k++) {
        dHeads[i * 11 + k] = dSplat[i * 9 + 5 + k]!;
        dHeads[i * 11 + 3 + k] = dGeom[i * 10 + 3 + k]!;
        rigIn[i * 7 + k] = dGeom[i * 10 + k]!;
      }
      dHeads[i * 11 + 10] = dSplat[i * 9 + 8]!;
      const { da, db } = quatMulBackward(qRig[i]!, heads.subarray(i * 11 + 6, i * 11 + 10), dGeom.subarray(i * 10 + 6));
      dHeads.set(db, i * 11 + 6);
      rigIn.set(da, i * 7 + 3);
    }
    // The rig's rotation is recovered from the composed one in float32: 1e-5 of the largest gradient.
    expect(rel(got.dRaw, appearanceHeadsBackward(raw, scaleMax, dHeads))).toBeLessThan(1e-5);
    expect(rel(got.rigIn, rigIn)).toBeLessThan(1e-5);
  });
});
