/**
 * Folding a constant input tail into the biases. Every avatar network takes
 * [per-point input | conditioning], and the conditioning (420 numbers in the
 * paper config) is the same for every Gaussian until a latent changes. So on
 * a latent change we compute b' = b + W[:, cond] . cond once for the first
 * layer and for the skip layer (the only layers that see the input), and the
 * per-point work shrinks to the per-point columns: for the paper geometry
 * network 39 + 512 inputs at the skip instead of 459 + 512, and 39 instead of
 * 459 at the first layer.
 *
 * The result is an ordinary MLP (same mlpForward / GpuMlp), weight-normalised
 * trivially: v = W, g = ||W_row||, so g v / ||v|| reproduces W.
 */
import { foldLayer, mlpLayers, mlpParamCount, type MlpSpec } from "./mlp";

export interface FoldedMlp {
  spec: MlpSpec;
  params: Float32Array;
}

/** The MLP with its input's last `tail.length` columns fixed to `tail`. */
export function foldInputTail(spec: MlpSpec, params: Float32Array, tail: Float32Array): FoldedMlp {
  const T = tail.length;
  if (T >= spec.inputs) throw new Error(`foldInputTail: the tail (${T}) must be shorter than the input (${spec.inputs})`);
  if (params.length !== mlpParamCount(spec)) throw new Error(`foldInputTail: params hold ${params.length} numbers, the spec needs ${mlpParamCount(spec)}`);
  const keep = spec.inputs - T;
  const reduced: MlpSpec = { ...spec, inputs: keep };
  const out = new Float32Array(mlpParamCount(reduced));
  const from = mlpLayers(spec), to = mlpLayers(reduced);
  from.forEach((layer, l) => {
    const dst = to[l]!;
    const W = foldLayer(params, layer);
    // Columns [tailStart, tailStart + T) of this layer's input are the fixed tail (input layer and skip layer only).
    const seesInput = l === 0 || (spec.skipAt !== null && l === spec.skipAt + 1);
    const tailStart = seesInput ? layer.in - T : layer.in;
    for (let o = 0; o < layer.out; o++) {
      let bias = params[layer.b + o]!, norm = 0;
      for (let i = 0; i < layer.in; i++) {
        const w = W[o * layer.in + i]!;
        if (i >= tailStart) bias += w * tail[i - tailStart]!;
        else {
          out[dst.v + o * dst.in + i] = w;
          norm += w * w;
        }
      }
      out[dst.g + o] = Math.sqrt(norm);
      out[dst.b + o] = bias;
    }
  });
  return { spec: reduced, params: out };
}
