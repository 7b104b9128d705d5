import { beforeAll, describe, expect, it } from "vitest";
import { BUILTIN_CLIP_NAMES, CLIP_CHANNELS, ClipFileError, builtinClip, clipDuration, clipFromFunction, parseClipCsv, parseClipJson, poseFromControls, sampleClip, writeClipCsv, writeClipJson } from ".";
import { createHeadModel, createHeadParams, landmarkPositions, poseVertices, type HeadModel } from "../head";

const C = CLIP_CHANNELS.length;
const ch = (name: string) => CLIP_CHANNELS.indexOf(name);

describe("sampling a clip", () => {
  const clip = clipFromFunction("ramp", 1, 10, (t) => ({ smileL: t, "jaw.x": 0.2 * t }));
  it("interpolates linearly between frames and clamps or loops past the end", () => {
    expect(clip.frames).toBe(11);
    expect(clipDuration(clip)).toBeCloseTo(1);
    expect(sampleClip(clip, 0.25).expression[0]).toBeCloseTo(0.25, 6);
    expect(sampleClip(clip, 0.25).pose[6]).toBeCloseTo(0.05, 6); // jaw.x is pose channel 6
    expect(sampleClip(clip, 5).expression[0]).toBeCloseTo(1, 6);
    expect(sampleClip(clip, 1.25, { loop: true }).expression[0]).toBeCloseTo(0.25, 6);
    expect(sampleClip(clip, -0.25, { loop: true }).expression[0]).toBeCloseTo(0.75, 6);
    expect(() => sampleClip(clip, NaN)).toThrow(/finite/);
  });
});

describe("clip files", () => {
  it("round-trips every built-in clip through JSON and CSV exactly", () => {
    for (const name of BUILTIN_CLIP_NAMES) {
      const clip = builtinClip(name);
      for (const back of [parseClipJson(writeClipJson(clip)), parseClipCsv(writeClipCsv(clip), { name })]) {
        expect(back.frames).toBe(clip.frames);
        expect(back.fps).toBe(clip.fps);
        expect(Array.from(back.values)).toEqual(Array.from(clip.values));
      }
    }
  });

  it("resamples a CSV with a time column to the frame rate", () => {
    const clip = parseClipCsv("time,blinkL\n0,0\n0.5,1\n1,0\n", { fps: 4 });
    expect(clip.frames).toBe(5);
    expect(Array.from({ length: 5 }, (_, f) => clip.values[f * C + ch("blinkL")])).toEqual([0, 0.5, 1, 0.5, 0]);
  });

  it("explains what is wrong and where", () => {
    const bad: Array<[() => unknown, RegExp]> = [
      [() => parseClipJson("{"), /not JSON/],
      [() => parseClipJson('{"format":"x"}'), /"format" must be "perse-clip"/],
      [() => parseClipJson('{"format":"perse-clip","version":2,"channels":[],"frames":[]}'), /version 2 is not supported/],
      [() => parseClipJson('{"format":"perse-clip","version":1,"channels":["smilel"],"frames":[[0]]}'), /unknown channel "smilel" \(did you mean "smileL"/],
      [() => parseClipJson('{"format":"perse-clip","version":1,"channels":["jaw.x"],"frames":[]}'), /no frames/],
      [() => parseClipJson('{"format":"perse-clip","version":1,"channels":["jaw.x"],"frames":[[0, 1]]}'), /frames\[0\] must hold 1 numbers/],
      [() => parseClipJson('{"format":"perse-clip","version":1,"fps":0,"channels":["jaw.x"],"frames":[[0]]}'), /fps must be a number in \(0, 240\]/],
      [() => parseClipJson('{"format":"perse-clip","version":1,"channels":["jaw.x"],"frames":[[4]]}'), /jaw.x = 4 is outside/],
      [() => parseClipCsv("smileL,blinkL\n0.1,0.2\n0.3\n"), /line 3 has 1 cells, the header 2/],
      [() => parseClipCsv("smileL\nabc\n"), /line 2, column 1: "abc" is not a number/],
      [() => parseClipCsv("time,smileL\n0,0\n0,1\n"), /line 3: time must increase/],
      [() => parseClipCsv(""), /empty/],
      [() => parseClipCsv("x".repeat(16 * 1024 * 1024 + 1)), /over 16 MB/],
    ];
    for (const [fn, message] of bad) {
      expect(fn).toThrow(ClipFileError);
      expect(fn).toThrow(message);
    }
  });
});

describe("built-in clips", () => {
  let head: HeadModel;
  beforeAll(() => {
    head = createHeadModel();
  });
  const range = (name: string, channel: string) => {
    const clip = builtinClip(name);
    let lo = Infinity, hi = -Infinity;
    for (let f = 0; f < clip.frames; f++) {
      lo = Math.min(lo, clip.values[f * C + ch(channel)]!);
      hi = Math.max(hi, clip.values[f * C + ch(channel)]!);
    }
    return [lo, hi];
  };

  it("start and end at rest, so they loop without a jump", () => {
    for (const name of BUILTIN_CLIP_NAMES) {
      const clip = builtinClip(name);
      for (let c = 0; c < C; c++) {
        expect(Math.abs(clip.values[c]!), `${name} ${CLIP_CHANNELS[c]} first`).toBeLessThan(1e-6);
        expect(Math.abs(clip.values[(clip.frames - 1) * C + c]!), `${name} ${CLIP_CHANNELS[c]} last`).toBeLessThan(1e-6);
      }
      expect(clip.fps).toBe(30);
    }
  });

  it("do what their names say", () => {
    const yawOf = (name: string) => {
      const clip = builtinClip(name);
      return Array.from({ length: clip.frames }, (_, f) => clip.values[f * C + ch("neck.y")]! + clip.values[f * C + ch("global.y")]!);
    };
    const yaw = yawOf("turn");
    expect(Math.max(...yaw)).toBeGreaterThan((25 * Math.PI) / 180);
    expect(Math.min(...yaw)).toBeLessThan((-25 * Math.PI) / 180);
    expect(range("blink", "blinkL")[1]).toBeGreaterThan(0.9);
    expect(range("blink", "blinkR")[1]).toBeGreaterThan(0.9);
    expect(range("talk", "jaw.x")[1] - range("talk", "jaw.x")[0]!).toBeGreaterThan(0.15);
    expect(range("smile", "smileL")[1]).toBeGreaterThan(0.95);
    expect(range("nod", "global.x")[1]).toBeGreaterThan((12 * Math.PI) / 180);
  });

  it("turning the head moves the nose tip sideways by centimetres, toward +x for a positive yaw", () => {
    const clip = builtinClip("turn");
    const peak = sampleClip(clip, 1); // sin peaks a quarter of the way through
    const noseX = (pose: Float32Array) => landmarkPositions(head, poseVertices(head, createHeadParams(head, { pose })))[30 * 3]!;
    const moved = noseX(peak.pose) - noseX(new Float32Array(15));
    expect(moved).toBeGreaterThan(0.03);
  });
});

describe("manual pose controls", () => {
  it("map the editor's knobs to expressions and joint angles, clamped to their ranges", () => {
    const p = poseFromControls({ smile: 0.5, blink: 2, turn: 30, nod: -10, jawOpen: 1 });
    const e = (name: string) => p.expression[CLIP_CHANNELS.indexOf(name)];
    expect([e("smileL"), e("smileR"), e("blinkL"), e("blinkR")]).toEqual([0.5, 0.5, 1, 1]);
    expect(p.pose[1]! + p.pose[4]!).toBeCloseTo((30 * Math.PI) / 180, 6); // whole-head + neck yaw
    expect(p.pose[0]).toBeCloseTo((-10 * Math.PI) / 180, 6);
    expect(p.pose[6]).toBeCloseTo(0.35, 6);
    expect(poseFromControls({ turn: 500, smile: Number.NaN }).pose[1]! + poseFromControls({ turn: 500 }).pose[4]!).toBeCloseTo((40 * Math.PI) / 180, 6);
    expect(Array.from(poseFromControls({}).pose).every((v) => v === 0)).toBe(true);
  });
});
