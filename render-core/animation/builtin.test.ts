import { beforeAll, describe, expect, it } from "vitest";
import {
  CLIP_CHANNELS,
  EXPRESSION_CHANNELS,
  POSE_CHANNELS,
  clipDuration,
  getClipValue,
  sampleClip,
  type AnimationClip,
} from "./clip";
import { BUILTIN_CLIPS, BUILTIN_CLIP_NAMES, builtinClip } from "./builtin";
import { parseClipJson, writeClipJson } from "./clip-files";
import { createHeadModel, createHeadParams, landmarkPositions, poseVertices, type HeadModel } from "../head";

const DEG = Math.PI / 180;
const column = (clip: AnimationClip, name: string) =>
  Array.from({ length: clip.frames }, (_, f) => getClipValue(clip, f, CLIP_CHANNELS.indexOf(name)));
const sum = (a: number[], b: number[]) => a.map((v, i) => v + b[i]!);
const range = (a: number[]) => [Math.min(...a), Math.max(...a)] as const;
/** Total head yaw / pitch: the global and neck joints rotate about parallel axes, so their angles add. */
const yawOf = (clip: AnimationClip) => sum(column(clip, "global.y"), column(clip, "neck.y"));
const pitchOf = (clip: AnimationClip) => sum(column(clip, "global.x"), column(clip, "neck.x"));

describe("built-in clips", () => {
  it("are 30 fps, a few seconds long, and the names list matches the record", () => {
    expect(BUILTIN_CLIP_NAMES).toEqual(["talk", "smile", "blink", "turn", "nod", "showcase"]);
    for (const name of BUILTIN_CLIP_NAMES) {
      const clip = builtinClip(name);
      expect(clip.name).toBe(name);
      expect(clip.fps).toBe(30);
      expect(clipDuration(clip)).toBeGreaterThanOrEqual(2);
      expect(clipDuration(clip)).toBeLessThanOrEqual(6);
    }
    expect(clipDuration(builtinClip("showcase"))).toBe(6);
  });

  it("loop: the last frame equals the first, both at rest", () => {
    for (const name of BUILTIN_CLIP_NAMES) {
      const clip = builtinClip(name);
      for (let c = 0; c < CLIP_CHANNELS.length; c++) {
        const first = getClipValue(clip, 0, c),
          last = getClipValue(clip, clip.frames - 1, c);
        // 1e-6: the clips are built to return to exactly 0; this only allows f32 rounding.
        expect(Math.abs(last - first), `${name} ${CLIP_CHANNELS[c]}`).toBeLessThan(1e-6);
        expect(Math.abs(first), `${name} ${CLIP_CHANNELS[c]}`).toBeLessThan(1e-6);
      }
      // Looped playback runs straight through the join.
      expect(Array.from(sampleClip(clip, clipDuration(clip) + 0.5 / 30, { loop: true }).pose)).toEqual(
        Array.from(sampleClip(clip, 0.5 / 30).pose),
      );
    }
  });

  it("stay within the sane ranges and the file limits", () => {
    for (const name of BUILTIN_CLIP_NAMES) {
      const clip = builtinClip(name);
      for (const e of EXPRESSION_CHANNELS) {
        const [lo, hi] = range(column(clip, e));
        expect(lo, `${name} ${e}`).toBeGreaterThanOrEqual(0); // all built-in expressions are one-sided
        expect(hi, `${name} ${e}`).toBeLessThanOrEqual(1);
      }
      for (const p of POSE_CHANNELS)
        for (const v of column(clip, p)) expect(Math.abs(v), `${name} ${p}`).toBeLessThanOrEqual(20 * DEG);
      expect(clip.translation).toBeUndefined();
      expect(() => parseClipJson(writeClipJson(clip))).not.toThrow();
    }
  });

  it("turn reaches about 30 degrees of yaw each way, split over the neck and the whole head", () => {
    const clip = builtinClip("turn");
    const [lo, hi] = range(yawOf(clip));
    expect(hi).toBeGreaterThanOrEqual(25 * DEG);
    expect(lo).toBeLessThanOrEqual(-25 * DEG);
    expect(hi).toBeLessThanOrEqual(31 * DEG);
    expect(range(column(clip, "neck.y"))[1]).toBeCloseTo(18 * DEG, 5);
    expect(range(column(clip, "global.y"))[1]).toBeCloseTo(12 * DEG, 5);
    // Positive first (toward the person's left), then negative.
    const yaw = yawOf(clip);
    expect(yaw.indexOf(hi)).toBeLessThan(yaw.indexOf(lo));
  });

  it("nod pitches about 15 degrees down, then up", () => {
    const pitch = pitchOf(builtinClip("nod"));
    const [lo, hi] = range(pitch);
    expect(hi).toBeCloseTo(15 * DEG, 5);
    expect(lo).toBeCloseTo(-15 * DEG, 5);
    expect(pitch.indexOf(hi)).toBeLessThan(pitch.indexOf(lo)); // down (x > 0) first
  });

  it("blink shuts both eyes twice, each blink one close and one open with no flutter", () => {
    const clip = builtinClip("blink");
    const left = column(clip, "blinkL");
    expect(column(clip, "blinkR")).toEqual(left);
    expect(range(left)[1]).toBeGreaterThanOrEqual(0.9);
    // Count turns from rising to falling: one per blink.
    let peaks = 0,
      rising = false;
    for (let f = 1; f < left.length; f++) {
      const d = left[f]! - left[f - 1]!;
      if (d > 0) rising = true;
      else if (d < 0 && rising) {
        peaks++;
        rising = false;
      }
    }
    expect(peaks).toBe(2);
    // Quick: each blink spans under 0.4 s of non-zero frames.
    expect(left.filter((v) => v > 0).length / 30).toBeLessThan(0.8);
  });

  it("talk opens and closes the jaw by at least 0.15 rad with lip shapes, never past closed", () => {
    const clip = builtinClip("talk");
    const [lo, hi] = range(column(clip, "jaw.x"));
    expect(hi - lo).toBeGreaterThanOrEqual(0.15);
    expect(lo).toBe(0);
    // Syllables: the jaw opens and closes many times (about 4 per second).
    const jaw = column(clip, "jaw.x");
    let opens = 0;
    for (let f = 1; f < jaw.length; f++) if (jaw[f - 1]! < 0.05 && jaw[f]! >= 0.05) opens++;
    expect(opens).toBeGreaterThanOrEqual(6);
    for (const lip of ["lipPucker", "mouthStretch", "upperLipRaise"])
      expect(range(column(clip, lip))[1], lip).toBeGreaterThan(0.15);
  });

  it("smile goes neutral, both sides smiling with squinted cheeks, neutral", () => {
    const clip = builtinClip("smile");
    for (const side of ["smileL", "smileR"]) expect(range(column(clip, side))[1]).toBeGreaterThanOrEqual(0.95);
    for (const side of ["squintL", "squintR"]) expect(range(column(clip, side))[1]).toBeGreaterThan(0.3);
    expect(column(clip, "smileL")[3]).toBe(0); // still neutral at 0.1 s
  });

  it("showcase mixes a turn, a smile, talking, blinks and a nod", () => {
    const clip = builtinClip("showcase");
    const [yawLo, yawHi] = range(yawOf(clip));
    expect([yawHi >= 25 * DEG, yawLo <= -25 * DEG]).toEqual([true, true]);
    expect(range(pitchOf(clip))[1]).toBeGreaterThan(10 * DEG);
    expect(range(column(clip, "smileL"))[1]).toBeGreaterThanOrEqual(0.95);
    expect(range(column(clip, "blinkL"))[1]).toBeGreaterThanOrEqual(0.9);
    expect(range(column(clip, "jaw.x"))[1]).toBeGreaterThanOrEqual(0.15);
  });

  it("builtinClip names the clips it has when asked for another", () => {
    expect(() => builtinClip("moonwalk")).toThrow(
      'builtinClip: no clip "moonwalk" (have talk, smile, blink, turn, nod, showcase)',
    );
    expect(() => builtinClip("toString")).toThrow('no clip "toString"');
    expect("toString" in BUILTIN_CLIPS).toBe(false);
    // Each call builds a fresh clip, so a caller editing one does not change the next.
    builtinClip("talk").pose.fill(1);
    expect(builtinClip("talk").pose[0]).toBe(0);
  });
});

describe("built-in clips on the head model", () => {
  let head: HeadModel;
  beforeAll(() => {
    head = createHeadModel(); // ~1.5 s, shared by the checks below
  });
  const landmarksAt = (clip: AnimationClip, frame: number) => {
    const s = sampleClip(clip, frame / clip.fps);
    return landmarkPositions(
      head,
      poseVertices(
        head,
        createHeadParams(head, { expression: s.expression, pose: s.pose, translation: s.translation }),
      ),
    );
  };

  it("turn, nod and talk move the nose tip and chin the way the sign conventions say", () => {
    const rest = landmarkPositions(head, poseVertices(head, createHeadParams(head)));
    const NOSE = 30,
      CHIN = 8; // iBUG-68
    const turn = builtinClip("turn"),
      yaw = yawOf(turn);
    const left = landmarksAt(turn, yaw.indexOf(Math.max(...yaw))),
      right = landmarksAt(turn, yaw.indexOf(Math.min(...yaw)));
    // 30 degrees about joints ~10 cm behind the nose tip: ~5 cm sideways, toward +x for positive yaw.
    expect(left[NOSE * 3]! - rest[NOSE * 3]!).toBeGreaterThan(0.03);
    expect(left[NOSE * 3]! - rest[NOSE * 3]!).toBeLessThan(0.1);
    expect(right[NOSE * 3]! - rest[NOSE * 3]!).toBeLessThan(-0.03);

    const nod = builtinClip("nod"),
      pitch = pitchOf(nod);
    const down = landmarksAt(nod, pitch.indexOf(Math.max(...pitch)));
    expect(down[NOSE * 3 + 1]! - rest[NOSE * 3 + 1]!).toBeLessThan(-0.01); // x > 0 pitches the face down

    const talk = builtinClip("talk"),
      jaw = column(talk, "jaw.x");
    const open = landmarksAt(talk, jaw.indexOf(Math.max(...jaw)));
    expect(open[CHIN * 3 + 1]! - rest[CHIN * 3 + 1]!).toBeLessThan(-0.01); // jaw.x > 0 drops the chin
  });
});
