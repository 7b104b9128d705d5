import { afterAll, describe, expect, it } from "vitest";
import { TilePool } from "./tile-pool";
import { rasterizeBackwardFast, rasterizeTrainFast } from "../../../render-core/train/raster-train-fast";
import { projectTrainFast } from "../../../render-core/train/project-train-fast";
import { radiusOf } from "../../../render-core/train/avatar-step";
import { splatHead } from "../../../render-core/scenes/splat-head";
import { orbitCamera } from "../../../render-core/math/camera";
import { mulberry32 } from "../../../render-core/math/prng";
import { BatchPool } from "./batch-pool";
import { COMPACT, type AvatarModelConfig } from "../../../render-core/avatar/config";
import { avatarPriors, createRandomAvatar } from "../../../render-core/avatar/avatar";
import { bakeFrame, deformFrame } from "../../../render-core/avatar/rig";
import { createHeadModel } from "../../../render-core/head";

const pool = new TilePool(2);
afterAll(() => pool.close());

describe("TilePool", () => {
  it("gives the same bits as one thread, forward and backward", async () => {
    await pool.ready();
    const size = 72,
      n = 1500;
    const cloud = splatHead(3, n);
    const camera = orbitCamera({ width: size, height: size, yawDeg: 15, distance: 0.62, target: [0, 0, 0] });
    const proj = projectTrainFast(
      { count: n, positions: cloud.positions, scales: cloud.scales, rotations: cloud.rotations },
      camera,
    );
    const splats = {
      count: n,
      ...proj,
      colors: cloud.colors,
      opacities: cloud.opacities,
      radii: Int32Array.from({ length: n }, (_, i) => (proj.depths[i]! > camera.near ? radiusOf(proj.conics, i) : 0)),
    };
    const bg = [0.1, 0.2, 0.3] as const;
    const rand = mulberry32(4);
    const dRgb = Float64Array.from({ length: size * size * 3 }, () => rand() - 0.5);
    const dA = Float64Array.from({ length: size * size }, () => rand() - 0.5);
    const one = rasterizeTrainFast(splats, size, size, bg);
    let many = rasterizeTrainFast(splats, size, size, bg, pool);
    // The helpers wake while this thread already works: over a few frames they take tiles too.
    for (let k = 0; k < 20 && pool.helperTiles === 0; k++) many = rasterizeTrainFast(splats, size, size, bg, pool);
    expect(pool.helperTiles).toBeGreaterThan(0);
    expect(many.rgb).toEqual(one.rgb);
    expect(many.alpha).toEqual(one.alpha);
    // The head covers part of the picture, so the tiles' work is uneven.
    expect(one.alpha.filter((a) => a > 0.5).length).toBeGreaterThan(size * size * 0.2);
    // Handed-out images are ordinary memory (callers transfer them between threads).
    expect(many.rgb.buffer).toBeInstanceOf(ArrayBuffer);
    const g1 = rasterizeBackwardFast(one.tape, dRgb, dA),
      gN = rasterizeBackwardFast(many.tape, dRgb, dA);
    expect(gN).toEqual(g1);
    expect(g1.means2d.some((v) => v !== 0)).toBe(true);
  });

  it("refuses jobs once closed", async () => {
    const p = new TilePool(1);
    await p.ready();
    await p.close();
    const s = {
      count: 1,
      means2d: [8, 8],
      conics: [0.1, 0, 0.1],
      colors: [1, 1, 1],
      opacities: [0.5],
      depths: [1],
      radii: [5],
    };
    expect(() => rasterizeTrainFast(s, 16, 16, [0, 0, 0], p)).toThrow(/TilePool.run: the pool is closed/);
  });
});

describe("BatchPool with tile helpers", () => {
  it("trains a batch to the same bits as a pool without them", async () => {
    const head = createHeadModel();
    const config: AvatarModelConfig = {
      ...COMPACT,
      categories: ["source", "hair"],
      latentDim: 4,
      geometry: { depth: 2, width: 16, skipAt: 0 },
      deformer: { depth: 1, width: 8 },
      gaussian: { depth: 1, width: 8 },
    };
    const a = createRandomAvatar(config, head, { count: 300, seed: 2 });
    const state = {
      config,
      count: a.count,
      points: Float64Array.from(a.points),
      weights: {
        geometry: Float64Array.from(a.weights.geometry),
        deformer: Float64Array.from(a.weights.deformer),
        gaussian: Float64Array.from(a.weights.gaussian),
      },
      latents: Float64Array.from(a.neutralLatents),
      prior: avatarPriors(a, head),
      canonA: bakeFrame(head, a.shape),
    };
    const size = 48;
    const rand = mulberry32(8);
    const targets = [0.2, 0.7].map((e) => ({
      frame: deformFrame(config, head, a.shape, { expression: [e, 0], pose: new Array(15).fill(0) }),
      camera: orbitCamera({ width: size, height: size, yawDeg: 15, distance: 0.62, target: [0, 0, 0] }),
      image: Float64Array.from({ length: size * size * 3 }, () => rand()),
      background: [0.16, 0.17, 0.2] as [number, number, number],
      lambdaDssim: 0.2,
    }));
    const plain = new BatchPool(0),
      helped = new BatchPool(0, { tileHelpers: 1 });
    try {
      expect(helped.threads).toBe(2);
      const [r0] = await plain.run([{ state, targets }]);
      const [r1] = await helped.run([{ state, targets }]);
      expect(r1!.loss).toBe(r0!.loss);
      expect(r1!.grads).toEqual(r0!.grads);
      expect(r0!.grads.points.some((v) => v !== 0)).toBe(true);
    } finally {
      await Promise.all([plain.close(), helped.close()]);
    }
  });
});
