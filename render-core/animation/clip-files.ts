/**
 * Clip files: JSON and CSV (docs/animation.md). Both name their channels
 * (CLIP_CHANNELS); channels a file leaves out are 0. Everything a file says is
 * checked and a mistake names its place (line and column for CSV).
 *
 * JSON: { "format": "perse-clip", "version": 1, "name": "wave", "fps": 30,
 *         "channels": ["jaw.x", "smileL"], "frames": [[0.1, 0.5], [0.12, 0.55]] }
 * CSV:  a header row of channel names, optionally led by `frame` or `time`
 *       (seconds: rows are then resampled to the fps), then one row per frame.
 */
import { CLIP_CHANNELS, POSE_CHANNELS, TRANSLATION_CHANNELS, type AnimationClip } from "./clip";

export const CLIP_FORMAT = "perse-clip";
export const CLIP_LIMITS = { bytes: 16 * 1024 * 1024, frames: 100_000, maxFps: 240, expression: 3, angle: Math.PI, translation: 1 } as const;

export class ClipFileError extends Error {}

function closest(name: string): string {
  const dist = (a: string, b: string) => {
    const d = Array.from({ length: b.length + 1 }, (_, j) => j);
    for (let i = 1; i <= a.length; i++) {
      let prev = d[0]!;
      d[0] = i;
      for (let j = 1; j <= b.length; j++) {
        const t = d[j]!;
        d[j] = Math.min(d[j]! + 1, d[j - 1]! + 1, prev + (a[i - 1]!.toLowerCase() === b[j - 1]!.toLowerCase() ? 0 : 1));
        prev = t;
      }
    }
    return d[b.length]!;
  };
  return CLIP_CHANNELS.reduce((best, c) => (dist(name, c) < dist(name, best) ? c : best), CLIP_CHANNELS[0]!);
}

function channelIndex(name: string, where: string): number {
  const c = CLIP_CHANNELS.indexOf(name);
  if (c < 0) throw new ClipFileError(`${where}: unknown channel "${name}" (did you mean "${closest(name)}"? docs/animation.md lists them)`);
  return c;
}

/** The largest magnitude a channel may take. */
function channelLimit(c: number): number {
  const name = CLIP_CHANNELS[c]!;
  if (POSE_CHANNELS.includes(name)) return CLIP_LIMITS.angle;
  if (TRANSLATION_CHANNELS.includes(name)) return CLIP_LIMITS.translation;
  return CLIP_LIMITS.expression;
}

function checkValue(v: unknown, c: number, where: string): number {
  if (typeof v !== "number" || !Number.isFinite(v)) throw new ClipFileError(`${where}: ${CLIP_CHANNELS[c]} must be a finite number, got ${JSON.stringify(v)}`);
  if (Math.abs(v) > channelLimit(c)) throw new ClipFileError(`${where}: ${CLIP_CHANNELS[c]} = ${v} is outside [-${channelLimit(c).toFixed(4)}, ${channelLimit(c).toFixed(4)}]`);
  return v;
}

function checkFps(fps: unknown, owner: string): number {
  if (typeof fps !== "number" || !(fps > 0 && fps <= CLIP_LIMITS.maxFps)) throw new ClipFileError(`${owner}: fps must be a number in (0, ${CLIP_LIMITS.maxFps}], got ${JSON.stringify(fps)}`);
  return fps;
}

function checkSize(text: string, owner: string): void {
  if (text.length > CLIP_LIMITS.bytes) throw new ClipFileError(`${owner}: the file is over ${CLIP_LIMITS.bytes / 1024 / 1024} MB`);
}

function checkFrames(frames: number, owner: string): void {
  if (frames < 1) throw new ClipFileError(`${owner}: the clip has no frames`);
  if (frames > CLIP_LIMITS.frames) throw new ClipFileError(`${owner}: ${frames} frames is over the limit of ${CLIP_LIMITS.frames}`);
}

export function parseClipJson(text: string, fallbackName = "clip"): AnimationClip {
  const owner = "parseClipJson";
  checkSize(text, owner);
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new ClipFileError(`${owner}: not JSON (${(err as Error).message})`);
  }
  const d = doc as Record<string, unknown>;
  if (!d || typeof d !== "object" || d.format !== CLIP_FORMAT) throw new ClipFileError(`${owner}: not a clip: "format" must be "${CLIP_FORMAT}"`);
  if (d.version !== 1) throw new ClipFileError(`${owner}: clip version ${JSON.stringify(d.version)} is not supported (this build reads version 1)`);
  const fps = checkFps(d.fps ?? 30, owner);
  if (!Array.isArray(d.channels) || !d.channels.every((c) => typeof c === "string")) throw new ClipFileError(`${owner}: "channels" must be a list of channel names`);
  const cols = (d.channels as string[]).map((c, i) => channelIndex(c, `${owner}: channels[${i}]`));
  if (new Set(cols).size !== cols.length) throw new ClipFileError(`${owner}: a channel is listed twice`);
  if (!Array.isArray(d.frames)) throw new ClipFileError(`${owner}: "frames" must be a list of rows`);
  checkFrames(d.frames.length, owner);
  const C = CLIP_CHANNELS.length;
  const values = new Float32Array(d.frames.length * C);
  d.frames.forEach((row: unknown, f: number) => {
    if (!Array.isArray(row) || row.length !== cols.length) throw new ClipFileError(`${owner}: frames[${f}] must hold ${cols.length} numbers, one per channel`);
    row.forEach((v, k) => (values[f * C + cols[k]!] = checkValue(v, cols[k]!, `${owner}: frames[${f}]`)));
  });
  const name = typeof d.name === "string" && d.name.trim() ? d.name.trim().slice(0, 100) : fallbackName;
  return { name, fps, frames: d.frames.length, values };
}

export function parseClipCsv(text: string, options: { name?: string; fps?: number } = {}): AnimationClip {
  const owner = "parseClipCsv";
  checkSize(text, owner);
  const fps = checkFps(options.fps ?? 30, owner);
  const lines = text.split(/\r?\n/).map((l, i) => ({ line: i + 1, cells: l.split(",").map((c) => c.trim()) })).filter((l) => l.cells.some((c) => c !== ""));
  if (lines.length === 0) throw new ClipFileError(`${owner}: the file is empty`);
  const header = lines[0]!.cells;
  const lead = header[0] === "frame" || header[0] === "time" ? header[0] : null;
  const cols = header.slice(lead ? 1 : 0).map((c, i) => channelIndex(c, `${owner}: line 1, column ${i + 1 + (lead ? 1 : 0)}`));
  if (new Set(cols).size !== cols.length) throw new ClipFileError(`${owner}: line 1: a channel is listed twice`);
  const rows = lines.slice(1);
  checkFrames(rows.length, owner);
  const C = CLIP_CHANNELS.length;
  const times: number[] = [];
  const table = new Float32Array(rows.length * C);
  rows.forEach(({ line, cells }, r) => {
    if (cells.length !== header.length) throw new ClipFileError(`${owner}: line ${line} has ${cells.length} cells, the header ${header.length}`);
    const num = (s: string, col: number) => {
      const v = s === "" ? NaN : Number(s);
      if (!Number.isFinite(v)) throw new ClipFileError(`${owner}: line ${line}, column ${col}: "${s}" is not a number`);
      return v;
    };
    if (lead) {
      const t = num(cells[0]!, 1);
      if (times.length && !(t > times.at(-1)!)) throw new ClipFileError(`${owner}: line ${line}: ${lead} must increase from row to row`);
      times.push(lead === "frame" ? t / fps : t);
    }
    cells.slice(lead ? 1 : 0).forEach((s, k) => {
      const col = k + 1 + (lead ? 1 : 0);
      table[r * C + cols[k]!] = checkValue(num(s, col), cols[k]!, `${owner}: line ${line}, column ${col}`);
    });
  });
  const name = options.name ?? "clip";
  if (lead !== "time") return { name, fps, frames: rows.length, values: table };
  // Timed rows: resample to the fps, linearly between the rows around each frame time.
  const frames = Math.floor((times.at(-1)! - times[0]!) * fps + 1e-6) + 1;
  checkFrames(frames, owner);
  const values = new Float32Array(frames * C);
  let r = 0;
  for (let f = 0; f < frames; f++) {
    const t = times[0]! + f / fps;
    while (r < rows.length - 2 && times[r + 1]! < t) r++;
    const r1 = Math.min(r + 1, rows.length - 1);
    const w = r1 === r ? 0 : Math.min(1, Math.max(0, (t - times[r]!) / (times[r1]! - times[r]!)));
    for (let c = 0; c < C; c++) values[f * C + c] = table[r * C + c]! * (1 - w) + table[r1 * C + c]! * w;
  }
  return { name, fps, frames, values };
}

/** Channels with any non-zero value (a file lists only those; the rest read back as 0). */
function usedChannels(clip: AnimationClip): number[] {
  const C = CLIP_CHANNELS.length;
  const used = new Set<number>();
  for (let i = 0; i < clip.values.length; i++) if (clip.values[i] !== 0) used.add(i % C);
  return [...used].sort((a, b) => a - b);
}

export function writeClipJson(clip: AnimationClip): string {
  const C = CLIP_CHANNELS.length;
  const used = usedChannels(clip);
  const frames = Array.from({ length: clip.frames }, (_, f) => used.map((c) => clip.values[f * C + c]!));
  return JSON.stringify({ format: CLIP_FORMAT, version: 1, name: clip.name, fps: clip.fps, channels: used.map((c) => CLIP_CHANNELS[c]), frames });
}

export function writeClipCsv(clip: AnimationClip): string {
  const C = CLIP_CHANNELS.length;
  const used = usedChannels(clip);
  const rows = [["frame", ...used.map((c) => CLIP_CHANNELS[c]!)].join(",")];
  for (let f = 0; f < clip.frames; f++) rows.push([String(f), ...used.map((c) => String(clip.values[f * C + c]))].join(","));
  return rows.join("\n") + "\n";
}
