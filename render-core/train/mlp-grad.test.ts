import { describe, expect, it } from "vitest";
import { mlpForwardTrain, mlpBackward } from "./mlp-grad";
import { initMlp, mlpForward, mlpParamCount, type MlpSpec } from "../avatar/mlp";
import { mulberry32 } from "../math/prng";

/** L = sum(out * w) for fixed random weights w, so dL/dout = w. */
function lossOf(spec: MlpSpec, params: Float64Array, input: Float64Array, batch: number, w: Float64Array): number {
  const { out } = mlpForwardTrain(spec, params, input, batch);
  return out.reduce((s, v, i) => s + v * w[i]!, 0);
}

const specs: Array<[string, MlpSpec]> = [
  ["softplus with a skip", { inputs: 5, hidden: 8, depth: 3, skipAt: 1, outputs: 4, activation: "softplus100" }],
  ["relu, no skip", { inputs: 4, hidden: 6, depth: 2, skipAt: null, outputs: 3, activation: "relu" }],
];

describe("MLP backward (CPU twin, float64)", () => {
  for (const [name, spec] of specs) {
    it(`matches finite differences for ${name}: weight norm v, g, biases and the input`, () => {
      const rand = mulberry32(9);
      const batch = 3;
      const params = Float64Array.from(initMlp(spec, 2)).map((v) => v + 0.05 * (rand() - 0.5));
      const input = Float64Array.from({ length: batch * spec.inputs }, () => rand() * 2 - 1);
      const w = Float64Array.from({ length: batch * spec.outputs }, () => rand() * 2 - 1);
      const { tape } = mlpForwardTrain(spec, params, input, batch);
      const { dParams, dInput } = mlpBackward(spec, params, tape, w);
      const eps = 1e-6;
      let worst = 0;
      const check = (arr: Float64Array, i: number, analytic: number) => {
        const keep = arr[i]!;
        arr[i] = keep + eps;
        const up = lossOf(spec, params, input, batch, w);
        arr[i] = keep - eps;
        const down = lossOf(spec, params, input, batch, w);
        arr[i] = keep;
        const fd = (up - down) / (2 * eps);
        // Relative, with an absolute floor: a saturated softplus unit has gradients of 1e-10 that FD reads as 0.
        worst = Math.max(worst, Math.abs(fd - analytic) / Math.max(Math.abs(fd), Math.abs(analytic), 1e-6));
      };
      for (let i = 0; i < mlpParamCount(spec); i += 7) check(params, i, dParams[i]!);
      for (let i = 0; i < input.length; i++) check(input, i, dInput[i]!);
      expect(worst).toBeLessThan(1e-3);
    });
  }

  it("computes the same forward as the inference MLP", () => {
    const spec = specs[0]![1];
    const params = initMlp(spec, 5);
    const input = new Float32Array(2 * spec.inputs).map((_, i) => Math.sin(i));
    const a = mlpForward(spec, params, input, 2);
    const { out } = mlpForwardTrain(spec, params, input, 2);
    for (let i = 0; i < a.length; i++) expect(out[i]).toBeCloseTo(a[i]!, 5);
  });

  it("treats a shared input tail exactly like the same numbers appended to every row", () => {
    const spec = specs[0]![1];
    const rand = mulberry32(4);
    const batch = 4,
      S = 3,
      own = spec.inputs - S;
    const params = Float64Array.from(initMlp(spec, 8)).map((v) => v + 0.05 * (rand() - 0.5));
    const rows = Float64Array.from({ length: batch * own }, () => rand() * 2 - 1);
    const shared = Float64Array.from({ length: S }, () => rand() * 2 - 1);
    const full = new Float64Array(batch * spec.inputs);
    for (let b = 0; b < batch; b++) {
      full.set(rows.subarray(b * own, (b + 1) * own), b * spec.inputs);
      full.set(shared, b * spec.inputs + own);
    }
    const dOut = Float64Array.from({ length: batch * spec.outputs }, () => rand() * 2 - 1);
    const a = mlpForwardTrain(spec, params, full, batch),
      b = mlpForwardTrain(spec, params, rows, batch, shared);
    for (let i = 0; i < a.out.length; i++) expect(b.out[i]).toBeCloseTo(a.out[i]!, 12);
    const ga = mlpBackward(spec, params, a.tape, dOut),
      gb = mlpBackward(spec, params, b.tape, dOut);
    for (let i = 0; i < ga.dParams.length; i++) expect(gb.dParams[i]).toBeCloseTo(ga.dParams[i]!, 10);
    const sharedSum = new Float64Array(S);
    for (let r = 0; r < batch; r++) {
      for (let i = 0; i < own; i++) expect(gb.dInput[r * own + i]).toBeCloseTo(ga.dInput[r * spec.inputs + i]!, 10);
      for (let j = 0; j < S; j++) sharedSum[j]! += ga.dInput[r * spec.inputs + own + j]!;
    }
    for (let j = 0; j < S; j++) expect(gb.dShared[j]).toBeCloseTo(sharedSum[j]!, 10);
  });
});
