/**
 * What one frame of an avatar shows, computed the same way by the server's
 * streamer (server/realtime/stream.ts) and the page's own renderer
 * (app/components/LocalView.tsx), so STREAM and LOCAL pictures of one state
 * and one camera are the same picture: the latents from the sliders, the
 * pose from the playing clip (on the server's clock) or the manual controls,
 * and the orbit camera framed as every viewer frames the avatar.
 */
import type * as Y from "yjs";
import type { Avatar } from "../render-core/avatar/avatar";
import { sliderLatents } from "../render-core/avatar/latent";
import {
  builtinClip,
  poseFromControls,
  sampleClip,
  type AnimationClip,
  type ClipSample,
} from "../render-core/animation";
import { orbitCamera, type Camera } from "../render-core/math/camera";
import type { StreamCamera } from "./messages";
import {
  attributesMap,
  endsMap,
  poseMap,
  readDrive,
  readPlayback,
  VIEW,
  type DriveState,
  type PlaybackState,
  type SliderEnds,
} from "./shared-state";

/** The shared state a frame depends on. */
export interface FrameState {
  /** Category -> slider position in [-1, 1]. */
  attributes: Record<string, number>;
  /** Category -> the anchors at its slider's ends (absent: its first two). */
  ends: Record<string, SliderEnds>;
  /** Manual expression and pose controls (used when no clip plays). */
  pose: Record<string, number>;
  playback: PlaybackState | null;
  /** A face driven from a camera: shown before a clip or the manual controls. */
  drive: DriveState | null;
}

export function readFrameState(doc: Y.Doc): FrameState {
  return {
    attributes: attributesMap(doc).toJSON() as Record<string, number>,
    ends: endsMap(doc).toJSON() as Record<string, SliderEnds>,
    pose: poseMap(doc).toJSON() as Record<string, number>,
    playback: readPlayback(doc),
    drive: readDrive(doc),
  };
}

/** Built-in clips by name, made once; null for a name that is not one. */
export class ClipCache {
  private readonly clips = new Map<string, AnimationClip | null>();

  get(name: string): AnimationClip | null {
    if (!this.clips.has(name)) {
      let clip: AnimationClip | null = null;
      try {
        clip = builtinClip(name);
      } catch {
        clip = null;
      }
      this.clips.set(name, clip);
    }
    return this.clips.get(name)!;
  }
}

export interface FrameInputs {
  latents: Float32Array;
  pose: ClipSample;
  /** True while a clip plays: the next frame differs even without a state change. */
  playing: boolean;
}

/** The latents and pose of a frame at `serverNowMs` (the server's clock: clips start on it). */
export function frameInputs(
  avatar: Pick<Avatar, "config" | "neutralLatents" | "anchors">,
  state: FrameState,
  serverNowMs: number,
  clips: ClipCache,
): FrameInputs {
  const latents = sliderLatents(avatar.config, avatar.neutralLatents, avatar.anchors, state.attributes, state.ends);
  if (state.drive)
    return {
      latents,
      pose: {
        expression: Float32Array.from(state.drive.expression),
        pose: Float32Array.from(state.drive.pose),
        translation: new Float32Array(3),
      },
      playing: false,
    };
  const clip = state.playback ? clips.get(state.playback.clip) : null;
  const pose = clip
    ? sampleClip(clip, (serverNowMs - state.playback!.startedAt) / 1000, { loop: true })
    : poseFromControls(state.pose);
  return { latents, pose, playing: clip !== null };
}

/** A viewer's orbit camera, framed as every viewer frames the avatar. */
export function viewCamera(camera: StreamCamera, width: number, height: number): Camera {
  return orbitCamera({
    width,
    height,
    yawDeg: camera.yawDeg,
    pitchDeg: camera.pitchDeg,
    distance: camera.distance,
    target: VIEW.target,
  });
}
