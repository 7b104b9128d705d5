/**
 * Built-in clips, generated in code at 30 fps. Each one starts and ends at
 * rest (every channel 0) with zero velocity, so it loops without a jump or a
 * kink. Amplitudes follow a face talking to a camera: turns of about 30
 * degrees, nods of about 15, blinks of about 300 ms.
 * Sign conventions: see clip.ts (jaw.x > 0 opens, x > 0 pitches down, y > 0
 * turns toward +x).
 */
import { clipFromFunction, type AnimationClip } from "./clip";

const FPS = 30;
const DEG = Math.PI / 180;

const smoothstep = (x: number) => (x <= 0 ? 0 : x >= 1 ? 1 : x * x * (3 - 2 * x));

/**
 * Eased keyframes [time s, value]: smoothstep between keys, so the motion
 * stops at every key (a head pauses at the end of a turn) and joins the next
 * loop smoothly. Holds the first / last value outside the keys.
 */
function keys(t: number, ks: ReadonlyArray<readonly [number, number]>): number {
  if (t <= ks[0]![0]) return ks[0]![1];
  for (let i = 1; i < ks.length; i++) {
    const [t1, v1] = ks[i]!;
    if (t <= t1) {
      const [t0, v0] = ks[i - 1]!;
      return v0 + (v1 - v0) * smoothstep((t - t0) / (t1 - t0));
    }
  }
  return ks[ks.length - 1]![1];
}

/** 0 outside [t0, t1], eased up over `ramp` seconds, held at 1, eased back down by t1. */
function hold(t: number, t0: number, t1: number, ramp: number): number {
  return smoothstep((t - t0) / ramp) * smoothstep((t1 - t) / ramp);
}

/**
 * One blink that is fully shut at `at` (put `at` on a frame so a frame sees
 * the lids meet): the lids close in 100 ms, stay shut one frame and open in
 * 170 ms, slower than they close, as real blinks do.
 */
function blink(t: number, at: number): number {
  const shut = 1 / FPS;
  return t < at ? smoothstep((t - (at - 0.1)) / 0.1) : smoothstep((at + shut + 0.17 - t) / 0.17);
}

/** Head yaw split 60 % neck, 40 % whole head, as people turn (the sum is the total). */
function yaw(radians: number): Record<string, number> {
  return { "neck.y": 0.6 * radians, "global.y": 0.4 * radians };
}

/** Head pitch (> 0: face down) split like yaw. */
function pitch(radians: number): Record<string, number> {
  return { "neck.x": 0.6 * radians, "global.x": 0.4 * radians };
}

/** Talking between t0 and t1: the jaw at syllable rhythm with rounded and spread vowels. */
function talk(t: number, t0: number, t1: number): Record<string, number> {
  const env = hold(t, t0, t1, 0.25);
  // Syllables at ~4 Hz plus an irregular second rhythm, so it does not look like a metronome.
  const syll = Math.max(0, Math.sin(2 * Math.PI * 4.1 * t) * 0.6 + Math.sin(2 * Math.PI * 2.3 * t + 1) * 0.4);
  const round = Math.max(0, Math.sin(2 * Math.PI * 1.3 * t)); // "oo" vowels; the rest are spread ("ee")
  return {
    "jaw.x": env * 0.22 * syll,
    lipPucker: env * 0.5 * round,
    mouthStretch: env * 0.3 * (1 - round) * syll,
    upperLipRaise: env * 0.2 * syll,
    browInnerRaiseL: env * 0.15 * round,
    browInnerRaiseR: env * 0.15 * round,
  };
}

/** A smile on both sides with the cheeks pushing the lower lids up (squint), between t0 and t1. */
function smile(t: number, t0: number, t1: number): Record<string, number> {
  const s = hold(t, t0, t1, 0.6);
  return { smileL: s, smileR: s, squintL: 0.4 * s, squintR: 0.4 * s, "jaw.x": 0.04 * s };
}

/** Adds channel values into `into` (clips mix by summing). */
function mix(into: Record<string, number>, add: Record<string, number>): Record<string, number> {
  for (const [k, v] of Object.entries(add)) into[k] = (into[k] ?? 0) + v;
  return into;
}

const TURN = 30 * DEG;
const NOD = 15 * DEG;

const factories = {
  talk: () => clipFromFunction("talk", 3, FPS, (t) => talk(t, 0, 3)),
  smile: () => clipFromFunction("smile", 2.5, FPS, (t) => smile(t, 0.2, 2.3)),
  blink: () =>
    clipFromFunction("blink", 2, FPS, (t) => {
      const b = Math.max(blink(t, 0.5), blink(t, 1.4));
      return { blinkL: b, blinkR: b };
    }),
  turn: () =>
    clipFromFunction("turn", 4, FPS, (t) =>
      yaw(
        TURN *
          keys(t, [
            [0, 0],
            [0.9, 1],
            [1.3, 1],
            [2.7, -1],
            [3.1, -1],
            [4, 0],
          ]),
      ),
    ),
  nod: () =>
    clipFromFunction("nod", 2, FPS, (t) =>
      pitch(
        NOD *
          keys(t, [
            [0, 0],
            [0.5, 1],
            [0.65, 1],
            [1.35, -1],
            [1.5, -1],
            [2, 0],
          ]),
      ),
    ),
  showcase: () =>
    clipFromFunction("showcase", 6, FPS, (t) => {
      // 0-2 s turn, 2-3.6 smile, 3.4-5 talk, 5-6 nod, blinks at 0.9 and 4.2 s: each stage shows on a contact sheet.
      const out = yaw(
        TURN *
          keys(t, [
            [0, 0],
            [0.5, 1],
            [0.7, 1],
            [1.3, -1],
            [1.5, -1],
            [2, 0],
          ]),
      );
      mix(out, smile(t, 2, 3.6));
      mix(out, talk(t, 3.4, 5));
      mix(
        out,
        pitch(
          NOD *
            keys(t, [
              [5, 0],
              [5.3, 0.9],
              [5.7, -0.6],
              [6, 0],
            ]),
        ),
      );
      const b = Math.max(blink(t, 0.9), blink(t, 4.2));
      return mix(out, { blinkL: b, blinkR: b });
    }),
};

export type BuiltinClipName = keyof typeof factories;
export const BUILTIN_CLIP_NAMES = Object.keys(factories) as BuiltinClipName[];

/**
 * Clip factories by name (each call builds a fresh clip the caller may edit).
 * No prototype, so `name in BUILTIN_CLIPS` is false for "toString" and the like.
 */
export const BUILTIN_CLIPS: Readonly<Record<BuiltinClipName, () => AnimationClip>> = Object.freeze(
  Object.assign(Object.create(null) as Record<BuiltinClipName, () => AnimationClip>, factories),
);

export function builtinClip(name: string): AnimationClip {
  if (!Object.hasOwn(BUILTIN_CLIPS, name))
    throw new Error(`builtinClip: no clip "${name}" (have ${BUILTIN_CLIP_NAMES.join(", ")})`);
  return BUILTIN_CLIPS[name as BuiltinClipName]();
}
