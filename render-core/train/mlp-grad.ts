/**
 * Training pass of the avatar MLPs (render-core/avatar/mlp.ts), CPU twin in
 * float64: a forward that keeps what the backward needs, and the backward
 * through weight norm (W = g v / ||v||), the activations and the skip
 * concatenation, to d params (v, g, b in the flat layout) and d input.
 *
 * Weight norm, per output row with n = ||v||, u = v / n:
 *   dL/dg = dW . u,   dL/dv = (g / n) (dW - (dW . u) u)
 * softplus(100 s) / 100 has derivative sigmoid(100 s); relu 1 where s > 0.
 */
import { mlpLayers, mlpParamCount, softplus100, type LayerShape, type MlpSpec } from "../avatar/mlp";

export interface MlpTape {
  batch: number;
  /** Per layer: its input rows [B, in] and pre-activations [B, out]. */
  inputs: Float64Array[];
  pre: Float64Array[];
  weights: Float64Array[];
}

/** W = g v / ||v|| row by row, in float64 (foldLayer's float32 would swamp finite differences). */
function foldLayer64(params: Float64Array, layer: LayerShape): Float64Array {
  const W = new Float64Array(layer.out * layer.in);
  for (let o = 0; o < layer.out; o++) {
    let n2 = 0;
    for (let i = 0; i < layer.in; i++) n2 += params[layer.v + o * layer.in + i]! ** 2;
    const scale = params[layer.g + o]! / Math.max(Math.sqrt(n2), 1e-12);
    for (let i = 0; i < layer.in; i++) W[o * layer.in + i] = params[layer.v + o * layer.in + i]! * scale;
  }
  return W;
}

const sigmoid = (x: number) => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)));

/** Forward for training: input [B, inputs] -> output [B, outputs], with the tape for mlpBackward. */
export function mlpForwardTrain(spec: MlpSpec, params: ArrayLike<number>, input: ArrayLike<number>, batch: number): { out: Float64Array; tape: MlpTape } {
  if (params.length !== mlpParamCount(spec)) throw new Error(`mlpForwardTrain: params hold ${params.length} numbers, the spec needs ${mlpParamCount(spec)}`);
  if (input.length !== batch * spec.inputs) throw new Error(`mlpForwardTrain: input must be [${batch}, ${spec.inputs}], got ${input.length} numbers`);
  const layers = mlpLayers(spec);
  const p64 = Float64Array.from(params);
  const weights = layers.map((l) => foldLayer64(p64, l));
  const act = spec.activation === "relu" ? (x: number) => (x > 0 ? x : 0) : softplus100;
  const tape: MlpTape = { batch, inputs: [], pre: [], weights };
  let x = Float64Array.from(input);
  layers.forEach((layer, l) => {
    if (spec.skipAt !== null && l === spec.skipAt + 1) {
      // Concatenate the network input after the previous hidden layer's features.
      const cat = new Float64Array(batch * layer.in);
      for (let b = 0; b < batch; b++) {
        cat.set(x.subarray(b * spec.hidden, (b + 1) * spec.hidden), b * layer.in);
        for (let i = 0; i < spec.inputs; i++) cat[b * layer.in + spec.hidden + i] = input[b * spec.inputs + i]!;
      }
      x = cat;
    }
    tape.inputs.push(x);
    const pre = new Float64Array(batch * layer.out), y = new Float64Array(batch * layer.out);
    const W = weights[l]!;
    for (let b = 0; b < batch; b++) {
      for (let o = 0; o < layer.out; o++) {
        let s = p64[layer.b + o]!;
        for (let i = 0; i < layer.in; i++) s += W[o * layer.in + i]! * x[b * layer.in + i]!;
        pre[b * layer.out + o] = s;
        y[b * layer.out + o] = layer.activated ? act(s) : s;
      }
    }
    tape.pre.push(pre);
    x = y;
  });
  return { out: x, tape };
}

/** Backward: d output [B, outputs] -> d params (flat layout) and d input [B, inputs]. */
export function mlpBackward(spec: MlpSpec, params: ArrayLike<number>, tape: MlpTape, dOut: ArrayLike<number>): { dParams: Float64Array; dInput: Float64Array } {
  const layers = mlpLayers(spec);
  const B = tape.batch;
  const dParams = new Float64Array(mlpParamCount(spec));
  const dInput = new Float64Array(B * spec.inputs);
  let dy = Float64Array.from(dOut);
  for (let l = layers.length - 1; l >= 0; l--) {
    const layer = layers[l]!;
    const x = tape.inputs[l]!, pre = tape.pre[l]!, W = tape.weights[l]!;
    // Through the activation.
    const ds = new Float64Array(B * layer.out);
    for (let k = 0; k < ds.length; k++) ds[k] = !layer.activated ? dy[k]! : spec.activation === "relu" ? (pre[k]! > 0 ? dy[k]! : 0) : dy[k]! * sigmoid(100 * pre[k]!);
    const dW = new Float64Array(layer.out * layer.in);
    const dx = new Float64Array(B * layer.in);
    for (let b = 0; b < B; b++) {
      for (let o = 0; o < layer.out; o++) {
        const d = ds[b * layer.out + o]!;
        if (d === 0) continue;
        dParams[layer.b + o]! += d;
        for (let i = 0; i < layer.in; i++) {
          dW[o * layer.in + i]! += d * x[b * layer.in + i]!;
          dx[b * layer.in + i]! += d * W[o * layer.in + i]!;
        }
      }
    }
    // Through weight norm, row by row.
    for (let o = 0; o < layer.out; o++) {
      let n2 = 0;
      for (let i = 0; i < layer.in; i++) n2 += Number(params[layer.v + o * layer.in + i]) ** 2;
      const n = Math.max(Math.sqrt(n2), 1e-12), g = Number(params[layer.g + o]);
      let dot = 0;
      for (let i = 0; i < layer.in; i++) dot += dW[o * layer.in + i]! * (Number(params[layer.v + o * layer.in + i]) / n);
      dParams[layer.g + o] = dot;
      for (let i = 0; i < layer.in; i++) {
        const u = Number(params[layer.v + o * layer.in + i]) / n;
        dParams[layer.v + o * layer.in + i] = (g / n) * (dW[o * layer.in + i]! - dot * u);
      }
    }
    // Split the skip layer's input gradient between the features and the network input.
    if (spec.skipAt !== null && l === spec.skipAt + 1) {
      const dh = new Float64Array(B * spec.hidden);
      for (let b = 0; b < B; b++) {
        for (let i = 0; i < spec.hidden; i++) dh[b * spec.hidden + i] = dx[b * layer.in + i]!;
        for (let i = 0; i < spec.inputs; i++) dInput[b * spec.inputs + i]! += dx[b * layer.in + spec.hidden + i]!;
      }
      dy = dh;
    } else if (l === 0) {
      for (let k = 0; k < dx.length; k++) dInput[k]! += dx[k]!;
    } else dy = dx;
  }
  return { dParams, dInput };
}
