/**
 * Folding a constant input tail into the biases. Every avatar network takes
 * [per-point input | conditioning], and the conditioning (420 numbers in the
 * paper config) is the same for every Gaussian until a latent changes. So on
 * a latent change we compute b' = b + W[:, cond] . cond for the first layer
 * and the skip layer (the only layers that see the input), and the per-point
 * work shrinks to the per-point columns: for the paper geometry network 39
 * inputs instead of 459 at the first layer, 551 instead of 971 at the skip.
 *
 * A FoldPlan does the weight normalisation and the column split once per
 * set of weights; each latent change then costs two small matrix-vector
 * products. The folded network is an ordinary MLP (same mlpForward /
 * GpuMlp), weight-normalised trivially: v = W, g = ||W_row||.
 */
import { foldLayer, mlpLayers, mlpParamCount, type MlpSpec } from "./mlp";

export interface FoldedMlp {
  spec: MlpSpec;
  params: Float32Array;
}

export interface FoldedBias {
  /** Layer index (0, or skipAt + 1). */
  layer: number;
  bias: Float32Array;
}

export class FoldPlan {
  /** The network on the per-point columns only. */
  readonly spec: MlpSpec;
  /** Its parameters with the original biases (before any tail is folded in). */
  readonly base: Float32Array;
  /** Per layer that sees the input: its tail columns W[:, tail] [out, T] and original bias. */
  private readonly tails: Array<{ layer: number; W: Float64Array; bias: Float32Array }> = [];

  constructor(
    readonly full: MlpSpec,
    params: Float32Array,
    readonly tailLength: number,
  ) {
    const T = tailLength;
    if (!(T >= 0 && T < full.inputs))
      throw new Error(`FoldPlan: the tail (${T}) must be shorter than the input (${full.inputs})`);
    if (params.length !== mlpParamCount(full))
      throw new Error(`FoldPlan: params hold ${params.length} numbers, the spec needs ${mlpParamCount(full)}`);
    this.spec = { ...full, inputs: full.inputs - T };
    this.base = new Float32Array(mlpParamCount(this.spec));
    const to = mlpLayers(this.spec);
    mlpLayers(full).forEach((layer, l) => {
      const dst = to[l]!;
      const W = foldLayer(params, layer);
      const seesInput = l === 0 || (full.skipAt !== null && l === full.skipAt + 1);
      const keep = seesInput ? layer.in - T : layer.in;
      const tailW = seesInput ? new Float64Array(layer.out * T) : null;
      for (let o = 0; o < layer.out; o++) {
        let norm = 0;
        for (let i = 0; i < layer.in; i++) {
          const w = W[o * layer.in + i]!;
          if (i < keep) {
            this.base[dst.v + o * dst.in + i] = w;
            norm += w * w;
          } else tailW![o * T + i - keep] = w;
        }
        this.base[dst.g + o] = Math.sqrt(norm);
        this.base[dst.b + o] = params[layer.b + o]!;
      }
      if (tailW) this.tails.push({ layer: l, W: tailW, bias: params.slice(layer.b, layer.b + layer.out) });
    });
  }

  /** The biases of the layers that see the input, with `tail` folded in. */
  biases(tail: Float32Array): FoldedBias[] {
    const T = this.tailLength;
    if (tail.length !== T) throw new Error(`FoldPlan.biases: the tail must hold ${T} numbers, got ${tail.length}`);
    return this.tails.map(({ layer, W, bias }) => {
      const out = new Float32Array(bias.length);
      for (let o = 0; o < bias.length; o++) {
        let s = bias[o]!;
        for (let i = 0; i < T; i++) s += W[o * T + i]! * tail[i]!;
        out[o] = s;
      }
      return { layer, bias: out };
    });
  }

  /** The whole folded network for `tail` (a copy of base with the folded biases). */
  apply(tail: Float32Array): FoldedMlp {
    const params = this.base.slice();
    const layers = mlpLayers(this.spec);
    for (const { layer, bias } of this.biases(tail)) params.set(bias, layers[layer]!.b);
    return { spec: this.spec, params };
  }
}

/** One-off fold: the MLP with its input's last `tail.length` columns fixed to `tail`. */
export function foldInputTail(spec: MlpSpec, params: Float32Array, tail: Float32Array): FoldedMlp {
  return new FoldPlan(spec, params, tail.length).apply(tail);
}
