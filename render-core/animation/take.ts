/**
 * A take: what "Drive with camera" recorded, samples at the camera's uneven
 * rate, made into a clip at a fixed rate (linear between samples), so that it
 * saves as any clip file and plays like the built-in ones.
 */
import { EXPRESSION_CHANNELS, POSE_CHANNELS, createClip, type AnimationClip } from "./clip";

export interface TakeSample {
  /** Milliseconds, any origin, increasing. */
  t: number;
  expression: ArrayLike<number>;
  pose: ArrayLike<number>;
}

/** The take resampled at `fps` from its first sample to its last. Throws on an empty take. */
export function clipFromTake(name: string, samples: readonly TakeSample[], fps = 30): AnimationClip {
  if (samples.length === 0) throw new Error("clipFromTake: the take holds no samples");
  const E = EXPRESSION_CHANNELS.length,
    P = POSE_CHANNELS.length;
  for (const s of samples)
    if (s.expression.length !== E || s.pose.length !== P)
      throw new Error(`clipFromTake: a sample must hold ${E} expression and ${P} pose values`);
  const t0 = samples[0]!.t;
  const seconds = (samples[samples.length - 1]!.t - t0) / 1000;
  const clip = createClip(name, fps, Math.max(1, Math.round(seconds * fps) + 1));
  let k = 0;
  for (let f = 0; f < clip.frames; f++) {
    const t = t0 + (f * 1000) / fps;
    while (k + 1 < samples.length && samples[k + 1]!.t <= t) k++;
    const a = samples[k]!,
      b = samples[Math.min(k + 1, samples.length - 1)]!;
    const w = b.t > a.t ? Math.min(1, Math.max(0, (t - a.t) / (b.t - a.t))) : 0;
    for (let c = 0; c < E; c++)
      clip.expression[f * E + c] = a.expression[c]! + (b.expression[c]! - a.expression[c]!) * w;
    for (let c = 0; c < P; c++) clip.pose[f * P + c] = a.pose[c]! + (b.pose[c]! - a.pose[c]!) * w;
  }
  return clip;
}
