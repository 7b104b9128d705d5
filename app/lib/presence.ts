/**
 * Peers' presence and saved presets, read defensively: whatever another
 * client put in its awareness state or in the document, the page shows only
 * strings as names and #rrggbb colours (the server refuses anything else, but
 * a page must not break, or load an attacker's URL, if one slips through).
 */
import type { AwarenessState } from "../../protocol/schemas";
import type { StreamCamera } from "../../protocol/messages";

export interface Peer {
  clientId: number;
  name: string;
  color: string;
  self: boolean;
  /** The category this peer is dragging, if any. */
  dragging: string | null;
  /** This peer's own camera, if it shares one. */
  camera: StreamCamera | null;
}

const COLOR = /^#[0-9a-fA-F]{6}$/;
const FALLBACK_COLOR = "#888888";

/** A string of at most `max` characters, or null. */
export function shortText(value: unknown, max: number): string | null {
  return typeof value === "string" && value.length > 0 ? value.slice(0, max) : null;
}

export function safeColor(value: unknown): string {
  return typeof value === "string" && COLOR.test(value) ? value : FALLBACK_COLOR;
}

function finite(value: unknown): value is number {
  return typeof value === "number" && Number.isFinite(value);
}

/** The peer a presence state describes, or null when it names nobody. */
export function readPeer(clientId: number, state: unknown, selfId: number): Peer | null {
  if (!state || typeof state !== "object") return null;
  const { user, camera, dragging } = state as Partial<Record<keyof AwarenessState, unknown>>;
  const u = user && typeof user === "object" ? (user as Record<string, unknown>) : null;
  const name = shortText(u?.name, 40);
  if (!name) return null;
  const c = camera && typeof camera === "object" ? (camera as Record<string, unknown>) : null;
  const cam =
    c && finite(c.yawDeg) && finite(c.pitchDeg) && finite(c.distance)
      ? { yawDeg: c.yawDeg, pitchDeg: c.pitchDeg, distance: c.distance }
      : null;
  return {
    clientId,
    name,
    color: safeColor(u?.color),
    self: clientId === selfId,
    dragging: shortText(dragging, 64),
    camera: cam,
  };
}
