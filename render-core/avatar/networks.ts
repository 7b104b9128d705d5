/**
 * The three avatar networks as MLP specs derived from the config, and their
 * output heads (PERSE-METHOD.md section 2):
 *   geometry  PE(canonical point) + conditioning -> colour 3, scale 3, rotation 4, opacity 1
 *   deformer  point + conditioning -> blendshapes [E, 3], pose correctives [P, 3], offset 3, skinning logits J
 *   gaussian  (deformed - canonical) + conditioning -> residual colour 3, scale 3, rotation 4, opacity 1
 */
import { conditioningSize, positionalEncodingSize, type AvatarModelConfig } from "./config";
import type { MlpSpec } from "./mlp";

export const APPEARANCE_OUTPUTS = 11;
/** The colour logits: the first channels of the appearance outputs, where the per-Gaussian residual (avatar.appearance) adds. */
export const APPEARANCE_CHANNELS = 3;

export function geometrySpec(c: AvatarModelConfig): MlpSpec {
  return {
    inputs: positionalEncodingSize(c) + conditioningSize(c),
    hidden: c.geometry.width,
    depth: c.geometry.depth,
    skipAt: c.geometry.skipAt,
    outputs: APPEARANCE_OUTPUTS,
    activation: c.activation,
  };
}

export function deformerOutputs(c: AvatarModelConfig): number {
  return c.expressionCount * 3 + c.poseCorrectiveCount * 3 + 3 + c.jointCount;
}

export function deformerSpec(c: AvatarModelConfig): MlpSpec {
  return {
    inputs: 3 + conditioningSize(c),
    hidden: c.deformer.width,
    depth: c.deformer.depth,
    skipAt: null,
    outputs: deformerOutputs(c),
    activation: c.activation,
  };
}

export function gaussianSpec(c: AvatarModelConfig): MlpSpec {
  return {
    inputs: 3 + conditioningSize(c),
    hidden: c.gaussian.width,
    depth: c.gaussian.depth,
    skipAt: null,
    outputs: APPEARANCE_OUTPUTS,
    activation: c.activation,
  };
}

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/**
 * Geometry heads, in place on raw [B, 11]: colour sigmoid, scale sigmoid x scaleMax,
 * rotation normalised (w x y z), opacity sigmoid.
 */
export function applyAppearanceHeads(c: AvatarModelConfig, raw: Float32Array): Float32Array {
  for (let o = 0; o < raw.length; o += APPEARANCE_OUTPUTS) {
    for (let k = 0; k < 3; k++) raw[o + k] = sigmoid(raw[o + k]!);
    for (let k = 3; k < 6; k++) raw[o + k] = sigmoid(raw[o + k]!) * c.scaleMax;
    const l = Math.hypot(raw[o + 6]!, raw[o + 7]!, raw[o + 8]!, raw[o + 9]!) || 1;
    for (let k = 6; k < 10; k++) raw[o + k] = raw[o + k]! / l;
    raw[o + 10] = sigmoid(raw[o + 10]!);
  }
  return raw;
}

/** Skinning weights from the deformer's last J outputs: softmax(temperature x logits), in place. */
export function applySkinningSoftmax(c: AvatarModelConfig, raw: Float32Array): Float32Array {
  const D = deformerOutputs(c),
    J = c.jointCount;
  for (let o = D - J; o < raw.length; o += D) {
    let max = -Infinity;
    for (let j = 0; j < J; j++) max = Math.max(max, c.skinningTemperature * raw[o + j]!);
    let sum = 0;
    for (let j = 0; j < J; j++) sum += Math.exp(c.skinningTemperature * raw[o + j]! - max);
    for (let j = 0; j < J; j++) raw[o + j] = Math.exp(c.skinningTemperature * raw[o + j]! - max) / sum;
  }
  return raw;
}
