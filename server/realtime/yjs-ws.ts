/**
 * The Yjs websocket endpoint, speaking y-websocket's protocol (sync,
 * awareness, auth, query-awareness) at /yjs/<avatarId>?token=...
 *
 * Roles are enforced per message: a view-only connection may read the
 * document and publish its presence, but any sync step 2 or update that
 * would change the document is dropped and answered with an auth
 * "permission denied" message. Malformed messages close the socket with
 * 1007 and change nothing.
 */
import type { IncomingMessage } from "node:http";
import * as Y from "yjs";
import { WebSocketServer, type WebSocket, type RawData } from "ws";
import * as encoding from "lib0/encoding";
import * as decoding from "lib0/decoding";
import * as syncProtocol from "y-protocols/sync";
import * as awarenessProtocol from "y-protocols/awareness";
import * as authProtocol from "y-protocols/auth";
import type { DocStore, SharedDoc } from "./doc-store";
import type { Role } from "../auth/access";

/** y-websocket's message types. */
export const YMessage = { sync: 0, awareness: 1, auth: 2, queryAwareness: 3 } as const;

export const VIEW_ONLY_REASON = "view-only: this share link cannot change the avatar";

interface Connection {
  ws: WebSocket;
  role: Role;
  /** Awareness client ids this socket has published, removed when it closes. */
  awarenessIds: Set<number>;
}

export interface YjsServerOptions {
  maxMessageBytes: number;
  log?: (line: string) => void;
}

export class YjsServer {
  readonly wss: WebSocketServer;
  private readonly connections = new Map<SharedDoc, Set<Connection>>();
  private readonly detach = new Map<SharedDoc, () => void>();

  constructor(
    private readonly store: DocStore,
    private readonly options: YjsServerOptions,
  ) {
    this.wss = new WebSocketServer({ noServer: true, maxPayload: options.maxMessageBytes });
  }

  /** Connections currently open on an avatar (for tests and metrics). */
  connectionCount(avatarId: string): number {
    for (const [doc, conns] of this.connections) if (doc.avatarId === avatarId) return conns.size;
    return 0;
  }

  /** Called after the HTTP layer has checked the avatar and resolved the role. */
  async accept(ws: WebSocket, _req: IncomingMessage, avatarId: string, role: Role): Promise<void> {
    ws.binaryType = "arraybuffer";
    // Messages may arrive while the document loads: queue them in order.
    const early: RawData[] = [];
    ws.on("message", (data) => early.push(data));
    let shared: SharedDoc;
    try {
      shared = await this.store.acquire(avatarId);
    } catch (err) {
      this.options.log?.(`yjs: could not open avatar ${avatarId}: ${(err as Error).message}`);
      ws.close(1011, "could not open the avatar document");
      return;
    }
    ws.removeAllListeners("message");
    const conn: Connection = { ws, role, awarenessIds: new Set() };
    this.join(shared, conn);
    ws.on("message", (data) => this.onMessage(shared, conn, data));
    ws.on("close", () => this.leave(shared, conn));
    ws.on("error", () => ws.terminate());

    // Open with our state vector and the current presence, as y-websocket expects.
    const enc = encoding.createEncoder();
    encoding.writeVarUint(enc, YMessage.sync);
    syncProtocol.writeSyncStep1(enc, shared.doc);
    send(conn, encoding.toUint8Array(enc));
    const states = shared.awareness.getStates();
    if (states.size > 0) {
      send(conn, awarenessMessage(shared.awareness, [...states.keys()]));
    }
    for (const data of early) this.onMessage(shared, conn, data);
  }

  private join(shared: SharedDoc, conn: Connection): void {
    let conns = this.connections.get(shared);
    if (!conns) {
      conns = new Set();
      this.connections.set(shared, conns);
      const offUpdate = shared.onStoredUpdate((update, origin) => {
        const enc = encoding.createEncoder();
        encoding.writeVarUint(enc, YMessage.sync);
        syncProtocol.writeUpdate(enc, update);
        const msg = encoding.toUint8Array(enc);
        for (const c of this.connections.get(shared) ?? []) if (c !== origin) send(c, msg);
      });
      const onAwareness = (
        { added, updated, removed }: { added: number[]; updated: number[]; removed: number[] },
        origin: unknown,
      ) => {
        const changed = [...added, ...updated, ...removed];
        const owner = origin as Connection | undefined;
        if (owner && this.connections.get(shared)?.has(owner)) {
          for (const id of added) owner.awarenessIds.add(id);
          for (const id of removed) owner.awarenessIds.delete(id);
        }
        const msg = awarenessMessage(shared.awareness, changed);
        for (const c of this.connections.get(shared) ?? []) send(c, msg);
      };
      shared.awareness.on("update", onAwareness);
      this.detach.set(shared, () => {
        offUpdate();
        shared.awareness.off("update", onAwareness);
      });
    }
    conns.add(conn);
  }

  private leave(shared: SharedDoc, conn: Connection): void {
    const conns = this.connections.get(shared);
    if (!conns?.delete(conn)) return;
    awarenessProtocol.removeAwarenessStates(shared.awareness, [...conn.awarenessIds], null);
    if (conns.size === 0) {
      this.connections.delete(shared);
      this.detach.get(shared)?.();
      this.detach.delete(shared);
    }
    this.store.release(shared);
  }

  private onMessage(shared: SharedDoc, conn: Connection, data: RawData): void {
    const bytes = toBytes(data);
    try {
      const decoder = decoding.createDecoder(bytes);
      const type = decoding.readVarUint(decoder);
      switch (type) {
        case YMessage.sync:
          this.onSync(shared, conn, decoder);
          break;
        case YMessage.awareness: {
          const update = decoding.readVarUint8Array(decoder);
          awarenessProtocol.applyAwarenessUpdate(shared.awareness, update, conn);
          break;
        }
        case YMessage.queryAwareness:
          send(conn, awarenessMessage(shared.awareness, [...shared.awareness.getStates().keys()]));
          break;
        case YMessage.auth:
          break; // Clients do not authenticate in-band; the token came with the upgrade.
        default:
          throw new Error(`unknown message type ${type}`);
      }
    } catch (err) {
      this.options.log?.(`yjs: malformed message on avatar ${shared.avatarId}: ${(err as Error).message}`);
      conn.ws.close(1007, "malformed Yjs message");
    }
  }

  private onSync(shared: SharedDoc, conn: Connection, decoder: decoding.Decoder): void {
    const syncType = decoding.readVarUint(decoder);
    if (syncType === syncProtocol.messageYjsSyncStep1) {
      const stateVector = decoding.readVarUint8Array(decoder);
      const enc = encoding.createEncoder();
      encoding.writeVarUint(enc, YMessage.sync);
      encoding.writeVarUint(enc, syncProtocol.messageYjsSyncStep2);
      encoding.writeVarUint8Array(enc, Y.encodeStateAsUpdate(shared.doc, stateVector));
      send(conn, encoding.toUint8Array(enc));
      return;
    }
    if (syncType !== syncProtocol.messageYjsSyncStep2 && syncType !== syncProtocol.messageYjsUpdate) {
      throw new Error(`unknown sync message type ${syncType}`);
    }
    const update = decoding.readVarUint8Array(decoder);
    // Parse fully before touching the document: garbage throws here, changing nothing.
    const parsed = Y.decodeUpdate(update);
    const empty = parsed.structs.length === 0 && parsed.ds.clients.size === 0;
    if (conn.role === "view") {
      if (!empty) {
        const enc = encoding.createEncoder();
        encoding.writeVarUint(enc, YMessage.auth);
        authProtocol.writePermissionDenied(enc, VIEW_ONLY_REASON);
        send(conn, encoding.toUint8Array(enc));
      }
      return;
    }
    if (!empty) Y.applyUpdate(shared.doc, update, conn);
  }

  close(): void {
    for (const client of this.wss.clients) client.terminate();
    this.wss.close();
  }
}

function awarenessMessage(awareness: awarenessProtocol.Awareness, clients: number[]): Uint8Array {
  const enc = encoding.createEncoder();
  encoding.writeVarUint(enc, YMessage.awareness);
  encoding.writeVarUint8Array(enc, awarenessProtocol.encodeAwarenessUpdate(awareness, clients));
  return encoding.toUint8Array(enc);
}

function send(conn: Connection, msg: Uint8Array): void {
  if (conn.ws.readyState !== conn.ws.OPEN) return;
  conn.ws.send(msg, (err) => {
    if (err) conn.ws.terminate();
  });
}

function toBytes(data: RawData): Uint8Array {
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (Array.isArray(data)) return new Uint8Array(Buffer.concat(data));
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}
