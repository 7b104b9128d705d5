import { afterAll, describe, expect, it } from "vitest";
import { getTestGpu } from "../../server/gpu/test-gpu";
import { createHeadModel } from "./head-model";
import { createHeadParams, poseVertices as poseVerticesCpu } from "./lbs.cpu";
import { createHeadLbs, readPosedVertices } from "./lbs";

const { gpu, skipReason } = await getTestGpu();
afterAll(() => gpu?.destroy());
// A small model keeps the llvmpipe run short; the kernel does not depend on the size.
const model = createHeadModel({ detail: 0.5 });

/** Seeded uniform [-1, 1) (mulberry32). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1;
  };
}

describe("poseVertices (WGSL kernel)", () => {
  it("agrees with the CPU twin to 1e-5 relative for random parameters", async (ctx) => {
    if (!gpu) return ctx.skip(skipReason!);
    const lbs = createHeadLbs(gpu.device, model);
    try {
      for (const seed of [1, 2, 3]) {
        const r = rng(seed);
        const p = createHeadParams(model);
        p.shape.forEach((_, i) => (p.shape[i] = 1.5 * r()));
        p.expression.forEach((_, i) => (p.expression[i] = r()));
        p.pose.forEach((_, i) => (p.pose[i] = 0.4 * r()));
        p.translation.set([0.05 * r(), 0.05 * r(), 0.05 * r()]);
        const cpu = poseVerticesCpu(model, p);
        const gpuOut = await readPosedVertices(lbs, p, { fillGarbage: true });
        let maxAbs = 0,
          maxDiff = 0;
        for (let i = 0; i < cpu.length; i++) {
          maxAbs = Math.max(maxAbs, Math.abs(cpu[i]));
          maxDiff = Math.max(maxDiff, Math.abs(cpu[i] - gpuOut[i]));
        }
        // f32 sums of 48 blendshape terms and 5 joint blends in another order: ~1e-7 relative; 1e-5 catches any real bug.
        expect(maxDiff / maxAbs).toBeLessThan(1e-5);
      }
    } finally {
      lbs.destroy();
    }
  });
});
