/**
 * WebGPU host of shaders/train/mlp-grad.wgsl.ts: one training pass of an
 * avatar MLP (forward keeping pre-activations, then backward to weights,
 * biases and the input). CPU twin: ./mlp-grad.ts. Weight norm is folded
 * before the forward and unfolded after the backward on the host (O(params)).
 * One-shot: buffers live for one call (a trainer with persistent buffers and
 * fused kernels comes with the training driver).
 */
import { GRID_WGSL } from "../../shaders/common/grid.wgsl";
import { MLP_GRAD_WGSL } from "../../shaders/train/mlp-grad.wgsl";
import { SOFTPLUS_WGSL } from "../../shaders/avatar/mlp.wgsl";
import { BufferUsage } from "../gpu/flags";
import { createBuffer, createBufferFrom } from "../gpu/buffers";
import { getKernel, u32c, type Kernel } from "../gpu/kernel";
import { readBuffer } from "../gpu/readback";
import { UniformLayout } from "../gpu/uniforms";
import { foldLayer, mlpLayers, mlpParamCount, type MlpSpec } from "../avatar/mlp";

const WG = 64;

export const MLP_GRAD_PARAMS = new UniformLayout("MlpGradParams", [
  ["batch", "u32"],
  ["inputs", "u32"],
  ["outputs", "u32"],
  ["splitAt", "u32"],
  ["srcStride", "u32"],
  ["xStride", "u32"],
  ["activation", "u32"],
  ["pad", "u32"],
] as const);

const BINDINGS = [
  { name: "params", kind: "uniform" },
  { name: "weights", kind: "read-only-storage" },
  { name: "src", kind: "read-only-storage" },
  { name: "x", kind: "read-only-storage" },
  { name: "pre", kind: "read-only-storage" },
  { name: "grad", kind: "read-only-storage" },
  { name: "outA", kind: "storage" },
  { name: "outB", kind: "storage" },
] as const;

function kernel(device: GPUDevice, entryPoint: string): Kernel {
  return getKernel(device, {
    label: entryPoint,
    code: [MLP_GRAD_PARAMS.wgsl, GRID_WGSL, SOFTPLUS_WGSL, MLP_GRAD_WGSL],
    entryPoint,
    constants: { WG: u32c(WG) },
    bindings: BINDINGS,
  });
}

export interface MlpTrainResult {
  out: Float32Array;
  dParams: Float64Array;
  dInput: Float32Array;
}

export async function mlpTrainGpu(
  device: GPUDevice,
  spec: MlpSpec,
  params: Float32Array,
  input: Float32Array,
  batch: number,
  dOut: Float32Array,
): Promise<MlpTrainResult> {
  if (params.length !== mlpParamCount(spec))
    throw new Error(`mlpTrainGpu: params hold ${params.length} numbers, the spec needs ${mlpParamCount(spec)}`);
  if (input.length !== batch * spec.inputs || dOut.length !== batch * spec.outputs)
    throw new Error(`mlpTrainGpu: input must be [${batch}, ${spec.inputs}] and dOut [${batch}, ${spec.outputs}]`);
  const layers = mlpLayers(spec);
  const S = BufferUsage.STORAGE | BufferUsage.COPY_SRC | BufferUsage.COPY_DST;
  const owned: GPUBuffer[] = [];
  const buf = (floats: number, label: string) => {
    const b = createBuffer(device, label, Math.max(4, floats * 4), S);
    owned.push(b);
    return b;
  };
  const from = (data: Float32Array, label: string) => {
    const b = createBufferFrom(device, label, data, S);
    owned.push(b);
    return b;
  };
  // Unused bindings: one buffer for the read-only ones, another for a writable one (a buffer bound writable may not alias).
  const dummy = buf(1, "mlpGrad.unusedRead"),
    dummyRw = buf(1, "mlpGrad.unusedWrite");
  const x = from(input, "mlpGrad.x");
  const activation = spec.activation === "softplus100" ? 1 : 2;
  const encoder = device.createCommandEncoder({ label: "mlpTrain" });
  const run = (
    entry: string,
    threads: number,
    u: Record<"batch" | "inputs" | "outputs" | "splitAt" | "srcStride" | "xStride" | "activation" | "pad", number>,
    res: Record<string, GPUBuffer>,
  ) => {
    const params = MLP_GRAD_PARAMS.createBuffer(device, `mlpGrad.${entry}`, u);
    owned.push(params);
    kernel(device, entry).encodeThreads(
      encoder,
      { params, weights: dummy, src: dummy, x: dummy, pre: dummy, grad: dummy, outA: dummyRw, outB: dummyRw, ...res },
      threads,
      WG,
    );
  };
  // Per layer: folded weights [out, in] then bias, its source rows, and where the network input starts.
  const W = layers.map((l, k) => {
    const w = foldLayer(params, l);
    const packed = new Float32Array(w.length + l.out);
    packed.set(w);
    packed.set(params.subarray(l.b, l.b + l.out), w.length);
    return from(packed, `mlpGrad.W${k}`);
  });
  const split = layers.map((l, k) =>
    k === 0 ? 0 : spec.skipAt !== null && k === spec.skipAt + 1 ? spec.hidden : l.in,
  );
  const src: GPUBuffer[] = [],
    pre: GPUBuffer[] = [],
    post: GPUBuffer[] = [];
  layers.forEach((l, k) => {
    src.push(k === 0 ? x : post[k - 1]!);
    pre.push(buf(batch * l.out, `mlpGrad.pre${k}`));
    post.push(buf(batch * l.out, `mlpGrad.post${k}`));
    const srcStride = k === 0 ? spec.inputs : spec.hidden;
    run(
      "mlpLayerTrain",
      batch * l.out,
      {
        batch,
        inputs: l.in,
        outputs: l.out,
        splitAt: split[k]!,
        srcStride,
        xStride: spec.inputs,
        activation: l.activated ? activation : 0,
        pad: 0,
      },
      { weights: W[k]!, src: src[k]!, x, outA: post[k]!, outB: pre[k]! },
    );
  });
  const dX = buf(batch * spec.inputs, "mlpGrad.dX");
  encoder.clearBuffer(dX);
  const dW: GPUBuffer[] = new Array(layers.length);
  let dy = from(dOut, "mlpGrad.dOut");
  for (let k = layers.length - 1; k >= 0; k--) {
    const l = layers[k]!;
    const u = {
      batch,
      inputs: l.in,
      outputs: l.out,
      splitAt: split[k]!,
      srcStride: k === 0 ? spec.inputs : spec.hidden,
      xStride: spec.inputs,
      activation: l.activated ? activation : 0,
      pad: 0,
    };
    const ds = buf(batch * l.out, `mlpGrad.ds${k}`);
    run("mlpActBackward", batch * l.out, u, { pre: pre[k]!, grad: dy, outA: ds });
    dW[k] = buf(l.out * (l.in + 1), `mlpGrad.dW${k}`);
    run("mlpGradWeight", l.out * (l.in + 1), u, { src: src[k]!, x, grad: ds, outA: dW[k]! });
    const dSrc = buf(batch * Math.max(1, split[k]!), `mlpGrad.dSrc${k}`);
    run("mlpGradInput", batch * l.in, u, { weights: W[k]!, grad: ds, outA: dSrc, outB: dX });
    dy = dSrc;
  }
  device.queue.submit([encoder.finish()]);
  try {
    const out = new Float32Array(await readBuffer(device, post.at(-1)!, batch * spec.outputs * 4));
    const dInput = new Float32Array(await readBuffer(device, dX, batch * spec.inputs * 4));
    const dParams = new Float64Array(mlpParamCount(spec));
    for (const [k, l] of layers.entries()) {
      const g = new Float32Array(await readBuffer(device, dW[k]!, l.out * (l.in + 1) * 4));
      // Unfold weight norm: dg = dW . u, dv = (g / n)(dW - (dW . u) u), u = v / n.
      for (let o = 0; o < l.out; o++) {
        let n2 = 0;
        for (let i = 0; i < l.in; i++) n2 += params[l.v + o * l.in + i]! ** 2;
        const n = Math.max(Math.sqrt(n2), 1e-12),
          gain = params[l.g + o]!;
        let dot = 0;
        for (let i = 0; i < l.in; i++) dot += g[o * (l.in + 1) + i]! * (params[l.v + o * l.in + i]! / n);
        dParams[l.g + o] = dot;
        for (let i = 0; i < l.in; i++)
          dParams[l.v + o * l.in + i] = (gain / n) * (g[o * (l.in + 1) + i]! - (dot * params[l.v + o * l.in + i]!) / n);
        dParams[l.b + o] = g[o * (l.in + 1) + l.in]!;
      }
    }
    return { out, dParams, dInput };
  } finally {
    for (const b of owned) b.destroy();
  }
}
