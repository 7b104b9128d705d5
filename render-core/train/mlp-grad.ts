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
  /** Per layer: its per-row input [B, rowWidth], its constant tail (the shared input, or null) and pre-activations [B, out]. */
  inputs: Float64Array[];
  tails: (Float64Array | null)[];
  pre: Float64Array[];
  weights: Float64Array[];
}

/** W = g v / ||v|| row by row, in float64 (foldLayer's float32 would swamp finite differences). */
function foldLayer64(params: ArrayLike<number>, layer: LayerShape): Float64Array {
  const W = new Float64Array(layer.out * layer.in);
  for (let o = 0; o < layer.out; o++) {
    let n2 = 0;
    for (let i = 0; i < layer.in; i++) n2 += Number(params[layer.v + o * layer.in + i]) ** 2;
    const scale = Number(params[layer.g + o]) / Math.max(Math.sqrt(n2), 1e-12);
    for (let i = 0; i < layer.in; i++) W[o * layer.in + i] = Number(params[layer.v + o * layer.in + i]) * scale;
  }
  return W;
}

const sigmoid = (x: number) => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)));

/**
 * Forward for training: input [B, inputs - S] -> output [B, outputs], with the tape for mlpBackward.
 * `shared` [S] is the same for every row (the avatar's conditioning): it is logically appended
 * to each input row but enters the layers that see it once, as a bias, which makes a batch
 * cheaper by the conditioning's share of the first layer.
 */
export function mlpForwardTrain(
  spec: MlpSpec,
  params: ArrayLike<number>,
  input: ArrayLike<number>,
  batch: number,
  shared?: ArrayLike<number>,
): { out: Float64Array; tape: MlpTape } {
  if (params.length !== mlpParamCount(spec))
    throw new Error(`mlpForwardTrain: params hold ${params.length} numbers, the spec needs ${mlpParamCount(spec)}`);
  const S = shared?.length ?? 0,
    own = spec.inputs - S;
  if (own < 0) throw new Error(`mlpForwardTrain: ${S} shared inputs, the network has ${spec.inputs}`);
  if (input.length !== batch * own)
    throw new Error(`mlpForwardTrain: input must be [${batch}, ${own}], got ${input.length} numbers`);
  const layers = mlpLayers(spec);
  const weights = layers.map((l) => foldLayer64(params, l));
  const relu = spec.activation === "relu";
  const tail = S > 0 ? Float64Array.from(shared!) : null;
  const tape: MlpTape = { batch, inputs: [], tails: [], pre: [], weights };
  const input64 = Float64Array.from(input);
  let x = input64;
  layers.forEach((layer, l) => {
    const isSkip = spec.skipAt !== null && l === spec.skipAt + 1;
    if (isSkip) {
      // Concatenate the network input after the previous hidden layer's features.
      const cat = new Float64Array(batch * (spec.hidden + own));
      for (let b = 0; b < batch; b++) {
        cat.set(x.subarray(b * spec.hidden, (b + 1) * spec.hidden), b * (spec.hidden + own));
        cat.set(input64.subarray(b * own, (b + 1) * own), b * (spec.hidden + own) + spec.hidden);
      }
      x = cat;
    }
    const layerTail = l === 0 || isSkip ? tail : null;
    const rw = layer.in - (layerTail?.length ?? 0);
    tape.inputs.push(x);
    tape.tails.push(layerTail);
    const W = weights[l]!,
      n = layer.in,
      out = layer.out;
    // Bias plus the shared tail's contribution, once per layer.
    const bias = new Float64Array(out);
    for (let o = 0; o < out; o++) {
      let s = Number(params[layer.b + o]);
      if (layerTail) for (let j = 0; j < layerTail.length; j++) s += W[o * n + rw + j]! * layerTail[j]!;
      bias[o] = s;
    }
    const pre = new Float64Array(batch * out),
      y = new Float64Array(batch * out);
    for (let b = 0; b < batch; b++) {
      const xo = b * rw,
        po = b * out;
      for (let o = 0; o < out; o++) {
        let s = bias[o]!;
        const wo = o * n;
        for (let i = 0; i < rw; i++) s += W[wo + i]! * x[xo + i]!;
        pre[po + o] = s;
        y[po + o] = !layer.activated ? s : relu ? (s > 0 ? s : 0) : softplus100(s);
      }
    }
    tape.pre.push(pre);
    x = y;
  });
  return { out: x, tape };
}

/** Backward: d output [B, outputs] -> d params (flat layout), d input [B, inputs - S] and d shared [S]. */
export function mlpBackward(
  spec: MlpSpec,
  params: ArrayLike<number>,
  tape: MlpTape,
  dOut: ArrayLike<number>,
): { dParams: Float64Array; dInput: Float64Array; dShared: Float64Array } {
  const layers = mlpLayers(spec);
  const B = tape.batch;
  const S = tape.tails[0]?.length ?? 0,
    own = spec.inputs - S;
  const dParams = new Float64Array(mlpParamCount(spec));
  const dInput = new Float64Array(B * own);
  const dShared = new Float64Array(S);
  let dy = Float64Array.from(dOut);
  for (let l = layers.length - 1; l >= 0; l--) {
    const layer = layers[l]!;
    const x = tape.inputs[l]!,
      pre = tape.pre[l]!,
      W = tape.weights[l]!,
      tail = tape.tails[l]!;
    const n = layer.in,
      out = layer.out,
      rw = n - (tail?.length ?? 0);
    // Through the activation.
    const ds = new Float64Array(B * out);
    for (let k = 0; k < ds.length; k++)
      ds[k] = !layer.activated
        ? dy[k]!
        : spec.activation === "relu"
          ? pre[k]! > 0
            ? dy[k]!
            : 0
          : dy[k]! * sigmoid(100 * pre[k]!);
    const dW = new Float64Array(out * n);
    const dx = new Float64Array(B * rw);
    const dsSum = new Float64Array(out);
    for (let b = 0; b < B; b++) {
      const xo = b * rw;
      for (let o = 0; o < out; o++) {
        const d = ds[b * out + o]!;
        if (d === 0) continue;
        dsSum[o]! += d;
        const wo = o * n;
        for (let i = 0; i < rw; i++) {
          dW[wo + i]! += d * x[xo + i]!;
          dx[xo + i]! += d * W[wo + i]!;
        }
      }
    }
    for (let o = 0; o < out; o++) {
      dParams[layer.b + o] = dsSum[o]!;
      // The shared tail saw every row: its weight gradient is the summed row gradient times the tail.
      if (tail)
        for (let j = 0; j < tail.length; j++) {
          dW[o * n + rw + j] = dsSum[o]! * tail[j]!;
          dShared[j]! += dsSum[o]! * W[o * n + rw + j]!;
        }
    }
    // Through weight norm, row by row.
    for (let o = 0; o < out; o++) {
      let n2 = 0;
      for (let i = 0; i < n; i++) n2 += Number(params[layer.v + o * n + i]) ** 2;
      const norm = Math.max(Math.sqrt(n2), 1e-12),
        g = Number(params[layer.g + o]);
      let dot = 0;
      for (let i = 0; i < n; i++) dot += dW[o * n + i]! * (Number(params[layer.v + o * n + i]) / norm);
      dParams[layer.g + o] = dot;
      for (let i = 0; i < n; i++) {
        const u = Number(params[layer.v + o * n + i]) / norm;
        dParams[layer.v + o * n + i] = (g / norm) * (dW[o * n + i]! - dot * u);
      }
    }
    // Split the skip layer's input gradient between the features and the network input.
    if (spec.skipAt !== null && l === spec.skipAt + 1) {
      const dh = new Float64Array(B * spec.hidden);
      for (let b = 0; b < B; b++) {
        for (let i = 0; i < spec.hidden; i++) dh[b * spec.hidden + i] = dx[b * rw + i]!;
        for (let i = 0; i < own; i++) dInput[b * own + i]! += dx[b * rw + spec.hidden + i]!;
      }
      dy = dh;
    } else if (l === 0) {
      for (let k = 0; k < dx.length; k++) dInput[k]! += dx[k]!;
    } else dy = dx;
  }
  return { dParams, dInput, dShared };
}
