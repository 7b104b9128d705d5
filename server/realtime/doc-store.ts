/**
 * Avatar documents: one Y.Doc per avatar, loaded from the database's update
 * log on first use and kept while anyone is connected.
 *
 * Durability rule: an update is written to the database BEFORE it is
 * broadcast, so whatever another client has seen survives a SIGKILL. Writes
 * and broadcasts of one document run in order on one promise chain; the log
 * is compacted into one merged update on the same chain.
 *
 * Several processes (a ClusterBus): each stored update, and each change of
 * presence, is then also published on the avatar's channel, and the other
 * processes that hold the document apply it (stored already: they only
 * broadcast it). A process listens before it reads the log, so nothing
 * stored between the two is missed; after a break of the bus it reads the
 * log again. Yjs updates commute and repeat harmlessly, so order and
 * duplicates do not matter. Compaction deletes only the rows it has read
 * and folded in, so a row another process is still writing survives it.
 */
import * as Y from "yjs";
import * as encoding from "lib0/encoding";
import * as decoding from "lib0/decoding";
import { Awareness, applyAwarenessUpdate, encodeAwarenessUpdate, removeAwarenessStates } from "y-protocols/awareness";
import type { Db } from "../db/client";
import type { ClusterBus } from "../bus/bus";
import { readAwarenessEntries } from "./shared-state-guard";

/** The origin of a change that another process stored (or, for presence, received) and published. */
export class RemoteOrigin {
  constructor(
    /** Who wrote it there (a connection's principal), or null for the server itself. */
    readonly principal: string | null,
  ) {}
}

/** Anything that writes for a principal (a Yjs connection). */
function writerPrincipal(origin: unknown): string | null {
  if (typeof origin === "object" && origin !== null && "principal" in origin) {
    const p = (origin as { principal: unknown }).principal;
    return typeof p === "string" ? p : null;
  }
  return null;
}

const enum BusMessage {
  update = 0,
  awareness = 1,
  /** A process that just opened the document asks the others for the presence of their connections. */
  queryAwareness = 2,
}

const docChannel = (avatarId: string) => `doc:${avatarId}`;

export interface DocStoreOptions {
  /** Merge the log into one row once it holds this many rows. */
  compactAfterUpdates: number;
  /** Keep an unused document in memory this long before dropping it, ms. Default 30 s. */
  idleUnloadMs?: number;
  /** The other processes of the studio, when there are any. */
  bus?: ClusterBus | null;
  log?: (line: string) => void;
}

export type UpdateListener = (update: Uint8Array, origin: unknown) => void;

type StoredRow = { id: number; update: Uint8Array };

export class SharedDoc {
  readonly doc = new Y.Doc({ gc: true });
  readonly awareness: Awareness;
  /** Updates applied since load: the document version that clients and frames can quote. */
  version = 0;
  /**
   * Client ids that principals connected to other processes write under
   * (document changes and presence alike), so that nobody here takes them.
   */
  readonly remoteOwners = new Map<number, string>();
  /** The principals of the presence states this process's own connections published. */
  private readonly localPresence = new Map<number, string>();
  private chain: Promise<void> = Promise.resolve();
  private rowCount: number;
  private lastRowId: number;
  private readonly listeners = new Set<UpdateListener>();
  private stopListening: () => void = () => undefined;
  users = 0;
  unloadTimer: NodeJS.Timeout | null = null;

  constructor(
    readonly avatarId: string,
    private readonly db: Db,
    private readonly options: DocStoreOptions,
    rows: StoredRow[],
  ) {
    Y.transact(this.doc, () => {
      for (const row of rows) Y.applyUpdate(this.doc, row.update);
    });
    this.rowCount = rows.length;
    this.lastRowId = rows.length ? rows[rows.length - 1]!.id : 0;
    this.awareness = new Awareness(this.doc);
    // The server holds no presence of its own.
    this.awareness.setLocalState(null);
    this.doc.on("update", (update: Uint8Array, origin: unknown) => {
      this.version++;
      const remote = origin instanceof RemoteOrigin;
      if (remote) this.rowCount++;
      this.chain = this.chain
        .then(() => (remote ? undefined : this.persist(update)))
        .then(
          () => {
            for (const listener of this.listeners) listener(update, origin);
            if (!remote) this.publish(BusMessage.update, writerPrincipal(origin), update);
          },
          (err: Error) =>
            this.options.log?.(
              `doc-store: could not store an update of avatar ${this.avatarId}, not broadcast: ${err.message}`,
            ),
        );
    });
    if (options.bus) {
      this.awareness.on(
        "update",
        ({ added, updated, removed }: { added: number[]; updated: number[]; removed: number[] }, origin: unknown) => {
          // Another process's news, or this process's own bookkeeping (each process times out and unloads by itself).
          if (origin instanceof RemoteOrigin || origin === "timeout" || origin === "unload") return;
          const principal = writerPrincipal(origin);
          if (principal) for (const id of [...added, ...updated]) this.localPresence.set(id, principal);
          for (const id of removed) this.localPresence.delete(id);
          const ids = [...added, ...updated, ...removed];
          this.publish(BusMessage.awareness, principal, encodeAwarenessUpdate(this.awareness, ids));
        },
      );
    }
  }

  /** Called after each update is stored, in order. */
  onStoredUpdate(listener: UpdateListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Resolves once everything applied so far is stored and broadcast. */
  flushed(): Promise<void> {
    return this.chain;
  }

  /** A message another process published on this document's channel. */
  receive(message: Uint8Array): void {
    const decoder = decoding.createDecoder(message);
    const from = decoding.readVarString(decoder);
    if (from === this.options.bus?.processId) return;
    const type = decoding.readVarUint(decoder);
    const principal = decoding.readVarString(decoder) || null;
    const payload = decoding.readVarUint8Array(decoder);
    const origin = new RemoteOrigin(principal);
    if (type === BusMessage.update) {
      if (principal) for (const id of Y.parseUpdateMeta(payload).from.keys()) this.remoteOwners.set(id, principal);
      Y.applyUpdate(this.doc, payload, origin);
    } else if (type === BusMessage.awareness) {
      if (principal) {
        for (const e of readAwarenessEntries(payload))
          if (e.json !== "null") this.remoteOwners.set(e.clientId, principal);
      }
      applyAwarenessUpdate(this.awareness, payload, origin);
    } else if (type === BusMessage.queryAwareness) {
      const byPrincipal = new Map<string, number[]>();
      for (const [id, p] of this.localPresence) {
        if (!this.awareness.states.has(id)) continue;
        byPrincipal.set(p, [...(byPrincipal.get(p) ?? []), id]);
      }
      for (const [p, ids] of byPrincipal)
        this.publish(BusMessage.awareness, p, encodeAwarenessUpdate(this.awareness, ids));
    }
  }

  /** Asks the other processes for their connections' presence (a process that opens the document has none). */
  queryPresence(): void {
    this.publish(BusMessage.queryAwareness, null, new Uint8Array(0));
  }

  /** Applies stored rows this process may not have seen (after a break of the bus). */
  catchUp(rows: StoredRow[]): void {
    const origin = new RemoteOrigin(null);
    Y.transact(
      this.doc,
      () => {
        for (const row of rows) Y.applyUpdate(this.doc, row.update, origin);
      },
      origin,
    );
  }

  /** Set by the store once the document listens on its channel. */
  listenedBy(stop: () => void): void {
    this.stopListening = stop;
  }

  private publish(type: BusMessage, principal: string | null, payload: Uint8Array): void {
    const bus = this.options.bus;
    if (!bus) return;
    const enc = encoding.createEncoder();
    encoding.writeVarString(enc, bus.processId);
    encoding.writeVarUint(enc, type);
    encoding.writeVarString(enc, principal ?? "");
    encoding.writeVarUint8Array(enc, payload);
    bus.publish(docChannel(this.avatarId), encoding.toUint8Array(enc));
  }

  private async persist(update: Uint8Array): Promise<void> {
    const row = await this.db.docUpdate.create({
      data: { avatarId: this.avatarId, update: new Uint8Array(update) },
      select: { id: true },
    });
    this.rowCount++;
    this.lastRowId = Math.max(this.lastRowId, row.id);
    if (this.rowCount >= this.options.compactAfterUpdates) await this.compact();
  }

  /**
   * Replaces the stored rows up to the last one this process wrote with one
   * update holding them and the whole document state. Rows are read first
   * and folded into the document, and only those are deleted: a row another
   * process wrote meanwhile, or has not published yet, is never lost. Rows
   * the state already holds are stored twice, which Yjs ignores.
   */
  async compact(): Promise<void> {
    const rows = await this.db.docUpdate.findMany({
      where: { avatarId: this.avatarId, id: { lte: this.lastRowId } },
      orderBy: { id: "asc" },
      select: { id: true, update: true },
    });
    if (this.options.bus) this.catchUp(rows);
    const merged = Y.encodeStateAsUpdate(this.doc);
    const [, created] = await this.db.$transaction([
      this.db.docUpdate.deleteMany({ where: { id: { in: rows.map((r) => r.id) } } }),
      this.db.docUpdate.create({
        data: { avatarId: this.avatarId, update: new Uint8Array(merged) },
        select: { id: true },
      }),
    ]);
    this.rowCount = 1;
    this.lastRowId = created.id;
    this.options.log?.(`doc-store: compacted avatar ${this.avatarId} into ${merged.byteLength} bytes`);
  }

  destroy(): void {
    this.stopListening();
    removeAwarenessStates(this.awareness, [...this.awareness.getStates().keys()], "unload");
    this.awareness.destroy();
    this.doc.destroy();
    this.listeners.clear();
  }
}

export class DocStore {
  private readonly docs = new Map<string, Promise<SharedDoc>>();
  private readonly stopResync: () => void;

  constructor(
    private readonly db: Db,
    private readonly options: DocStoreOptions,
  ) {
    this.stopResync = options.bus?.onResync(() => void this.catchUpAll()) ?? (() => undefined);
  }

  /** Opens (loading if needed) and holds an avatar's document; pair with release(). */
  async acquire(avatarId: string): Promise<SharedDoc> {
    let pending = this.docs.get(avatarId);
    if (!pending) {
      pending = this.load(avatarId);
      this.docs.set(avatarId, pending);
      pending.catch(() => this.docs.delete(avatarId));
    }
    const shared = await pending;
    shared.users++;
    if (shared.unloadTimer) {
      clearTimeout(shared.unloadTimer);
      shared.unloadTimer = null;
    }
    return shared;
  }

  release(shared: SharedDoc): void {
    shared.users--;
    if (shared.users > 0) return;
    shared.unloadTimer = setTimeout(() => {
      if (shared.users > 0) return;
      void shared.flushed().then(() => {
        if (shared.users > 0) return;
        this.docs.delete(shared.avatarId);
        shared.destroy();
      });
    }, this.options.idleUnloadMs ?? 30_000);
    shared.unloadTimer.unref();
  }

  private readRows(avatarId: string): Promise<StoredRow[]> {
    return this.db.docUpdate.findMany({
      where: { avatarId },
      orderBy: { id: "asc" },
      select: { id: true, update: true },
    });
  }

  private async load(avatarId: string): Promise<SharedDoc> {
    const bus = this.options.bus;
    if (!bus) return new SharedDoc(avatarId, this.db, this.options, await this.readRows(avatarId));
    // Listening before reading: an update stored after the read is published after it, so it arrives.
    let shared: SharedDoc | null = null;
    const early: Buffer[] = [];
    const stop = await bus.subscribe(docChannel(avatarId), (message) => {
      if (shared) shared.receive(message);
      else early.push(message);
    });
    try {
      shared = new SharedDoc(avatarId, this.db, this.options, await this.readRows(avatarId));
    } catch (err) {
      stop();
      throw err;
    }
    shared.listenedBy(stop);
    for (const message of early) shared.receive(message);
    shared.queryPresence();
    return shared;
  }

  private async catchUpAll(): Promise<void> {
    for (const pending of this.docs.values()) {
      const shared = await pending.catch(() => null);
      if (!shared) continue;
      try {
        shared.catchUp(await this.readRows(shared.avatarId));
      } catch (err) {
        this.options.log?.(`doc-store: could not read avatar ${shared.avatarId} again: ${(err as Error).message}`);
      }
    }
  }

  /** Waits for every open document's pending writes (used at shutdown). */
  async flushAll(): Promise<void> {
    const docs = await Promise.all(this.docs.values());
    await Promise.all(docs.map((d) => d.flushed()));
    this.stopResync();
  }
}
