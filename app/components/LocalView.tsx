"use client";
/**
 * LOCAL mode: the page downloads the avatar's bundle and runs render-core
 * itself on the browser's WebGPU device (bake on a slider change, deform +
 * render per frame), drawing each picture on a 2D canvas. Same camera,
 * background and renderer code as the server's STREAM frames, so both modes
 * show the same picture. Fails over to the parent (onFail) when it cannot run.
 */
import { useCallback, useEffect, useRef } from "react";
import type { StreamCamera } from "../../protocol/messages";
import { VIEW, type DriveState, type PlaybackState, type SliderEnds } from "../../protocol/shared-state";
import { readAvatarBundle } from "../../render-core/formats/avatar-bundle";
import { createHeadModel } from "../../render-core/head";
import { WebGpuAvatarRenderer } from "../../render-core/avatar/avatar-renderer";
import { ClipCache, frameInputs, viewCamera } from "../../protocol/frame-inputs";
import { requestBrowserDevice } from "../lib/webgpu";
import { useOrbitControls } from "../lib/orbit";
import type { StreamStats } from "./StreamView";

export interface LocalViewProps {
  avatarId: string;
  shareToken: string | null;
  size: number;
  positions: Record<string, number>;
  /** The anchors at each category's slider ends. */
  ends: Record<string, SliderEnds>;
  /** Manual expression/pose controls (used when no clip plays). */
  controls: Record<string, number>;
  playback: PlaybackState | null;
  /** A face driven from a camera (someone's, or this page's own at its camera's rate). */
  drive: DriveState | null;
  /** Server clock minus this page's clock, ms (clip start times are on the server's clock). */
  serverOffsetMs: number;
  lastEditAt: number | null;
  onStats: (stats: StreamStats) => void;
  onFail: (reason: string) => void;
  follow?: StreamCamera | null;
  onCamera?: (camera: StreamCamera) => void;
}

export function LocalView({
  avatarId,
  shareToken,
  size,
  positions,
  ends,
  controls,
  playback,
  drive,
  serverOffsetMs,
  lastEditAt,
  onStats,
  onFail,
  follow = null,
  onCamera,
}: LocalViewProps) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const camera = useRef<StreamCamera>({ ...VIEW.camera });
  const renderer = useRef<WebGpuAvatarRenderer | null>(null);
  const state = useRef({
    positions,
    ends,
    controls,
    playback,
    drive,
    serverOffsetMs,
    dirty: true,
    editAt: null as number | null,
  });
  const stats = useRef<StreamStats>({
    fps: 0,
    latencyMs: null,
    driveAgeMs: null,
    backend: "loading the avatar…",
    frames: 0,
    version: -1,
    quality: 100,
    error: null,
  });

  state.current.positions = positions;
  state.current.ends = ends;
  state.current.controls = controls;
  state.current.playback = playback;
  state.current.drive = drive;
  state.current.serverOffsetMs = serverOffsetMs;
  useEffect(() => {
    state.current.dirty = true;
  }, [positions, ends, controls, playback, drive]);
  useEffect(() => {
    if (lastEditAt !== null) state.current.editAt = lastEditAt;
  }, [lastEditAt]);

  const markDirty = useCallback(() => {
    state.current.dirty = true;
    onCamera?.({ ...camera.current });
  }, [onCamera]);
  useOrbitControls(canvas, camera, markDirty, !follow);
  useEffect(() => {
    if (!follow) return;
    camera.current = { ...follow };
    state.current.dirty = true;
  }, [follow]);

  useEffect(() => {
    let stopped = false;
    let frame = 0;
    const clips = new ClipCache();
    const s = stats.current;
    const times: number[] = [];
    void (async () => {
      const gpu = await requestBrowserDevice();
      if (!gpu.device) return onFail(gpu.reason);
      const read = async (name: string) => {
        const res = await fetch(`/api/avatars/${encodeURIComponent(avatarId)}/bundle/${name}`, {
          headers: shareToken ? { "x-share-token": shareToken } : {},
        });
        if (!res.ok) throw new Error(`${name}: HTTP ${res.status}`);
        return new Uint8Array(await res.arrayBuffer());
      };
      const head = createHeadModel();
      const avatar = await readAvatarBundle(read, {
        headFaceCount: head.faceCount,
        headShapeCount: head.shapeNames.length,
      });
      if (stopped) return;
      renderer.current = new WebGpuAvatarRenderer(gpu.device, avatar, head);
      s.backend = `local WebGPU (${gpu.adapterName})`;
      const draw = async () => {
        const r = renderer.current;
        const st = state.current;
        const ctx = canvas.current?.getContext("2d");
        if (!r || !ctx || stopped) return;
        // An idle animation frame computes nothing: only a change or a playing clip makes a new picture.
        const playing = st.playback !== null && clips.get(st.playback.clip) !== null;
        if (st.dirty || playing) {
          st.dirty = false;
          const inputs = frameInputs(
            avatar,
            { attributes: st.positions, ends: st.ends, pose: st.controls, playback: st.playback, drive: st.drive },
            Date.now() + st.serverOffsetMs,
            clips,
          );
          await r.setLatents(inputs.latents);
          const image = await r.render(inputs.pose, viewCamera(camera.current, size, size), {
            background: VIEW.background,
          });
          const rgba = new Uint8ClampedArray(size * size * 4);
          for (let i = 0; i < size * size; i++) {
            for (let k = 0; k < 3; k++) rgba[i * 4 + k] = image.rgb[i * 3 + k]! * 255 + 0.5;
            rgba[i * 4 + 3] = 255;
          }
          ctx.putImageData(new ImageData(rgba, size, size), 0, 0);
          const now = performance.now();
          times.push(now);
          while (times.length && now - times[0]! > 2000) times.shift();
          s.fps = times.length > 1 ? ((times.length - 1) * 1000) / (now - times[0]!) : 0;
          s.frames++;
          ctx.canvas.dataset.frames = String(s.frames);
          const driveAt = st.drive?.at;
          s.driveAgeMs = driveAt === undefined ? null : Date.now() + st.serverOffsetMs - driveAt;
          if (st.editAt !== null) {
            s.latencyMs = now - st.editAt;
            st.editAt = null;
          }
          onStats({ ...s });
        }
        if (!stopped) frame = requestAnimationFrame(() => void draw().catch((err: Error) => onFail(err.message)));
      };
      await draw();
    })().catch((err: Error) => onFail(`The avatar could not be rendered here: ${err.message}`));
    return () => {
      stopped = true;
      cancelAnimationFrame(frame);
      renderer.current?.destroy();
      renderer.current = null;
    };
  }, [avatarId, shareToken, size, onStats, onFail]);

  return (
    <canvas
      ref={canvas}
      width={size}
      height={size}
      className="stream-canvas"
      data-testid="local-canvas"
      data-frames="0"
      aria-label="Avatar, rendered in this page"
    />
  );
}
