import { beforeAll, describe, expect, it } from "vitest";
import { deformRigBackward, deformRigTrain } from "./rig-grad";
import { COMPACT } from "../avatar/config";
import { avatarPriors, createRandomAvatar } from "../avatar/avatar";
import { bakeCpu, type BakedAvatar } from "../avatar/bake.cpu";
import { deformCpu } from "../avatar/deform.cpu";
import { bakeFrame, deformFrame } from "../avatar/rig";
import { createHeadModel, type HeadModel } from "../head";
import { mulberry32 } from "../math/prng";

let head: HeadModel;
let baked: BakedAvatar;
let frame: Float32Array;
beforeAll(() => {
  head = createHeadModel();
  const avatar = createRandomAvatar(COMPACT, head, { count: 40, seed: 3 });
  baked = bakeCpu(avatar, avatarPriors(avatar, head), bakeFrame(head, avatar.shape), avatar.neutralLatents);
  frame = deformFrame(COMPACT, head, avatar.shape, { expression: [0.6, 0.4, 0, 0.3], pose: [0.1, 0.4, 0, 0, 0.1, 0, 0.25, 0, 0, 0, 0, 0, 0, 0, 0] });
});

describe("deform rig backward (CPU twin, float64)", () => {
  it("has the runtime's forward", () => {
    const cloud = deformCpu(COMPACT, baked, frame);
    const ours = deformRigTrain(COMPACT, baked, frame);
    for (let i = 0; i < cloud.positions.length; i++) expect(ours.positions[i]).toBeCloseTo(cloud.positions[i]!, 5);
  });

  it("matches finite differences for un-posed centres, un-posing quaternions, skinning weights and directions", () => {
    const state = { count: baked.count, rest: Float64Array.from(baked.rest), skin: Float64Array.from(baked.skin), dirs: Float64Array.from(baked.dirs) };
    const rand = mulberry32(2);
    const wP = Float64Array.from({ length: state.count * 3 }, () => rand() - 0.5);
    const wQ = Float64Array.from({ length: state.count * 4 }, () => rand() - 0.5);
    const wD = Float64Array.from({ length: state.count * 3 }, () => 50 * (rand() - 0.5));
    const loss = () => {
      const o = deformRigTrain(COMPACT, state, frame);
      let s = 0;
      for (let i = 0; i < o.positions.length; i++) s += o.positions[i]! * wP[i]! + o.offsets[i]! * wD[i]!;
      for (let i = 0; i < o.rotations.length; i++) s += o.rotations[i]! * wQ[i]!;
      return s;
    };
    const g = deformRigBackward(COMPACT, state, frame, wP, wQ, wD);
    const eps = 1e-6;
    let worst = 0;
    for (const [arr, gr, step] of [[state.rest, g.rest, 1], [state.skin, g.skin, 1], [state.dirs, g.dirs, 13]] as const) {
      for (let k = 0; k < arr.length; k += step) {
        if (arr === state.rest && k % 8 === 3) continue; // the padding slot
        const keep = arr[k]!;
        arr[k] = keep + eps;
        const up = loss();
        arr[k] = keep - eps;
        const down = loss();
        arr[k] = keep;
        const fd = (up - down) / (2 * eps);
        worst = Math.max(worst, Math.abs(fd - gr[k]!) / Math.max(Math.abs(fd), Math.abs(gr[k]!), 1e-6));
      }
    }
    expect(worst).toBeLessThan(1e-3);
  });
});
