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
 */
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

/** Case-insensitive edit distance (Levenshtein), for "did you mean". */
function editDistance(a: string, b: string): number {
  a = a.toLowerCase();
  b = b.toLowerCase();
  const d = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = d[0]!;
    d[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = d[j]!;
      d[j] = Math.min(up + 1, d[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return d[b.length]!;
}

/** The known channel nearest to `name` (first in CLIP_CHANNELS order on ties). */
export function closestChannel(name: string): string {
  let best = CLIP_CHANNELS[0]!,
    bestD = Infinity;
  for (const c of CLIP_CHANNELS) {
    const d = editDistance(name, c);
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

export function parseClipJson(source: ClipSource, fallbackName = "clip"): AnimationClip {
  const owner = "parseClipJson";
  const text = readText(source, owner);
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new ClipFileError(`${owner}: not JSON (${(err as Error).message})`);
  }
  if (!doc || typeof doc !== "object" || Array.isArray(doc))
    throw new ClipFileError(`${owner}: not a clip: expected an object with "format": "${CLIP_FORMAT}"`);
  const d = doc as Record<string, unknown>;
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
  /** Frame rate of the rows, or the rate `time` rows are resampled to. Default 30. */
  fps?: number;
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

  const name = clipName(options.name, "clip");
  if (!lead) {
    const clip = emptyClip(name, fps, rows.length, cols);
    for (let r = 0; r < rows.length; r++)
      for (let k = 0; k < cols.length; k++) setClipValue(clip, r, cols[k]!, table[r * cols.length + k]!);
    return clip;
  }
  // Keyframes: frame f of the clip sits at position at[0] + f (in frames); it
  // blends the rows around it. Integer frame numbers land exactly on rows
  // (weight 0 or 1), so a written CSV reads back bit for bit. The clip ends
  // at the last whole frame at or before the last row.
  const frames = Math.floor(at[rows.length - 1]! - at[0]! + 1e-6) + 1;
  checkFrameCount(frames, owner);
  const clip = emptyClip(name, fps, frames, cols);
  let r = 0;
  for (let f = 0; f < frames; f++) {
    const u = at[0]! + f;
    while (r < rows.length - 2 && at[r + 1]! < u) r++;
    const r1 = Math.min(r + 1, rows.length - 1);
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
