"use client";
/**
 * STREAM mode: the server renders the avatar at this viewer's camera and
 * size and sends JPEG frames over socket.io; this draws them on a canvas and
 * acknowledges each (the server keeps at most two in flight). Dragging
 * orbits this viewer's own camera. Reports fps and change-to-frame latency.
 */
import { useCallback, useEffect, useRef } from "react";
import type { StreamCamera, StreamFrame } from "../../protocol/messages";
import type { AppSocket } from "../lib/socket";
import { useOrbitControls } from "../lib/orbit";
import { VIEW } from "../../protocol/shared-state";

export interface StreamStats {
  fps: number;
  /** Milliseconds from this viewer's last edit to the first frame showing a newer document version. */
  latencyMs: number | null;
  /** While someone drives the face: how old the shown face is, ms from the driver's camera frame to this frame. */
  driveAgeMs: number | null;
  backend: string;
  frames: number;
  version: number;
  quality: number;
  error: string | null;
}

export interface StreamViewProps {
  socket: AppSocket | null;
  /** Where the frames come from: "server", or a render node's address. */
  source: string;
  avatarId: string;
  size: number;
  /** performance.now() of this viewer's last edit, to measure latency. */
  lastEditAt: number | null;
  /** The server's clock minus this page's (to age a driven face). */
  serverOffsetMs: number;
  onStats: (stats: StreamStats) => void;
  /** A camera to follow (another viewer's), or null for this viewer's own. */
  follow?: StreamCamera | null;
  /** Called when this viewer's own camera moves. */
  onCamera?: (camera: StreamCamera) => void;
}

export function StreamView({
  socket,
  source,
  avatarId,
  size,
  lastEditAt,
  serverOffsetMs,
  onStats,
  follow = null,
  onCamera,
}: StreamViewProps) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const editRef = useRef<{ at: number; version: number } | null>(null);
  const stats = useRef<StreamStats>({
    fps: 0,
    latencyMs: null,
    driveAgeMs: null,
    backend: "",
    frames: 0,
    version: -1,
    quality: 0,
    error: null,
  });
  const camera = useRef<StreamCamera>({ ...VIEW.camera });
  const offset = useRef(serverOffsetMs);
  offset.current = serverOffsetMs;

  useEffect(() => {
    if (lastEditAt !== null) editRef.current = { at: lastEditAt, version: stats.current.version };
  }, [lastEditAt]);

  useEffect(() => {
    if (!socket) return;
    const s = stats.current;
    const times: number[] = [];
    let stopped = false;
    const start = () => {
      socket.emitWithAck("stream:start", { avatarId, width: size, height: size, camera: camera.current }).then(
        (reply) => {
          if (stopped) return;
          if (reply.ok) s.backend = reply.value.backend;
          else s.error = reply.message;
          onStats({ ...s });
        },
        (err: Error) => {
          s.error = err.message;
          onStats({ ...s });
        },
      );
    };
    const onFrame = async (frame: StreamFrame) => {
      socket.emit("stream:ack", { frameId: frame.frameId });
      const bitmap = await createImageBitmap(new Blob([frame.data as ArrayBuffer], { type: frame.mime }));
      const ctx = canvas.current?.getContext("2d");
      if (ctx) {
        ctx.drawImage(bitmap, 0, 0, ctx.canvas.width, ctx.canvas.height);
        ctx.canvas.dataset.frames = String(s.frames + 1);
        ctx.canvas.dataset.version = String(frame.version);
        // What the server sent, before scaling to the canvas (a slow link gets smaller or coarser frames).
        ctx.canvas.dataset.frameSize = `${frame.width}x${frame.height} q${frame.quality}`;
      }
      s.driveAgeMs = frame.driveAt === undefined ? null : Date.now() + offset.current - frame.driveAt;
      if (ctx) ctx.canvas.dataset.driveAge = s.driveAgeMs === null ? "" : String(Math.round(s.driveAgeMs));
      bitmap.close();
      const now = performance.now();
      times.push(now);
      while (times.length && now - times[0]! > 2000) times.shift();
      s.fps = times.length > 1 ? ((times.length - 1) * 1000) / (now - times[0]!) : 0;
      s.frames++;
      s.version = frame.version;
      s.quality = frame.quality;
      s.backend = frame.backend;
      const edit = editRef.current;
      if (edit && frame.version > edit.version) {
        s.latencyMs = now - edit.at;
        editRef.current = null;
      }
      onStats({ ...s });
    };
    const onEnded = (reason: { message: string }) => {
      s.error = reason.message;
      onStats({ ...s });
    };
    socket.on("stream:frame", onFrame);
    socket.on("stream:ended", onEnded);
    socket.on("connect", start);
    if (socket.connected) start();
    return () => {
      stopped = true;
      socket.off("stream:frame", onFrame);
      socket.off("stream:ended", onEnded);
      socket.off("connect", start);
      socket.emit("stream:stop");
    };
  }, [socket, avatarId, size, onStats]);

  const sendCamera = useCallback(() => {
    socket?.emit("stream:camera", { camera: camera.current });
    onCamera?.({ ...camera.current });
  }, [socket, onCamera]);
  useOrbitControls(canvas, camera, sendCamera, !!socket && !follow);
  useEffect(() => {
    if (!follow) return;
    camera.current = { ...follow };
    socket?.emit("stream:camera", { camera: camera.current });
  }, [follow, socket]);

  return (
    <canvas
      ref={canvas}
      width={size}
      height={size}
      className="stream-canvas"
      data-testid="stream-canvas"
      data-frames="0"
      data-version="-1"
      data-source={source}
      aria-label="Avatar, rendered by the server"
    />
  );
}
