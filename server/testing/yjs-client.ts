/**
 * Node-side Yjs clients for tests: the real y-websocket provider (as the
 * browser uses it), and a raw websocket for hand-forged messages.
 */
import * as Y from "yjs";
import WebSocket from "ws";
import { WebsocketProvider } from "y-websocket";
import * as encoding from "lib0/encoding";
import * as decoding from "lib0/decoding";
import * as syncProtocol from "y-protocols/sync";
import { waitFor } from "./harness";
import { newSessionSecret } from "../../protocol/yjs";
import { encodeAwarenessEntries } from "../realtime/shared-state-guard";

export interface YClient {
  doc: Y.Doc;
  provider: WebsocketProvider;
  destroy(): void;
}

export async function connectYClient(baseUrl: string, avatarId: string, token: string | null = null): Promise<YClient> {
  const doc = new Y.Doc();
  const provider = new WebsocketProvider(baseUrl.replace(/^http/, "ws") + "/yjs", avatarId, doc, {
    WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
    // As the editor does: a session secret binds this page's client ids to it across reconnects.
    params: { ...(token ? { token } : {}), session: newSessionSecret() },
    disableBc: true,
  });
  await waitFor(() => provider.synced, 5000, "y-websocket sync");
  return {
    doc,
    provider,
    destroy() {
      provider.destroy();
      doc.destroy();
    },
  };
}

/**
 * A raw websocket to /yjs with chosen headers (Origin, Host, Cookie) and every message it receives kept;
 * `opened` says whether the upgrade was accepted, or its HTTP status.
 */
export function openYSocket(
  baseUrl: string,
  avatarId: string,
  options: { token?: string | null; headers?: Record<string, string> } = {},
) {
  const url = `${baseUrl.replace(/^http/, "ws")}/yjs/${avatarId}${options.token ? `?token=${options.token}` : ""}`;
  const ws = new WebSocket(url, { headers: options.headers });
  const received: Uint8Array[] = [];
  let closed: { code: number; reason: string } | null = null;
  ws.on("message", (data: Buffer) => received.push(new Uint8Array(data)));
  ws.on("close", (code, reason) => (closed = { code, reason: reason.toString() }));
  const opened = new Promise<{ ok: true } | { ok: false; status: number }>((resolve) => {
    ws.once("open", () => resolve({ ok: true }));
    ws.once("unexpected-response", (_req, res) => resolve({ ok: false, status: res.statusCode ?? 0 }));
    ws.once("error", () => resolve({ ok: false, status: -1 }));
  });
  return {
    ws,
    opened,
    received,
    closed: () => closed,
    /** Sends a sync "update" message carrying `update`. */
    sendUpdate(update: Uint8Array) {
      const enc = encoding.createEncoder();
      encoding.writeVarUint(enc, 0);
      syncProtocol.writeUpdate(enc, update);
      ws.send(encoding.toUint8Array(enc));
    },
    /** Publishes `state` for `clientId` at `clock`, whoever that id belongs to. */
    sendPresence(clientId: number, clock: number, state: unknown) {
      ws.send(forgedAwarenessMessage([{ clientId, clock, json: JSON.stringify(state) }]));
    },
    /** Auth messages (type 2) received: the reasons of permission-denied answers. */
    deniedReasons: () => authReasons(received),
  };
}

/** openYSocket that waits for the socket to open, and throws when the upgrade is refused. */
export async function rawYSocket(baseUrl: string, avatarId: string, token: string | null = null) {
  const socket = openYSocket(baseUrl, avatarId, { token });
  const opened = await socket.opened;
  if (!opened.ok) throw new Error(opened.status > 0 ? `upgrade refused: HTTP ${opened.status}` : "websocket error");
  return socket;
}

/** An update that sets attributes.<key> = value, made on a scratch document. */
export function forgedAttributeUpdate(key: string, value: number): Uint8Array {
  const scratch = new Y.Doc();
  scratch.getMap("attributes").set(key, value);
  return Y.encodeStateAsUpdate(scratch);
}

/**
 * Keeps the reasons of the permission-denied (auth) messages a provider
 * receives, as AvatarRoom.tsx does (y-websocket would only log them).
 * Survives provider.disconnect()/connect(): the handler belongs to the provider.
 */
export function recordDenials(provider: WebsocketProvider): string[] {
  const reasons: string[] = [];
  const handlers = (
    provider as unknown as { messageHandlers: Array<(encoder: encoding.Encoder, decoder: decoding.Decoder) => void> }
  ).messageHandlers;
  // y-protocols/auth: varUint sub-type (0 = permission denied), then the reason.
  handlers[2] = (_encoder, decoder) => {
    if (decoding.readVarUint(decoder) === 0) reasons.push(decoding.readVarString(decoder));
  };
  return reasons;
}

/** A sync step 1 message (type 0, sub-type 0) with `doc`'s state vector: the server answers with a sync step 2. */
export function syncStep1Message(doc: Y.Doc): Uint8Array {
  const enc = encoding.createEncoder();
  encoding.writeVarUint(enc, 0);
  syncProtocol.writeSyncStep1(enc, doc);
  return encoding.toUint8Array(enc);
}

/** An awareness message (type 1) with hand-written entries: any client id, clock and JSON text. */
export function forgedAwarenessMessage(entries: Array<{ clientId: number; clock: number; json: string }>): Uint8Array {
  const enc = encoding.createEncoder();
  encoding.writeVarUint(enc, 1);
  encoding.writeVarUint8Array(enc, encodeAwarenessEntries(entries));
  return encoding.toUint8Array(enc);
}

/** The reasons of the permission-denied (auth, type 2) messages among raw received messages. */
export function authReasons(received: readonly Uint8Array[]): string[] {
  return received
    .filter((m) => m[0] === 2)
    .map((m) => {
      const d = decoding.createDecoder(m);
      decoding.readVarUint(d);
      decoding.readVarUint(d);
      return decoding.readVarString(d);
    });
}
