import { afterAll, describe, expect, it } from "vitest";
import * as ort from "onnxruntime-node";
import { COMPACT, PAPER } from "../../render-core/avatar/config";
import { initMlp, mlpForward, type MlpSpec } from "../../render-core/avatar/mlp";
import { deformerSpec, gaussianSpec, geometrySpec } from "../../render-core/avatar/networks";
import { writeOnnxMlp } from "../../render-core/formats/write-onnx";
import { mulberry32 } from "../../render-core/math/prng";
import { GpuMlp } from "../../render-core/avatar/mlp-gpu";
import { getTestGpu } from "../gpu/test-gpu";

const { gpu, skipReason } = await getTestGpu();
afterAll(() => gpu?.destroy());

async function runOnnx(bytes: Uint8Array, input: Float32Array, batch: number, inputs: number): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(bytes, { executionProviders: ["cpu"] });
  const result = await session.run({ x: new ort.Tensor("float32", input, [batch, inputs]) });
  return result.y!.data as Float32Array;
}

function worstError(a: Float32Array, b: Float32Array): number {
  let worst = 0;
  // Relative to the magnitude, absolute near zero: float32 sums over up to ~900 terms.
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!) / Math.max(1, Math.abs(b[i]!)));
  return worst;
}

const cases: Array<[string, MlpSpec, number]> = [
  ["compact geometry", geometrySpec(COMPACT), 256],
  ["compact deformer", deformerSpec(COMPACT), 256],
  ["compact gaussian", gaussianSpec(COMPACT), 256],
  ["paper geometry", geometrySpec(PAPER), 16],
  ["paper deformer (relu)", { ...deformerSpec(PAPER), activation: "relu" }, 16],
];

describe("avatar networks: CPU twin, WGSL and onnxruntime-node agree", () => {
  for (const [name, spec, batch] of cases) {
    it(`agree within 1e-4 for the ${name} network`, async (ctx) => {
      if (!gpu) return ctx.skip(skipReason!);
      const rand = mulberry32(batch + spec.inputs);
      const params = initMlp(spec, 7);
      const input = new Float32Array(batch * spec.inputs).map(() => rand() * 2 - 1);
      const want = mlpForward(spec, params, input, batch);
      const got = await runOnnx(writeOnnxMlp(spec, params, name), input, batch, spec.inputs);
      expect(got.length).toBe(want.length);
      expect(worstError(got, want)).toBeLessThan(1e-4);
      const mlp = new GpuMlp(gpu.device, spec, params);
      const wgsl = await mlp.forward(input, batch);
      mlp.destroy();
      expect(worstError(wgsl, want)).toBeLessThan(1e-4);
      expect(worstError(wgsl, got)).toBeLessThan(1e-4);
      // Not trivially zero: the network says something.
      expect(want.some((v) => Math.abs(v) > 1e-2)).toBe(true);
    });
  }

  it("refuses parameters that do not fit the spec", () => {
    expect(() => writeOnnxMlp(geometrySpec(COMPACT), new Float32Array(3))).toThrow(/params hold 3 numbers/);
  });
});
