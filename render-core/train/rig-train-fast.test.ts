import { beforeAll, describe, expect, it } from "vitest";
import { bakeRigBackward, bakeRigTrain, deformRigBackward, deformRigTrain } from "./rig-grad";
import { bakeRigBackwardFast, bakeRigTrainFast, deformRigBackwardFast, deformRigTrainFast } from "./rig-train-fast";
import { worstGradientError } from "./finite-diff";
import { COMPACT } from "../avatar/config";
import { avatarPriors, createRandomAvatar } from "../avatar/avatar";
import { bakeFrame, deformFrame } from "../avatar/rig";
import { deformerOutputs } from "../avatar/networks";
import { createHeadModel, type HeadModel } from "../head";
import { mulberry32 } from "../math/prng";

/** Largest |got - want| relative to the largest |want|. */
function relDiff(want: ArrayLike<number>, got: ArrayLike<number>): number {
  let scale = 0,
    diff = 0;
  for (let i = 0; i < want.length; i++) {
    scale = Math.max(scale, Math.abs(want[i]!));
    diff = Math.max(diff, Math.abs(want[i]! - got[i]!));
  }
  return diff / Math.max(scale, 1e-300);
}

let head: HeadModel;
beforeAll(() => {
  head = createHeadModel();
});

/** A baked rig from random deformer outputs, and a posed frame with expressions. */
function scene(count: number, seed: number) {
  const avatar = createRandomAvatar(COMPACT, head, { count, seed });
  const rand = mulberry32(seed);
  const inputs = {
    count,
    points: Float64Array.from(avatar.points),
    deformerRaw: Float64Array.from({ length: count * deformerOutputs(COMPACT) }, () => 0.02 * (rand() - 0.5)),
    prior: avatarPriors(avatar, head),
    canonA: bakeFrame(head, avatar.shape),
  };
  const frame = deformFrame(COMPACT, head, avatar.shape, {
    expression: [0.6, 0.4, 0, 0.3],
    pose: [0.1, 0.4, 0, 0, 0.1, 0, 0.25, 0, 0, 0, 0, 0, 0, 0, 0],
  });
  return { inputs, frame, rand };
}

describe("fast rig passes", () => {
  it("bake: the reference's rest, skin and directions, and its backward", () => {
    const { inputs, rand } = scene(50, 3);
    const ref = bakeRigTrain(COMPACT, inputs),
      fast = bakeRigTrainFast(COMPACT, inputs);
    // sqrt for hypot in the quaternion norm: a few ulps.
    for (const k of ["rest", "skin", "dirs"] as const) expect(relDiff(ref[k], fast[k])).toBeLessThan(1e-13);
    const dRest = Float64Array.from({ length: ref.rest.length }, (_, k) => (k % 8 === 3 ? 0 : rand() - 0.5));
    const dSkin = Float64Array.from({ length: ref.skin.length }, () => rand() - 0.5);
    const dDirs = Float64Array.from({ length: ref.dirs.length }, () => rand() - 0.5);
    const g0 = bakeRigBackward(COMPACT, inputs, dRest, dSkin, dDirs),
      g1 = bakeRigBackwardFast(COMPACT, inputs, fast, dRest, dSkin, dDirs);
    expect(relDiff(g0.points, g1.points)).toBeLessThan(1e-12);
    expect(relDiff(g0.deformerRaw, g1.deformerRaw)).toBeLessThan(1e-12);
  });

  it("deform: the reference's outputs, and its backward summed over two frames into the caller's arrays", () => {
    const { inputs, frame, rand } = scene(50, 4);
    const state = { count: 50, ...bakeRigTrain(COMPACT, inputs) };
    const ref = deformRigTrain(COMPACT, state, frame),
      fast = deformRigTrainFast(COMPACT, state, frame);
    for (const k of ["positions", "rotations", "offsets"] as const)
      expect(relDiff(ref[k], fast[k])).toBeLessThan(1e-13);
    const frame2 = frame.map((v, k) => v + 0.01 * Math.sin(k));
    const acc = {
      rest: new Float64Array(state.rest.length),
      skin: new Float64Array(state.skin.length),
      dirs: new Float64Array(state.dirs.length),
    };
    const want = {
      rest: new Float64Array(acc.rest.length),
      skin: new Float64Array(acc.skin.length),
      dirs: new Float64Array(acc.dirs.length),
    };
    for (const f of [frame, frame2]) {
      const dP = Float64Array.from({ length: 150 }, () => rand() - 0.5);
      const dQ = Float64Array.from({ length: 200 }, () => rand() - 0.5);
      const dO = Float64Array.from({ length: 150 }, () => 30 * (rand() - 0.5));
      const g = deformRigBackward(COMPACT, state, f, dP, dQ, dO);
      for (const k of ["rest", "skin", "dirs"] as const) for (let i = 0; i < g[k].length; i++) want[k][i]! += g[k][i]!;
      deformRigBackwardFast(COMPACT, state, f, dP, dQ, dO, acc);
    }
    for (const k of ["rest", "skin", "dirs"] as const) expect(relDiff(want[k], acc[k])).toBeLessThan(1e-12);
    expect(() =>
      deformRigBackwardFast(COMPACT, state, frame, [], [], undefined, { ...acc, skin: new Float64Array(3) }),
    ).toThrow(/deformRigBackwardFast: acc must be \[50, 8\]/);
  });

  it("deform backward matches finite differences of the fast forward", () => {
    const { inputs, frame, rand } = scene(12, 5);
    const b = bakeRigTrain(COMPACT, inputs);
    const state = { count: 12, rest: b.rest, skin: b.skin, dirs: b.dirs };
    const wP = Float64Array.from({ length: 36 }, () => rand() - 0.5);
    const wQ = Float64Array.from({ length: 48 }, () => rand() - 0.5);
    const wD = Float64Array.from({ length: 36 }, () => 50 * (rand() - 0.5));
    const loss = () => {
      const o = deformRigTrainFast(COMPACT, state, frame);
      let s = 0;
      for (let i = 0; i < 36; i++) s += o.positions[i]! * wP[i]! + o.offsets[i]! * wD[i]!;
      for (let i = 0; i < 48; i++) s += o.rotations[i]! * wQ[i]!;
      return s;
    };
    const acc = {
      rest: new Float64Array(b.rest.length),
      skin: new Float64Array(b.skin.length),
      dirs: new Float64Array(b.dirs.length),
    };
    deformRigBackwardFast(COMPACT, state, frame, wP, wQ, wD, acc);
    const worst = worstGradientError(loss, [
      { values: state.rest, grad: acc.rest, skip: (k) => k % 8 === 3 }, // the padding slot
      { values: state.skin, grad: acc.skin },
      { values: state.dirs, grad: acc.dirs, step: 13 },
    ]);
    expect(worst).toBeLessThan(1e-3);
  });
});
