import { afterAll, describe, expect, it } from "vitest";
import { getTestGpu } from "../../server/gpu/test-gpu";
import { deformRigBackwardGpu } from "./rig-grad-gpu";
import { deformRigBackward } from "./rig-grad";
import { COMPACT } from "../avatar/config";
import { avatarPriors, createRandomAvatar } from "../avatar/avatar";
import { bakeCpu } from "../avatar/bake.cpu";
import { bakeFrame, deformFrame } from "../avatar/rig";
import { createHeadModel } from "../head";
import { mulberry32 } from "../math/prng";

const { gpu, skipReason } = await getTestGpu();
afterAll(() => gpu?.destroy());

describe("deform rig backward: WGSL agrees with the CPU twin", () => {
  it("gives the same gradients for un-posed centres, quaternions, skinning weights and directions", async (ctx) => {
    if (!gpu) return ctx.skip(skipReason!);
    const head = createHeadModel();
    const avatar = createRandomAvatar(COMPACT, head, { count: 200, seed: 8 });
    const baked = bakeCpu(avatar, avatarPriors(avatar, head), bakeFrame(head, avatar.shape), avatar.neutralLatents);
    const frame = deformFrame(COMPACT, head, avatar.shape, {
      expression: [0.5, 0.2, 0, 0.7],
      pose: [0.1, -0.3, 0, 0, 0.1, 0, 0.2, 0, 0, 0, 0, 0, 0, 0, 0],
    });
    const rand = mulberry32(2);
    const dIn = new Float32Array(200 * 10).map(() => rand() - 0.5);
    const split = (off: number, w: number) =>
      Float64Array.from({ length: 200 * w }, (_, k) => dIn[Math.floor(k / w) * 10 + off + (k % w)]!);
    const want = deformRigBackward(COMPACT, baked, frame, split(0, 3), split(3, 4), split(7, 3));
    const got = await deformRigBackwardGpu(gpu.device, COMPACT, baked, frame, dIn);
    for (const key of ["rest", "skin", "dirs"] as const) {
      let worst = 0;
      for (let i = 0; i < want[key].length; i++)
        worst = Math.max(worst, Math.abs(got[key][i]! - want[key][i]!) / Math.max(1, Math.abs(want[key][i]!)));
      expect(worst, key).toBeLessThan(1e-4);
    }
  });
});
