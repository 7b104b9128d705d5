/**
 * Built-in clips, generated in code at 30 fps. Each one starts and ends at
 * rest (every channel 0) so it loops without a jump. Amplitudes follow what a
 * face does when talking to a camera: turns of about 30 degrees, nods of
 * about 15, blinks of 150-250 ms.
 */
import { clipFromFunction, type AnimationClip } from "./clip";

const FPS = 30;
const DEG = Math.PI / 180;

/** A smooth pulse: 0 outside [t0, t1], rising to 1 in the middle (sin^2). */
function pulse(t: number, t0: number, t1: number): number {
  if (t <= t0 || t >= t1) return 0;
  return Math.sin((Math.PI * (t - t0)) / (t1 - t0)) ** 2;
}

/** 0 before t0, eased to 1 over `ramp` seconds, held, eased back to 0 by t1. */
function hold(t: number, t0: number, t1: number, ramp: number): number {
  if (t <= t0 || t >= t1) return 0;
  const up = Math.min(1, (t - t0) / ramp), down = Math.min(1, (t1 - t) / ramp);
  const s = (x: number) => x * x * (3 - 2 * x);
  return s(Math.min(up, down));
}

/** A quick natural blink centred at `at`: closes in ~80 ms, opens in ~120 ms. */
function blink(t: number, at: number): number {
  if (t < at - 0.08 || t > at + 0.12) return 0;
  return t < at ? pulse(t, at - 0.16, at) : pulse(t, at - 0.12, at + 0.12);
}

/** Head yaw split between the neck (60%) and the whole head (40%), as people turn. */
function yaw(radians: number): Record<string, number> {
  return { "neck.y": 0.6 * radians, "global.y": 0.4 * radians };
}

function talk(t: number, t0 = 0, t1 = 3): Record<string, number> {
  const env = hold(t, t0, t1, 0.25);
  // Syllables at ~4 Hz with an irregular second rhythm so it does not look like a metronome.
  const syll = Math.max(0, Math.sin(2 * Math.PI * 4.1 * t) * 0.6 + Math.sin(2 * Math.PI * 2.3 * t + 1) * 0.4);
  const round = Math.max(0, Math.sin(2 * Math.PI * 1.3 * t));
  return { "jaw.x": env * 0.22 * syll, lipPucker: env * 0.5 * round, mouthStretch: env * 0.3 * (1 - round) * syll, upperLipRaise: env * 0.2 * syll };
}

function smile(t: number, t0 = 0, t1 = 2.5): Record<string, number> {
  const s = hold(t, t0, t1, 0.5);
  return { smileL: s, smileR: s, squintL: 0.35 * s, squintR: 0.35 * s, cheekPuff: 0.1 * s, "jaw.x": 0.04 * s };
}

export const BUILTIN_CLIPS: Record<string, () => AnimationClip> = {
  talk: () => clipFromFunction("talk", 3, FPS, (t) => talk(t)),
  smile: () => clipFromFunction("smile", 2.5, FPS, (t) => smile(t)),
  blink: () => clipFromFunction("blink", 2, FPS, (t) => {
    const b = Math.max(blink(t, 0.5), blink(t, 1.45));
    return { blinkL: b, blinkR: b };
  }),
  turn: () => clipFromFunction("turn", 4, FPS, (t) => yaw(30 * DEG * Math.sin((2 * Math.PI * t) / 4))),
  nod: () => clipFromFunction("nod", 2, FPS, (t) => ({ "global.x": 15 * DEG * Math.sin((2 * Math.PI * t) / 2) * hold(t, 0, 2, 0.3), "neck.x": 5 * DEG * pulse(t, 0, 2) })),
  showcase: () =>
    clipFromFunction("showcase", 6, FPS, (t) => {
      const out: Record<string, number> = { ...yaw(30 * DEG * Math.sin((2 * Math.PI * t) / 2) * (t < 2 ? 1 : 0)) };
      Object.assign(out, smile(t, 2, 3.6));
      for (const [k, v] of Object.entries(talk(t, 3.4, 5))) out[k] = (out[k] ?? 0) + v;
      const b = Math.max(blink(t, 0.9), blink(t, 4.2));
      Object.assign(out, { blinkL: b, blinkR: b, "global.x": 12 * DEG * pulse(t, 5, 6) });
      return out;
    }),
};

export const BUILTIN_CLIP_NAMES = Object.keys(BUILTIN_CLIPS);

export function builtinClip(name: string): AnimationClip {
  const make = BUILTIN_CLIPS[name];
  if (!make) throw new Error(`builtinClip: no clip "${name}" (have ${BUILTIN_CLIP_NAMES.join(", ")})`);
  return make();
}
