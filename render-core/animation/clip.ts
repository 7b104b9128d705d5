/**
 * Animation clips: expression + pose tracks that drive an avatar (or the head
 * model) frame by frame. A clip is one matrix of F frames x CLIP_CHANNELS,
 * sampled at any time with linear interpolation between frames.
 *
 * Channels: the head's expression coefficients by name (smileL, blinkR, ...),
 * then `<joint>.<x|y|z>` axis-angle radians for global, neck, jaw, leftEye,
 * rightEye, then `translation.<x|y|z>` metres. Conventions (head model): +y up,
 * the face looks along +z; jaw.x > 0 opens the mouth, global.x > 0 pitches
 * the face down (a nod), global.y > 0 turns it toward +x (the person's left).
 */
import { EXPRESSION_NAMES, JOINT_NAMES } from "../head";

export const POSE_CHANNELS = JOINT_NAMES.flatMap((j) => ["x", "y", "z"].map((a) => `${j}.${a}`));
export const TRANSLATION_CHANNELS = ["translation.x", "translation.y", "translation.z"];
export const CLIP_CHANNELS: readonly string[] = [...EXPRESSION_NAMES, ...POSE_CHANNELS, ...TRANSLATION_CHANNELS];
const E = EXPRESSION_NAMES.length, P = POSE_CHANNELS.length;

export interface AnimationClip {
  name: string;
  /** Frames per second. */
  fps: number;
  frames: number;
  /** [frames, CLIP_CHANNELS.length] f32. */
  values: Float32Array;
}

export interface ClipSample {
  /** [E] head expression coefficients. */
  expression: Float32Array;
  /** [15] axis-angle per joint, radians. */
  pose: Float32Array;
  /** [3] metres. */
  translation: Float32Array;
}

/** Clip length in seconds: the time of its last frame (a one-frame clip lasts 0 s). */
export function clipDuration(clip: AnimationClip): number {
  return (clip.frames - 1) / clip.fps;
}

/**
 * The clip's channels at `seconds`, linearly interpolated between the two
 * nearest frames (component-wise also for the axis-angle pose: a clip's
 * consecutive frames differ by small angles, where that is exact to first
 * order). Past the end: the last frame, or wrapped around with `loop`.
 */
export function sampleClip(clip: AnimationClip, seconds: number, options: { loop?: boolean } = {}): ClipSample {
  if (!Number.isFinite(seconds)) throw new Error(`sampleClip: time must be a finite number of seconds, got ${seconds}`);
  const C = CLIP_CHANNELS.length;
  let f = seconds * clip.fps;
  const last = clip.frames - 1;
  if (options.loop && last > 0) f = ((f % last) + last) % last;
  f = Math.min(Math.max(f, 0), last);
  const f0 = Math.floor(f), f1 = Math.min(f0 + 1, last), w = f - f0;
  const at = (c: number) => clip.values[f0 * C + c]! * (1 - w) + clip.values[f1 * C + c]! * w;
  const out: ClipSample = { expression: new Float32Array(E), pose: new Float32Array(P), translation: new Float32Array(3) };
  for (let c = 0; c < E; c++) out.expression[c] = at(c);
  for (let c = 0; c < P; c++) out.pose[c] = at(E + c);
  for (let c = 0; c < 3; c++) out.translation[c] = at(E + P + c);
  return out;
}

/** Builds a clip from a function of time that returns the non-zero channels by name. */
export function clipFromFunction(name: string, seconds: number, fps: number, channelsAt: (t: number) => Record<string, number>): AnimationClip {
  const C = CLIP_CHANNELS.length;
  const frames = Math.round(seconds * fps) + 1;
  const values = new Float32Array(frames * C);
  for (let f = 0; f < frames; f++) {
    for (const [channel, value] of Object.entries(channelsAt(f / fps))) {
      const c = CLIP_CHANNELS.indexOf(channel);
      if (c < 0) throw new Error(`clipFromFunction: unknown channel "${channel}" in clip "${name}"`);
      values[f * C + c] = value + 0; // no -0: files write it as 0
    }
  }
  return { name, fps, frames, values };
}
