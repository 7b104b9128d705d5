import { describe, expect, it } from "vitest";
import { CLIP_CHANNELS, createClip, getClipValue, setClipValue, type AnimationClip } from "./clip";
import {
  CLIP_LIMITS,
  ClipFileError,
  closestChannel,
  parseClipCsv,
  parseClipJson,
  writeClipCsv,
  writeClipJson,
} from "./clip-files";
import { BUILTIN_CLIP_NAMES, builtinClip } from "./builtin";

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
