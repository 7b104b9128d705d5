import { afterAll, describe, expect, it } from "vitest";
import { getTestGpu } from "../../server/gpu/test-gpu";
import { mlpTrainGpu } from "./mlp-grad-gpu";
import { mlpBackward, mlpForwardTrain } from "./mlp-grad";
import { initMlp, type MlpSpec } from "../avatar/mlp";
import { mulberry32 } from "../math/prng";

const { gpu, skipReason } = await getTestGpu();
afterAll(() => gpu?.destroy());

const specs: Array<[string, MlpSpec]> = [
  ["softplus with a skip", { inputs: 7, hidden: 16, depth: 3, skipAt: 1, outputs: 5, activation: "softplus100" }],
  ["relu, no skip", { inputs: 5, hidden: 12, depth: 2, skipAt: null, outputs: 11, activation: "relu" }],
];

describe("MLP training pass: WGSL agrees with the CPU twin", () => {
  for (const [name, spec] of specs) {
    it(`gives the same output, weight, bias and input gradients (${name})`, async (ctx) => {
      if (!gpu) return ctx.skip(skipReason!);
      const rand = mulberry32(3);
      const batch = 37;
      const params = initMlp(spec, 4).map((v) => v + 0.02 * (rand() - 0.5));
      const input = new Float32Array(batch * spec.inputs).map(() => rand() * 2 - 1);
      const dOut = new Float32Array(batch * spec.outputs).map(() => rand() - 0.5);
      const { out, tape } = mlpForwardTrain(spec, params, input, batch);
      const want = mlpBackward(spec, params, tape, dOut);
      const got = await mlpTrainGpu(gpu.device, spec, params, input, batch, dOut);
      const worst = (a: ArrayLike<number>, b: ArrayLike<number>) => {
        let w = 0;
        for (let i = 0; i < a.length; i++) w = Math.max(w, Math.abs(a[i]! - b[i]!) / Math.max(1, Math.abs(b[i]!)));
        return w;
      };
      expect(worst(got.out, out)).toBeLessThan(1e-4);
      expect(worst(got.dInput, want.dInput)).toBeLessThan(1e-4);
      expect(worst(got.dParams, want.dParams)).toBeLessThan(1e-4);
      expect(want.dParams.some((v) => Math.abs(v) > 1e-3)).toBe(true);
    });
  }
});
