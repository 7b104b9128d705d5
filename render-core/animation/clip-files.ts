/**
 * Clip files: JSON and CSV (docs/animation.md). Both name their channels
 * (CLIP_CHANNELS); channels a file leaves out are 0. Everything a file says is
 * checked before it becomes a clip, and a mistake names its place (line and
 * column for CSV), because these files are written by hand or by other tools.
 *
 * JSON: { "format": "perse-clip", "version": 1, "name": "wave", "fps": 30,
 *         "channels": ["jaw.x", "smileL"], "frames": [[0.1, 0.5], [0.12, 0.55]] }
 * CSV:  a header row of channel names, optionally led by `frame` or `time`
 *       (seconds), then one row per frame; with a lead column the rows are
 *       keyframes, resampled linearly to the clip's fps.
 *
 * The writers list only the channels that are ever non-zero (the rest read
 * back as 0) and write each value as the shortest decimal that reads back as
 * the same f32, so write -> parse gives the same clip bit for bit.
 *
 * ARKit-52 (arkit.ts maps the weights to our channels and back):
 * CSV:  Live Link Face's layout, told apart by its `BlendShapeCount` column:
 *       Timecode,BlendShapeCount,EyeBlinkLeft,...,TongueOut[,HeadYaw,...,RightEyeRoll]
 *       with Timecode HH:MM:SS:FF[.fff] (FF and the fraction in frames at `fps`, default 60).
 * JSON: { "format": "arkit-52", "fps": 60, "names": [...], "frames": [[...]],
 *         "head"?: [[yaw, pitch, roll]], "leftEye"?: [...], "rightEye"?: [...] }
 *       or a plain list of frames [{ "eyeBlinkLeft": 0.1, "jawOpen": 0.3 }, ...] (60 fps).
 * Reading maps each frame through the fitted map (not bit-exact); writing
 * fits ARKit weights to each frame.
 */
import { editDistance } from "../math/edit-distance";
import {
  CLIP_CHANNELS,
  EXPRESSION_CHANNELS,
  POSE_CHANNELS,
  checkClip,
  createClip,
  getClipValue,
  setClipValue,
  type AnimationClip,
} from "./clip";
import {
  ARKIT_BLENDSHAPES,
  ARKIT_MAP_CHANNELS,
  ARKIT_ROTATIONS,
  ARKIT_ROTATION_UNITS,
  HEAD_GLOBAL_SHARE,
  arkitCsvName,
  arkitNameIndex,
  arkitRotationIndex,
  axisAngleToEuler,
  closestArkitName,
  controlsFromSample,
  eulerToAxisAngle,
  getArkitMap,
  headEuler,
  type ArkitRotationUnit,
} from "./arkit";
import type { HeadModel } from "../head";

export const CLIP_FORMAT = "perse-clip";
export const CLIP_FORMAT_VERSION = 1;
/** What a clip file may hold. Default fps 30. */
export const CLIP_LIMITS = {
  /** Input size, checked before anything is parsed. */
  bytes: 16 * 1024 * 1024,
  frames: 100_000,
  maxFps: 240,
  defaultFps: 30,
  /** |expression coefficient|: the sliders go to 1; 3 leaves room for exaggeration. */
  expression: 3,
  /** |axis-angle component|, radians. */
  angle: Math.PI,
  /** |translation component|, metres. */
  translation: 1,
  nameLength: 100,
} as const;

/** A clip file was refused; the message says where and why. */
export class ClipFileError extends Error {
  override name = "ClipFileError";
}

export type ClipSource = string | Uint8Array;

/** The known channel nearest to `name` (first in CLIP_CHANNELS order on ties). */
export function closestChannel(name: string): string {
  let best = CLIP_CHANNELS[0]!,
    bestD = Infinity;
  for (const c of CLIP_CHANNELS) {
    // Case-insensitive, as channel names are matched.
    const d = editDistance(name.toLowerCase(), c.toLowerCase());
    if (d < bestD) [best, bestD] = [c, d];
  }
  return best;
}

function channelIndex(name: string, where: string): number {
  const c = CLIP_CHANNELS.indexOf(name);
  if (c < 0)
    throw new ClipFileError(
      `${where}: unknown channel "${name}" (did you mean "${closestChannel(name)}"? docs/animation.md lists them)`,
    );
  return c;
}

/** The largest magnitude channel `c` may take. */
function channelLimit(c: number): number {
  if (c < EXPRESSION_CHANNELS.length) return CLIP_LIMITS.expression;
  if (c < EXPRESSION_CHANNELS.length + POSE_CHANNELS.length) return CLIP_LIMITS.angle;
  return CLIP_LIMITS.translation;
}

function checkValue(v: number, c: number, where: string): number {
  const lim = channelLimit(c);
  if (!Number.isFinite(v))
    throw new ClipFileError(`${where}: ${CLIP_CHANNELS[c]} is ${v}; values must be finite numbers`);
  if (Math.abs(v) > lim)
    throw new ClipFileError(
      `${where}: ${CLIP_CHANNELS[c]} = ${v} is outside [-${+lim.toFixed(4)}, ${+lim.toFixed(4)}]`,
    );
  return v;
}

function checkFps(fps: unknown, owner: string): number {
  if (typeof fps !== "number" || !(fps > 0 && fps <= CLIP_LIMITS.maxFps))
    throw new ClipFileError(
      `${owner}: fps must be a number in (0, ${CLIP_LIMITS.maxFps}], got ${JSON.stringify(fps) ?? String(fps)}`,
    );
  return fps;
}

function checkFrameCount(frames: number, owner: string): void {
  if (frames < 1) throw new ClipFileError(`${owner}: the clip has no frames`);
  if (frames > CLIP_LIMITS.frames)
    throw new ClipFileError(`${owner}: ${frames} frames is over the limit of ${CLIP_LIMITS.frames}`);
}

/** UTF-8 size of a string, counted only when it could be over the cap (a JS string of n units is n to 3n bytes). */
function utf8Bytes(text: string): number {
  if (text.length * 3 <= CLIP_LIMITS.bytes) return text.length;
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const u = text.charCodeAt(i);
    if (u < 0x80) n += 1;
    else if (u < 0x800) n += 2;
    else if (u >= 0xd800 && u < 0xdc00) {
      n += 4; // a surrogate pair: one 4-byte character
      i++;
    } else n += 3;
  }
  return n;
}

/** Refuses oversized input before decoding or parsing it. */
function readText(source: ClipSource, owner: string): string {
  const bytes =
    typeof source === "string" ? (source.length > CLIP_LIMITS.bytes ? Infinity : utf8Bytes(source)) : source.byteLength;
  if (bytes > CLIP_LIMITS.bytes)
    throw new ClipFileError(`${owner}: the file is over ${CLIP_LIMITS.bytes / 1024 / 1024} MB`);
  if (typeof source === "string") return source;
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(source);
  } catch {
    throw new ClipFileError(`${owner}: the file is not UTF-8 text`);
  }
}

function clipName(name: unknown, fallback: string): string {
  return typeof name === "string" && name.trim() ? name.trim().slice(0, CLIP_LIMITS.nameLength) : fallback;
}

/** A clip with translation only where a translation channel is listed. */
function emptyClip(name: string, fps: number, frames: number, cols: number[]): AnimationClip {
  const translation = cols.some((c) => c >= EXPRESSION_CHANNELS.length + POSE_CHANNELS.length);
  return createClip(name, fps, frames, { translation });
}

/** The file's JSON, or a ClipFileError that says why it is not JSON. */
function parseJson(text: string, owner: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new ClipFileError(`${owner}: not JSON (${(err as Error).message})`);
  }
}

export function parseClipJson(source: ClipSource, fallbackName = "clip"): AnimationClip {
  const owner = "parseClipJson";
  const doc = parseJson(readText(source, owner), owner);
  // ARKit: its format tag, or a list of per-frame objects ({ "jawOpen": 0.3, ... }).
  if (Array.isArray(doc) && doc.length > 0 && doc.every((f) => !!f && typeof f === "object" && !Array.isArray(f)))
    return arkitJsonToClip(owner, doc, { name: fallbackName });
  if (!doc || typeof doc !== "object" || Array.isArray(doc))
    throw new ClipFileError(`${owner}: not a clip: expected an object with "format": "${CLIP_FORMAT}"`);
  const d = doc as Record<string, unknown>;
  if (d.format === ARKIT_FORMAT) return arkitJsonToClip(owner, d, { name: fallbackName });
  if (d.format !== CLIP_FORMAT)
    throw new ClipFileError(
      `${owner}: not a clip: "format" must be "${CLIP_FORMAT}", got ${JSON.stringify(d.format) ?? "nothing"}`,
    );
  if (d.version !== CLIP_FORMAT_VERSION)
    throw new ClipFileError(
      `${owner}: clip version ${JSON.stringify(d.version) ?? "(missing)"} is not supported (this build reads version ${CLIP_FORMAT_VERSION})`,
    );
  const fps = checkFps(d.fps ?? CLIP_LIMITS.defaultFps, owner);
  if (!Array.isArray(d.channels) || !d.channels.every((c) => typeof c === "string"))
    throw new ClipFileError(`${owner}: "channels" must be a list of channel names`);
  const cols = (d.channels as string[]).map((c, i) => channelIndex(c, `${owner}: channels[${i}]`));
  const dup = cols.findIndex((c, i) => cols.indexOf(c) !== i);
  if (dup >= 0) throw new ClipFileError(`${owner}: channels[${dup}]: "${CLIP_CHANNELS[cols[dup]!]}" is listed twice`);
  if (!Array.isArray(d.frames)) throw new ClipFileError(`${owner}: "frames" must be a list of rows`);
  const rows = d.frames as unknown[];
  checkFrameCount(rows.length, owner);
  const clip = emptyClip(clipName(d.name, fallbackName), fps, rows.length, cols);
  rows.forEach((row, f) => {
    if (!Array.isArray(row) || row.length !== cols.length)
      throw new ClipFileError(
        `${owner}: frames[${f}] must hold ${cols.length} numbers, one per channel, got ${Array.isArray(row) ? row.length : JSON.stringify(row)}`,
      );
    row.forEach((v: unknown, k) => {
      if (typeof v !== "number")
        throw new ClipFileError(
          `${owner}: frames[${f}][${k}]: ${CLIP_CHANNELS[cols[k]!]} must be a number, got ${JSON.stringify(v)}`,
        );
      setClipValue(clip, f, cols[k]!, checkValue(v, cols[k]!, `${owner}: frames[${f}][${k}]`));
    });
  });
  return clip;
}

export interface ParseClipCsvOptions {
  /** Clip name (CSV has no place for one). Default "clip". */
  name?: string;
  /** Frame rate of the rows, or the rate `time` rows are resampled to. Default 30 (ARKit CSV: 60, see ParseArkitOptions). */
  fps?: number;
  /** ARKit CSV only: see ParseArkitOptions. */
  rotationUnit?: ArkitRotationUnit;
  model?: HeadModel;
}

const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

export function parseClipCsv(source: ClipSource, options: ParseClipCsvOptions = {}): AnimationClip {
  const owner = "parseClipCsv";
  const text = readText(source, owner);
  const fps = checkFps(options.fps ?? CLIP_LIMITS.defaultFps, owner);
  // Blank lines are skipped but keep their numbers, so errors point at the real line.
  const lines: Array<{ line: number; cells: string[] }> = [];
  text.split(/\r?\n/).forEach((l, i) => {
    if (l.trim() !== "") lines.push({ line: i + 1, cells: l.split(",").map((c) => c.trim()) });
  });
  if (lines.length === 0)
    throw new ClipFileError(`${owner}: the file is empty; it needs a header row of channel names`);
  const header = lines[0]!;
  if (header.cells.some((c) => c.toLowerCase() === "blendshapecount")) return arkitCsvToClip(owner, lines, options);
  // An ARKit header without BlendShapeCount is a damaged Live Link Face file, not a channel list with typos.
  const arkitLike = header.cells.findIndex(
    (c, i) =>
      (i === 0 && c.toLowerCase() === "timecode") ||
      (!CLIP_CHANNELS.includes(c) && (arkitNameIndex(c) >= 0 || arkitRotationIndex(c) >= 0)),
  );
  if (arkitLike >= 0)
    throw new ClipFileError(
      `${owner}: line ${header.line}, column 2: this looks like an ARKit CSV ("${header.cells[arkitLike]}" in column ${arkitLike + 1}), but column 2 is not "BlendShapeCount" (Live Link Face layout: Timecode,BlendShapeCount,EyeBlinkLeft,...)`,
    );
  const lead = header.cells[0] === "frame" || header.cells[0] === "time" ? header.cells[0] : null;
  const skip = lead ? 1 : 0;
  const cols = header.cells
    .slice(skip)
    .map((c, i) => channelIndex(c, `${owner}: line ${header.line}, column ${i + 1 + skip}`));
  const dup = cols.findIndex((c, i) => cols.indexOf(c) !== i);
  if (dup >= 0)
    throw new ClipFileError(
      `${owner}: line ${header.line}, column ${dup + 1 + skip}: "${CLIP_CHANNELS[cols[dup]!]}" is listed twice`,
    );
  const rows = lines.slice(1);
  checkFrameCount(rows.length, owner);

  const table = new Float64Array(rows.length * cols.length); // [rows, cols]
  const lead0 = new Float64Array(rows.length); // the lead column as written
  const at = new Float64Array(rows.length); // frame position of each row (lead column only)
  rows.forEach(({ line, cells }, r) => {
    if (cells.length !== header.cells.length)
      throw new ClipFileError(`${owner}: line ${line} has ${cells.length} cells, the header ${header.cells.length}`);
    const num = (s: string, col: number) => {
      if (!DECIMAL.test(s) && !/^[+-]?(inf|infinity|nan)$/i.test(s))
        throw new ClipFileError(`${owner}: line ${line}, column ${col}: "${s}" is not a number`);
      const v = Number(s);
      if (!Number.isFinite(v))
        throw new ClipFileError(`${owner}: line ${line}, column ${col}: "${s}" is not a finite number`);
      return v;
    };
    if (lead) {
      lead0[r] = num(cells[0]!, 1);
      at[r] = lead === "time" ? lead0[r]! * fps : lead0[r]!;
      if (r > 0 && !(at[r]! > at[r - 1]!))
        throw new ClipFileError(
          `${owner}: line ${line}: ${lead} must increase from row to row (${lead0[r]} after ${lead0[r - 1]})`,
        );
    }
    for (let k = 0; k < cols.length; k++)
      table[r * cols.length + k] = checkValue(
        num(cells[k + skip]!, k + 1 + skip),
        cols[k]!,
        `${owner}: line ${line}, column ${k + 1 + skip}`,
      );
  });

  return clipFromRows(owner, clipName(options.name, "clip"), fps, cols, rows.length, table, lead ? at : null);
}

/**
 * A clip from a table of `n` rows ([n, cols] over CLIP_CHANNELS indices
 * `cols`): one row per frame, or with `at` (each row's position in frames,
 * increasing) keyframes resampled to the fps. `slack` (frames) is how far
 * short of a whole frame the last row may be and still end the clip there.
 */
function clipFromRows(
  owner: string,
  name: string,
  fps: number,
  cols: number[],
  n: number,
  table: Float64Array,
  at: Float64Array | null,
  slack = 1e-6,
): AnimationClip {
  if (!at) {
    const clip = emptyClip(name, fps, n, cols);
    for (let r = 0; r < n; r++)
      for (let k = 0; k < cols.length; k++) setClipValue(clip, r, cols[k]!, table[r * cols.length + k]!);
    return clip;
  }
  // Keyframes: frame f of the clip sits at position at[0] + f (in frames); it
  // blends the rows around it. Integer frame numbers land exactly on rows
  // (weight 0 or 1), so a written CSV reads back bit for bit. The clip ends
  // at the last whole frame at or before the last row.
  const frames = Math.floor(at[n - 1]! - at[0]! + slack) + 1;
  checkFrameCount(frames, owner);
  const clip = emptyClip(name, fps, frames, cols);
  let r = 0;
  for (let f = 0; f < frames; f++) {
    const u = at[0]! + f;
    while (r < n - 2 && at[r + 1]! < u) r++;
    const r1 = Math.min(r + 1, n - 1);
    const w = r1 === r ? 0 : Math.min(1, Math.max(0, (u - at[r]!) / (at[r1]! - at[r]!)));
    for (let k = 0; k < cols.length; k++)
      setClipValue(clip, f, cols[k]!, table[r * cols.length + k]! * (1 - w) + table[r1 * cols.length + k]! * w);
  }
  return clip;
}

/** Channels with any non-zero value, in CLIP_CHANNELS order. */
function usedChannels(clip: AnimationClip): number[] {
  const used: number[] = [];
  for (let c = 0; c < CLIP_CHANNELS.length; c++) {
    for (let f = 0; f < clip.frames; f++) {
      if (getClipValue(clip, f, c) !== 0) {
        used.push(c);
        break;
      }
    }
  }
  return used;
}

/** The shortest decimal that reads back as the same f32 (files stay small and exact). */
function f32Text(v: number): string {
  for (let p = 1; p <= 9; p++) {
    const s = String(Number(v.toPrecision(p)));
    if (Math.fround(Number(s)) === v) return s;
  }
  return String(v);
}

/** Checks a clip before writing it: a file the parsers would refuse is never written. */
function checkWritable(owner: string, clip: AnimationClip, used: number[]): void {
  checkClip(owner, clip);
  checkFps(clip.fps, owner);
  checkFrameCount(clip.frames, owner);
  for (const c of used)
    for (let f = 0; f < clip.frames; f++) checkValue(getClipValue(clip, f, c), c, `${owner}: frame ${f}`);
}

export function writeClipJson(clip: AnimationClip): string {
  const used = usedChannels(clip);
  checkWritable("writeClipJson", clip, used);
  const rows: string[] = [];
  for (let f = 0; f < clip.frames; f++)
    rows.push(`    [${used.map((c) => f32Text(getClipValue(clip, f, c))).join(", ")}]`);
  // One frame per line: diffable and readable, unlike JSON.stringify's one long line.
  const fields = [
    `"format": ${JSON.stringify(CLIP_FORMAT)}`,
    `"version": ${CLIP_FORMAT_VERSION}`,
    `"name": ${JSON.stringify(clip.name)}`,
    `"fps": ${clip.fps}`,
    `"channels": ${JSON.stringify(used.map((c) => CLIP_CHANNELS[c]))}`,
    `"frames": [\n${rows.join(",\n")}\n  ]`,
  ];
  return `{\n  ${fields.join(",\n  ")}\n}\n`;
}

/** CSV with a `frame` column (so a clip with no non-zero channel still has its frame count). */
export function writeClipCsv(clip: AnimationClip): string {
  const used = usedChannels(clip);
  checkWritable("writeClipCsv", clip, used);
  const rows = [["frame", ...used.map((c) => CLIP_CHANNELS[c]!)].join(",")];
  for (let f = 0; f < clip.frames; f++)
    rows.push([String(f), ...used.map((c) => f32Text(getClipValue(clip, f, c)))].join(","));
  return rows.join("\n") + "\n";
}

// ---------------------------------------------------------------------------
// ARKit-52 files (docs/animation.md, "ARKit-52").

export const ARKIT_FORMAT = "arkit-52";
export const ARKIT_FORMAT_VERSION = 1;
/** Face-capture apps record at 60 fps (Live Link Face's default, ARKit's face tracking rate). */
export const ARKIT_DEFAULT_FPS = 60;
/** Weights outside this are not blendshape weights (trackers stay in 0..1 with a little noise); inside, they are clamped to [0, 1]. */
const ARKIT_WEIGHT_RANGE = [-1, 2] as const;

export interface ParseArkitOptions {
  /** Clip name (the JSON's "name" wins). Default "clip". */
  name?: string;
  /** CSV: the rate of the Timecode's frame field and of the clip; plain JSON frame lists: their rate. Default 60. */
  fps?: number;
  /** Unit of the head / eye rotation columns. Default "radians" (Live Link Face). */
  rotationUnit?: ArkitRotationUnit;
  /** Head model the map is fitted on. Default: the standard head (built once). */
  model?: HeadModel;
}

/**
 * Rows of ARKit weights ([n, 52]) and rotations ([n, 9] radians, or null)
 * -> a clip. Head rotations go 40 % to global, 60 % to the neck (as the
 * built-in clips); eye rotation columns, when any is non-zero, replace the
 * eye joints the map derives from the eyeLook shapes.
 */
function arkitRowsToClip(
  owner: string,
  name: string,
  fps: number,
  n: number,
  weights: Float64Array,
  rotations: Float64Array | null,
  at: Float64Array | null,
  model: HeadModel | undefined,
): AnimationClip {
  const map = getArkitMap(model);
  const K = ARKIT_BLENDSHAPES.length;
  const hasHead = rotations !== null;
  let hasEyes = false;
  if (rotations)
    for (let r = 0; r < n && !hasEyes; r++) for (let j = 3; j < 9; j++) if (rotations[r * 9 + j] !== 0) hasEyes = true;
  const names = [...ARKIT_MAP_CHANNELS];
  if (hasHead) names.push("global.x", "global.y", "global.z", "neck.x", "neck.y", "neck.z");
  if (hasEyes) names.push("leftEye.z", "rightEye.z");
  const cols = names.map((c) => CLIP_CHANNELS.indexOf(c));
  const at0 = (c: string) => names.indexOf(c);
  const W = cols.length;
  const table = new Float64Array(n * W);
  const controls = new Float64Array(ARKIT_MAP_CHANNELS.length);
  for (let r = 0; r < n; r++) {
    map.toControls(weights.subarray(r * K, r * K + K), controls);
    table.set(controls, r * W);
    if (!rotations) continue;
    const rot = (j: number) => rotations[r * 9 + j]!;
    const head = eulerToAxisAngle(rot(0), rot(1), rot(2));
    for (let a = 0; a < 3; a++) {
      table[r * W + at0("global.x") + a] = HEAD_GLOBAL_SHARE * head[a]!;
      table[r * W + at0("neck.x") + a] = (1 - HEAD_GLOBAL_SHARE) * head[a]!;
    }
    if (!hasEyes) continue;
    for (const [side, j0] of [
      ["leftEye", 3],
      ["rightEye", 6],
    ] as const) {
      const v = eulerToAxisAngle(rot(j0), rot(j0 + 1), rot(j0 + 2));
      table[r * W + at0(`${side}.x`)] = v[0];
      table[r * W + at0(`${side}.y`)] = v[1];
      table[r * W + at0(`${side}.z`)] = v[2];
    }
  }
  // Timecodes carry sub-frame jitter: a last row within 1 % of a frame still ends the clip on it.
  return clipFromRows(owner, name, fps, cols, n, table, at, 0.01);
}

function checkWeight(v: number, where: string, name: string): number {
  if (!Number.isFinite(v)) throw new ClipFileError(`${where}: ${name} is ${v}; weights must be finite numbers`);
  if (v < ARKIT_WEIGHT_RANGE[0] || v > ARKIT_WEIGHT_RANGE[1])
    throw new ClipFileError(
      `${where}: ${name} = ${v} is not a blendshape weight (0 to 1; [${ARKIT_WEIGHT_RANGE[0]}, ${ARKIT_WEIGHT_RANGE[1]}] is tolerated and clamped)`,
    );
  return v;
}

function checkRotation(v: number, scale: number, where: string, name: string): number {
  if (!Number.isFinite(v)) throw new ClipFileError(`${where}: ${name} is ${v}; rotations must be finite numbers`);
  const rad = v * scale;
  if (Math.abs(rad) > Math.PI)
    throw new ClipFileError(`${where}: ${name} = ${v} is over half a turn (${rad.toFixed(3)} rad); check rotationUnit`);
  return rad;
}

function rotationScale(unit: unknown, owner: string): number {
  const u = unit ?? "radians";
  if (typeof u !== "string" || !(u in ARKIT_ROTATION_UNITS))
    throw new ClipFileError(
      `${owner}: rotationUnit must be one of ${Object.keys(ARKIT_ROTATION_UNITS).join(", ")}, got ${JSON.stringify(u)}`,
    );
  return ARKIT_ROTATION_UNITS[u as ArkitRotationUnit];
}

const TIMECODE = /^(\d+):(\d{1,2}):(\d{1,2})[:;](\d+)(?:\.(\d+))?$/;

/** Seconds of a timecode HH:MM:SS:FF[.fff] (FF and the fraction in frames at fps; ';' for drop-frame is read as ':'). */
function timecodeSeconds(text: string, fps: number, where: string): number {
  const m = TIMECODE.exec(text);
  if (!m)
    throw new ClipFileError(
      `${where}: "${text}" is not a timecode (HH:MM:SS:FF or HH:MM:SS:FF.fff, as Live Link Face writes)`,
    );
  const [h, min, sec, ff] = [m[1], m[2], m[3], m[4]].map(Number) as [number, number, number, number];
  if (min >= 60 || sec >= 60) throw new ClipFileError(`${where}: "${text}" has minutes or seconds over 59`);
  if (ff >= Math.ceil(fps))
    throw new ClipFileError(
      `${where}: "${text}" has frame ${ff}, too many for ${fps} fps (pass the recording's fps, e.g. { fps: 60 })`,
    );
  return h * 3600 + min * 60 + sec + (ff + (m[5] ? Number(`0.${m[5]}`) : 0)) / fps;
}

function arkitCsvToClip(
  owner: string,
  lines: Array<{ line: number; cells: string[] }>,
  options: ParseArkitOptions,
): AnimationClip {
  const fps = checkFps(options.fps ?? ARKIT_DEFAULT_FPS, owner);
  const scale = rotationScale(options.rotationUnit, owner);
  const header = lines[0]!;
  const cells = header.cells;
  const at1 = (col: number) => `${owner}: line ${header.line}, column ${col}`;
  if (cells[0]!.toLowerCase() !== "timecode")
    throw new ClipFileError(`${at1(1)}: an ARKit CSV starts with "Timecode", got "${cells[0]}"`);
  if ((cells[1] ?? "").toLowerCase() !== "blendshapecount")
    throw new ClipFileError(
      `${at1(2)}: an ARKit CSV has "BlendShapeCount" in column 2 (Live Link Face layout: Timecode,BlendShapeCount,EyeBlinkLeft,...), got "${cells[1] ?? ""}"`,
    );
  // Columns by name: apps differ in order (some swap JawLeft / JawRight), none in names.
  const kinds = cells.slice(2).map((c, i) => {
    const k = arkitNameIndex(c);
    if (k >= 0) return { shape: k, rot: -1 };
    const j = arkitRotationIndex(c);
    if (j >= 0) return { shape: -1, rot: j };
    throw new ClipFileError(
      `${at1(i + 3)}: unknown ARKit column "${c}" (did you mean "${arkitCsvName(closestArkitName(c))}"? docs/animation.md lists them)`,
    );
  });
  const key = (x: { shape: number; rot: number }) => (x.shape >= 0 ? x.shape : 100 + x.rot);
  kinds.forEach((x, i) => {
    const first = kinds.findIndex((y) => key(y) === key(x));
    if (first !== i)
      throw new ClipFileError(`${at1(i + 3)}: "${cells[i + 2]}" is listed twice (also column ${first + 3})`);
  });
  const hasRotations = kinds.some((x) => x.rot >= 0);
  const rows = lines.slice(1);
  checkFrameCount(rows.length, owner);
  const K = ARKIT_BLENDSHAPES.length;
  const weights = new Float64Array(rows.length * K);
  const rotations = hasRotations ? new Float64Array(rows.length * 9) : null;
  const at = new Float64Array(rows.length);
  rows.forEach(({ line, cells: row }, r) => {
    if (row.length !== cells.length)
      throw new ClipFileError(
        `${owner}: line ${line}, column ${Math.min(row.length, cells.length) + 1}: the row has ${row.length} cells, the header ${cells.length}`,
      );
    const num = (col: number) => {
      const s = row[col - 1]!;
      if (!DECIMAL.test(s) && !/^[+-]?(inf|infinity|nan)$/i.test(s))
        throw new ClipFileError(`${owner}: line ${line}, column ${col}: "${s}" is not a number`);
      return Number(s);
    };
    at[r] = timecodeSeconds(row[0]!, fps, `${owner}: line ${line}, column 1`) * fps;
    if (r > 0 && !(at[r]! > at[r - 1]!))
      throw new ClipFileError(
        `${owner}: line ${line}, column 1: Timecode ${row[0]} does not come after ${rows[r - 1]!.cells[0]}`,
      );
    const count = num(2);
    if (!Number.isInteger(count) || count < 0)
      throw new ClipFileError(`${owner}: line ${line}, column 2: BlendShapeCount "${row[1]}" is not a whole number`);
    kinds.forEach((x, i) => {
      const col = i + 3;
      const where = `${owner}: line ${line}, column ${col}`;
      if (x.shape >= 0) weights[r * K + x.shape] = checkWeight(num(col), where, cells[col - 1]!);
      else rotations![r * 9 + x.rot] = checkRotation(num(col), scale, where, cells[col - 1]!);
    });
  });
  return arkitRowsToClip(
    owner,
    clipName(options.name, "clip"),
    fps,
    rows.length,
    weights,
    rotations,
    at,
    options.model,
  );
}

function arkitJsonToClip(owner: string, doc: unknown, options: ParseArkitOptions): AnimationClip {
  const K = ARKIT_BLENDSHAPES.length;
  const scale = rotationScale(options.rotationUnit, owner);
  if (Array.isArray(doc)) {
    // A plain list of frames, each an object by name (blendshapes and, optionally, rotation columns).
    const fps = checkFps(options.fps ?? ARKIT_DEFAULT_FPS, owner);
    checkFrameCount(doc.length, owner);
    const weights = new Float64Array(doc.length * K);
    let rotations: Float64Array | null = null;
    (doc as Array<Record<string, unknown>>).forEach((frame, f) => {
      for (const [key, v] of Object.entries(frame)) {
        const where = `${owner}: frames[${f}].${key}`;
        if (typeof v !== "number") throw new ClipFileError(`${where} must be a number, got ${JSON.stringify(v)}`);
        const k = arkitNameIndex(key);
        if (k >= 0) {
          weights[f * K + k] = checkWeight(v, where, ARKIT_BLENDSHAPES[k]!);
          continue;
        }
        const j = arkitRotationIndex(key);
        if (j < 0)
          throw new ClipFileError(`${where}: unknown ARKit name "${key}" (did you mean "${closestArkitName(key)}"?)`);
        rotations ??= new Float64Array(doc.length * 9);
        rotations[f * 9 + j] = checkRotation(v, scale, where, ARKIT_ROTATIONS[j]!);
      }
    });
    return arkitRowsToClip(
      owner,
      clipName(options.name, "clip"),
      fps,
      doc.length,
      weights,
      rotations,
      null,
      options.model,
    );
  }
  const d = doc as Record<string, unknown>;
  if (d.version !== undefined && d.version !== ARKIT_FORMAT_VERSION)
    throw new ClipFileError(
      `${owner}: ${ARKIT_FORMAT} version ${JSON.stringify(d.version)} is not supported (this build reads version ${ARKIT_FORMAT_VERSION})`,
    );
  const fps = checkFps(d.fps ?? options.fps ?? ARKIT_DEFAULT_FPS, owner);
  if (!Array.isArray(d.names) || !d.names.every((c) => typeof c === "string"))
    throw new ClipFileError(`${owner}: "names" must be a list of ARKit blendshape names`);
  const names = d.names as string[];
  const cols = names.map((c, i) => {
    const k = arkitNameIndex(c);
    if (k < 0)
      throw new ClipFileError(
        `${owner}: names[${i}]: unknown ARKit blendshape "${c}" (did you mean "${closestArkitName(c)}"?)`,
      );
    return k;
  });
  const dup = cols.findIndex((c, i) => cols.indexOf(c) !== i);
  if (dup >= 0) throw new ClipFileError(`${owner}: names[${dup}]: "${names[dup]}" is listed twice`);
  if (!Array.isArray(d.frames)) throw new ClipFileError(`${owner}: "frames" must be a list of rows`);
  const rows = d.frames as unknown[];
  checkFrameCount(rows.length, owner);
  const weights = new Float64Array(rows.length * K);
  rows.forEach((row, f) => {
    if (!Array.isArray(row) || row.length !== cols.length)
      throw new ClipFileError(
        `${owner}: frames[${f}] must hold ${cols.length} numbers, one per name, got ${Array.isArray(row) ? row.length : JSON.stringify(row)}`,
      );
    row.forEach((v: unknown, k) => {
      const where = `${owner}: frames[${f}][${k}]`;
      if (typeof v !== "number")
        throw new ClipFileError(`${where}: ${names[k]} must be a number, got ${JSON.stringify(v)}`);
      weights[f * K + cols[k]!] = checkWeight(v, where, names[k]!);
    });
  });
  let rotations: Float64Array | null = null;
  (["head", "leftEye", "rightEye"] as const).forEach((track, t) => {
    const a = d[track];
    if (a === undefined) return;
    if (!Array.isArray(a) || a.length !== rows.length)
      throw new ClipFileError(
        `${owner}: "${track}" must hold one [yaw, pitch, roll] per frame (${rows.length}), got ${Array.isArray(a) ? a.length : JSON.stringify(a)}`,
      );
    rotations ??= new Float64Array(rows.length * 9);
    a.forEach((row: unknown, f) => {
      if (!Array.isArray(row) || row.length !== 3 || !row.every((v) => typeof v === "number"))
        throw new ClipFileError(`${owner}: ${track}[${f}] must be [yaw, pitch, roll], got ${JSON.stringify(row)}`);
      row.forEach((v: number, k) => {
        rotations![f * 9 + t * 3 + k] = checkRotation(
          v,
          scale,
          `${owner}: ${track}[${f}][${k}]`,
          ARKIT_ROTATIONS[t * 3 + k]!,
        );
      });
    });
  });
  return arkitRowsToClip(
    owner,
    clipName(d.name, clipName(options.name, "clip")),
    fps,
    rows.length,
    weights,
    rotations,
    null,
    options.model,
  );
}

/** Reads an ARKit CSV (Live Link Face layout) into a clip through the fitted map. */
export function parseArkitCsv(source: ClipSource, options: ParseArkitOptions = {}): AnimationClip {
  const owner = "parseArkitCsv";
  const text = readText(source, owner);
  const lines: Array<{ line: number; cells: string[] }> = [];
  text.split(/\r?\n/).forEach((l, i) => {
    if (l.trim() !== "") lines.push({ line: i + 1, cells: l.split(",").map((c) => c.trim()) });
  });
  if (lines.length === 0)
    throw new ClipFileError(`${owner}: the file is empty; it needs the header Timecode,BlendShapeCount,...`);
  return arkitCsvToClip(owner, lines, options);
}

/** Reads an ARKit JSON ({ "format": "arkit-52", ... } or a list of per-frame objects) into a clip through the fitted map. */
export function parseArkitJson(source: ClipSource, options: ParseArkitOptions = {}): AnimationClip {
  const owner = "parseArkitJson";
  const doc = parseJson(readText(source, owner), owner);
  if (
    Array.isArray(doc)
      ? doc.length === 0 || !doc.every((f) => !!f && typeof f === "object" && !Array.isArray(f))
      : !doc || typeof doc !== "object" || (doc as Record<string, unknown>).format !== ARKIT_FORMAT
  )
    throw new ClipFileError(
      `${owner}: not an ARKit clip: expected { "format": "${ARKIT_FORMAT}", ... } or a list of per-frame objects`,
    );
  return arkitJsonToClip(owner, doc, options);
}

/** Per frame of a clip: the fitted ARKit weights [52] and rotations [9] (head yaw / pitch / roll, left eye, right eye; radians). */
function arkitFrames(owner: string, clip: AnimationClip, model: HeadModel | undefined) {
  checkClip(owner, clip);
  checkFps(clip.fps, owner);
  checkFrameCount(clip.frames, owner);
  const map = getArkitMap(model);
  const E = EXPRESSION_CHANNELS.length,
    P = POSE_CHANNELS.length,
    K = ARKIT_BLENDSHAPES.length;
  const weights = new Float64Array(clip.frames * K);
  const rotations = new Float64Array(clip.frames * 9);
  const w = new Float64Array(K); // warm start: consecutive frames are close
  for (let f = 0; f < clip.frames; f++) {
    const expression = clip.expression.subarray(f * E, f * E + E);
    const pose = clip.pose.subarray(f * P, f * P + P);
    weights.set(map.fromControls(controlsFromSample(expression, pose), w), f * K);
    rotations.set(headEuler(pose), f * 9);
    rotations.set(axisAngleToEuler(pose.subarray(9, 12)), f * 9 + 3);
    rotations.set(axisAngleToEuler(pose.subarray(12, 15)), f * 9 + 6);
  }
  return { weights, rotations };
}

/** The Live Link Face timecode of frame f at fps (sub-frame fraction when fps is not whole). */
function timecode(f: number, fps: number): string {
  const sec = Math.floor(f / fps + 1e-9);
  const rem = f - sec * fps;
  const ff = Math.floor(rem + 1e-9);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${pad(Math.floor(sec / 3600))}:${pad(Math.floor(sec / 60) % 60)}:${pad(sec % 60)}:${pad(ff)}.${Math.round(
    (rem - ff) * 1000,
  )
    .toString()
    .padStart(3, "0")}`;
}

/**
 * An ARKit CSV in Live Link Face's layout (52 PascalCase weights, then head
 * and eye rotations in radians). The file has no frame rate: read it back
 * with { fps: clip.fps }. Translation and jaw roll have no ARKit column and
 * are dropped.
 */
export function writeArkitCsv(clip: AnimationClip, options: { model?: HeadModel } = {}): string {
  const { weights, rotations } = arkitFrames("writeArkitCsv", clip, options.model);
  const K = ARKIT_BLENDSHAPES.length;
  const header = ["Timecode", "BlendShapeCount", ...ARKIT_BLENDSHAPES.map(arkitCsvName), ...ARKIT_ROTATIONS];
  const rows = [header.join(",")];
  for (let f = 0; f < clip.frames; f++) {
    const cells = [timecode(f, clip.fps), String(K + ARKIT_ROTATIONS.length)];
    for (let k = 0; k < K; k++) cells.push(f32Text(Math.fround(weights[f * K + k]!)));
    for (let j = 0; j < 9; j++) cells.push(f32Text(Math.fround(rotations[f * 9 + j]! + 0)));
    rows.push(cells.join(","));
  }
  return rows.join("\n") + "\n";
}

/** An ARKit JSON ({ "format": "arkit-52" }): all 52 names, one frame per line, rotation tracks where any is non-zero. */
export function writeArkitJson(clip: AnimationClip, options: { model?: HeadModel } = {}): string {
  const { weights, rotations } = arkitFrames("writeArkitJson", clip, options.model);
  const K = ARKIT_BLENDSHAPES.length;
  const rows = (width: number, at: (f: number, k: number) => number) =>
    Array.from(
      { length: clip.frames },
      (_, f) => `    [${Array.from({ length: width }, (_, k) => f32Text(Math.fround(at(f, k) + 0))).join(", ")}]`,
    ).join(",\n");
  const fields = [
    `"format": ${JSON.stringify(ARKIT_FORMAT)}`,
    `"version": ${ARKIT_FORMAT_VERSION}`,
    `"name": ${JSON.stringify(clip.name)}`,
    `"fps": ${clip.fps}`,
    `"names": ${JSON.stringify(ARKIT_BLENDSHAPES)}`,
    `"frames": [\n${rows(K, (f, k) => weights[f * K + k]!)}\n  ]`,
  ];
  (["head", "leftEye", "rightEye"] as const).forEach((track, t) => {
    let used = false;
    for (let f = 0; f < clip.frames && !used; f++)
      for (let k = 0; k < 3; k++) if (rotations[f * 9 + t * 3 + k] !== 0) used = true;
    if (used) fields.push(`"${track}": [\n${rows(3, (f, k) => rotations[f * 9 + t * 3 + k]!)}\n  ]`);
  });
  return `{\n  ${fields.join(",\n  ")}\n}\n`;
}
