"use client";
/**
 * The attribute sliders: one per category between two of its anchors (its
 * first two unless someone picks others at either end, so every anchor is
 * reachable), with the anchors' thumbnails, a ring in the colour of any peer dragging the same
 * slider (so two people see they are fighting over it), and reset / random /
 * undo / redo. Presentational: the values and edits come from the shared
 * room, so this renders the same for every kind of connection.
 */
import type { AvatarInfo } from "../../protocol/messages";
import type { SliderEnds } from "../../protocol/shared-state";
import { sliderEndAnchors } from "../../render-core/avatar/latent";
import type { Peer } from "../lib/presence";

export interface AttributePanelProps {
  avatarId: string;
  /** Goes in the thumbnails' query: an <img> cannot send the share-token header. */
  shareToken: string | null;
  categories: AvatarInfo["categories"];
  positions: Record<string, number>;
  ends: Record<string, SliderEnds>;
  peers: Peer[];
  canEdit: boolean;
  synced: boolean;
  canUndo: boolean;
  canRedo: boolean;
  onSlide: (category: string, value: number) => void;
  /** Puts anchor `anchor` (index among the category's anchors) at the slider's left (0) or right (1) end. */
  onPickEnd: (category: string, side: 0 | 1, anchor: number) => void;
  onDragging: (category: string | null) => void;
  onReset: () => void;
  onRandom: () => void;
  onUndo: () => void;
  onRedo: () => void;
}

export function AttributePanel(props: AttributePanelProps) {
  const { avatarId, shareToken, categories, positions, peers, canEdit, synced } = props;
  const thumb = (file: string | null | undefined) =>
    file ? (
      <img
        className="thumb"
        alt=""
        src={`/api/avatars/${encodeURIComponent(avatarId)}/bundle/${file}${shareToken ? `?token=${encodeURIComponent(shareToken)}` : ""}`}
      />
    ) : null;

  /** One end of a slider: its anchor's thumbnail and label, or a picker of every anchor where there are more than two. */
  const endLabel = (name: string, anchors: string[], thumbnails: Array<string | null>, side: 0 | 1) => {
    const indices = anchors.map((_, k) => k);
    const chosen = sliderEndAnchors(indices, props.ends[name])?.[side];
    if (chosen === undefined) return <span>{side === 0 ? "-1" : "+1"}</span>;
    const picture = thumb(thumbnails[chosen]);
    const label =
      anchors.length > 2 ? (
        <select
          data-testid={`end-${name}-${side}`}
          aria-label={`${name}: anchor at ${side === 0 ? "-1" : "+1"}`}
          value={chosen}
          disabled={!canEdit || !synced}
          onChange={(e) => props.onPickEnd(name, side, Number(e.target.value))}
        >
          {anchors.map((label, k) => (
            <option key={k} value={k}>
              {label}
            </option>
          ))}
        </select>
      ) : (
        anchors[chosen]
      );
    return side === 0 ? (
      <span>
        {picture}
        {label}
      </span>
    ) : (
      <span>
        {label}
        {picture}
      </span>
    );
  };

  return (
    <>
      <h2>Attributes</h2>
      {categories.map(({ name, anchors, thumbnails }) => {
        const value = positions[name] ?? 0;
        const draggers = peers.filter((p) => !p.self && p.dragging === name);
        return (
          <div
            key={name}
            className="attribute"
            style={draggers.length ? { boxShadow: `0 0 0 2px ${draggers[0]!.color}` } : undefined}
            data-testid={`attribute-${name}`}
          >
            <label htmlFor={`${name}-slider`}>
              {name}
              {draggers.length > 0 && <span className="muted"> · {draggers.map((d) => d.name).join(", ")}</span>}
            </label>
            <input
              id={`${name}-slider`}
              data-testid={`slider-${name}`}
              className="slider"
              type="range"
              min={-1}
              max={1}
              step={0.01}
              value={value}
              disabled={!canEdit || !synced}
              onChange={(e) => props.onSlide(name, Number(e.target.value))}
              onPointerDown={() => props.onDragging(name)}
              onPointerUp={() => props.onDragging(null)}
            />
            <div className="row muted" style={{ justifyContent: "space-between", fontSize: ".8rem" }}>
              {endLabel(name, anchors, thumbnails, 0)}
              <span data-testid={`value-${name}`}>{value.toFixed(2)}</span>
              {endLabel(name, anchors, thumbnails, 1)}
            </div>
          </div>
        );
      })}
      <div className="row" style={{ marginTop: ".6rem", flexWrap: "wrap" }}>
        <button disabled={!canEdit} data-testid="reset" onClick={() => props.onReset()}>
          Reset
        </button>
        <button disabled={!canEdit} data-testid="random" onClick={() => props.onRandom()}>
          Random
        </button>
        <button disabled={!canEdit || !props.canUndo} data-testid="undo" onClick={() => props.onUndo()}>
          Undo
        </button>
        <button disabled={!canEdit || !props.canRedo} data-testid="redo" onClick={() => props.onRedo()}>
          Redo
        </button>
      </div>
    </>
  );
}
