/**
 * The Yjs websocket endpoint, speaking y-websocket's protocol (sync,
 * awareness, auth, query-awareness) at /yjs/<avatarId>?token=...
 *
 * Roles are enforced per message: a view-only connection may read the
 * document and publish its own presence, but any sync step 2 or update that
 * would change the document is dropped and answered with an auth
 * "permission denied" message. An editor's update is checked against the
 * shared-state schema and size cap first (shared-state-guard.ts); presence
 * against the awareness schema, and only for the connection's own client
 * ids. Refusals are auth messages whose reason starts with a code
 * (RefusalCodes in protocol/yjs.ts). Malformed messages close the socket with 1007 and change
 * nothing. A share link that is revoked or expires closes its sockets with
 * LINK_ENDED_CLOSE_CODE after telling them why.
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
import { ACCESS_DENIED_MESSAGES, hashToken, type Access, type Role } from "../auth/access";
import type { LinkSessions } from "../auth/link-sessions";
import {
  deletesAnything,
  ClientIds,
  DocGuard,
  encodeAwarenessEntries,
  newStructClients,
  readAwarenessEntries,
  type AwarenessEntry,
  type IdHolder,
} from "./shared-state-guard";
import { awarenessProblem, SHARED_LIMITS } from "../../protocol/schemas";
import { LINK_ENDED_CLOSE_CODE, RefusalCodes, VIEW_ONLY_REASON, YMessage } from "../../protocol/yjs";
import { driveMap, readDrive } from "../../protocol/shared-state";

/** Transaction origin of the server ending a drive whose page left. */
const DRIVER_LEFT = "driver-left";

interface Connection extends IdHolder {
  ws: WebSocket;
  role: Role;
  /** Stops tracking the socket under its share link. */
  forgetLink: () => void;
}

/** Per open document: who is connected, its write guard, and which connection owns each client id. */
interface Room {
  conns: Set<Connection>;
  guard: DocGuard;
  /** Client ids of document changes and presence states alike (a page uses its document's id for both). */
  clients: ClientIds<Connection>;
  detach: () => void;
}

export interface YjsServerOptions {
  maxMessageBytes: number;
  /** Largest encoded shared state, bytes (MAX_DOC_BYTES). */
  maxDocBytes: number;
  /** Open sessions by share link, so revocation and expiry close them. */
  linkSessions?: LinkSessions;
  log?: (line: string) => void;
}

export class YjsServer {
  readonly wss: WebSocketServer;
  private readonly rooms = new Map<SharedDoc, Room>();

  constructor(
    private readonly store: DocStore,
    private readonly options: YjsServerOptions,
  ) {
    this.wss = new WebSocketServer({ noServer: true, maxPayload: options.maxMessageBytes });
  }

  /** Connections currently open on an avatar (for tests and metrics). */
  connectionCount(avatarId: string): number {
    for (const [doc, room] of this.rooms) if (doc.avatarId === avatarId) return room.conns.size;
    return 0;
  }

  /** Called after the HTTP layer has checked the avatar and resolved the access. */
  /**
   * `session` is the page's own secret (the `session` query parameter, made
   * once per document by the page): a reconnect that presents it takes back
   * the client ids its earlier socket wrote under, and nobody else can.
   */
  async accept(
    ws: WebSocket,
    _req: IncomingMessage,
    avatarId: string,
    access: Exclude<Access, { kind: "none" }>,
    session: string | null = null,
  ): Promise<void> {
    ws.binaryType = "arraybuffer";
    const role = access.role;
    // Tracked from the start: a link revoked while the document loads still closes this socket.
    const forgetLink =
      this.options.linkSessions?.open(access, (reason) => {
        const enc = encoding.createEncoder();
        encoding.writeVarUint(enc, YMessage.auth);
        authProtocol.writePermissionDenied(enc, `${reason}: ${ACCESS_DENIED_MESSAGES[reason]}`);
        if (ws.readyState === ws.OPEN) ws.send(encoding.toUint8Array(enc));
        ws.close(LINK_ENDED_CLOSE_CODE, `share link ${reason}`);
      }) ?? (() => undefined);
    ws.once("close", forgetLink);
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
    if (ws.readyState !== ws.OPEN) {
      this.store.release(shared);
      return;
    }
    const conn: Connection = { ws, role, forgetLink, principal: principalOf(access, session), open: true };
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
    let room = this.rooms.get(shared);
    if (!room) {
      const conns = new Set<Connection>();
      const offUpdate = shared.onStoredUpdate((update, origin) => {
        const enc = encoding.createEncoder();
        encoding.writeVarUint(enc, YMessage.sync);
        syncProtocol.writeUpdate(enc, update);
        const msg = encoding.toUint8Array(enc);
        for (const c of conns) if (c !== origin) send(c, msg);
      });
      const onAwareness = ({ added, updated, removed }: { added: number[]; updated: number[]; removed: number[] }) => {
        const msg = awarenessMessage(shared.awareness, [...added, ...updated, ...removed]);
        for (const c of conns) send(c, msg);
      };
      shared.awareness.on("update", onAwareness);
      const guard = new DocGuard(shared.doc, { maxDocBytes: this.options.maxDocBytes });
      room = {
        conns,
        guard,
        clients: new ClientIds(SHARED_LIMITS.maxClientIdsPerConnection, (id) => shared.remoteOwners.get(id)),
        detach: () => {
          offUpdate();
          shared.awareness.off("update", onAwareness);
          guard.destroy();
        },
      };
      this.rooms.set(shared, room);
    }
    room.conns.add(conn);
  }

  private leave(shared: SharedDoc, conn: Connection): void {
    conn.forgetLink();
    conn.open = false;
    const room = this.rooms.get(shared);
    if (!room?.conns.delete(conn)) return;
    // Its ids stay its own (a reconnect of the same principal takes them back); its presence goes.
    const ids = room.clients.ownedBy(conn);
    awarenessProtocol.removeAwarenessStates(shared.awareness, ids, null);
    // A face it was driving from its camera stops with it, rather than freezing everyone's avatar.
    const drive = readDrive(shared.doc);
    if (drive && ids.includes(drive.client)) shared.doc.transact(() => driveMap(shared.doc).clear(), DRIVER_LEFT);
    if (room.conns.size === 0) {
      this.rooms.delete(shared);
      room.detach();
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
        case YMessage.awareness:
          this.onAwareness(shared, conn, decoding.readVarUint8Array(decoder));
          break;
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
    // What the server already holds is no write (a page re-sends its deletions after every reconnect).
    const clients = newStructClients(shared.doc, parsed);
    if (clients.size === 0 && !deletesAnything(shared.doc, parsed.ds)) return;
    if (conn.role === "view") return refuse(conn, VIEW_ONLY_REASON);
    const room = this.rooms.get(shared)!;
    for (const id of clients) {
      const problem = room.clients.problem(id, conn, clients);
      if (problem) return this.refuseUpdate(shared, conn, problem);
    }
    const verdict = room.guard.check(update);
    if (!verdict.ok) return this.refuseUpdate(shared, conn, verdict.reason);
    for (const id of clients) room.clients.claim(id, conn);
    Y.applyUpdate(shared.doc, update, conn);
  }

  private refuseUpdate(shared: SharedDoc, conn: Connection, reason: string): void {
    this.options.log?.(`yjs: refused an update to avatar ${shared.avatarId}: ${reason}`);
    refuse(conn, `${RefusalCodes.invalidState}: ${reason}`);
  }

  /**
   * Presence. y-websocket clients echo every peer's state they receive, so an
   * entry no newer than the server's copy is dropped quietly. A newer entry
   * must be for an id this connection may write under (ClientIds: its own,
   * a new one, or one its principal held before a reconnect) and carry a
   * valid state; otherwise nothing of the message is applied and the sender
   * is told.
   */
  private onAwareness(shared: SharedDoc, conn: Connection, update: Uint8Array): void {
    const ids = this.rooms.get(shared)!.clients;
    const claiming = new Set<number>();
    const kept: AwarenessEntry[] = [];
    for (const entry of readAwarenessEntries(update)) {
      const { clientId, clock, json } = entry;
      const known = shared.awareness.meta.get(clientId);
      const stale = known !== undefined && clock <= known.clock;
      const problem = ids.problem(clientId, conn, claiming);
      if (stale) {
        // An echo, or a page re-sending its own state after a reconnect with the clock the server saw:
        // nothing to apply, but a reconnecting page takes its id back at once, so nobody else can.
        const reclaim =
          !problem && ids.owner(clientId) !== conn && json !== "null" && !shared.awareness.states.has(clientId);
        if (reclaim && ids.owner(clientId) !== undefined) claiming.add(clientId);
        continue;
      }
      if (problem) return refuse(conn, `${RefusalCodes.invalidPresence}: ${problem}`);
      const invalid = awarenessProblem(json);
      if (invalid) return refuse(conn, `${RefusalCodes.invalidPresence}: ${invalid}`);
      claiming.add(clientId);
      kept.push(entry);
    }
    for (const id of claiming) ids.claim(id, conn);
    if (kept.length === 0) return;
    awarenessProtocol.applyAwarenessUpdate(shared.awareness, encodeAwarenessEntries(kept), conn);
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

/** Who a connection writes for: its access and, when the page sent one, its session secret (hashed). */
function principalOf(access: Exclude<Access, { kind: "none" }>, session: string | null): string {
  const who = access.kind === "link" ? `link:${access.linkId}` : "owner";
  return session ? `${who}|${hashToken(session)}` : who;
}

/** Tells the sender why its message changed nothing. */
function refuse(conn: Connection, reason: string): void {
  const enc = encoding.createEncoder();
  encoding.writeVarUint(enc, YMessage.auth);
  authProtocol.writePermissionDenied(enc, reason);
  send(conn, encoding.toUint8Array(enc));
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
