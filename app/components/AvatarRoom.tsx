"use client";
/**
 * The avatar editor: the server-streamed viewport (STREAM mode), one slider
 * per attribute category between its two anchors (bound to the avatar's
 * Y.Doc), reset / random / undo / redo, clip playback, presence from Yjs
 * awareness (who is here and what each is dragging), the WebGPU status and,
 * for the owner, the share dialog. Everything shared goes through the Y.Doc.
 */
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import * as Y from "yjs";
import { WebsocketProvider } from "y-websocket";
import * as authProtocol from "y-protocols/auth";
import type * as decoding from "lib0/decoding";
import { VIEW, attributesMap, playbackMap, poseMap, presetsMap, readPlayback, type PlaybackState, type Preset } from "../../protocol/shared-state";
import { POSE_CONTROLS } from "../../render-core/animation/controls";
import type { AvatarInfo, StreamCamera } from "../../protocol/messages";
import { connectSocket, type AppSocket } from "../lib/socket";
import { StreamView, type StreamStats } from "./StreamView";
import { LocalView } from "./LocalView";
import { createApi, errorMessage } from "../lib/trpc";
import { probeGpu, type GpuStatus } from "../lib/gpu-status";
import { ShareDialog } from "./ShareDialog";
import { JobProgressBanner } from "./JobProgressBanner";
import { readPeer, shortText, type Peer } from "../lib/presence";
import { parseRefusal, RefusalCodes } from "../../protocol/yjs";

type Role = "owner" | "edit" | "view";


/** Yjs transaction origin of this page's own edits: what its undo manager tracks. */
const LOCAL = Symbol("local-edit");
const VIEW_SIZE = 384;

const COLORS = ["#ff7a7a", "#ffb86b", "#f1fa8c", "#7ee787", "#8fb4ff", "#d2a8ff", "#ff9ad5", "#6ee7e7"];

/** The finite numbers of a shared map's JSON: a wrong value from a peer is ignored, not rendered. */
function numbersOf(json: Record<string, unknown>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(json)) if (typeof v === "number" && Number.isFinite(v)) out[k] = v;
  return out;
}

function guestName(): string {
  const saved = typeof localStorage !== "undefined" ? localStorage.getItem("perse-name") : null;
  // The server refuses presence names over 40 characters.
  return saved?.trim().slice(0, 40) || `Guest ${Math.floor(100 + Math.random() * 900)}`;
}

export function AvatarRoom({ avatarId, shareToken }: { avatarId: string; shareToken: string | null }) {
  const api = useMemo(() => createApi(shareToken), [shareToken]);
  const [avatar, setAvatar] = useState<{ name: string; role: Role; status: string } | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [positions, setPositions] = useState<Record<string, number>>({});
  const [controls, setControls] = useState<Record<string, number>>({});
  const [presets, setPresets] = useState<Array<[string, Preset]>>([]);
  const [presetName, setPresetName] = useState("");
  const [following, setFollowing] = useState<number | null>(null);
  const [info, setInfo] = useState<AvatarInfo | null>(null);
  const [socket, setSocket] = useState<AppSocket | null>(null);
  const [stats, setStats] = useState<StreamStats | null>(null);
  const [lastEditAt, setLastEditAt] = useState<number | null>(null);
  const [playing, setPlaying] = useState<string | null>(null);
  const [clip, setClip] = useState("talk");
  const [mode, setMode] = useState<"local" | "stream" | null>(null);
  const [lowPower, setLowPower] = useState(false);
  const [localFailure, setLocalFailure] = useState<string | null>(null);
  const [playback, setPlayback] = useState<PlaybackState | null>(null);
  const [serverOffsetMs, setServerOffsetMs] = useState(0);
  const [undo, setUndo] = useState<{ manager: Y.UndoManager; canUndo: boolean; canRedo: boolean } | null>(null);
  const pending = useRef<Record<string, number>>({});
  const flushTimer = useRef<number | null>(null);
  const [synced, setSynced] = useState(false);
  const [connection, setConnection] = useState("connecting");
  const [denied, setDenied] = useState<string | null>(null);
  const [peers, setPeers] = useState<Peer[]>([]);
  const [gpu, setGpu] = useState<GpuStatus | null>(null);
  const [sharing, setSharing] = useState(false);
  const [room, setRoom] = useState<{ doc: Y.Doc; provider: WebsocketProvider } | null>(null);
  /** Bumped to reconnect with a fresh copy of the shared state. */
  const [resync, setResync] = useState(0);

  useEffect(() => {
    api.avatars.get.query({ id: avatarId }).then(
      (a) => setAvatar({ name: a.name, role: a.role as Role, status: a.status }),
      (e) => setLoadError(errorMessage(e)),
    );
    const savedLowPower = localStorage.getItem("perse-low-power") === "1";
    setLowPower(savedLowPower);
    void probeGpu().then((g) => {
      setGpu(g);
      // LOCAL where the page has a real GPU; STREAM on thin clients, software adapters and in low-power mode.
      setMode((m) => m ?? (g.adapter && !g.software && !savedLowPower ? "local" : "stream"));
    });
  }, [api, avatarId]);

  useEffect(() => {
    const doc = new Y.Doc();
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const provider = new WebsocketProvider(`${scheme}://${location.host}/yjs`, avatarId, doc, {
      params: shareToken ? { token: shareToken } : {},
      maxBackoffTime: 2500,
    });
    const attrs = attributesMap(doc);
    const playback = playbackMap(doc);
    const onAttrs = () => setPositions(numbersOf(attrs.toJSON()));
    const pose = poseMap(doc);
    const presetList = presetsMap(doc);
    const onPose = () => setControls(numbersOf(pose.toJSON()));
    const onPresets = () =>
      setPresets(
        [...presetList.entries()]
          .filter(([, p]) => p && typeof p === "object" && p.attributes && typeof p.attributes === "object")
          .map(([name, p]): [string, Preset] => [name, { ...p, attributes: numbersOf(p.attributes) }])
          .sort((a, b) => a[0].localeCompare(b[0])),
      );
    pose.observe(onPose);
    presetList.observe(onPresets);
    const onPlayback = () => {
      const p = readPlayback(doc);
      setPlaying(p?.clip ?? null);
      setPlayback(p);
    };
    attrs.observe(onAttrs);
    playback.observe(onPlayback);
    const manager = new Y.UndoManager([attrs, pose], { trackedOrigins: new Set([LOCAL]), captureTimeout: 400 });
    const onStack = () => setUndo({ manager, canUndo: manager.undoStack.length > 0, canRedo: manager.redoStack.length > 0 });
    manager.on("stack-item-added", onStack);
    manager.on("stack-item-popped", onStack);
    onStack();
    provider.on("sync", (isSynced: boolean) => {
      setSynced(isSynced);
      onAttrs();
      onPose();
      onPresets();
    });
    provider.on("status", ({ status }: { status: string }) => setConnection(status));
    const self = { name: guestName(), color: COLORS[Math.floor(Math.random() * COLORS.length)]! };
    provider.awareness.setLocalStateField("user", self);
    provider.awareness.setLocalStateField("camera", { ...VIEW.camera });
    const onAwareness = () => {
      const list: Peer[] = [];
      provider.awareness.getStates().forEach((state, clientId) => {
        const peer = readPeer(clientId, state, doc.clientID);
        if (peer) list.push(peer);
      });
      list.sort((a, b) => Number(b.self) - Number(a.self) || a.clientId - b.clientId);
      setPeers(list);
    };
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
          setLoadError(message);
          return;
        }
        setDenied(`The server refused a change: ${message}.`);
        // This page's copy now holds what the server refused: start again from the server's state.
        if (code === RefusalCodes.invalidState) setResync((n) => n + 1);
      });
    };
    setRoom({ doc, provider });
    return () => {
      provider.awareness.off("change", onAwareness);
      attrs.unobserve(onAttrs);
      playback.unobserve(onPlayback);
      pose.unobserve(onPose);
      presetList.unobserve(onPresets);
      manager.destroy();
      provider.destroy();
      doc.destroy();
      setRoom(null);
    };
  }, [avatarId, shareToken, resync]);

  // One socket.io connection per page: avatar info, clip commands, streamed frames.
  useEffect(() => {
    const s = connectSocket(shareToken, setLoadError);
    const onConnect = () => {
      const sent = Date.now();
      void s.emitWithAck("health:ping").then((pong) => setServerOffsetMs(pong.serverTime - (sent + Date.now()) / 2));
      s.emitWithAck("avatar:info", { avatarId }).then((reply) => (reply.ok ? setInfo(reply.value) : setLoadError(reply.message)));
      void s.emitWithAck("avatar:join", { avatarId });
    };
    const onEnded = (ended: { message: string }) => setLoadError(ended.message);
    s.on("connect", onConnect);
    s.on("session:ended", onEnded);
    setSocket(s);
    return () => {
      s.off("connect", onConnect);
      s.off("session:ended", onEnded);
      s.close();
      setSocket(null);
    };
  }, [avatarId, shareToken]);

  const role: Role | null = avatar?.role ?? null;
  const canEdit = role === "owner" || role === "edit";
  const onStats = useCallback((s: StreamStats) => setStats(s), []);
  const onLocalFail = useCallback((reason: string) => {
    setLocalFailure(reason);
    setMode("stream");
  }, []);

  function chooseMode(next: "local" | "stream") {
    setLocalFailure(null);
    setStats(null);
    setMode(next);
  }

  function toggleLowPower(on: boolean) {
    setLowPower(on);
    localStorage.setItem("perse-low-power", on ? "1" : "0");
    if (on) chooseMode("stream");
  }

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

  function savePreset() {
    const name = presetName.trim().slice(0, 40);
    if (!room || !canEdit || !name) return;
    const self = room.provider.awareness.getLocalState() as { user?: { name?: string } } | null;
    presetsMap(room.doc).set(name, { attributes: { ...positions }, savedBy: self?.user?.name ?? "someone", savedAt: Date.now() });
    setPresetName("");
  }

  function edit(change: (attrs: Y.Map<number>) => void) {
    if (!room || !canEdit) return;
    room.doc.transact(() => change(attributesMap(room.doc)), LOCAL);
    setLastEditAt(performance.now());
  }

  const onCamera = useCallback((camera: StreamCamera) => room?.provider.awareness.setLocalStateField("camera", camera), [room]);
  const followed = following === null ? null : (peers.find((p) => p.clientId === following)?.camera ?? null);

  function setDragging(category: string | null) {
    room?.provider.awareness.setLocalStateField("dragging", category);
  }

  async function playClip(name: string | null) {
    if (!socket || !canEdit) return;
    const reply = await socket.emitWithAck("avatar:command", { avatarId, command: name ? { type: "play-clip", clip: name } : { type: "stop-clip" } });
    if (!reply.ok) setDenied(reply.message);
  }

  // A category without anchors (a trained avatar's "source": the person as they are) has nothing to slide to.
  const categories = info?.categories.filter((c) => c.anchors.length > 0) ?? [{ name: "hair", anchors: [], thumbnails: [] }];
  const thumb = (file: string | null | undefined) =>
    file ? <img className="thumb" alt="" src={`/api/avatars/${encodeURIComponent(avatarId)}/bundle/${file}${shareToken ? `?token=${encodeURIComponent(shareToken)}` : ""}`} /> : null;

  if (loadError) {
    return (
      <main>
        <p className="error" role="alert" data-testid="load-error">{loadError}</p>
      </main>
    );
  }

  return (
    <main>
      <div className="row" style={{ justifyContent: "space-between", marginBottom: ".8rem" }}>
        <h1 style={{ margin: 0 }} data-testid="avatar-name">{avatar?.name ?? "…"}</h1>
        <div className="row">
          {role && role !== "owner" && (
            <span className={`badge ${role}`} data-testid="role-badge">{role === "view" ? "View only" : "Can edit"}</span>
          )}
          {role === "owner" && <button onClick={() => setSharing(true)} data-testid="open-share">Share…</button>}
        </div>
      </div>
      {role === "owner" && avatar?.status !== "ready" && <JobProgressBanner api={api} avatarId={avatarId} />}
      {role === "view" && <div className="banner">You are viewing through a view-only link: you see every change live, but cannot make any.</div>}
      {denied && <p className="error" role="alert" data-testid="denied">{denied}</p>}
      <div className="room">
        <section>
          <div className="viewport" data-testid="viewport">
            {mode === "local" && !lowPower ? (
              <LocalView avatarId={avatarId} shareToken={shareToken} size={VIEW_SIZE} positions={positions} controls={controls} playback={playback} serverOffsetMs={serverOffsetMs} lastEditAt={lastEditAt} onStats={onStats} onFail={onLocalFail} follow={followed} onCamera={onCamera} />
            ) : mode ? (
              <StreamView socket={socket} avatarId={avatarId} size={VIEW_SIZE} lastEditAt={lastEditAt} onStats={onStats} follow={followed} onCamera={onCamera} />
            ) : null}
          </div>
          <div className="status-line" data-testid="stream-status" data-fps={stats ? stats.fps.toFixed(1) : "0"}>
            {stats?.error
              ? `Stream: ${stats.error}`
              : stats && stats.frames > 0
                ? `${mode === "local" ? "LOCAL" : "STREAM"} · ${stats.fps.toFixed(1)} fps · ${stats.latencyMs === null ? "latency: move a slider" : `change to frame ${Math.round(stats.latencyMs)} ms`} · ${stats.backend}${mode === "stream" ? ` · JPEG q${stats.quality}` : ""}`
                : `${mode === "local" ? "LOCAL" : "STREAM"} · waiting for the first frame…`}
            {info?.placeholder && " · untrained placeholder avatar"}
          </div>
          <div className="row status-line" data-testid="mode-switch">
            <span>Render:</span>
            <button className={mode === "local" ? "active" : ""} disabled={lowPower || !gpu?.adapter} data-testid="mode-local" onClick={() => chooseMode("local")} title={gpu?.adapter ? "Run the avatar in this page on its WebGPU device" : "This browser has no WebGPU adapter"}>
              in this page
            </button>
            <button className={mode === "stream" ? "active" : ""} data-testid="mode-stream" onClick={() => chooseMode("stream")} title="The server renders and streams frames">
              on the server
            </button>
            <label>
              <input type="checkbox" checked={lowPower} onChange={(e) => toggleLowPower(e.target.checked)} data-testid="low-power" /> low-power
            </label>
            {localFailure && <span className="error" data-testid="local-failure">In-page rendering failed ({localFailure}); streaming instead.</span>}
          </div>
          <div className="status-line" data-testid="gpu-status" data-adapter={gpu ? String(gpu.adapter) : "pending"}>
            {gpu === null ? "WebGPU: checking…" : gpu.adapter ? `WebGPU: adapter (${gpu.description})` : `WebGPU: no adapter (${gpu.description})`}
            {" · "}sync: <span data-testid="sync-status">{synced ? "synced" : connection}</span>
          </div>
        </section>
        <aside className="card">
          <h2>Attributes</h2>
          {categories.map(({ name, anchors, thumbnails }) => {
            const value = positions[name] ?? 0;
            const draggers = peers.filter((p) => !p.self && p.dragging === name);
            return (
              <div key={name} className="attribute" style={draggers.length ? { boxShadow: `0 0 0 2px ${draggers[0]!.color}` } : undefined} data-testid={`attribute-${name}`}>
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
                  onChange={(e) => onSlide(name, Number(e.target.value))}
                  onPointerDown={() => setDragging(name)}
                  onPointerUp={() => setDragging(null)}
                />
                <div className="row muted" style={{ justifyContent: "space-between", fontSize: ".8rem" }}>
                  <span>{thumb(thumbnails[0])}{anchors[0] ?? "-1"}</span>
                  <span data-testid={`value-${name}`}>{value.toFixed(2)}</span>
                  <span>{anchors[1] ?? anchors[0] ?? "+1"}{thumb(thumbnails[1] ?? thumbnails[0])}</span>
                </div>
              </div>
            );
          })}
          <div className="row" style={{ marginTop: ".6rem", flexWrap: "wrap" }}>
            <button disabled={!canEdit} data-testid="reset" onClick={() => edit((a) => a.clear())}>Reset</button>
            <button disabled={!canEdit} data-testid="random" onClick={() => edit((a) => categories.forEach(({ name }) => a.set(name, Math.round((Math.random() * 2 - 1) * 100) / 100)))}>Random</button>
            <button disabled={!canEdit || !undo?.canUndo} data-testid="undo" onClick={() => undo?.manager.undo()}>Undo</button>
            <button disabled={!canEdit || !undo?.canRedo} data-testid="redo" onClick={() => undo?.manager.redo()}>Redo</button>
          </div>
          <h2 style={{ marginTop: "1.2rem" }}>Presets</h2>
          <ul className="presets" data-testid="presets">
            {presets.map(([name, p]) => (
              <li key={name} className="row" data-testid="preset">
                <span>{name}</span>
                <span className="muted" style={{ fontSize: ".8rem" }}>by {shortText(p.savedBy, 40) ?? "someone"}</span>
                <button disabled={!canEdit} data-testid={`preset-apply-${name}`} onClick={() => edit((a) => { a.clear(); for (const [k, v] of Object.entries(p.attributes)) a.set(k, v); })}>Apply</button>
                <button disabled={!canEdit} aria-label={`Delete preset ${name}`} onClick={() => room && presetsMap(room.doc).delete(name)}>×</button>
              </li>
            ))}
          </ul>
          <div className="row">
            <input value={presetName} onChange={(e) => setPresetName(e.target.value)} placeholder="Name this look" maxLength={40} disabled={!canEdit} data-testid="preset-name" aria-label="Preset name" />
            <button disabled={!canEdit || !presetName.trim()} onClick={savePreset} data-testid="preset-save">Save</button>
          </div>
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
                onChange={(e) => onSlide(name, Number(e.target.value), "pose")}
              />
            </div>
          ))}
          <h2 style={{ marginTop: "1.2rem" }}>Animation</h2>
          <div className="row">
            <select value={clip} onChange={(e) => setClip(e.target.value)} disabled={!canEdit} data-testid="clip-select" aria-label="Clip">
              {(info?.clips ?? ["talk"]).map((c) => (
                <option key={c} value={c}>{c}</option>
              ))}
            </select>
            {playing ? (
              <button disabled={!canEdit} data-testid="clip-stop" onClick={() => void playClip(null)}>Stop {playing}</button>
            ) : (
              <button disabled={!canEdit} data-testid="clip-play" onClick={() => void playClip(clip)}>Play</button>
            )}
          </div>
          <h2 style={{ marginTop: "1.2rem" }}>Here now</h2>
          <ul className="presence" data-testid="presence">
            {peers.map((p) => (
              <li key={p.clientId} data-testid="peer">
                <span className="dot" style={{ background: p.color }} />
                {p.name}
                {p.self && <span className="muted">(you)</span>}
                {!p.self && p.camera && (
                  <button className={following === p.clientId ? "active" : ""} data-testid="follow" onClick={() => setFollowing(following === p.clientId ? null : p.clientId)} title="See what this person sees">
                    {following === p.clientId ? "following" : "follow"}
                  </button>
                )}
              </li>
            ))}
          </ul>
        </aside>
      </div>
      {sharing && role === "owner" && <ShareDialog api={api} avatarId={avatarId} onClose={() => setSharing(false)} />}
    </main>
  );
}
