"use client";
/**
 * The lines under the viewport: what is rendering and how fast (with the
 * change-to-frame latency that the tests and people both judge the editor
 * by), the LOCAL / STREAM / low-power switch, and the WebGPU adapter and
 * sync state. Presentational: the mode is chosen by AvatarRoom, which also
 * owns the viewport these lines describe.
 */
import type { GpuStatus } from "../lib/gpu-status";
import type { StreamStats } from "./StreamView";

export interface ViewportStatusProps {
  stats: StreamStats | null;
  /** Where the avatar renders; null until the GPU probe has answered. */
  mode: "local" | "stream" | null;
  /** True while the avatar is an untrained placeholder. */
  placeholder: boolean | undefined;
  lowPower: boolean;
  gpu: GpuStatus | null;
  /** Why in-page rendering gave up, if it did. */
  localFailure: string | null;
  synced: boolean;
  /** y-websocket's connection status, shown until the first sync. */
  connection: string;
  onChooseMode: (mode: "local" | "stream") => void;
  onLowPower: (on: boolean) => void;
}

export function ViewportStatus({
  stats,
  mode,
  placeholder,
  lowPower,
  gpu,
  localFailure,
  ...props
}: ViewportStatusProps) {
  const where = mode === "local" ? "LOCAL" : "STREAM";
  return (
    <>
      <div className="status-line" data-testid="stream-status" data-fps={stats ? stats.fps.toFixed(1) : "0"}>
        {stats?.error
          ? `Stream: ${stats.error}`
          : stats && stats.frames > 0
            ? `${where} · ${stats.fps.toFixed(1)} fps · ${stats.latencyMs === null ? "latency: move a slider" : `change to frame ${Math.round(stats.latencyMs)} ms`}${stats.driveAgeMs === null ? "" : ` · camera to screen ${Math.round(stats.driveAgeMs)} ms`} · ${stats.backend}${mode === "stream" ? ` · JPEG q${stats.quality}` : ""}`
            : `${where} · waiting for the first frame…`}
        {placeholder && " · untrained placeholder avatar"}
      </div>
      <div className="row status-line" data-testid="mode-switch">
        <span>Render:</span>
        <button
          className={mode === "local" ? "active" : ""}
          disabled={lowPower || !gpu?.adapter}
          data-testid="mode-local"
          onClick={() => props.onChooseMode("local")}
          title={
            gpu?.adapter ? "Run the avatar in this page on its WebGPU device" : "This browser has no WebGPU adapter"
          }
        >
          in this page
        </button>
        <button
          className={mode === "stream" ? "active" : ""}
          data-testid="mode-stream"
          onClick={() => props.onChooseMode("stream")}
          title="The server renders and streams frames"
        >
          on the server
        </button>
        <label>
          <input
            type="checkbox"
            checked={lowPower}
            onChange={(e) => props.onLowPower(e.target.checked)}
            data-testid="low-power"
          />{" "}
          low-power
        </label>
        {localFailure && (
          <span className="error" data-testid="local-failure">
            In-page rendering failed ({localFailure}); streaming instead.
          </span>
        )}
      </div>
      <div className="status-line" data-testid="gpu-status" data-adapter={gpu ? String(gpu.adapter) : "pending"}>
        {gpu === null
          ? "WebGPU: checking…"
          : gpu.adapter
            ? `WebGPU: adapter (${gpu.description})`
            : `WebGPU: no adapter (${gpu.description})`}
        {" · "}sync: <span data-testid="sync-status">{props.synced ? "synced" : props.connection}</span>
      </div>
    </>
  );
}
