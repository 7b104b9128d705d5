/**
 * A multilayer perceptron as the avatar networks use it: weight-normalised
 * linear layers (W = g v / ||v|| per output row, as in the reference), an
 * activation after every hidden layer, the network input concatenated again
 * after hidden layer `skipAt`, and a linear output layer (heads apply their own
 * activations). Parameters live in ONE flat Float32Array so an optimiser can
 * update them in place; `offsets` says where each layer's v, g and b are.
 *
 * Parameter layout per layer l (in_l inputs, out_l outputs), in order:
 *   v [out_l, in_l] f32 | g [out_l] f32 | b [out_l] f32
 */
import { mulberry32, gaussian } from "../math/prng";

export type Activation = "softplus100" | "relu";

export interface MlpSpec {
  inputs: number;
  hidden: number;
  /** Hidden layers. */
  depth: number;
  /** After this hidden layer (0-based) the network input is concatenated to the features; null: no skip. */
  skipAt: number | null;
  outputs: number;
  activation: Activation;
}

export interface LayerShape {
  in: number;
  out: number;
  /** Offsets of v, g and b in the parameter array. */
  v: number;
  g: number;
  b: number;
  /** Whether the activation follows (every layer but the last). */
  activated: boolean;
}

export function mlpLayers(spec: MlpSpec): LayerShape[] {
  const layers: LayerShape[] = [];
  let offset = 0;
  for (let l = 0; l <= spec.depth; l++) {
    const last = l === spec.depth;
    const inputs =
      l === 0 ? spec.inputs : spec.skipAt !== null && l === spec.skipAt + 1 ? spec.hidden + spec.inputs : spec.hidden;
    const outputs = last ? spec.outputs : spec.hidden;
    layers.push({
      in: inputs,
      out: outputs,
      v: offset,
      g: offset + inputs * outputs,
      b: offset + inputs * outputs + outputs,
      activated: !last,
    });
    offset += inputs * outputs + 2 * outputs;
  }
  return layers;
}

export function mlpParamCount(spec: MlpSpec): number {
  const last = mlpLayers(spec).at(-1)!;
  return last.b + last.out;
}

/** Seeded init: v ~ N(0, 2 / in) (He), g = ||v_row|| so W starts equal to v, b = 0. */
export function initMlp(spec: MlpSpec, seed: number): Float32Array {
  const params = new Float32Array(mlpParamCount(spec));
  const normal = gaussian(mulberry32(seed));
  for (const layer of mlpLayers(spec)) {
    const std = Math.sqrt(2 / layer.in);
    for (let o = 0; o < layer.out; o++) {
      let norm = 0;
      for (let i = 0; i < layer.in; i++) {
        const v = normal() * std;
        params[layer.v + o * layer.in + i] = v;
        norm += v * v;
      }
      params[layer.g + o] = Math.sqrt(norm);
    }
  }
  return params;
}

/** The plain weights of one layer: W [out, in] = g v / ||v|| row by row. */
export function foldLayer(params: Float32Array, layer: LayerShape): Float32Array {
  const W = new Float32Array(layer.out * layer.in);
  for (let o = 0; o < layer.out; o++) {
    let norm = 0;
    for (let i = 0; i < layer.in; i++) norm += params[layer.v + o * layer.in + i]! ** 2;
    const scale = params[layer.g + o]! / Math.max(Math.sqrt(norm), 1e-12);
    for (let i = 0; i < layer.in; i++) W[o * layer.in + i] = params[layer.v + o * layer.in + i]! * scale;
  }
  return W;
}

/** softplus(100 x) / 100, computed without overflow: the reference's smooth ReLU. */
export function softplus100(x: number): number {
  const y = 100 * x;
  return (y > 0 ? y + Math.log1p(Math.exp(-y)) : Math.log1p(Math.exp(y))) / 100;
}

/**
 * Runs the MLP on a batch: input [B, inputs] f32 -> output [B, outputs] f32.
 * Weights are folded once per call; float64 accumulation, float32 storage.
 */
/**
 * A network's forward pass over a batch, [B, inputs] -> [B, outputs]: mlpForward
 * (the reference) or a faster one with the same result (the trainer's, over
 * matrix products); the CPU bake and deform take either.
 */
export type MlpForwardFn = (spec: MlpSpec, params: Float32Array, input: Float32Array, batch: number) => Float32Array;

export function mlpForward(
  spec: MlpSpec,
  params: Float32Array,
  input: Float32Array,
  batch: number,
  out = new Float32Array(batch * spec.outputs),
): Float32Array {
  if (params.length !== mlpParamCount(spec))
    throw new Error(`mlpForward: params hold ${params.length} numbers, the spec needs ${mlpParamCount(spec)}`);
  if (input.length !== batch * spec.inputs)
    throw new Error(`mlpForward: input must be [${batch}, ${spec.inputs}], got ${input.length} numbers`);
  const layers = mlpLayers(spec);
  const weights = layers.map((l) => foldLayer(params, l));
  const act = spec.activation === "relu" ? (x: number) => (x > 0 ? x : 0) : softplus100;
  // Big enough for any layer: hidden + skip input, or the output layer (deformer outputs exceed hidden).
  let x = new Float64Array(Math.max(spec.hidden + spec.inputs, spec.outputs));
  let y = new Float64Array(x.length);
  for (let n = 0; n < batch; n++) {
    for (let i = 0; i < spec.inputs; i++) x[i] = input[n * spec.inputs + i]!;
    for (let l = 0; l < layers.length; l++) {
      const layer = layers[l]!;
      const W = weights[l]!;
      for (let o = 0; o < layer.out; o++) {
        let s = params[layer.b + o]!;
        const row = o * layer.in;
        for (let i = 0; i < layer.in; i++) s += W[row + i]! * x[i]!;
        y[o] = layer.activated ? act(s) : s;
      }
      if (spec.skipAt !== null && l === spec.skipAt) {
        // Concatenate the network input after this hidden layer's features.
        for (let i = 0; i < spec.inputs; i++) y[layer.out + i] = input[n * spec.inputs + i]!;
      }
      [x, y] = [y, x];
    }
    for (let o = 0; o < spec.outputs; o++) out[n * spec.outputs + o] = x[o]!;
  }
  return out;
}
