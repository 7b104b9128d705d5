import { describe, expect, it } from "vitest";
import { CLIP_CHANNELS, createClip, getClipValue, sampleClip, setClipValue, type AnimationClip } from "./clip";
import {
  CLIP_LIMITS,
  ClipFileError,
  closestChannel,
  parseArkitCsv,
  parseArkitJson,
  parseClipCsv,
  parseClipJson,
  writeArkitCsv,
  writeArkitJson,
  writeClipCsv,
  writeClipJson,
} from "./clip-files";
import { BUILTIN_CLIP_NAMES, builtinClip } from "./builtin";
import { ARKIT_BLENDSHAPES, ARKIT_ROTATIONS, arkitCsvName, arkitFrameToClipValues, getArkitMap } from "./arkit";
import { createHeadParams, landmarkPositions, poseVertices } from "../head";

const ch = (name: string) => CLIP_CHANNELS.indexOf(name);
const column = (clip: AnimationClip, name: string) =>
  Array.from({ length: clip.frames }, (_, f) => getClipValue(clip, f, ch(name)));
const json = (body: Record<string, unknown>) => JSON.stringify({ format: "perse-clip", version: 1, ...body });

function expectSameClip(back: AnimationClip, clip: AnimationClip): void {
  expect([back.name, back.fps, back.frames]).toEqual([clip.name, clip.fps, clip.frames]);
  expect(Array.from(back.expression)).toEqual(Array.from(clip.expression));
  expect(Array.from(back.pose)).toEqual(Array.from(clip.pose));
  expect(Array.from(back.translation ?? [])).toEqual(Array.from(clip.translation ?? []));
}

/** A clip with odd values (not round decimals), a translation track and a negative zero. */
function oddClip(): AnimationClip {
  const clip = createClip("odd", 24, 4, { translation: true });
  setClipValue(clip, 0, ch("jawForward"), Math.fround(1 / 3));
  setClipValue(clip, 1, ch("global.z"), -Math.PI / 7);
  setClipValue(clip, 2, ch("translation.x"), -0.0123456789);
  setClipValue(clip, 3, ch("rightEye.x"), 1e-7);
  setClipValue(clip, 3, ch("smileR"), -0);
  return clip;
}

describe("clip files round trip", () => {
  it("reads back every built-in clip and an odd one bit for bit, as JSON and as CSV", () => {
    for (const clip of [...BUILTIN_CLIP_NAMES.map((n) => builtinClip(n)), oddClip()]) {
      expectSameClip(parseClipJson(writeClipJson(clip)), clip);
      expectSameClip(parseClipCsv(writeClipCsv(clip), { name: clip.name, fps: clip.fps }), clip);
    }
  });

  it("writes only the channels that are ever non-zero, one frame per line, in short decimals", () => {
    const clip = createClip("hello", 30, 3);
    setClipValue(clip, 1, ch("smileL"), 0.3);
    setClipValue(clip, 2, ch("jaw.x"), 0.2);
    const text = writeClipJson(clip);
    const doc = JSON.parse(text);
    expect(doc).toEqual({
      format: "perse-clip",
      version: 1,
      name: "hello",
      fps: 30,
      channels: ["smileL", "jaw.x"],
      frames: [
        [0, 0],
        [0.3, 0],
        [0, 0.2],
      ],
    });
    expect(text.split("\n").filter((l) => l.trim().startsWith("["))).toEqual([
      "    [0, 0],",
      "    [0.3, 0],",
      "    [0, 0.2]",
    ]);
    expect(writeClipCsv(clip)).toBe("frame,smileL,jaw.x\n0,0,0\n1,0.3,0\n2,0,0.2\n");
    // An all-zero clip keeps its length through the frame column.
    expect(parseClipCsv(writeClipCsv(createClip("still", 30, 5))).frames).toBe(5);
    expect(parseClipJson(writeClipJson(createClip("still", 30, 5))).frames).toBe(5);
  });

  it("refuses to write a clip the readers would refuse", () => {
    const clip = createClip("wild", 30, 2);
    setClipValue(clip, 1, ch("jaw.y"), 4);
    expect(() => writeClipJson(clip)).toThrow("writeClipJson: frame 1: jaw.y = 4 is outside [-3.1416, 3.1416]");
    expect(() => writeClipCsv({ ...clip, fps: 1000 })).toThrow(
      "writeClipCsv: fps must be a number in (0, 240], got 1000",
    );
  });
});

describe("parseClipJson", () => {
  it("puts each listed channel in its track, zeroes the rest and defaults to 30 fps", () => {
    const clip = parseClipJson(
      json({
        name: " wave ",
        channels: ["jaw.x", "smileL", "translation.y"],
        frames: [
          [0.1, 0.5, 0.01],
          [0.12, 0.55, 0],
        ],
      }),
    );
    expect([clip.name, clip.fps, clip.frames]).toEqual(["wave", 30, 2]);
    expect(column(clip, "jaw.x")).toEqual([Math.fround(0.1), Math.fround(0.12)]);
    expect(column(clip, "smileL")).toEqual([0.5, Math.fround(0.55)]);
    expect(column(clip, "translation.y")).toEqual([Math.fround(0.01), 0]);
    expect(column(clip, "blinkL")).toEqual([0, 0]);
    expect(clip.pose.filter((v) => v !== 0).length).toBe(2);
    // No translation channel listed: no translation track.
    const plain = parseClipJson(json({ channels: ["jaw.x"], frames: [[0]] }), "fallback");
    expect(plain.name).toBe("fallback");
    expect(plain.translation).toBeUndefined();
  });

  it("takes bytes as well as text", () => {
    const clip = parseClipJson(new TextEncoder().encode(json({ fps: 60, channels: ["blinkR"], frames: [[1]] })));
    expect([clip.fps, column(clip, "blinkR")[0]]).toEqual([60, 1]);
  });
});

describe("parseClipCsv", () => {
  it("reads one row per frame without a lead column, skipping blank lines and CRLF", () => {
    const clip = parseClipCsv("smileL, smileR\r\n0,0\r\n\r\n0.5,0.25\r\n1,1\r\n", { name: "grin", fps: 25 });
    expect([clip.name, clip.fps, clip.frames]).toEqual(["grin", 25, 3]);
    expect(column(clip, "smileL")).toEqual([0, 0.5, 1]);
    expect(column(clip, "smileR")).toEqual([0, 0.25, 1]);
  });

  it("resamples time keyframes to the frame rate, linearly, ending at the last whole frame", () => {
    const clip = parseClipCsv("time,blinkL\n0,0\n0.5,1\n1,0\n", { fps: 4 });
    expect(column(clip, "blinkL")).toEqual([0, 0.5, 1, 0.5, 0]);
    // Last key at 1.1 s with 4 fps: frames at 0..1 s, the tail is dropped; starts at the first key.
    const late = parseClipCsv("time,jaw.x\n2,0\n3.1,0.22\n", { fps: 4 });
    expect(late.frames).toBe(5);
    expect(column(late, "jaw.x")[4]).toBeCloseTo((0.22 * 1) / 1.1, 6);
  });

  it("fills gaps between frame numbers by linear interpolation", () => {
    const clip = parseClipCsv("frame,neck.y\n10,0\n12,0.5\n13,-0.25\n");
    expect(column(clip, "neck.y")).toEqual([0, 0.25, 0.5, -0.25]);
  });
});

describe("clip file errors", () => {
  const refusals: Array<[string, () => unknown, string]> = [
    ["JSON syntax", () => parseClipJson("{"), "parseClipJson: not JSON ("],
    [
      "not an object",
      () => parseClipJson("[1]"),
      'parseClipJson: not a clip: expected an object with "format": "perse-clip"',
    ],
    [
      "wrong format",
      () => parseClipJson('{"format":"x"}'),
      'parseClipJson: not a clip: "format" must be "perse-clip", got "x"',
    ],
    [
      "wrong version",
      () => parseClipJson(json({ version: 2, channels: [], frames: [] })),
      "parseClipJson: clip version 2 is not supported (this build reads version 1)",
    ],
    [
      "unknown channel, case",
      () => parseClipJson(json({ channels: ["smilel"], frames: [[0]] })),
      'parseClipJson: channels[0]: unknown channel "smilel" (did you mean "smileL"?',
    ],
    [
      "unknown joint channel",
      () => parseClipJson(json({ channels: ["jaw.x", "nek.y"], frames: [[0, 0]] })),
      'parseClipJson: channels[1]: unknown channel "nek.y" (did you mean "neck.y"?',
    ],
    [
      "duplicate channel",
      () => parseClipJson(json({ channels: ["jaw.x", "jaw.x"], frames: [[0, 0]] })),
      'parseClipJson: channels[1]: "jaw.x" is listed twice',
    ],
    [
      "channels not a list",
      () => parseClipJson(json({ channels: "jaw.x", frames: [[0]] })),
      'parseClipJson: "channels" must be a list of channel names',
    ],
    [
      "empty clip",
      () => parseClipJson(json({ channels: ["jaw.x"], frames: [] })),
      "parseClipJson: the clip has no frames",
    ],
    [
      "ragged row",
      () => parseClipJson(json({ channels: ["jaw.x"], frames: [[0], [0, 1]] })),
      "parseClipJson: frames[1] must hold 1 numbers, one per channel, got 2",
    ],
    [
      "string value",
      () => parseClipJson(json({ channels: ["jaw.x"], frames: [["0.1"]] })),
      'parseClipJson: frames[0][0]: jaw.x must be a number, got "0.1"',
    ],
    [
      "non-finite value",
      () => parseClipJson('{"format":"perse-clip","version":1,"channels":["smileL"],"frames":[[1e999]]}'),
      "parseClipJson: frames[0][0]: smileL is Infinity; values must be finite numbers",
    ],
    [
      "fps zero",
      () => parseClipJson(json({ fps: 0, channels: ["jaw.x"], frames: [[0]] })),
      "parseClipJson: fps must be a number in (0, 240], got 0",
    ],
    [
      "fps too high",
      () => parseClipJson(json({ fps: 241, channels: ["jaw.x"], frames: [[0]] })),
      "parseClipJson: fps must be a number in (0, 240], got 241",
    ],
    [
      "fps as text",
      () => parseClipJson(json({ fps: "30", channels: ["jaw.x"], frames: [[0]] })),
      'parseClipJson: fps must be a number in (0, 240], got "30"',
    ],
    [
      "expression out of range",
      () => parseClipJson(json({ channels: ["smileL"], frames: [[-3.5]] })),
      "parseClipJson: frames[0][0]: smileL = -3.5 is outside [-3, 3]",
    ],
    [
      "angle out of range",
      () => parseClipJson(json({ channels: ["jaw.x"], frames: [[4]] })),
      "parseClipJson: frames[0][0]: jaw.x = 4 is outside [-3.1416, 3.1416]",
    ],
    [
      "translation out of range",
      () => parseClipJson(json({ channels: ["translation.z"], frames: [[2]] })),
      "parseClipJson: frames[0][0]: translation.z = 2 is outside [-1, 1]",
    ],
    [
      "too many frames",
      () => parseClipJson(json({ channels: [], frames: Array.from({ length: CLIP_LIMITS.frames + 1 }, () => []) })),
      "parseClipJson: 100001 frames is over the limit of 100000",
    ],
    [
      "CSV empty",
      () => parseClipCsv(" \n\n"),
      "parseClipCsv: the file is empty; it needs a header row of channel names",
    ],
    ["CSV header only", () => parseClipCsv("jaw.x\n"), "parseClipCsv: the clip has no frames"],
    [
      "CSV unknown channel",
      () => parseClipCsv("time,jaw.x,blink\n0,0,0\n"),
      'parseClipCsv: line 1, column 3: unknown channel "blink" (did you mean "blinkL"?',
    ],
    [
      "CSV duplicate channel",
      () => parseClipCsv("\nsmileL,smileL\n0,0\n"),
      'parseClipCsv: line 2, column 2: "smileL" is listed twice',
    ],
    [
      "CSV ragged row",
      () => parseClipCsv("smileL,blinkL\n0.1,0.2\n0.3\n"),
      "parseClipCsv: line 3 has 1 cells, the header 2",
    ],
    [
      "CSV not a number",
      () => parseClipCsv("smileL,blinkL\n0,abc\n"),
      'parseClipCsv: line 2, column 2: "abc" is not a number',
    ],
    ["CSV empty cell", () => parseClipCsv("smileL,blinkL\n0,\n"), 'parseClipCsv: line 2, column 2: "" is not a number'],
    ["CSV hex", () => parseClipCsv("smileL\n0x1\n"), 'parseClipCsv: line 2, column 1: "0x1" is not a number'],
    ["CSV NaN", () => parseClipCsv("smileL\n0\nNaN\n"), 'parseClipCsv: line 3, column 1: "NaN" is not a finite number'],
    [
      "CSV overflow",
      () => parseClipCsv("smileL\n1e999\n"),
      'parseClipCsv: line 2, column 1: "1e999" is not a finite number',
    ],
    [
      "CSV out of range",
      () => parseClipCsv("frame,global.y\n0,0\n1,-3.5\n"),
      "parseClipCsv: line 3, column 2: global.y = -3.5 is outside [-3.1416, 3.1416]",
    ],
    [
      "CSV time not increasing",
      () => parseClipCsv("time,smileL\n0,0\n0,1\n"),
      "parseClipCsv: line 3: time must increase from row to row (0 after 0)",
    ],
    [
      "CSV frame going back",
      () => parseClipCsv("frame,smileL\n0,0\n5,1\n4,1\n"),
      "parseClipCsv: line 4: frame must increase from row to row (4 after 5)",
    ],
    [
      "CSV fps option",
      () => parseClipCsv("smileL\n0\n", { fps: -30 }),
      "parseClipCsv: fps must be a number in (0, 240], got -30",
    ],
    [
      "CSV too many rows",
      () => parseClipCsv("smileL\n" + "0\n".repeat(CLIP_LIMITS.frames + 1)),
      "parseClipCsv: 100001 frames is over the limit of 100000",
    ],
    [
      "CSV keys too far apart",
      () => parseClipCsv("time,smileL\n0,0\n3600,0\n"),
      "parseClipCsv: 108001 frames is over the limit of 100000",
    ],
  ];
  it.each(refusals)("refuses %s with a message saying where", (_what, parse, message) => {
    expect(parse).toThrow(ClipFileError);
    expect(parse).toThrow(message);
  });

  it("refuses input over 16 MB before parsing it, counting UTF-8 bytes", () => {
    const big = "x".repeat(CLIP_LIMITS.bytes + 1);
    expect(() => parseClipCsv(big)).toThrow("parseClipCsv: the file is over 16 MB");
    expect(() => parseClipJson(new Uint8Array(CLIP_LIMITS.bytes + 1))).toThrow("parseClipJson: the file is over 16 MB");
    // 6 M two-byte characters: under the cap in string length, 12 MB; 9 M of them are 18 MB.
    expect(() => parseClipJson("é".repeat(6_000_000))).toThrow("parseClipJson: not JSON");
    expect(() => parseClipJson("é".repeat(9_000_000))).toThrow("parseClipJson: the file is over 16 MB");
    expect(() => parseClipCsv(new Uint8Array([0xff, 0xfe]))).toThrow("parseClipCsv: the file is not UTF-8 text");
  });

  it("suggests the nearest channel name", () => {
    expect(["smilel", "blink_L", "jawx", "translation.X", "browInnerRaise"].map(closestChannel)).toEqual([
      "smileL",
      "blinkL",
      "jaw.x",
      "translation.x",
      "browInnerRaiseL",
    ]);
  });
});

// ---------------------------------------------------------------------------
// ARKit-52 files.

/** Live Link Face's header: Timecode, BlendShapeCount, the 52 weights in PascalCase, then head and eye rotations. */
const LLF_HEADER = ["Timecode", "BlendShapeCount", ...ARKIT_BLENDSHAPES.map(arkitCsvName), ...ARKIT_ROTATIONS];

/** A CSV as Live Link Face writes it: one row per timecode, unnamed columns 0. */
function llfCsv(rows: Array<[string, Record<string, number>]>, header = LLF_HEADER): string {
  const lines = rows.map(([tc, values]) =>
    header.map((h) => (h === "Timecode" ? tc : h === "BlendShapeCount" ? "61" : String(values[h] ?? 0))).join(","),
  );
  return [header.join(","), ...lines].join("\r\n") + "\r\n";
}

describe("ARKit CSV (Live Link Face)", () => {
  const jawPerWeight = () => arkitFrameToClipValues({ jawOpen: 1 })["jaw.x"]!;
  const blinkPerWeight = () => arkitFrameToClipValues({ eyeBlinkLeft: 1 }).blinkL!;

  it("imports a Live Link Face take: jaw and blink follow the CSV, head turns go to global and neck", () => {
    const jaw = [0, 0.25, 0.5, 0.75, 1],
      blink = [1, 0.5, 0, 0, 0.2],
      yaw = [0, 0.1, 0.2, 0.1, 0];
    // Sub-frame jitter as the app writes it (.001, .002): rows still land on frames.
    const timecodes = ["00:01:10:58.000", "00:01:10:59.001", "00:01:11:00.002", "00:01:11:01.003", "00:01:11:02.004"];
    const csv = llfCsv(
      jaw.map((_, f) => [timecodes[f]!, { JawOpen: jaw[f]!, EyeBlinkLeft: blink[f]!, HeadYaw: yaw[f]! }]),
    );
    expect(csv.split("\r\n")[1]!.startsWith("00:01:10:58.000,61,1,")).toBe(true);
    const clip = parseClipCsv(csv, { name: "take" });
    expect([clip.name, clip.fps, clip.frames]).toEqual(["take", 60, 5]);
    const k = jawPerWeight(),
      b = blinkPerWeight();
    expect(k).toBeGreaterThan(0.4);
    jaw.forEach((w, f) => expect(column(clip, "jaw.x")[f]).toBeCloseTo(w * k, 2));
    blink.forEach((w, f) => expect(column(clip, "blinkL")[f]).toBeCloseTo(w * b, 2));
    expect(column(clip, "blinkR")).toEqual([0, 0, 0, 0, 0]);
    yaw.forEach((y, f) => {
      expect(column(clip, "neck.y")[f]).toBeCloseTo(0.6 * y, 2);
      expect(column(clip, "global.y")[f]).toBeCloseTo(0.4 * y, 2);
    });
    // Zero eye columns leave the eyes to the eyeLook shapes (none here).
    expect(column(clip, "leftEye.z")).toEqual([0, 0, 0, 0, 0]);
  });

  it("reads columns by name (apps order JawLeft / JawRight differently), gaps as keyframes, any rotation unit", () => {
    const header = [...LLF_HEADER];
    const [l, r] = [header.indexOf("JawLeft"), header.indexOf("JawRight")];
    [header[l], header[r]] = [header[r]!, header[l]!];
    const clip = parseArkitCsv(
      llfCsv(
        [
          ["00:00:00:00", { JawLeft: 0 }],
          ["00:00:00:04", { JawLeft: 1, HeadPitch: 20 }],
        ],
        header,
      ),
      { fps: 30, rotationUnit: "degrees" },
    );
    expect(clip.frames).toBe(5);
    const side = arkitFrameToClipValues({ jawLeft: 1 })["jaw.y"]!;
    expect(side).toBeGreaterThan(0);
    [0, 0.25, 0.5, 0.75, 1].forEach((t, f) => expect(column(clip, "jaw.y")[f]).toBeCloseTo(t * side, 5));
    expect(column(clip, "neck.x")[4]).toBeCloseTo((0.6 * 20 * Math.PI) / 180, 5);
    // Eye rotation columns, when used, set the eyes (ARKit yaw about +y, pitch about +x).
    const eyes = parseArkitCsv(llfCsv([["00:00:00:00", { LeftEyeYaw: 0.2, RightEyePitch: -0.1 }]]));
    expect(column(eyes, "leftEye.y")[0]).toBeCloseTo(0.2, 6);
    expect(column(eyes, "rightEye.x")[0]).toBeCloseTo(-0.1, 6);
  });

  it("exports a clip and reads it back close: head exact, jaw within 5 mrad, the face within 0.5 mm", () => {
    const map = getArkitMap();
    const model = map.model;
    const landmarks = (c: AnimationClip, f: number) => {
      const s = sampleClip(c, f / c.fps);
      return landmarkPositions(
        model,
        poseVertices(model, createHeadParams(model, { expression: s.expression, pose: s.pose })),
      );
    };
    // Measured: jaw.x within 0.0033 rad, blinks within 0.050, landmark RMS at most 0.40 mm (talk), head exact.
    for (const name of BUILTIN_CLIP_NAMES) {
      const clip = builtinClip(name);
      const csv = writeArkitCsv(clip);
      expect(csv.split("\n")[0]).toBe(LLF_HEADER.join(","));
      const back = parseClipCsv(csv, { fps: clip.fps, name });
      expect([back.frames, back.fps]).toEqual([clip.frames, clip.fps]);
      const maxErr = (ch: string) => Math.max(...column(back, ch).map((v, f) => Math.abs(v - column(clip, ch)[f]!)));
      for (const ch of ["global.x", "global.y", "global.z", "neck.x", "neck.y", "neck.z"])
        expect(maxErr(ch)).toBeLessThan(1e-5);
      expect(maxErr("jaw.x")).toBeLessThan(0.005);
      expect(Math.max(maxErr("blinkL"), maxErr("blinkR"))).toBeLessThan(0.06);
      for (let f = 0; f < clip.frames; f += 5) {
        const a = landmarks(clip, f),
          b = landmarks(back, f);
        let s2 = 0;
        for (let i = 0; i < a.length; i++) s2 += (a[i]! - b[i]!) ** 2;
        expect(Math.sqrt(s2 / 68) * 1000).toBeLessThan(0.5);
      }
      // The JSON carries the same numbers (and its own fps).
      const viaJson = parseClipJson(writeArkitJson(clip));
      expect([viaJson.name, viaJson.fps, viaJson.frames]).toEqual([clip.name, clip.fps, clip.frames]);
      Array.from(viaJson.expression).forEach((v, i) => expect(v).toBeCloseTo(back.expression[i]!, 5));
      Array.from(viaJson.pose).forEach((v, i) => expect(v).toBeCloseTo(back.pose[i]!, 5));
    }
  }, 60_000);
});

describe("ARKit JSON", () => {
  it("reads the arkit-52 format with a subset of names and rotation tracks", () => {
    const clip = parseClipJson(
      JSON.stringify({
        format: "arkit-52",
        fps: 30,
        name: "wink",
        names: ["eyeBlinkRight", "jawOpen"],
        frames: [
          [0, 0],
          [1, 0.5],
        ],
        head: [
          [0, 0, 0],
          [0.3, 0, 0],
        ],
      }),
    );
    expect([clip.name, clip.fps, clip.frames]).toEqual(["wink", 30, 2]);
    expect(column(clip, "blinkR")[1]).toBeGreaterThan(0.9);
    expect(column(clip, "blinkL")[1]).toBe(0);
    expect(column(clip, "jaw.x")[1]).toBeCloseTo(0.5 * arkitFrameToClipValues({ jawOpen: 1 })["jaw.x"]!, 6);
    expect(column(clip, "neck.y")[1]).toBeCloseTo(0.18, 6);
  });

  it("reads a plain list of per-frame objects at 60 fps, in Apple's raw spelling too", () => {
    const text = JSON.stringify([{ eyeBlink_L: 1 }, { EyeBlinkLeft: 0.5, headYaw: 0.1 }, {}]);
    for (const clip of [parseClipJson(text, "list"), parseArkitJson(text, { name: "list" })]) {
      expect([clip.name, clip.fps, clip.frames]).toEqual(["list", 60, 3]);
      expect(column(clip, "blinkL")[0]).toBeGreaterThan(0.9);
      expect(column(clip, "neck.y")[1]).toBeCloseTo(0.06, 6);
    }
  });

  it("leaves our own formats alone: mouthLeft and cheekPuff are our channels too", () => {
    const clip = parseClipCsv("mouthLeft,cheekPuff\n0.5,0.25\n");
    expect([column(clip, "mouthLeft")[0], column(clip, "cheekPuff")[0]]).toEqual([0.5, 0.25]);
  });
});

describe("ARKit file errors", () => {
  const good = llfCsv([["00:00:00:00", {}]]);
  const row = (edit: (cells: string[]) => void) => {
    const lines = llfCsv([
      ["00:00:00:00", {}],
      ["00:00:00:01", {}],
    ]).split("\r\n");
    const cells = lines[2]!.split(",");
    edit(cells);
    lines[2] = cells.join(",");
    return lines.join("\n");
  };
  const header = (edit: (cells: string[]) => void) => {
    const cells = [...LLF_HEADER];
    edit(cells);
    return [cells.join(","), ...good.split("\r\n").slice(1)].join("\n");
  };
  const col = (name: string) => LLF_HEADER.indexOf(name) + 1;
  const refusals: Array<[string, () => unknown, string]> = [
    [
      "no BlendShapeCount",
      () => parseClipCsv("Timecode,EyeBlinkLeft,JawOpen\n00:00:00:00,0.5,0\n"),
      'parseClipCsv: line 1, column 2: this looks like an ARKit CSV ("Timecode" in column 1), but column 2 is not "BlendShapeCount"',
    ],
    [
      "ARKit names without a Timecode",
      () => parseClipCsv("\nJawOpen,EyeBlinkLeft\n0,0\n"),
      'parseClipCsv: line 2, column 2: this looks like an ARKit CSV ("JawOpen" in column 1)',
    ],
    [
      "BlendShapeCount not in column 2",
      () => parseClipCsv("Timecode,JawOpen,BlendShapeCount\n00:00:00:00,0,61\n"),
      'parseClipCsv: line 1, column 2: an ARKit CSV has "BlendShapeCount" in column 2',
    ],
    [
      "a short row",
      () => parseClipCsv(row((c) => c.pop())),
      "parseClipCsv: line 3, column 63: the row has 62 cells, the header 63",
    ],
    [
      "a long row",
      () => parseClipCsv(row((c) => c.push("0"))),
      "parseClipCsv: line 3, column 64: the row has 64 cells, the header 63",
    ],
    [
      "a word for a weight",
      () => parseClipCsv(row((c) => (c[col("JawOpen") - 1] = "abc"))),
      `parseClipCsv: line 3, column ${col("JawOpen")}: "abc" is not a number`,
    ],
    [
      "an empty cell",
      () => parseArkitCsv(row((c) => (c[4] = ""))),
      'parseArkitCsv: line 3, column 5: "" is not a number',
    ],
    [
      "NaN",
      () => parseClipCsv(row((c) => (c[4] = "NaN"))),
      `parseClipCsv: line 3, column 5: ${LLF_HEADER[4]} is NaN; weights must be finite numbers`,
    ],
    [
      "a weight far outside 0..1",
      () => parseClipCsv(row((c) => (c[2] = "5"))),
      "parseClipCsv: line 3, column 3: EyeBlinkLeft = 5 is not a blendshape weight",
    ],
    [
      "degrees read as radians",
      () => parseClipCsv(row((c) => (c[col("HeadYaw") - 1] = "30"))),
      `parseClipCsv: line 3, column ${col("HeadYaw")}: HeadYaw = 30 is over half a turn (30.000 rad); check rotationUnit`,
    ],
    [
      "a bad timecode",
      () => parseClipCsv(row((c) => (c[0] = "0:00:01"))),
      'parseClipCsv: line 3, column 1: "0:00:01" is not a timecode (HH:MM:SS:FF or HH:MM:SS:FF.fff',
    ],
    [
      "a frame number past the fps",
      () =>
        parseClipCsv(
          row((c) => (c[0] = "00:00:00:45")),
          { fps: 30 },
        ),
      'parseClipCsv: line 3, column 1: "00:00:00:45" has frame 45, too many for 30 fps',
    ],
    [
      "timecodes going back",
      () => parseClipCsv(row((c) => (c[0] = "00:00:00:00"))),
      "parseClipCsv: line 3, column 1: Timecode 00:00:00:00 does not come after 00:00:00:00",
    ],
    [
      "a fractional BlendShapeCount",
      () => parseClipCsv(row((c) => (c[1] = "61.5"))),
      'parseClipCsv: line 3, column 2: BlendShapeCount "61.5" is not a whole number',
    ],
    [
      "a misspelt column",
      () => parseClipCsv(header((c) => (c[2] = "EyeBlinkLft"))),
      'parseClipCsv: line 1, column 3: unknown ARKit column "EyeBlinkLft" (did you mean "EyeBlinkLeft"?',
    ],
    [
      "a column twice",
      () => parseClipCsv(header((c) => (c[3] = "eyeBlinkLeft"))),
      'parseClipCsv: line 1, column 4: "eyeBlinkLeft" is listed twice (also column 3)',
    ],
    ["header only", () => parseArkitCsv(LLF_HEADER.join(",")), "parseArkitCsv: the clip has no frames"],
    [
      "JSON unknown name",
      () => parseClipJson(JSON.stringify({ format: "arkit-52", names: ["jawOpn"], frames: [[0]] })),
      'parseClipJson: names[0]: unknown ARKit blendshape "jawOpn" (did you mean "jawOpen"?)',
    ],
    [
      "JSON ragged frame",
      () => parseClipJson(JSON.stringify({ format: "arkit-52", names: ["jawOpen"], frames: [[0], [0, 1]] })),
      "parseClipJson: frames[1] must hold 1 numbers, one per name, got 2",
    ],
    [
      "JSON head track too short",
      () =>
        parseClipJson(
          JSON.stringify({ format: "arkit-52", names: ["jawOpen"], frames: [[0], [0]], head: [[0, 0, 0]] }),
        ),
      'parseClipJson: "head" must hold one [yaw, pitch, roll] per frame (2), got 1',
    ],
    [
      "JSON version 2",
      () => parseClipJson(JSON.stringify({ format: "arkit-52", version: 2, names: [], frames: [[]] })),
      "parseClipJson: arkit-52 version 2 is not supported",
    ],
    [
      "JSON frame list with a stranger",
      () => parseClipJson(JSON.stringify([{ jawOpen: 0.1 }, { smile: 1 }])),
      'parseClipJson: frames[1].smile: unknown ARKit name "smile"',
    ],
    [
      "JSON frame list with text",
      () => parseArkitJson(JSON.stringify([{ jawOpen: "0.1" }])),
      'parseArkitJson: frames[0].jawOpen must be a number, got "0.1"',
    ],
    [
      "not ARKit JSON",
      () => parseArkitJson('{"format":"perse-clip"}'),
      'parseArkitJson: not an ARKit clip: expected { "format": "arkit-52", ... } or a list of per-frame objects',
    ],
  ];
  it.each(refusals)("refuses %s with a message saying where", (_what, parse, message) => {
    expect(parse).toThrow(ClipFileError);
    expect(parse).toThrow(message);
  });

  it("refuses to write a clip the readers would refuse", () => {
    expect(() => writeArkitCsv({ ...createClip("fast", 30, 2), fps: 1000 })).toThrow(
      "writeArkitCsv: fps must be a number in (0, 240], got 1000",
    );
  });
});
