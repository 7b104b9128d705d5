"use client";
/**
 * Expression and pose sliders, and clip playback. Together because a
 * playing clip replaces the manual pose (protocol/frame-inputs.ts): the
 * sliders are locked while one plays, as moving them would show nothing.
 * The clip picked is this page's own choice until Play, so it lives here.
 */
import { useState } from "react";
import { POSE_CONTROLS } from "../../render-core/animation/controls";

export interface PoseControlsProps {
  controls: Record<string, number>;
  /** The clips this avatar has (from avatar info). */
  clips: string[];
  /** The clip playing for everyone, or null. */
  playing: string | null;
  canEdit: boolean;
  synced: boolean;
  onSlide: (control: string, value: number) => void;
  /** Plays a clip for everyone, or stops the playing one (null). */
  onPlay: (clip: string | null) => void;
}

export function PoseControls({ controls, clips, playing, canEdit, synced, onSlide, onPlay }: PoseControlsProps) {
  const [clip, setClip] = useState("talk");
  return (
    <>
      <h2 style={{ marginTop: "1.2rem" }}>Expression and pose</h2>
      {POSE_CONTROLS.map(({ name, min, max }) => (
        <div key={name} className="attribute">
          <label htmlFor={`pose-${name}`}>{name.replace(/([A-Z])/g, " $1").toLowerCase()}</label>
          <input
            id={`pose-${name}`}
            data-testid={`pose-${name}`}
            className="slider"
            type="range"
            min={min}
            max={max}
            step={(max - min) / 100}
            value={controls[name] ?? 0}
            disabled={!canEdit || !synced || !!playing}
            onChange={(e) => onSlide(name, Number(e.target.value))}
          />
        </div>
      ))}
      <h2 style={{ marginTop: "1.2rem" }}>Animation</h2>
      <div className="row">
        <select
          value={clip}
          onChange={(e) => setClip(e.target.value)}
          disabled={!canEdit}
          data-testid="clip-select"
          aria-label="Clip"
        >
          {clips.map((c) => (
            <option key={c} value={c}>
              {c}
            </option>
          ))}
        </select>
        {playing ? (
          <button disabled={!canEdit} data-testid="clip-stop" onClick={() => onPlay(null)}>
            Stop {playing}
          </button>
        ) : (
          <button disabled={!canEdit} data-testid="clip-play" onClick={() => onPlay(clip)}>
            Play
          </button>
        )}
      </div>
    </>
  );
}
