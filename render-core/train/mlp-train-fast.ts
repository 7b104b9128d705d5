/**
 * Fast twin of the MLP training pass (mlp-grad.ts: the reference): the same
 * forward and backward through weight norm, the activations, the skip and the
 * shared input, computed layer by layer over the whole batch as matrix
 * products (gemm.ts) instead of one row and one output at a time.
 *
 *  - forward: pre = x W_own^T (one product), then bias (with the shared
 *    tail's contribution, once per layer) and the activation in one sweep that
 *    also stores the activation's slope, so the backward needs no exp;
 *  - backward: ds = dy * slope (summed in the same sweep),
 *    dx = ds W_own, dW_own = ds^T x, then weight norm.
 *
 * The products run on the WebAssembly SIMD kernel where there is one
 * (gemm-wasm.ts, about 4x the JavaScript kernel), else on gemm.ts's.
 *
 * softplus100 and its slope come from a table (softplus-table.ts: within
 * 2e-11 of softplus100, C1); relu is exact. Sums run in another order than
 * the reference's. Gradients agree with the reference to about 1e-11 of each
 * field's largest (the slope table), outputs to about 1e-13 (the tests).
 * Temporaries live in grow-only module scratch (a batch is synchronous);
 * the tape and the results are fresh arrays the caller may keep.
 */
import { mlpLayers, mlpParamCount, type LayerShape, type MlpForwardFn, type MlpSpec } from "../avatar/mlp";
import { DEFAULT_GEMM, type Gemm } from "./gemm";
import { softplus100Layer } from "./softplus-table";

export interface FastMlpTape {
  batch: number;
  /** Per layer: its per-row input [B, rw] (the skip layer's: hidden features, then the network input). */
  inputs: Float64Array[];
  /** Per layer: the shared input it sees (the conditioning), or null. */
  tails: (Float64Array | null)[];
  /** Per layer: the activation's slope at each pre-activation [B, out]; null for the linear output layer. */
  slopes: (Float64Array | null)[];
  /** Per layer: W = g v / ||v|| [out, in] and the clamped row norms ||v|| [out]. */
  weights: Float64Array[];
  norms: Float64Array[];
}

/** Grow-only temporaries shared by every call (one batch runs at a time per thread). */
const scratch = { a: new Float64Array(0), b: new Float64Array(0) };
function grow(name: keyof typeof scratch, n: number): Float64Array {
  if (scratch[name].length < n) scratch[name] = new Float64Array(Math.ceil(n * 1.25));
  return scratch[name];
}

/** W = g v / ||v|| row by row (mlp-grad.ts foldLayer64), and the norms the backward reuses. */
function fold(params: ArrayLike<number>, layer: LayerShape): { W: Float64Array; norms: Float64Array } {
  const n = layer.in,
    W = new Float64Array(layer.out * n),
    norms = new Float64Array(layer.out);
  for (let o = 0; o < layer.out; o++) {
    const v0 = layer.v + o * n;
    let n2 = 0;
    for (let i = 0; i < n; i++) {
      const v = Number(params[v0 + i]);
      n2 += v * v;
    }
    const norm = Math.max(Math.sqrt(n2), 1e-12);
    norms[o] = norm;
    const scale = Number(params[layer.g + o]) / norm;
    for (let i = 0; i < n; i++) W[o * n + i] = Number(params[v0 + i]) * scale;
  }
  return { W, norms };
}

/** The skip layer's input: each row's H hidden features, then its `own` network inputs, into `out`. */
function concatSkip(
  x: Float64Array,
  input: Float64Array,
  batch: number,
  H: number,
  own: number,
  out: Float64Array,
): Float64Array {
  const cw = H + own;
  for (let b = 0; b < batch; b++) {
    out.set(x.subarray(b * H, (b + 1) * H), b * cw);
    out.set(input.subarray(b * own, (b + 1) * own), b * cw + H);
  }
  return out;
}

/** mlpForwardTrain (mlp-grad.ts) over the whole batch: input [B, inputs - S] -> output [B, outputs]. */
export function mlpForwardTrainFast(
  spec: MlpSpec,
  params: ArrayLike<number>,
  input: ArrayLike<number>,
  batch: number,
  shared?: ArrayLike<number>,
  gemm: Gemm = DEFAULT_GEMM,
): { out: Float64Array; tape: FastMlpTape } {
  if (params.length !== mlpParamCount(spec))
    throw new Error(`mlpForwardTrainFast: params hold ${params.length} numbers, the spec needs ${mlpParamCount(spec)}`);
  const S = shared?.length ?? 0,
    own = spec.inputs - S;
  if (own < 0) throw new Error(`mlpForwardTrainFast: ${S} shared inputs, the network has ${spec.inputs}`);
  if (input.length !== batch * own)
    throw new Error(`mlpForwardTrainFast: input must be [${batch}, ${own}], got ${input.length} numbers`);
  const layers = mlpLayers(spec);
  const softplus = spec.activation === "softplus100";
  const tail = S > 0 ? Float64Array.from(shared!) : null;
  const tape: FastMlpTape = { batch, inputs: [], tails: [], slopes: [], weights: [], norms: [] };
  const input64 = Float64Array.from(input);
  let x: Float64Array = input64;
  for (let l = 0; l < layers.length; l++) {
    const layer = layers[l]!;
    const isSkip = spec.skipAt !== null && l === spec.skipAt + 1;
    if (isSkip) {
      x = concatSkip(x, input64, batch, spec.hidden, own, new Float64Array(batch * (spec.hidden + own)));
    }
    const layerTail = l === 0 || isSkip ? tail : null;
    const n = layer.in,
      out = layer.out,
      rw = n - (layerTail?.length ?? 0);
    const { W, norms } = fold(params, layer);
    tape.inputs.push(x);
    tape.tails.push(layerTail);
    tape.weights.push(W);
    tape.norms.push(norms);
    const bias = grow("a", out);
    for (let o = 0; o < out; o++) {
      let s = Number(params[layer.b + o]);
      if (layerTail) for (let j = 0; j < layerTail.length; j++) s += W[o * n + rw + j]! * layerTail[j]!;
      bias[o] = s;
    }
    const y = new Float64Array(batch * out);
    gemm.nt(batch, out, rw, x, 0, rw, W, 0, n, y, 0, out);
    if (!layer.activated) {
      for (let b = 0, k = 0; b < batch; b++) for (let o = 0; o < out; o++, k++) y[k]! += bias[o]!;
      tape.slopes.push(null);
    } else {
      const slope = new Float64Array(batch * out);
      if (softplus) softplus100Layer(y, slope, bias, batch, out);
      else
        for (let b = 0, k = 0; b < batch; b++)
          for (let o = 0; o < out; o++, k++) {
            const s = y[k]! + bias[o]!;
            y[k] = s > 0 ? s : 0;
            slope[k] = s > 0 ? 1 : 0;
          }
      tape.slopes.push(slope);
    }
    x = y;
  }
  return { out: x, tape };
}

/** mlpBackward (mlp-grad.ts) over the whole batch: d output [B, outputs] -> d params, d input [B, inputs - S], d shared [S]. */
export function mlpBackwardFast(
  spec: MlpSpec,
  params: ArrayLike<number>,
  tape: FastMlpTape,
  dOut: ArrayLike<number>,
  gemm: Gemm = DEFAULT_GEMM,
): { dParams: Float64Array; dInput: Float64Array; dShared: Float64Array } {
  const layers = mlpLayers(spec);
  const B = tape.batch;
  const S = tape.tails[0]?.length ?? 0,
    own = spec.inputs - S;
  if (dOut.length !== B * spec.outputs)
    throw new Error(`mlpBackwardFast: dOut must be [${B}, ${spec.outputs}], got ${dOut.length} numbers`);
  const dParams = new Float64Array(mlpParamCount(spec));
  const dInput = new Float64Array(B * own);
  const dShared = new Float64Array(S);
  let widest = spec.outputs;
  for (const layer of layers) widest = Math.max(widest, layer.in, layer.out);
  // dy and ds share a buffer (ds = dy * slope in place); dx goes to the other, and they swap.
  let dy = grow("a", B * widest),
    dx = grow("b", B * widest);
  for (let k = 0; k < B * spec.outputs; k++) dy[k] = Number(dOut[k]);
  for (let l = layers.length - 1; l >= 0; l--) {
    const layer = layers[l]!;
    const x = tape.inputs[l]!,
      slope = tape.slopes[l]!,
      W = tape.weights[l]!,
      norms = tape.norms[l]!,
      tail = tape.tails[l]!;
    const n = layer.in,
      out = layer.out,
      rw = n - (tail?.length ?? 0);
    // ds = dy * slope in place, and its column sums.
    const dsSum = new Float64Array(out);
    for (let b = 0, k = 0; b < B; b++)
      for (let o = 0; o < out; o++, k++) {
        const d = slope ? dy[k]! * slope[k]! : dy[k]!;
        dy[k] = d;
        dsSum[o]! += d;
      }
    // dW_own [out, rw] = ds^T x; dx [B, rw] = ds W_own.
    const dW = new Float64Array(out * n);
    gemm.tn(out, rw, B, dy, 0, out, x, 0, rw, dW, 0, n);
    gemm.nn(B, rw, out, dy, 0, out, W, 0, n, dx, 0, rw);
    for (let o = 0; o < out; o++) {
      dParams[layer.b + o] = dsSum[o]!;
      // The shared tail saw every row: its weight gradient is the summed row gradient times the tail.
      if (tail)
        for (let j = 0; j < tail.length; j++) {
          dW[o * n + rw + j] = dsSum[o]! * tail[j]!;
          dShared[j]! += dsSum[o]! * W[o * n + rw + j]!;
        }
    }
    // Through weight norm, row by row: dg = dW . u, dv = (g / n) (dW - (dW . u) u).
    for (let o = 0; o < out; o++) {
      const norm = norms[o]!,
        g = Number(params[layer.g + o]),
        v0 = layer.v + o * n,
        w0 = o * n;
      let dot = 0;
      for (let i = 0; i < n; i++) dot += dW[w0 + i]! * (Number(params[v0 + i]) / norm);
      dParams[layer.g + o] = dot;
      const gn = g / norm;
      for (let i = 0; i < n; i++) dParams[v0 + i] = gn * (dW[w0 + i]! - dot * (Number(params[v0 + i]) / norm));
    }
    if (spec.skipAt !== null && l === spec.skipAt + 1) {
      // Split the skip layer's input gradient between the features and the network input.
      const H = spec.hidden;
      for (let b = 0; b < B; b++) {
        for (let i = 0; i < H; i++) dy[b * H + i] = dx[b * rw + i]!;
        for (let i = 0; i < own; i++) dInput[b * own + i]! += dx[b * rw + H + i]!;
      }
    } else if (l === 0) {
      for (let k = 0; k < B * own; k++) dInput[k]! += dx[k]!;
    } else {
      const t = dy;
      dy = dx;
      dx = t;
    }
  }
  return { dParams, dInput, dShared };
}

/** Grow-only buffers of the forward-only pass (its layers ping-pong between x and y; nothing is kept). */
const fwd = {
  x: new Float64Array(0),
  y: new Float64Array(0),
  slope: new Float64Array(0),
  input: new Float64Array(0),
};
function fwdBuffer(name: keyof typeof fwd, n: number): Float64Array {
  if (fwd[name].length < n) fwd[name] = new Float64Array(Math.ceil(n * 1.25));
  return fwd[name].subarray(0, n);
}

/**
 * The fast forward as the avatar runtime's network pass (MlpForwardFn): the
 * CPU bake and deform of a streaming server. The same sums as
 * mlpForwardTrainFast with no tape: layers reuse grow-only buffers, so a
 * frame allocates only its output (a streaming server deforms many times a
 * second, and fresh megabyte arrays per layer kept its collector busy).
 * About 3x the reference mlpForward on the compact networks, outputs within
 * about 1e-10 of it.
 */
export const mlpForwardFast: MlpForwardFn = (spec, params, input, batch) => {
  if (params.length !== mlpParamCount(spec))
    throw new Error(`mlpForwardFast: params hold ${params.length} numbers, the spec needs ${mlpParamCount(spec)}`);
  const own = spec.inputs;
  if (input.length !== batch * own)
    throw new Error(`mlpForwardFast: input must be [${batch}, ${own}], got ${input.length} numbers`);
  const layers = mlpLayers(spec);
  const softplus = spec.activation === "softplus100";
  const input64 = fwdBuffer("input", batch * own);
  input64.set(input);
  let x: Float64Array = input64;
  let into: "x" | "y" = "x";
  const out = new Float32Array(batch * spec.outputs);
  for (let l = 0; l < layers.length; l++) {
    const layer = layers[l]!;
    const isSkip = spec.skipAt !== null && l === spec.skipAt + 1;
    if (isSkip) {
      x = concatSkip(x, input64, batch, spec.hidden, own, fwdBuffer(into, batch * (spec.hidden + own)));
      into = into === "x" ? "y" : "x";
    }
    const n = layer.in,
      o = layer.out;
    const { W } = fold(params, layer);
    const bias = grow("a", o);
    for (let k = 0; k < o; k++) bias[k] = Number(params[layer.b + k]);
    const last = l === layers.length - 1;
    const y = fwdBuffer(into, batch * o);
    DEFAULT_GEMM.nt(batch, o, n, x, 0, n, W, 0, n, y, 0, o);
    if (last) {
      for (let b = 0, k = 0; b < batch; b++) for (let c = 0; c < o; c++, k++) out[k] = y[k]! + bias[c]!;
    } else if (softplus)
      softplus100Layer(y, null, bias, batch, o); // no backward follows: no slopes
    else
      for (let b = 0, k = 0; b < batch; b++)
        for (let c = 0; c < o; c++, k++) {
          const v = y[k]! + bias[c]!;
          y[k] = v > 0 ? v : 0;
        }
    x = y;
    into = into === "x" ? "y" : "x";
  }
  return out;
};
