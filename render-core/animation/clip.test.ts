import { describe, expect, it } from "vitest";
import {
  CLIP_CHANNELS,
  checkClip,
  clipDuration,
  clipFromFunction,
  createClip,
  getClipValue,
  sampleClip,
  setClipValue,
} from "./clip";
import { EXPRESSION_NAMES } from "../head";

const ch = (name: string) => CLIP_CHANNELS.indexOf(name);

/** 3 frames at 4 fps (0, 0.25, 0.5 s) with binary-exact values, so midpoints are exact too. */
function threeFrames() {
  const clip = createClip("three", 4, 3, { translation: true });
  const track: Array<[string, number[]]> = [
    ["smileL", [0, 1, 0.5]],
    ["jaw.x", [0.25, 0.75, 0]],
    ["rightEye.z", [-0.5, 0.5, 0]],
    ["translation.y", [0.125, -0.125, 0]],
  ];
  for (const [name, vals] of track) vals.forEach((v, f) => setClipValue(clip, f, ch(name), v));
  return clip;
}

describe("sampleClip", () => {
  it("returns the frames themselves at frame times and exact means at midpoints", () => {
    const clip = threeFrames();
    const at0 = sampleClip(clip, 0),
      mid = sampleClip(clip, 0.125),
      mid2 = sampleClip(clip, 0.375);
    expect([at0.expression[0], at0.pose[6], at0.pose[14], at0.translation[1]]).toEqual([0, 0.25, -0.5, 0.125]);
    expect([mid.expression[0], mid.pose[6], mid.pose[14], mid.translation[1]]).toEqual([0.5, 0.5, 0, 0]);
    expect([mid2.expression[0], mid2.pose[6]]).toEqual([0.75, 0.375]);
    // A quarter of the way: 0.25 * 1 + 0.75 * 0.
    expect(sampleClip(clip, 0.0625).expression[0]).toBe(0.25);
  });

  it("holds the first and last frames outside the clip without loop", () => {
    const clip = threeFrames();
    expect(sampleClip(clip, -3).pose[6]).toBe(0.25);
    expect(sampleClip(clip, 0.5).expression[0]).toBe(0.5);
    expect(sampleClip(clip, 99).expression[0]).toBe(0.5);
  });

  it("wraps time over the duration with loop, also for negative times", () => {
    const clip = threeFrames();
    expect(clipDuration(clip)).toBe(0.5);
    expect(sampleClip(clip, 0.5 + 0.125, { loop: true }).expression[0]).toBe(0.5);
    expect(sampleClip(clip, 10 * 0.5 + 0.25, { loop: true }).expression[0]).toBe(1);
    expect(sampleClip(clip, -0.125, { loop: true }).expression[0]).toBe(0.75); // = 0.375 s
    // The end time wraps to the start: loops assume frame F-1 equals frame 0.
    expect(sampleClip(clip, 0.5, { loop: true }).pose[6]).toBe(0.25);
  });

  it("gives zero translation for a clip without a translation track, and sizes every output", () => {
    const clip = createClip("plain", 30, 2);
    const s = sampleClip(clip, 0.01);
    expect(clip.translation).toBeUndefined();
    expect([s.expression.length, s.pose.length, s.translation.length]).toEqual([EXPRESSION_NAMES.length, 15, 3]);
    expect(Array.from(s.translation)).toEqual([0, 0, 0]);
    expect(sampleClip(createClip("one", 30, 1), 5, { loop: true }).pose.length).toBe(15); // a 0 s clip still samples
  });

  it("refuses a non-finite time and arrays that do not match the frame count", () => {
    const clip = threeFrames();
    expect(() => sampleClip(clip, NaN)).toThrow("sampleClip: time must be a finite number of seconds, got NaN");
    expect(() => sampleClip({ ...clip, pose: new Float32Array(15) }, 0)).toThrow(
      'sampleClip: clip "three" pose needs 3 x 15 = 45 floats, got 15',
    );
    expect(() => sampleClip({ ...clip, translation: new Float32Array(3) }, 0)).toThrow(
      "translation needs 3 x 3 = 9 floats, got 3",
    );
    expect(() => checkClip("player", { ...clip, frames: 0 })).toThrow('player: clip "three" has 0 frames');
    expect(() => createClip("x", 0, 3)).toThrow("createClip: fps must be a positive number, got 0");
    expect(() => createClip("x", 30, 2.5)).toThrow("createClip: frames must be a positive whole number, got 2.5");
  });
});

describe("clip channels", () => {
  it("map names to the expression, pose and translation tracks", () => {
    expect(CLIP_CHANNELS.length).toBe(EXPRESSION_NAMES.length + 15 + 3);
    const clip = createClip("c", 30, 2);
    setClipValue(clip, 1, ch("blinkR"), 0.5);
    setClipValue(clip, 1, ch("neck.y"), -0.25);
    setClipValue(clip, 1, ch("translation.z"), 0); // a zero does not create the track
    expect(clip.translation).toBeUndefined();
    setClipValue(clip, 1, ch("translation.z"), 0.01);
    expect(clip.expression[EXPRESSION_NAMES.length + EXPRESSION_NAMES.indexOf("blinkR")]).toBe(0.5);
    expect(clip.pose[15 + 4]).toBe(-0.25); // neck is joint 1, y is axis 1
    expect(clip.translation![3 + 2]).toBeCloseTo(0.01, 8);
    expect(getClipValue(clip, 1, ch("neck.y"))).toBe(-0.25);
    expect(getClipValue(clip, 0, ch("translation.x"))).toBe(0);
  });
});

describe("clipFromFunction", () => {
  it("samples the function at each frame time and leaves other channels at 0", () => {
    const clip = clipFromFunction("ramp", 1, 10, (t) => ({ smileL: t, "jaw.x": 0.2 * t }));
    expect(clip.frames).toBe(11);
    expect(clip.expression[5 * EXPRESSION_NAMES.length]).toBeCloseTo(0.5, 6);
    expect(clip.pose[10 * 15 + 6]).toBeCloseTo(0.2, 6);
    expect(clip.pose.reduce((n, v, i) => n + (i % 15 !== 6 && v !== 0 ? 1 : 0), 0)).toBe(0);
    expect(sampleClip(clip, 0.25).pose[6]).toBeCloseTo(0.05, 6);
  });

  it("names the clip and channel when the function returns something wrong", () => {
    expect(() => clipFromFunction("oops", 1, 10, () => ({ smile: 1 }))).toThrow(
      'clipFromFunction: unknown channel "smile" in clip "oops"',
    );
    expect(() => clipFromFunction("oops", 1, 10, (t) => ({ smileL: t > 0.5 ? NaN : 0 }))).toThrow(
      'clipFromFunction: channel smileL of clip "oops" is NaN at frame 6',
    );
    expect(() => clipFromFunction("oops", -1, 10, () => ({}))).toThrow(
      "clipFromFunction: seconds must be a finite number >= 0, got -1",
    );
  });
});
