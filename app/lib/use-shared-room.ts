"use client";
/**
 * The avatar's shared room: one Y.Doc per avatar kept in step with the
 * server by y-websocket, and the presence (awareness) of everyone in it.
 * Everything two people see alike goes through this document, so this hook
 * is the only place that reads or writes it; the components get plain values
 * and callbacks. Edits are tagged with LOCAL so that undo only ever takes
 * back this page's own changes, never a collaborator's.
 */
import { useCallback, useEffect, useRef, useState } from "react";
import * as Y from "yjs";
import { WebsocketProvider } from "y-websocket";
import * as authProtocol from "y-protocols/auth";
import type * as decoding from "lib0/decoding";
import {
  VIEW,
  attributesMap,
  driveMap,
  endsMap,
  playbackMap,
  poseMap,
  presetsMap,
  readDrive,
  readPlayback,
  type DriveState,
  type PlaybackState,
  type Preset,
  type SliderEnds,
} from "../../protocol/shared-state";
import type { StreamCamera } from "../../protocol/messages";
import { newSessionSecret, parseRefusal, RefusalCodes } from "../../protocol/yjs";
import type { Peer } from "./presence";
import { endsOf, guestName, listPeers, numbersOf, pickColor, readPresets } from "./shared-room-values";

/** Yjs transaction origin of this page's own edits: what its undo manager tracks. */
const LOCAL = Symbol("local-edit");
/** Origin of this page's camera-driven face: shared, never undone. */
const DRIVE = Symbol("drive");
/** How often a driving page shares its face, ms (15 a second: smooth for viewers, few stored updates). */
export const DRIVE_SHARE_MS = 66;

export interface SharedRoomOptions {
  avatarId: string;
  shareToken: string | null;
  /** False for view-only links: every write is then a no-op (the server would refuse it anyway). */
  canEdit: boolean;
  /** The link no longer works (revoked or expired): the room has stopped reconnecting. Must be stable (a state setter). */
  onStopped: (message: string) => void;
  /** The server refused one change; the room goes on. Must be stable (a state setter). */
  onRefused: (message: string) => void;
  /** False for an embedded player: it watches without showing up in anyone's list of people. Default true. */
  presence?: boolean;
}

export function useSharedRoom({
  avatarId,
  shareToken,
  canEdit,
  onStopped,
  onRefused,
  presence = true,
}: SharedRoomOptions) {
  const [positions, setPositions] = useState<Record<string, number>>({});
  const [ends, setEnds] = useState<Record<string, SliderEnds>>({});
  const [controls, setControls] = useState<Record<string, number>>({});
  const [presets, setPresets] = useState<Array<[string, Preset]>>([]);
  const [playback, setPlayback] = useState<PlaybackState | null>(null);
  const [drive, setDrive] = useState<DriveState | null>(null);
  const [lastEditAt, setLastEditAt] = useState<number | null>(null);
  const [undo, setUndo] = useState<{ manager: Y.UndoManager; canUndo: boolean; canRedo: boolean } | null>(null);
  const pending = useRef<Record<string, number>>({});
  const pendingDrive = useRef<{ expression: Float32Array; pose: Float32Array; at: number } | null>(null);
  const driveTimer = useRef<number | null>(null);
  const flushTimer = useRef<number | null>(null);
  const [synced, setSynced] = useState(false);
  const [connection, setConnection] = useState("connecting");
  const [peers, setPeers] = useState<Peer[]>([]);
  const [room, setRoom] = useState<{ doc: Y.Doc; provider: WebsocketProvider } | null>(null);
  /** Bumped to reconnect with a fresh copy of the shared state. */
  const [resync, setResync] = useState(0);

  useEffect(() => {
    const doc = new Y.Doc();
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const provider = new WebsocketProvider(`${scheme}://${location.host}/yjs`, avatarId, doc, {
      // The session secret binds this page's Yjs client id to it, across reconnects (protocol/yjs.ts).
      params: { ...(shareToken ? { token: shareToken } : {}), session: newSessionSecret() },
      maxBackoffTime: 2500,
    });
    const attrs = attributesMap(doc);
    const playback = playbackMap(doc);
    const onAttrs = () => setPositions(numbersOf(attrs.toJSON()));
    const endList = endsMap(doc);
    const onEnds = () => setEnds(endsOf(endList.toJSON()));
    endList.observe(onEnds);
    const pose = poseMap(doc);
    const presetList = presetsMap(doc);
    const onPose = () => setControls(numbersOf(pose.toJSON()));
    const onPresets = () => setPresets(readPresets(presetList));
    pose.observe(onPose);
    presetList.observe(onPresets);
    const onPlayback = () => setPlayback(readPlayback(doc));
    const driven = driveMap(doc);
    const onDrive = () => setDrive(readDrive(doc));
    driven.observe(onDrive);
    attrs.observe(onAttrs);
    playback.observe(onPlayback);
    const manager = new Y.UndoManager([attrs, endList, pose], {
      trackedOrigins: new Set([LOCAL]),
      captureTimeout: 400,
    });
    const onStack = () =>
      setUndo({ manager, canUndo: manager.undoStack.length > 0, canRedo: manager.redoStack.length > 0 });
    manager.on("stack-item-added", onStack);
    manager.on("stack-item-popped", onStack);
    onStack();
    provider.on("sync", (isSynced: boolean) => {
      setSynced(isSynced);
      onAttrs();
      onEnds();
      onPose();
      onDrive();
      onPresets();
    });
    provider.on("status", ({ status }: { status: string }) => {
      setConnection(status);
      // After a reconnect the provider re-sends this page's presence with the clock the server has
      // already seen, which it ignores: a fresh clock makes the page visible to the others at once.
      if (status === "connected" && presence) provider.awareness.setLocalState(provider.awareness.getLocalState());
    });
    if (presence) {
      provider.awareness.setLocalStateField("user", { name: guestName(), color: pickColor() });
      provider.awareness.setLocalStateField("camera", { ...VIEW.camera });
    } else provider.awareness.setLocalState(null);
    const onAwareness = () => setPeers(listPeers(provider.awareness.getStates(), doc.clientID));
    provider.awareness.on("change", onAwareness);
    onAwareness();
    // The server answers a refused edit with an auth message (type 2); y-websocket
    // would only log it, so this provider gets its own handler that tells the user.
    const handlers = (provider as unknown as { messageHandlers: Array<(...args: unknown[]) => void> }).messageHandlers;
    handlers[2] = (_encoder, decoder) => {
      authProtocol.readAuthMessage(decoder as decoding.Decoder, doc, (_doc, reason) => {
        const { code, message } = parseRefusal(reason);
        if (code === RefusalCodes.revoked || code === RefusalCodes.expired) {
          // The link no longer works: stop reconnecting and say so.
          provider.shouldConnect = false;
          onStopped(message);
          return;
        }
        onRefused(`The server refused a change: ${message}.`);
        // This page's copy now holds what the server refused: start again from the server's state.
        if (code === RefusalCodes.invalidState) setResync((n) => n + 1);
      });
    };
    setRoom({ doc, provider });
    return () => {
      provider.awareness.off("change", onAwareness);
      attrs.unobserve(onAttrs);
      endList.unobserve(onEnds);
      playback.unobserve(onPlayback);
      driven.unobserve(onDrive);
      pose.unobserve(onPose);
      presetList.unobserve(onPresets);
      manager.destroy();
      provider.destroy();
      doc.destroy();
      setRoom(null);
    };
  }, [avatarId, shareToken, resync, onStopped, onRefused, presence]);

  /** Writes the latest slider values to the document at most every 50 ms: smooth dragging, few updates. */
  function onSlide(category: string, value: number, target: "attributes" | "pose" = "attributes") {
    if (!room || !canEdit) return;
    (target === "pose" ? setControls : setPositions)((p) => ({ ...p, [category]: value }));
    pending.current[`${target}:${category}`] = value;
    if (flushTimer.current !== null) return;
    flushTimer.current = window.setTimeout(() => {
      flushTimer.current = null;
      const values = pending.current;
      pending.current = {};
      room.doc.transact(() => {
        for (const [key, v] of Object.entries(values)) {
          const [map, k] = key.split(":") as ["attributes" | "pose", string];
          (map === "pose" ? poseMap(room.doc) : attributesMap(room.doc)).set(k, v);
        }
      }, LOCAL);
      setLastEditAt(performance.now());
    }, 50);
  }

  /** One undoable edit of the sliders and their ends. */
  function edit(change: (attrs: Y.Map<number>, ends: Y.Map<SliderEnds>) => void) {
    if (!room || !canEdit) return;
    room.doc.transact(() => change(attributesMap(room.doc), endsMap(room.doc)), LOCAL);
    setLastEditAt(performance.now());
  }

  /** Puts anchor `anchor` at the slider's left (side 0, -1) or right (side 1, +1) end. */
  function setEnd(category: string, side: 0 | 1, anchor: number) {
    edit((_, e) => {
      const next: SliderEnds = [...(ends[category] ?? [0, 1])];
      next[side] = anchor;
      e.set(category, next);
    });
  }

  /**
   * Shares this page's camera-driven face: the latest sample at most every DRIVE_SHARE_MS (the others'
   * frames follow at that rate; this page shows its own at its camera's rate).
   */
  function driveFace(sample: { expression: Float32Array; pose: Float32Array }, at: number) {
    if (!room || !canEdit) return;
    // Only the latest sample is kept; it is rounded when it is shared, not on every camera frame.
    pendingDrive.current = { ...sample, at };
    if (driveTimer.current !== null) return;
    driveTimer.current = window.setTimeout(() => {
      driveTimer.current = null;
      const latest = pendingDrive.current;
      pendingDrive.current = null;
      if (!latest) return;
      const round = (x: number) => Math.round(x * 1e4) / 1e4;
      const next = { expression: Array.from(latest.expression, round), pose: Array.from(latest.pose, round) };
      const at = Math.round(latest.at);
      const m = driveMap(room.doc);
      const self = room.provider.awareness.getLocalState() as { user?: { name?: string } } | null;
      room.doc.transact(() => {
        const by = self?.user?.name ?? "someone";
        if (m.get("by") !== by) m.set("by", by);
        if (m.get("client") !== room.doc.clientID) m.set("client", room.doc.clientID);
        m.set("expression", next.expression);
        m.set("pose", next.pose);
        m.set("at", at);
      }, DRIVE);
    }, DRIVE_SHARE_MS);
  }

  /** Ends this page's driving: everyone's avatar goes back to the clip or the manual controls. */
  function stopDriving() {
    if (driveTimer.current !== null) window.clearTimeout(driveTimer.current);
    driveTimer.current = null;
    pendingDrive.current = null;
    if (room && canEdit) room.doc.transact(() => driveMap(room.doc).clear(), DRIVE);
  }

  /** Saves the current attributes under `name`; false when nothing was saved (so the caller keeps its input). */
  function savePreset(name: string): boolean {
    const trimmed = name.trim().slice(0, 40);
    if (!room || !canEdit || !trimmed) return false;
    const self = room.provider.awareness.getLocalState() as { user?: { name?: string } } | null;
    presetsMap(room.doc).set(trimmed, {
      attributes: { ...positions },
      ends: { ...ends },
      savedBy: self?.user?.name ?? "someone",
      savedAt: Date.now(),
    });
    return true;
  }

  const onCamera = useCallback(
    (camera: StreamCamera) => room?.provider.awareness.setLocalStateField("camera", camera),
    [room],
  );

  return {
    positions,
    ends,
    controls,
    presets,
    playback,
    drive,
    driveFace,
    stopDriving,
    playing: playback?.clip ?? null,
    lastEditAt,
    synced,
    connection,
    peers,
    canUndo: !!undo?.canUndo,
    canRedo: !!undo?.canRedo,
    onSlide,
    reset: () =>
      edit((a, e) => {
        a.clear();
        e.clear();
      }),
    /** Every category somewhere between two of its anchors picked at random. */
    randomize: (categories: ReadonlyArray<{ name: string; anchors: readonly string[] }>) =>
      edit((a, e) =>
        categories.forEach(({ name, anchors }) => {
          a.set(name, Math.round((Math.random() * 2 - 1) * 100) / 100);
          if (anchors.length > 2) e.set(name, randomEnds(anchors.length));
        }),
      ),
    applyPreset: (preset: Preset) =>
      edit((a, e) => {
        a.clear();
        e.clear();
        for (const [k, v] of Object.entries(preset.attributes)) a.set(k, v);
        for (const [k, v] of Object.entries(preset.ends ?? {})) e.set(k, v);
      }),
    setEnd,
    savePreset,
    deletePreset: (name: string) => room && presetsMap(room.doc).delete(name),
    undo: () => undo?.manager.undo(),
    redo: () => undo?.manager.redo(),
    /** Tells peers which category this page is dragging (null when it lets go), for their rings. */
    setDragging: (category: string | null) => room?.provider.awareness.setLocalStateField("dragging", category),
    onCamera,
  };
}

/** Two different anchors of `count`, at random. */
function randomEnds(count: number): SliderEnds {
  const left = Math.floor(Math.random() * count);
  const right = (left + 1 + Math.floor(Math.random() * (count - 1))) % count;
  return [left, right];
}
