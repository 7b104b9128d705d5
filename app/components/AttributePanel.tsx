"use client";
/**
 * The attribute sliders: one per category between its two anchors, with the
 * anchors' thumbnails, a ring in the colour of any peer dragging the same
 * slider (so two people see they are fighting over it), and reset / random /
 * undo / redo. Presentational: the values and edits come from the shared
 * room, so this renders the same for every kind of connection.
 */
import type { AvatarInfo } from "../../protocol/messages";
import type { Peer } from "../lib/presence";

export interface AttributePanelProps {
  avatarId: string;
  /** Goes in the thumbnails' query: an <img> cannot send the share-token header. */
  shareToken: string | null;
  categories: AvatarInfo["categories"];
  positions: Record<string, number>;
  peers: Peer[];
  canEdit: boolean;
  synced: boolean;
  canUndo: boolean;
  canRedo: boolean;
  onSlide: (category: string, value: number) => void;
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
              <span>
                {thumb(thumbnails[0])}
                {anchors[0] ?? "-1"}
              </span>
              <span data-testid={`value-${name}`}>{value.toFixed(2)}</span>
              <span>
                {anchors[1] ?? anchors[0] ?? "+1"}
                {thumb(thumbnails[1] ?? thumbnails[0])}
              </span>
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
