import { afterAll, describe, expect, it } from "vitest";
import { getTestGpu } from "../../server/gpu/test-gpu";
import { mlpTrainGpu } from "./mlp-grad-gpu";
import { mlpBackward, mlpForwardTrain } from "./mlp-grad";
import { initMlp, type MlpSpec } from "../avatar/mlp";
import { mulberry32 } from "../math/prng";

const { gpu, skipReason } = await getTestGpu();
afterAll(() => gpu?.destroy());

const specs: Array<[string, MlpSpec, number]> = [
  ["softplus with a skip", { inputs: 7, hidden: 16, depth: 3, skipAt: 1, outputs: 5, activation: "softplus100" }, 0],
  ["relu, no skip", { inputs: 5, hidden: 12, depth: 2, skipAt: null, outputs: 11, activation: "relu" }, 0],
  [
    "softplus with a skip and 6 shared inputs (the conditioning)",
    { inputs: 10, hidden: 16, depth: 3, skipAt: 0, outputs: 11, activation: "softplus100" },
    6,
  ],
];

const worst = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let w = 0;
  for (let i = 0; i < b.length; i++) w = Math.max(w, Math.abs(a[i]! - b[i]!) / Math.max(1, Math.abs(b[i]!)));
  return w;
};

describe("MLP training pass: the runtime's forward and the WGSL backward agree with the CPU twin", () => {
  for (const [name, spec, S] of specs) {
    it(`gives the same output, weight, bias, input and shared-input gradients (${name})`, async (ctx) => {
      if (!gpu) return ctx.skip(skipReason!);
      const rand = mulberry32(3);
      const batch = 37;
      const params = initMlp(spec, 4).map((v) => v + 0.02 * (rand() - 0.5));
      const input = new Float32Array(batch * (spec.inputs - S)).map(() => rand() * 2 - 1);
      const shared = new Float32Array(S).map(() => rand() - 0.5);
      const dOut = new Float32Array(batch * spec.outputs).map(() => rand() - 0.5);
      const { out, tape } = mlpForwardTrain(spec, params, input, batch, S > 0 ? shared : undefined);
      const want = mlpBackward(spec, params, tape, dOut);
      const got = await mlpTrainGpu(gpu.device, spec, params, input, batch, dOut, shared);
      // float32 sums of up to a few dozen terms against float64.
      expect(worst(got.out, out)).toBeLessThan(1e-4);
      expect(worst(got.dInput, want.dInput)).toBeLessThan(1e-4);
      expect(worst(got.dParams, want.dParams)).toBeLessThan(1e-4);
      expect(worst(got.dShared, want.dShared)).toBeLessThan(1e-4);
      expect(want.dParams.some((v) => Math.abs(v) > 1e-3)).toBe(true);
      if (S > 0) expect(want.dShared.some((v) => Math.abs(v) > 1e-3)).toBe(true);
    });
  }
});
