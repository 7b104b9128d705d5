import { beforeAll, describe, expect, it } from "vitest";
import { COMPACT, PAPER, conditioningSize } from "./config";
import { buildConditioning } from "./latent";
import { initMlp, mlpForward, mlpLayers } from "./mlp";
import { foldInputTail } from "./fold";
import { avatarPriors, avatarSpecs, createRandomAvatar, type Avatar } from "./avatar";
import { bakeCpu } from "./bake.cpu";
import { deformCpu } from "./deform.cpu";
import { bakeFrame, deformFrame, matrixQuat, quatMul } from "./rig";
import {
  canonicalParams,
  createHeadModel,
  createHeadParams,
  evalSurfacePoints,
  poseVertices,
  rodrigues,
  type HeadModel,
} from "../head";
import { mulberry32 } from "../math/prng";

let head: HeadModel;
beforeAll(() => {
  head = createHeadModel();
});

/** The avatar with its deformer's output layer silenced: the Gaussians follow the head's priors exactly. */
function withoutResiduals(avatar: Avatar): Avatar {
  const spec = avatarSpecs(avatar.config).deformer;
  const deformer = avatar.weights.deformer.slice();
  const last = mlpLayers(spec).at(-1)!;
  deformer.fill(0, last.g, last.b + last.out);
  return { ...avatar, weights: { ...avatar.weights, deformer } };
}

function bake(avatar: Avatar, latents = avatar.neutralLatents) {
  return bakeCpu(avatar, avatarPriors(avatar, head), bakeFrame(head, avatar.shape), latents);
}

describe("folding the conditioning into the biases", () => {
  it("gives the same outputs as the full network on [input | conditioning], skip layer included", () => {
    for (const spec of [avatarSpecs(COMPACT).geometry, avatarSpecs(PAPER).deformer]) {
      const params = initMlp(spec, 3);
      const C = conditioningSize(COMPACT);
      const rand = mulberry32(5);
      const cond = buildConditioning(
        COMPACT,
        new Float32Array(COMPACT.categories.length * COMPACT.latentDim).map(() => rand() - 0.5),
      );
      expect(cond.length).toBe(C);
      const B = 16,
        own = spec.inputs - C;
      const x = new Float32Array(B * own).map(() => rand() - 0.5);
      const full = new Float32Array(B * spec.inputs);
      for (let b = 0; b < B; b++) {
        full.set(x.subarray(b * own, (b + 1) * own), b * spec.inputs);
        full.set(cond, b * spec.inputs + own);
      }
      const want = mlpForward(spec, params, full, B);
      const folded = foldInputTail(spec, params, cond);
      expect(folded.spec.inputs).toBe(own);
      const got = mlpForward(folded.spec, folded.params, x, B);
      let worst = 0;
      for (let i = 0; i < want.length; i++)
        worst = Math.max(worst, Math.abs(got[i]! - want[i]!) / Math.max(1, Math.abs(want[i]!)));
      expect(worst).toBeLessThan(1e-5);
    }
  });
});

describe("bake and deform (CPU twin)", () => {
  it("puts every Gaussian back where it was made when posed in the canonical pose", () => {
    const avatar = withoutResiduals(createRandomAvatar(COMPACT, head, { count: 400, seed: 2 }));
    const baked = bake(avatar);
    const canon = canonicalParams(head, avatar.shape);
    const cloud = deformCpu(avatar.config, baked, deformFrame(avatar.config, head, avatar.shape, { pose: canon.pose }));
    let worst = 0;
    for (let i = 0; i < avatar.points.length; i++)
      worst = Math.max(worst, Math.abs(cloud.positions[i]! - avatar.points[i]!));
    expect(worst).toBeLessThan(2e-6);
  });

  it("moves like the head model: expression and pose carry Gaussians with the mesh surface they hang on", () => {
    const avatar = withoutResiduals(createRandomAvatar(COMPACT, head, { count: 2000, seed: 3 }));
    const baked = bake(avatar);
    const expression = new Float32Array(head.expressionNames.length);
    expression[head.expressionNames.indexOf("smileL")] = 1;
    expression[head.expressionNames.indexOf("blinkR")] = 1;
    const pose = new Float32Array(15);
    pose[1] = 0.4; // global yaw
    pose[6] = 0.35; // jaw open
    const params = createHeadParams(head, { shape: avatar.shape, expression, pose });
    const cloud = deformCpu(avatar.config, baked, deformFrame(avatar.config, head, avatar.shape, { expression, pose }));
    const surface = evalSurfacePoints(
      poseVertices(head, params),
      head.faces,
      Array.from({ length: avatar.count }, (_, i) => ({
        face: avatar.anchorFace[i]!,
        bary: [avatar.anchorBary[i * 3]!, avatar.anchorBary[i * 3 + 1]!, avatar.anchorBary[i * 3 + 2]!] as [
          number,
          number,
          number,
        ],
      })),
    );
    let worst = 0,
      sum = 0,
      moved = 0;
    for (let i = 0; i < avatar.count; i++) {
      const err = Math.hypot(
        cloud.positions[i * 3]! - surface[i * 3]!,
        cloud.positions[i * 3 + 1]! - surface[i * 3 + 1]!,
        cloud.positions[i * 3 + 2]! - surface[i * 3 + 2]!,
      );
      worst = Math.max(worst, err);
      sum += err;
      moved = Math.max(
        moved,
        Math.hypot(
          cloud.positions[i * 3]! - avatar.points[i * 3]!,
          cloud.positions[i * 3 + 2]! - avatar.points[i * 3 + 2]!,
        ),
      );
    }
    // Interpolated weights on an interpolated point differ from interpolated skinned vertices only to second order.
    expect(sum / avatar.count).toBeLessThan(2e-4);
    expect(worst).toBeLessThan(2e-3);
    expect(moved).toBeGreaterThan(0.03); // a 23-degree turn moves the face by centimetres
  });

  it("turns each Gaussian's orientation with the head", () => {
    const avatar = withoutResiduals(createRandomAvatar(COMPACT, head, { count: 300, seed: 4 }));
    const baked = bake(avatar);
    const canon = canonicalParams(head, avatar.shape);
    const rest = deformCpu(avatar.config, baked, deformFrame(avatar.config, head, avatar.shape, { pose: canon.pose }));
    const turned = canon.pose.slice();
    turned[1] = 0.5;
    const moved = deformCpu(avatar.config, baked, deformFrame(avatar.config, head, avatar.shape, { pose: turned }));
    const yaw = matrixQuat(Array.from(rodrigues(0, 0.5, 0)).flatMap((v, k) => (k % 3 === 2 ? [v, 0] : [v])));
    let worst = 0;
    for (let i = 0; i < avatar.count; i++) {
      const want = quatMul(yaw, rest.rotations.subarray(i * 4, i * 4 + 4));
      const dot = Math.abs(want.reduce((s, v, k) => s + v * moved.rotations[i * 4 + k]!, 0));
      worst = Math.max(worst, 1 - dot);
    }
    expect(worst).toBeLessThan(1e-6);
  });

  it("lets appearance follow the expression through the gaussian network, and only then", () => {
    const avatar = createRandomAvatar(COMPACT, head, { count: 500, seed: 5 });
    const baked = bake(avatar);
    const neutral = deformCpu(avatar.config, baked, deformFrame(avatar.config, head, avatar.shape, {}));
    const turned = deformCpu(
      avatar.config,
      baked,
      deformFrame(avatar.config, head, avatar.shape, { pose: [0, 0.3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0] }),
    );
    const expression = new Float32Array(head.expressionNames.length);
    expression[head.expressionNames.indexOf("smileL")] = 1;
    const smiling = deformCpu(avatar.config, baked, deformFrame(avatar.config, head, avatar.shape, { expression }));
    const colourChange = (a: Float32Array, b: Float32Array) =>
      a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);
    // A head turn moves no Gaussian relative to the head: its colour stays exactly.
    expect(colourChange(neutral.colors, turned.colors)).toBe(0);
    // Untrained and fed offsets of millimetres, the network's effect is small but not zero.
    expect(colourChange(neutral.colors, smiling.colors)).toBeGreaterThan(1e-5);
    for (const v of [...smiling.colors, ...smiling.opacities]) expect(v >= 0 && v <= 1).toBe(true);
    for (const v of smiling.scales) expect(v > 0 && v <= COMPACT.scaleMax).toBe(true);
  });

  it("changes the appearance when a latent changes and keeps it when it does not", () => {
    const avatar = createRandomAvatar(COMPACT, head, { count: 200, seed: 6 });
    const a = bake(avatar);
    const again = bake(avatar);
    expect(Array.from(again.geomRaw)).toEqual(Array.from(a.geomRaw));
    const edited = avatar.neutralLatents.slice();
    const hair = COMPACT.categories.indexOf("hair");
    edited.set(avatar.anchors.find((x) => x.category === "hair")!.latent, hair * COMPACT.latentDim);
    const b = bake(avatar, edited);
    let change = 0;
    for (let i = 0; i < a.geomRaw.length; i++) change = Math.max(change, Math.abs(a.geomRaw[i]! - b.geomRaw[i]!));
    expect(change).toBeGreaterThan(1e-2);
  });

  it("adds the per-Gaussian appearance to the colour logits only, the same under every latent", () => {
    const avatar = createRandomAvatar(COMPACT, head, { count: 300, seed: 7 });
    const rand = mulberry32(8);
    const appearance = new Float32Array(avatar.count * 3).map(() => 2 * rand() - 1);
    const edited = avatar.neutralLatents.slice();
    edited.set(
      avatar.anchors.find((x) => x.category === "hair")!.latent,
      COMPACT.categories.indexOf("hair") * COMPACT.latentDim,
    );
    for (const latents of [avatar.neutralLatents, edited]) {
      const plain = bake(avatar, latents);
      const zero = bake({ ...avatar, appearance: new Float32Array(avatar.count * 3) }, latents);
      const withRes = bake({ ...avatar, appearance }, latents);
      // No residual and a residual of zeros bake the same bits (old bundles load without one).
      expect(Array.from(zero.geomRaw)).toEqual(Array.from(plain.geomRaw));
      let worst = 0;
      for (let i = 0; i < avatar.count; i++)
        for (let k = 0; k < 11; k++) {
          const want = plain.geomRaw[i * 11 + k]! + (k < 3 ? appearance[i * 3 + k]! : 0);
          worst = Math.max(worst, Math.abs(withRes.geomRaw[i * 11 + k]! - want));
        }
      expect(worst).toBeLessThan(1e-6); // one float32 addition
      const frame = deformFrame(avatar.config, head, avatar.shape, {});
      const a = deformCpu(avatar.config, plain, frame),
        b = deformCpu(avatar.config, withRes, frame);
      expect(Array.from(b.scales)).toEqual(Array.from(a.scales));
      expect(Array.from(b.opacities)).toEqual(Array.from(a.opacities));
      // Colour = sigmoid(logit + residual): check one Gaussian's channel exactly through the inverse.
      const logit = (c: number) => Math.log(c / (1 - c));
      expect(logit(b.colors[5]!) - logit(a.colors[5]!)).toBeCloseTo(appearance[5]!, 4);
    }
    expect(() => bake({ ...avatar, appearance: new Float32Array(7) })).toThrow(/addAppearanceCpu: appearance holds 7/);
  });

  it("refuses a frame with more expressions than the avatar has", () => {
    expect(() =>
      deformFrame(COMPACT, head, new Float32Array(head.shapeNames.length), {
        expression: new Float32Array(COMPACT.expressionCount + 1),
      }),
    ).toThrow(/expression coefficients, the avatar has 24/);
  });
});
