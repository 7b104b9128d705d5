import { beforeAll, describe, expect, it } from "vitest";
import { deformRigBackward, deformRigTrain } from "./rig-grad";
import { COMPACT } from "../avatar/config";
import { avatarPriors, createRandomAvatar } from "../avatar/avatar";
import { bakeCpu, bakeRigCpu, type BakedAvatar } from "../avatar/bake.cpu";
import { deformCpu } from "../avatar/deform.cpu";
import { bakeFrame, deformFrame } from "../avatar/rig";
import { createHeadModel, type HeadModel } from "../head";
import { mulberry32 } from "../math/prng";
import { worstGradientError } from "./finite-diff";

let head: HeadModel;
let baked: BakedAvatar;
let frame: Float32Array;
beforeAll(() => {
  head = createHeadModel();
  const avatar = createRandomAvatar(COMPACT, head, { count: 40, seed: 3 });
  baked = bakeCpu(avatar, avatarPriors(avatar, head), bakeFrame(head, avatar.shape), avatar.neutralLatents);
  frame = deformFrame(COMPACT, head, avatar.shape, {
    expression: [0.6, 0.4, 0, 0.3],
    pose: [0.1, 0.4, 0, 0, 0.1, 0, 0.25, 0, 0, 0, 0, 0, 0, 0, 0],
  });
});

describe("deform rig backward (CPU twin, float64)", () => {
  it("has the runtime's forward", () => {
    const cloud = deformCpu(COMPACT, baked, frame);
    const ours = deformRigTrain(COMPACT, baked, frame);
    for (let i = 0; i < cloud.positions.length; i++) expect(ours.positions[i]).toBeCloseTo(cloud.positions[i]!, 5);
  });

  it("matches finite differences for un-posed centres, un-posing quaternions, skinning weights and directions", () => {
    const state = {
      count: baked.count,
      rest: Float64Array.from(baked.rest),
      skin: Float64Array.from(baked.skin),
      dirs: Float64Array.from(baked.dirs),
    };
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
    const worst = worstGradientError(loss, [
      { values: state.rest, grad: g.rest, skip: (k) => k % 8 === 3 }, // the padding slot
      { values: state.skin, grad: g.skin },
      { values: state.dirs, grad: g.dirs, step: 13 },
    ]);
    expect(worst).toBeLessThan(1e-3);
  });
});

describe("bake rig backward (CPU twin, float64)", () => {
  it("has the runtime's forward and matches finite differences for points and deformer outputs", async () => {
    const { bakeRigBackward, bakeRigTrain } = await import("./rig-grad");
    const avatar = createRandomAvatar(COMPACT, head, { count: 12, seed: 5 });
    const rand = mulberry32(4);
    const D = COMPACT.expressionCount * 3 + COMPACT.poseCorrectiveCount * 3 + 3 + COMPACT.jointCount;
    const inputs = {
      count: 12,
      points: Float64Array.from(avatar.points),
      deformerRaw: Float64Array.from({ length: 12 * D }, () => 0.01 * (rand() - 0.5)),
      prior: avatarPriors(avatar, head),
      canonA: bakeFrame(head, avatar.shape),
    };
    const fwd = bakeRigTrain(COMPACT, inputs);
    const K = COMPACT.expressionCount + COMPACT.poseCorrectiveCount;
    const ref = {
      rest: new Float32Array(12 * 8),
      skin: new Float32Array(12 * COMPACT.jointCount),
      dirs: new Float32Array(12 * K * 3),
    };
    bakeRigCpu(
      COMPACT,
      Float32Array.from(inputs.points),
      Float32Array.from(inputs.deformerRaw),
      inputs.prior,
      inputs.canonA,
      ref,
    );
    for (const key of ["rest", "skin", "dirs"] as const)
      for (let k = 0; k < ref[key].length; k++) expect(fwd[key][k]).toBeCloseTo(ref[key][k]!, 5);
    const wR = Float64Array.from({ length: fwd.rest.length }, (_, k) => (k % 8 === 3 ? 0 : rand() - 0.5));
    const wS = Float64Array.from({ length: fwd.skin.length }, () => rand() - 0.5);
    const wD = Float64Array.from({ length: fwd.dirs.length }, () => rand() - 0.5);
    const loss = () => {
      const f = bakeRigTrain(COMPACT, inputs);
      let s = 0;
      f.rest.forEach((v, k) => (s += v * wR[k]!));
      f.skin.forEach((v, k) => (s += v * wS[k]!));
      f.dirs.forEach((v, k) => (s += v * wD[k]!));
      return s;
    };
    const g = bakeRigBackward(COMPACT, inputs, wR, wS, wD);
    expect(
      worstGradientError(loss, [
        { values: inputs.points, grad: g.points },
        { values: inputs.deformerRaw, grad: g.deformerRaw, step: 7 },
      ]),
    ).toBeLessThan(1e-3);
  });
});
