"use client";
/**
 * The avatar page: viewport, the shared attribute slider (bound to the
 * avatar's Y.Doc), presence from Yjs awareness, the WebGPU status and, for
 * the owner, the share dialog. Everything shared goes through the Y.Doc.
 */
import { useEffect, useMemo, useState } from "react";
import * as Y from "yjs";
import { WebsocketProvider } from "y-websocket";
import * as authProtocol from "y-protocols/auth";
import type * as decoding from "lib0/decoding";
import { attributesMap } from "../../server/realtime/shared-state";
import { createApi, errorMessage } from "../lib/trpc";
import { probeGpu, type GpuStatus } from "../lib/gpu-status";
import { ShareDialog } from "./ShareDialog";

type Role = "owner" | "edit" | "view";

interface Peer {
  clientId: number;
  name: string;
  color: string;
  self: boolean;
}

const COLORS = ["#ff7a7a", "#ffb86b", "#f1fa8c", "#7ee787", "#8fb4ff", "#d2a8ff", "#ff9ad5", "#6ee7e7"];

function guestName(): string {
  const saved = typeof localStorage !== "undefined" ? localStorage.getItem("perse-name") : null;
  return saved || `Guest ${Math.floor(100 + Math.random() * 900)}`;
}

export function AvatarRoom({ avatarId, shareToken }: { avatarId: string; shareToken: string | null }) {
  const api = useMemo(() => createApi(shareToken), [shareToken]);
  const [avatar, setAvatar] = useState<{ name: string; role: Role } | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [hair, setHair] = useState(0);
  const [synced, setSynced] = useState(false);
  const [connection, setConnection] = useState("connecting");
  const [denied, setDenied] = useState<string | null>(null);
  const [peers, setPeers] = useState<Peer[]>([]);
  const [gpu, setGpu] = useState<GpuStatus | null>(null);
  const [sharing, setSharing] = useState(false);
  const [room, setRoom] = useState<{ doc: Y.Doc; provider: WebsocketProvider } | null>(null);

  useEffect(() => {
    api.avatars.get.query({ id: avatarId }).then(
      (a) => setAvatar({ name: a.name, role: a.role as Role }),
      (e) => setLoadError(errorMessage(e)),
    );
    void probeGpu().then(setGpu);
  }, [api, avatarId]);

  useEffect(() => {
    const doc = new Y.Doc();
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const provider = new WebsocketProvider(`${scheme}://${location.host}/yjs`, avatarId, doc, {
      params: shareToken ? { token: shareToken } : {},
      maxBackoffTime: 2500,
    });
    const attrs = attributesMap(doc);
    const onAttrs = () => setHair(attrs.get("hair") ?? 0);
    attrs.observe(onAttrs);
    provider.on("sync", (isSynced: boolean) => {
      setSynced(isSynced);
      onAttrs();
    });
    provider.on("status", ({ status }: { status: string }) => setConnection(status));
    const self = { name: guestName(), color: COLORS[Math.floor(Math.random() * COLORS.length)]! };
    provider.awareness.setLocalStateField("user", self);
    const onAwareness = () => {
      const list: Peer[] = [];
      provider.awareness.getStates().forEach((state, clientId) => {
        const user = (state as { user?: { name?: string; color?: string } }).user;
        if (user?.name) list.push({ clientId, name: user.name, color: user.color ?? "#888", self: clientId === doc.clientID });
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
      authProtocol.readAuthMessage(decoder as decoding.Decoder, doc, (_doc, reason) =>
        setDenied(`The server refused a change: ${reason.replace(/^view-only: /, "")}.`),
      );
    };
    setRoom({ doc, provider });
    return () => {
      provider.awareness.off("change", onAwareness);
      attrs.unobserve(onAttrs);
      provider.destroy();
      doc.destroy();
      setRoom(null);
    };
  }, [avatarId, shareToken]);

  const role: Role | null = avatar?.role ?? null;
  const canEdit = role === "owner" || role === "edit";

  function onSlide(value: number) {
    if (!room || !canEdit) return;
    setHair(value);
    attributesMap(room.doc).set("hair", value);
  }

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
      {role === "view" && <div className="banner">You are viewing through a view-only link: you see every change live, but cannot make any.</div>}
      {denied && <p className="error" role="alert" data-testid="denied">{denied}</p>}
      <div className="room">
        <section>
          <div className="viewport" data-testid="viewport" aria-label="Avatar viewport (placeholder until the renderer lands)">
            <div className="blob" style={{ boxShadow: `0 -${Math.round(20 + hair * 18)}px 0 ${Math.round(8 + hair * 6)}px #3b2a20` }} />
          </div>
          <div className="status-line" data-testid="gpu-status" data-adapter={gpu ? String(gpu.adapter) : "pending"}>
            {gpu === null ? "WebGPU: checking…" : gpu.adapter ? `WebGPU: adapter (${gpu.description})` : `WebGPU: no adapter (${gpu.description})`}
            {" · "}sync: <span data-testid="sync-status">{synced ? "synced" : connection}</span>
          </div>
        </section>
        <aside className="card">
          <h2>Attributes</h2>
          <label htmlFor="hair-slider">Hair</label>
          <input
            id="hair-slider"
            data-testid="slider-hair"
            className="slider"
            type="range"
            min={-1}
            max={1}
            step={0.01}
            value={hair}
            disabled={!canEdit || !synced}
            onChange={(e) => onSlide(Number(e.target.value))}
          />
          <div className="muted" data-testid="value-hair">{hair.toFixed(2)}</div>
          <h2 style={{ marginTop: "1.2rem" }}>Here now</h2>
          <ul className="presence" data-testid="presence">
            {peers.map((p) => (
              <li key={p.clientId} data-testid="peer">
                <span className="dot" style={{ background: p.color }} />
                {p.name}
                {p.self && <span className="muted">(you)</span>}
              </li>
            ))}
          </ul>
        </aside>
      </div>
      {sharing && role === "owner" && <ShareDialog api={api} avatarId={avatarId} onClose={() => setSharing(false)} />}
    </main>
  );
}
