import { describe, expect, it } from "vitest";
import { mlpBackwardFast, mlpForwardFast, mlpForwardTrainFast } from "./mlp-train-fast";
import { mlpBackward, mlpForwardTrain } from "./mlp-grad";
import { JS_GEMM, WASM_GEMM, type Gemm } from "./gemm";
import { SOFTPLUS_TABLE_ERROR, softplus100Layer } from "./softplus-table";
import { worstGradientError } from "./finite-diff";
import { initMlp, mlpForward, mlpParamCount, softplus100, type MlpSpec } from "../avatar/mlp";
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

interface Case {
  name: string;
  spec: MlpSpec;
  shared: number;
  batch: number;
}

const CASES: Case[] = [
  {
    name: "softplus, a skip and a shared tail",
    spec: { inputs: 9, hidden: 8, depth: 3, skipAt: 1, outputs: 5, activation: "softplus100" },
    shared: 4,
    batch: 7,
  },
  {
    name: "relu, no skip, no tail",
    spec: { inputs: 4, hidden: 6, depth: 2, skipAt: null, outputs: 3, activation: "relu" },
    shared: 0,
    batch: 5,
  },
  // The compact geometry network's shape (39 encoded inputs + a conditioning tail), at a batch off the 4-row blocks.
  {
    name: "the compact geometry network's shape",
    spec: { inputs: 39 + 41, hidden: 64, depth: 4, skipAt: 2, outputs: 11, activation: "softplus100" },
    shared: 41,
    batch: 37,
  },
];

function setup(c: Case, seed: number) {
  const rand = mulberry32(seed);
  const own = c.spec.inputs - c.shared;
  // Perturbed He init: the pre-activations then spread over the table's range and past it.
  const params = Float64Array.from(initMlp(c.spec, seed)).map((v) => v + 0.05 * (rand() - 0.5));
  const input = Float64Array.from({ length: c.batch * own }, () => rand() * 2 - 1);
  const shared = c.shared > 0 ? Float64Array.from({ length: c.shared }, () => rand() * 2 - 1) : undefined;
  const dOut = Float64Array.from({ length: c.batch * c.spec.outputs }, () => rand() * 2 - 1);
  return { params, input, shared, dOut };
}

const backends: Array<[string, Gemm]> = [
  ["JavaScript", JS_GEMM],
  ...(WASM_GEMM ? [["SIMD", WASM_GEMM] as [string, Gemm]] : []),
];

describe("fast MLP training pass", () => {
  for (const [backend, gemm] of backends)
    for (const c of CASES)
      it(`gives the reference's output and gradients (${c.name}, ${backend} products)`, () => {
        const { params, input, shared, dOut } = setup(c, 3);
        const ref = mlpForwardTrain(c.spec, params, input, c.batch, shared);
        const fast = mlpForwardTrainFast(c.spec, params, input, c.batch, shared, gemm);
        // The softplus table is within 2e-13 of softplus100 per unit (measured 5e-14 relative); relu: rounding.
        expect(relDiff(ref.out, fast.out)).toBeLessThan(1e-9);
        const g0 = mlpBackward(c.spec, params, ref.tape, dOut);
        const g1 = mlpBackwardFast(c.spec, params, fast.tape, dOut, gemm);
        // The brief's bound; measured 2e-12 to 8e-12 with softplus (the slope table), 4e-16 with relu.
        expect(relDiff(g0.dParams, g1.dParams)).toBeLessThan(1e-6);
        expect(relDiff(g0.dInput, g1.dInput)).toBeLessThan(1e-6);
        if (c.shared > 0) expect(relDiff(g0.dShared, g1.dShared)).toBeLessThan(1e-6);
        expect(g1.dShared.length).toBe(c.shared);
      });

  for (const c of CASES.slice(0, 2))
    it(`matches finite differences of its own forward (${c.name}): v, g, biases, input, shared`, () => {
      const { params, input, shared, dOut } = setup(c, 5);
      const sharedValues = shared ?? new Float64Array(0);
      const loss = () => {
        const { out } = mlpForwardTrainFast(c.spec, params, input, c.batch, shared);
        let s = 0;
        for (let k = 0; k < out.length; k++) s += out[k]! * dOut[k]!;
        return s;
      };
      const { tape } = mlpForwardTrainFast(c.spec, params, input, c.batch, shared);
      const g = mlpBackwardFast(c.spec, params, tape, dOut);
      const worst = worstGradientError(loss, [
        { values: params, grad: g.dParams, step: 3 },
        { values: input, grad: g.dInput },
        { values: sharedValues, grad: g.dShared },
      ]);
      expect(worst).toBeLessThan(1e-3);
    });

  it("refuses inputs of the wrong size with the sizes in the message", () => {
    const c = CASES[0]!;
    const { params, input, shared } = setup(c, 1);
    expect(() => mlpForwardTrainFast(c.spec, params.subarray(1), input, c.batch, shared)).toThrow(
      new RegExp(`mlpForwardTrainFast: params hold ${mlpParamCount(c.spec) - 1} numbers`),
    );
    expect(() => mlpForwardTrainFast(c.spec, params, input.subarray(1), c.batch, shared)).toThrow(
      /mlpForwardTrainFast: input must be \[7, 5\]/,
    );
    const { tape } = mlpForwardTrainFast(c.spec, params, input, c.batch, shared);
    expect(() => mlpBackwardFast(c.spec, params, tape, new Float64Array(3))).toThrow(
      /mlpBackwardFast: dOut must be \[7, 5\]/,
    );
  });
});

describe("softplus table", () => {
  it("stays within its stated error of softplus100 and sigmoid(100 s), on and past the table's range", () => {
    const n = 200001;
    const s = Float64Array.from({ length: n }, (_, k) => -0.45 + (0.9 * k) / (n - 1));
    const y = new Float64Array(s),
      slope = new Float64Array(n);
    softplus100Layer(y, slope, new Float64Array(1), n, 1);
    let worstY = 0,
      worstSlope = 0;
    for (let k = 0; k < n; k++) {
      const t = 100 * s[k]!;
      const sig = t >= 0 ? 1 / (1 + Math.exp(-t)) : Math.exp(t) / (1 + Math.exp(t));
      worstY = Math.max(worstY, Math.abs(100 * y[k]! - 100 * softplus100(s[k]!)));
      worstSlope = Math.max(worstSlope, Math.abs(slope[k]! - sig));
    }
    expect(worstY).toBeLessThan(SOFTPLUS_TABLE_ERROR);
    expect(worstSlope).toBeLessThan(SOFTPLUS_TABLE_ERROR);
    // Not trivially small: a table of this spacing cannot be exact.
    expect(worstY).toBeGreaterThan(1e-14);
    // Without slopes (a forward with no backward): the same values to the bit.
    const valuesOnly = new Float64Array(s);
    softplus100Layer(valuesOnly, null, new Float64Array(1), n, 1);
    expect(valuesOnly).toEqual(y);
  });

  it("adds the bias per column and lets NaN through", () => {
    const y = Float64Array.from([0.01, -0.02, NaN, 0.5]),
      slope = new Float64Array(4);
    softplus100Layer(y, slope, Float64Array.from([0.005, -0.01]), 2, 2);
    expect(y[0]).toBeCloseTo(softplus100(0.015), 12);
    expect(y[1]).toBeCloseTo(softplus100(-0.03), 12);
    expect(y[2]).toBeNaN();
    expect(slope[2]).toBeNaN();
    expect(y[3]).toBe(0.49); // 100 s > 37: the exact tail
    expect(slope[3]).toBe(1);
  });
});

describe("mlpForwardFast (the runtime's forward, no tape)", () => {
  it("gives the reference mlpForward's outputs, call after call, whatever the batch", () => {
    const rand = mulberry32(11);
    const specs: MlpSpec[] = [
      { inputs: 9, hidden: 16, depth: 4, skipAt: 1, outputs: 11, activation: "softplus100" },
      { inputs: 3, hidden: 8, depth: 2, skipAt: null, outputs: 5, activation: "relu" },
    ];
    // Big, small, then big again: the grow-only buffers must not leak one call's numbers into the next.
    for (const batch of [300, 7, 301]) {
      for (const spec of specs) {
        const params = initMlp(spec, batch);
        const input = Float32Array.from({ length: batch * spec.inputs }, () => rand() * 2 - 1);
        const want = mlpForward(spec, params, input, batch);
        const got = mlpForwardFast(spec, params, input, batch);
        expect(got).toBeInstanceOf(Float32Array);
        expect(got.length).toBe(want.length);
        expect(relDiff(want, got)).toBeLessThan(1e-6);
      }
    }
    expect(() => mlpForwardFast(specs[1]!, new Float32Array(3), new Float32Array(3), 1)).toThrow(
      /^mlpForwardFast: params hold 3 numbers/,
    );
  });
});
