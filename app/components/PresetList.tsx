"use client";
/**
 * Saved looks anyone in the room can apply, and the box to name a new one.
 * The name being typed is this page's own (not shared) state, so it lives
 * here; the list itself is the shared room's. A saver's name comes from a
 * peer's document, so it is shortened before it is shown.
 */
import { useState } from "react";
import type { Preset } from "../../protocol/shared-state";
import { shortText } from "../lib/presence";

export interface PresetListProps {
  presets: Array<[string, Preset]>;
  canEdit: boolean;
  onApply: (preset: Preset) => void;
  onDelete: (name: string) => void;
  /** Saves the current look under `name`; true when it was saved (the box is then emptied). */
  onSave: (name: string) => boolean;
}

export function PresetList({ presets, canEdit, onApply, onDelete, onSave }: PresetListProps) {
  const [presetName, setPresetName] = useState("");
  return (
    <>
      <h2 style={{ marginTop: "1.2rem" }}>Presets</h2>
      <ul className="presets" data-testid="presets">
        {presets.map(([name, p]) => (
          <li key={name} className="row" data-testid="preset">
            <span>{name}</span>
            <span className="muted" style={{ fontSize: ".8rem" }}>
              by {shortText(p.savedBy, 40) ?? "someone"}
            </span>
            <button disabled={!canEdit} data-testid={`preset-apply-${name}`} onClick={() => onApply(p)}>
              Apply
            </button>
            <button disabled={!canEdit} aria-label={`Delete preset ${name}`} onClick={() => onDelete(name)}>
              ×
            </button>
          </li>
        ))}
      </ul>
      <div className="row">
        <input
          value={presetName}
          onChange={(e) => setPresetName(e.target.value)}
          placeholder="Name this look"
          maxLength={40}
          disabled={!canEdit}
          data-testid="preset-name"
          aria-label="Preset name"
        />
        <button
          disabled={!canEdit || !presetName.trim()}
          onClick={() => onSave(presetName) && setPresetName("")}
          data-testid="preset-save"
        >
          Save
        </button>
      </div>
    </>
  );
}
