import { afterAll, describe, expect, it } from "vitest";
import { getTestGpu } from "../../server/gpu/test-gpu";
import { bakeRigBackwardGpu } from "./bake-grad-gpu";
import { bakeRigBackward } from "./rig-grad";
import { COMPACT } from "../avatar/config";
import { avatarPriors, createRandomAvatar } from "../avatar/avatar";
import { bakeFrame } from "../avatar/rig";
import { createHeadModel } from "../head";
import { mulberry32 } from "../math/prng";

const { gpu, skipReason } = await getTestGpu();
afterAll(() => gpu?.destroy());

describe("bake rig backward: WGSL agrees with the CPU twin", () => {
  it("gives the same gradients for points and deformer outputs", async (ctx) => {
    if (!gpu) return ctx.skip(skipReason!);
    const head = createHeadModel();
    const avatar = createRandomAvatar(COMPACT, head, { count: 150, seed: 9 });
    const rand = mulberry32(7);
    const J = COMPACT.jointCount,
      K = COMPACT.expressionCount + COMPACT.poseCorrectiveCount,
      D = K * 3 + 3 + J;
    const inputs = {
      count: 150,
      points: avatar.points,
      deformerRaw: new Float32Array(150 * D).map(() => 0.01 * (rand() - 0.5)),
      prior: avatarPriors(avatar, head),
      canonA: bakeFrame(head, avatar.shape),
    };
    const dRest = Float64Array.from({ length: 150 * 8 }, (_, k) => (k % 8 === 3 ? 0 : rand() - 0.5));
    const dSkin = Float64Array.from({ length: 150 * J }, () => rand() - 0.5);
    const dDirs = Float64Array.from({ length: 150 * K * 3 }, () => rand() - 0.5);
    const want = bakeRigBackward(COMPACT, inputs, dRest, dSkin, dDirs);
    const got = await bakeRigBackwardGpu(gpu.device, COMPACT, inputs, dRest, dSkin, dDirs);
    for (const key of ["points", "deformerRaw"] as const) {
      let worst = 0;
      for (let i = 0; i < want[key].length; i++)
        worst = Math.max(worst, Math.abs(got[key][i]! - want[key][i]!) / Math.max(1, Math.abs(want[key][i]!)));
      expect(worst, key).toBeLessThan(1e-3);
    }
  });
});
