/**
 * The layout of an avatar's shared Y.Doc, used by the server and the app
 * alike. Keep names here so both sides agree.
 *
 * | top-level type | kind  | holds                                                     |
 * |----------------|-------|-----------------------------------------------------------|
 * | "attributes"   | Y.Map | attribute category -> slider position in [-1, 1] (number) |
 * | "playback"     | Y.Map | clip: built-in clip name ("" = none); startedAt: server ms  |
 * | "pose"         | Y.Map | manual expression/pose control -> value (POSE_CONTROLS)     |
 * | "ends"         | Y.Map | attribute category -> [anchor at -1, anchor at +1] (indices)|
 * | "presets"      | Y.Map | preset name -> { attributes, ends?, savedBy, savedAt }      |
 * | "drive"        | Y.Map | by, client, expression [E], pose [15]: a camera-driven face  |
 *
 * Slider positions map to latents with sliderLatents (render-core/avatar/latent.ts):
 * -1 is the anchor at the slider's left end, 0 the neutral latent, +1 the anchor at
 * its right end. The ends default to the category's first and second anchors; a
 * category's "ends" entry picks any two of its anchors, so every anchor is reachable.
 * While "drive" holds an expression and a pose, every viewer shows them (before any
 * clip or manual control): an editor drives the face from their camera. The server
 * clears it when the driving page's connection closes.
 * Playback is set by the server (socket command play-clip), so startedAt is on its clock.
 */
import type * as Y from "yjs";

export const SharedKeys = {
  attributes: "attributes",
  ends: "ends",
  playback: "playback",
  pose: "pose",
  presets: "presets",
  drive: "drive",
} as const;

export function attributesMap(doc: Y.Doc): Y.Map<number> {
  return doc.getMap<number>(SharedKeys.attributes);
}

/** A category's slider ends: the indices (among the category's anchors) of the anchors at -1 and at +1. */
export type SliderEnds = [number, number];

/** Which anchors each category's slider moves between (categories without an entry: their first two). */
export function endsMap(doc: Y.Doc): Y.Map<SliderEnds> {
  return doc.getMap<SliderEnds>(SharedKeys.ends);
}

export interface PlaybackState {
  clip: string;
  startedAt: number;
}

export function playbackMap(doc: Y.Doc): Y.Map<string | number> {
  return doc.getMap<string | number>(SharedKeys.playback);
}

/** The clip playing, if any. */
export function readPlayback(doc: Y.Doc): PlaybackState | null {
  const m = playbackMap(doc);
  const clip = m.get("clip"),
    startedAt = m.get("startedAt");
  return typeof clip === "string" && clip && typeof startedAt === "number" && Number.isFinite(startedAt)
    ? { clip, startedAt }
    : null;
}

/** How every viewer frames the avatar, so LOCAL and STREAM pictures of one camera are the same picture. */
export const VIEW = {
  background: [0.16, 0.17, 0.2] as [number, number, number],
  target: [0, 0.01, 0] as [number, number, number],
  camera: { yawDeg: 20, pitchDeg: 5, distance: 0.7 },
} as const;

/** The manual expression and pose controls (render-core/animation/controls.ts), used when no clip plays. */
export function poseMap(doc: Y.Doc): Y.Map<number> {
  return doc.getMap<number>(SharedKeys.pose);
}

export interface Preset {
  attributes: Record<string, number>;
  /** The slider ends when it was saved (absent in presets saved before ends existed: the first two anchors). */
  ends?: Record<string, SliderEnds>;
  savedBy: string;
  savedAt: number;
}

/** Named attribute states anyone in the session can apply. */
export function presetsMap(doc: Y.Doc): Y.Map<Preset> {
  return doc.getMap<Preset>(SharedKeys.presets);
}

/** The face an editor drives from their camera: who, from which Yjs client, and the head pose of now. */
export interface DriveState {
  /** The driver's name, as their presence shows it. */
  by: string;
  /** The driving page's Yjs client id: the server clears the drive when that connection closes. */
  client: number;
  /** [E] expression coefficients (EXPRESSION_NAMES order). */
  expression: number[];
  /** [15] axis-angle per joint, radians (ClipSample.pose). */
  pose: number[];
  /**
   * When the tracker took the camera frame this face came from, ms on the server's clock (the page's Date.now()
   * plus its measured offset): streamed frames carry it on, so a viewer can tell how old the face it sees is.
   */
  at?: number;
}

export function driveMap(doc: Y.Doc): Y.Map<unknown> {
  return doc.getMap<unknown>(SharedKeys.drive);
}

/** The driven face, when someone drives one (a complete, well-formed entry), else null. */
export function readDrive(doc: Y.Doc): DriveState | null {
  const m = driveMap(doc);
  const by = m.get("by"),
    client = m.get("client"),
    expression = m.get("expression"),
    pose = m.get("pose"),
    at = m.get("at");
  const numbers = (v: unknown): v is number[] =>
    Array.isArray(v) && v.every((x) => typeof x === "number" && Number.isFinite(x));
  if (!(typeof by === "string" && typeof client === "number" && numbers(expression) && numbers(pose))) return null;
  return typeof at === "number" && Number.isFinite(at)
    ? { by, client, expression, pose, at }
    : { by, client, expression, pose };
}
