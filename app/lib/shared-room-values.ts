/**
 * The plain values use-shared-room.ts reads from the document and puts in
 * this page's presence. Kept apart from the hook because none of it needs
 * React or a connection: a peer's document is untrusted input, and these
 * readers are where a wrong value from it is dropped instead of rendered.
 */
import type * as Y from "yjs";
import type { Preset, SliderEnds } from "../../protocol/shared-state";
import { readPeer, type Peer } from "./presence";

const COLORS = ["#ff7a7a", "#ffb86b", "#f1fa8c", "#7ee787", "#8fb4ff", "#d2a8ff", "#ff9ad5", "#6ee7e7"];

/** The finite numbers of a shared map's JSON: a wrong value from a peer is ignored, not rendered. */
export function numbersOf(json: Record<string, unknown>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(json)) if (typeof v === "number" && Number.isFinite(v)) out[k] = v;
  return out;
}

/** The well-formed slider ends of a shared map's JSON (two anchor indices each); anything else is ignored. */
export function endsOf(json: Record<string, unknown>): Record<string, SliderEnds> {
  const out: Record<string, SliderEnds> = {};
  for (const [k, v] of Object.entries(json))
    if (Array.isArray(v) && v.length === 2 && v.every((i) => Number.isInteger(i) && i >= 0))
      out[k] = [v[0] as number, v[1] as number];
  return out;
}

/** The saved presets that have an attributes object, by name, each with only its finite numbers. */
export function readPresets(presetList: Y.Map<Preset>): Array<[string, Preset]> {
  return [...presetList.entries()]
    .filter(([, p]) => p && typeof p === "object" && p.attributes && typeof p.attributes === "object")
    .map(([name, p]): [string, Preset] => [
      name,
      {
        ...p,
        attributes: numbersOf(p.attributes),
        ends: p.ends && typeof p.ends === "object" ? endsOf(p.ends) : undefined,
      },
    ])
    .sort((a, b) => a[0].localeCompare(b[0]));
}

/** Everyone whose presence names someone, this page first, then in a stable order so the list does not jump. */
export function listPeers(states: Map<number, unknown>, selfId: number): Peer[] {
  const list: Peer[] = [];
  states.forEach((state, clientId) => {
    const peer = readPeer(clientId, state, selfId);
    if (peer) list.push(peer);
  });
  return list.sort((a, b) => Number(b.self) - Number(a.self) || a.clientId - b.clientId);
}

export function guestName(): string {
  const saved = typeof localStorage !== "undefined" ? localStorage.getItem("perse-name") : null;
  // The server refuses presence names over 40 characters.
  return saved?.trim().slice(0, 40) || `Guest ${Math.floor(100 + Math.random() * 900)}`;
}

/** This page's presence colour: a random pick, so peers in one room rarely share one. */
export function pickColor(): string {
  return COLORS[Math.floor(Math.random() * COLORS.length)]!;
}
