/**
 * The server's side of the shared-state rules (protocol/schemas.ts):
 *
 * - The document: an incoming Yjs update is applied to a validation mirror
 *   of the document first; only when the mirror's whole state still passes
 *   the schema (and stays under the size cap) is the update applied to the
 *   real document. A refused update leaves the real document untouched and
 *   the mirror is rebuilt from it.
 * - Presence (awareness): the entries of an update are read without applying
 *   them, so YjsServer can check each against the schema and its owner.
 */
import * as Y from "yjs";
import * as decoding from "lib0/decoding";
import * as encoding from "lib0/encoding";
import { sharedStateProblem } from "../../protocol/schemas";

export interface DocGuardOptions {
  /** Largest encoded document, bytes (MAX_DOC_BYTES). */
  maxDocBytes: number;
}

export type GuardVerdict = { ok: true } | { ok: false; reason: string };

/**
 * Guards one shared document. The mirror follows the real document through
 * its update events, so checking an update costs one extra apply and one
 * schema pass over a small state, not a copy of the document.
 */
export class DocGuard {
  private mirror: Y.Doc | null = null;
  /** An upper bound of the encoded size: exact after a measurement, then plus every accepted update. */
  private boundBytes: number;
  private readonly offUpdate: () => void;

  constructor(
    private readonly doc: Y.Doc,
    private readonly options: DocGuardOptions,
  ) {
    this.boundBytes = Y.encodeStateAsUpdate(doc).byteLength;
    const follow = (update: Uint8Array) => {
      if (this.mirror) Y.applyUpdate(this.mirror, update);
    };
    doc.on("update", follow);
    this.offUpdate = () => doc.off("update", follow);
  }

  /** Whether `update` may be applied to the document; never changes the document. */
  check(update: Uint8Array): GuardVerdict {
    this.mirror ??= cloneDoc(this.doc);
    Y.applyUpdate(this.mirror, update);
    // An update that waits for changes the server lacks would be invisible to the schema now and
    // land later, under someone else's next edit; honest clients never send one (the server is their hub).
    const pending = this.mirror.store.pendingStructs !== null || this.mirror.store.pendingDs !== null;
    const problem = pending
      ? "the update depends on changes the server does not have"
      : sharedStateProblem(this.mirror);
    if (problem) {
      this.dropMirror();
      return { ok: false, reason: problem };
    }
    this.boundBytes += update.byteLength;
    if (this.boundBytes > this.options.maxDocBytes) {
      this.boundBytes = Y.encodeStateAsUpdate(this.mirror).byteLength;
      if (this.boundBytes > this.options.maxDocBytes) {
        this.dropMirror();
        this.boundBytes = Y.encodeStateAsUpdate(this.doc).byteLength;
        return { ok: false, reason: `the avatar's shared state would exceed ${this.options.maxDocBytes} bytes` };
      }
    }
    return { ok: true };
  }

  private dropMirror(): void {
    this.mirror?.destroy();
    this.mirror = null;
  }

  destroy(): void {
    this.offUpdate();
    this.dropMirror();
  }
}

function cloneDoc(doc: Y.Doc): Y.Doc {
  const copy = new Y.Doc({ gc: true });
  Y.applyUpdate(copy, Y.encodeStateAsUpdate(doc));
  return copy;
}

export interface AwarenessEntry {
  clientId: number;
  clock: number;
  /** The JSON text as sent ("null" removes the client). */
  json: string;
}

/** The entries of an awareness update (y-protocols' encoding), without applying it. */
export function readAwarenessEntries(update: Uint8Array): AwarenessEntry[] {
  const decoder = decoding.createDecoder(update);
  const count = decoding.readVarUint(decoder);
  const entries: AwarenessEntry[] = [];
  for (let i = 0; i < count; i++) {
    entries.push({
      clientId: decoding.readVarUint(decoder),
      clock: decoding.readVarUint(decoder),
      json: decoding.readVarString(decoder),
    });
  }
  return entries;
}

/** The inverse of readAwarenessEntries. */
export function encodeAwarenessEntries(entries: readonly AwarenessEntry[]): Uint8Array {
  const enc = encoding.createEncoder();
  encoding.writeVarUint(enc, entries.length);
  for (const { clientId, clock, json } of entries) {
    encoding.writeVarUint(enc, clientId);
    encoding.writeVarUint(enc, clock);
    encoding.writeVarString(enc, json);
  }
  return encoding.toUint8Array(enc);
}

// ---- who may write under which client id ------------------------------------

/** A connection as the ownership table sees it: who it acts for, and whether it is still open. */
export interface IdHolder {
  /** "owner", or "link:<id>": a closed connection's ids pass only to the same principal. */
  principal: string;
  open: boolean;
}

/**
 * Yjs client ids (of document changes, and of presence states) by the
 * connection that first wrote under them. Nothing in the protocol ties an id
 * to a socket, so without this table an editor could write under another
 * person's id at that person's next clock (their replicas would never
 * converge) or publish presence for them. A reconnecting page keeps its ids:
 * a closed connection's ids pass to a new connection of the same principal.
 */
export class ClientIds<C extends IdHolder> {
  private readonly owners = new Map<number, C>();

  constructor(
    private readonly maxPerConnection: number,
    /** The principal that writes under an id through another process (several processes share a document). */
    private readonly remoteOwner: (id: number) => string | undefined = () => undefined,
  ) {}

  /** Why `conn` may not write under `id` (null when it may; then claim() makes it its own). */
  problem(id: number, conn: C, claiming: ReadonlySet<number> = new Set()): string | null {
    const owner = this.owners.get(id);
    if (owner === conn) return null;
    if (owner && (owner.open || owner.principal !== conn.principal)) return `client ${id} is another connection's`;
    const remote = owner ? undefined : this.remoteOwner(id);
    if (remote !== undefined && remote !== conn.principal) return `client ${id} is another connection's`;
    const held = this.count(conn) + [...claiming].filter((c) => this.owners.get(c) !== conn).length;
    if (held >= this.maxPerConnection) return `at most ${this.maxPerConnection} client ids per connection`;
    return null;
  }

  owner(id: number): C | undefined {
    return this.owners.get(id);
  }

  claim(id: number, conn: C): void {
    this.owners.set(id, conn);
  }

  ownedBy(conn: C): number[] {
    return [...this.owners].filter(([, c]) => c === conn).map(([id]) => id);
  }

  private count(conn: C): number {
    let n = 0;
    for (const c of this.owners.values()) if (c === conn) n++;
    return n;
  }
}

/** The client ids an update writes new structs under (those the document does not have yet). */
export function newStructClients(doc: Y.Doc, parsed: ReturnType<typeof Y.decodeUpdate>): Set<number> {
  const clients = new Set<number>();
  for (const s of parsed.structs) {
    if (!(s instanceof Y.Skip) && s.id.clock + s.length > Y.getState(doc.store, s.id.client)) clients.add(s.id.client);
  }
  return clients;
}

/**
 * Whether an update deletes anything the document still shows, or does not
 * have. A page re-sends every deletion it knows after a reconnect: those are
 * no write. Walks only the structs the ranges cover, not the document.
 */
export function deletesAnything(doc: Y.Doc, ds: ReturnType<typeof Y.decodeUpdate>["ds"]): boolean {
  for (const [client, ranges] of ds.clients) {
    const structs = doc.store.clients.get(client);
    for (const { clock, len } of ranges) {
      if (!structs || clock + len > Y.getState(doc.store, client)) return true;
      for (let i = Y.findIndexSS(structs, clock); i < structs.length && structs[i]!.id.clock < clock + len; i++) {
        if (!structs[i]!.deleted) return true;
      }
    }
  }
  return false;
}
