/**
 * Animation clips: expression and pose tracks that drive an avatar (or the
 * head model) frame by frame, sampled at any time by linear interpolation.
 *
 * Channels, in CLIP_CHANNELS order: the head's expression coefficients by name
 * (smileL, blinkR, ...), then `<joint>.<x|y|z>` axis-angle radians for global,
 * neck, jaw, leftEye, rightEye, then `translation.<x|y|z>` metres.
 * Conventions (head model, checked in render-core/head/lbs.cpu.test.ts and
 * builtin.test.ts): +y up, the face looks along +z; jaw.x > 0 opens the mouth
 * (0 is closed, not the canonical CANONICAL_JAW_OPEN), global.x / neck.x > 0
 * pitch the face down (a nod), global.y / neck.y > 0 turn it toward +x (the
 * person's left).
 */
import { EXPRESSION_NAMES, JOINT_NAMES } from "../head";

export const EXPRESSION_CHANNELS: readonly string[] = EXPRESSION_NAMES;
export const POSE_CHANNELS: readonly string[] = JOINT_NAMES.flatMap((j) => ["x", "y", "z"].map((a) => `${j}.${a}`));
export const TRANSLATION_CHANNELS: readonly string[] = ["translation.x", "translation.y", "translation.z"];
export const CLIP_CHANNELS: readonly string[] = [...EXPRESSION_CHANNELS, ...POSE_CHANNELS, ...TRANSLATION_CHANNELS];
const E = EXPRESSION_CHANNELS.length,
  P = POSE_CHANNELS.length;

export interface AnimationClip {
  name: string;
  /** Frames per second. */
  fps: number;
  /** Frame count F (at least 1). */
  frames: number;
  /** [F, E] f32 expression coefficients over EXPRESSION_NAMES. */
  expression: Float32Array;
  /** [F, 15] f32 axis-angle per joint (global, neck, jaw, leftEye, rightEye), radians. */
  pose: Float32Array;
  /** [F, 3] f32 metres; absent means 0. */
  translation?: Float32Array;
}

export interface ClipSample {
  /** [E] f32 head expression coefficients. */
  expression: Float32Array;
  /** [15] f32 axis-angle per joint, radians. */
  pose: Float32Array;
  /** [3] f32 metres. */
  translation: Float32Array;
}

/** A clip of `frames` frames with every channel 0 (a translation track only when asked for). */
export function createClip(
  name: string,
  fps: number,
  frames: number,
  options: { translation?: boolean } = {},
): AnimationClip {
  if (!(fps > 0) || !Number.isFinite(fps)) throw new Error(`createClip: fps must be a positive number, got ${fps}`);
  if (!Number.isInteger(frames) || frames < 1)
    throw new Error(`createClip: frames must be a positive whole number, got ${frames}`);
  const clip: AnimationClip = {
    name,
    fps,
    frames,
    expression: new Float32Array(frames * E),
    pose: new Float32Array(frames * P),
  };
  if (options.translation) clip.translation = new Float32Array(frames * 3);
  return clip;
}

/** Throws unless the clip's arrays match its frame count (clips also arrive from other code and files). */
export function checkClip(owner: string, clip: AnimationClip): void {
  const { frames, fps } = clip;
  if (!Number.isInteger(frames) || frames < 1)
    throw new Error(`${owner}: clip "${clip.name}" has ${frames} frames; it needs at least 1`);
  if (!(fps > 0) || !Number.isFinite(fps)) throw new Error(`${owner}: clip "${clip.name}" has fps ${fps}`);
  const want: Array<["expression" | "pose" | "translation", number]> = [
    ["expression", E],
    ["pose", P],
    ["translation", 3],
  ];
  for (const [track, width] of want) {
    const a = clip[track];
    if (a === undefined && track === "translation") continue;
    if (!a || a.length !== frames * width)
      throw new Error(
        `${owner}: clip "${clip.name}" ${track} needs ${frames} x ${width} = ${frames * width} floats, got ${a ? a.length : a}`,
      );
  }
}

/** Where channel `c` (an index into CLIP_CHANNELS) lives: its track, row width and column. */
function locate(c: number): { track: "expression" | "pose" | "translation"; width: number; col: number } {
  if (c < E) return { track: "expression", width: E, col: c };
  if (c < E + P) return { track: "pose", width: P, col: c - E };
  return { track: "translation", width: 3, col: c - E - P };
}

/** Channel `c` (index into CLIP_CHANNELS) at frame `f`; a missing translation track reads 0. */
export function getClipValue(clip: AnimationClip, f: number, c: number): number {
  const { track, width, col } = locate(c);
  const a = clip[track];
  return a ? a[f * width + col]! : 0;
}

/** Sets channel `c` at frame `f`, creating the translation track on first use. */
export function setClipValue(clip: AnimationClip, f: number, c: number, value: number): void {
  const { track, width, col } = locate(c);
  if (track === "translation" && !clip.translation) {
    if (value === 0) return;
    clip.translation = new Float32Array(clip.frames * 3);
  }
  clip[track]![f * width + col] = value + 0; // + 0 turns -0 into 0, which files write as "0"
}

/** Clip length in seconds: the time of its last frame (a one-frame clip lasts 0 s). */
export function clipDuration(clip: AnimationClip): number {
  return (clip.frames - 1) / clip.fps;
}

/**
 * The clip's channels at `seconds`, linearly interpolated between the two
 * nearest frames. The axis-angle pose is interpolated component-wise too: the
 * clips' angles are small (|angle| well under 1 rad) and consecutive frames
 * differ by a few hundredths of a radian, where that matches a rotation slerp
 * to first order. Before 0 and past the end: the first / last frame, or with
 * `loop` the time wraps over the clip's duration (so frame F-1 and frame 0
 * should be equal, as the built-in clips are).
 */
export function sampleClip(clip: AnimationClip, seconds: number, options: { loop?: boolean } = {}): ClipSample {
  if (!Number.isFinite(seconds)) throw new Error(`sampleClip: time must be a finite number of seconds, got ${seconds}`);
  checkClip("sampleClip", clip);
  const last = clip.frames - 1;
  let f = seconds * clip.fps;
  if (options.loop && last > 0) f = ((f % last) + last) % last;
  f = Math.min(Math.max(f, 0), last);
  const f0 = Math.floor(f),
    f1 = Math.min(f0 + 1, last),
    w = f - f0;
  const lerp = (a: Float32Array, width: number, out: Float32Array) => {
    for (let c = 0; c < width; c++) out[c] = a[f0 * width + c]! * (1 - w) + a[f1 * width + c]! * w;
    return out;
  };
  return {
    expression: lerp(clip.expression, E, new Float32Array(E)),
    pose: lerp(clip.pose, P, new Float32Array(P)),
    translation: clip.translation ? lerp(clip.translation, 3, new Float32Array(3)) : new Float32Array(3),
  };
}

/**
 * Builds a clip of round(seconds * fps) + 1 frames from a function of time (s)
 * that returns the non-zero channels by name.
 */
export function clipFromFunction(
  name: string,
  seconds: number,
  fps: number,
  channelsAt: (t: number) => Record<string, number>,
): AnimationClip {
  if (!(seconds >= 0) || !Number.isFinite(seconds))
    throw new Error(`clipFromFunction: seconds must be a finite number >= 0, got ${seconds} for clip "${name}"`);
  const clip = createClip(name, fps, Math.round(seconds * fps) + 1);
  for (let f = 0; f < clip.frames; f++) {
    for (const [channel, value] of Object.entries(channelsAt(f / fps))) {
      const c = CLIP_CHANNELS.indexOf(channel);
      if (c < 0) throw new Error(`clipFromFunction: unknown channel "${channel}" in clip "${name}"`);
      if (!Number.isFinite(value))
        throw new Error(`clipFromFunction: channel ${channel} of clip "${name}" is ${value} at frame ${f}`);
      setClipValue(clip, f, c, value);
    }
  }
  return clip;
}
