/**
 * Avatar documents: one Y.Doc per avatar, loaded from the database's update
 * log on first use and kept while anyone is connected.
 *
 * Durability rule: an update is written to the database BEFORE it is
 * broadcast, so whatever another client has seen survives a SIGKILL. Writes
 * and broadcasts of one document run in order on one promise chain; the log
 * is compacted into one merged update on the same chain.
 */
import * as Y from "yjs";
import { Awareness, removeAwarenessStates } from "y-protocols/awareness";
import type { Db } from "../db/client";

export interface DocStoreOptions {
  /** Merge the log into one row once it holds this many rows. */
  compactAfterUpdates: number;
  /** Keep an unused document in memory this long before dropping it, ms. Default 30 s. */
  idleUnloadMs?: number;
  log?: (line: string) => void;
}

export type UpdateListener = (update: Uint8Array, origin: unknown) => void;

export class SharedDoc {
  readonly doc = new Y.Doc({ gc: true });
  readonly awareness: Awareness;
  /** Updates applied since load: the document version that clients and frames can quote. */
  version = 0;
  private chain: Promise<void> = Promise.resolve();
  private rowCount: number;
  private lastRowId: number;
  private readonly listeners = new Set<UpdateListener>();
  users = 0;
  unloadTimer: NodeJS.Timeout | null = null;

  constructor(
    readonly avatarId: string,
    private readonly db: Db,
    private readonly options: DocStoreOptions,
    rows: Array<{ id: number; update: Uint8Array }>,
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
      this.chain = this.chain
        .then(() => this.persist(update))
        .then(
          () => {
            for (const listener of this.listeners) listener(update, origin);
          },
          (err: Error) =>
            this.options.log?.(
              `doc-store: could not store an update of avatar ${this.avatarId}, not broadcast: ${err.message}`,
            ),
        );
    });
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

  private async persist(update: Uint8Array): Promise<void> {
    const row = await this.db.docUpdate.create({
      data: { avatarId: this.avatarId, update: new Uint8Array(update) },
      select: { id: true },
    });
    this.rowCount++;
    this.lastRowId = row.id;
    if (this.rowCount >= this.options.compactAfterUpdates) await this.compact();
  }

  /**
   * Replaces every stored row up to the last written one with the whole
   * document state. The state may already hold updates whose rows are still
   * to be written; they are then stored twice, which Yjs ignores.
   */
  async compact(): Promise<void> {
    const merged = Y.encodeStateAsUpdate(this.doc);
    const upTo = this.lastRowId;
    const [, created] = await this.db.$transaction([
      this.db.docUpdate.deleteMany({ where: { avatarId: this.avatarId, id: { lte: upTo } } }),
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
    removeAwarenessStates(this.awareness, [...this.awareness.getStates().keys()], "unload");
    this.awareness.destroy();
    this.doc.destroy();
    this.listeners.clear();
  }
}

export class DocStore {
  private readonly docs = new Map<string, Promise<SharedDoc>>();

  constructor(
    private readonly db: Db,
    private readonly options: DocStoreOptions,
  ) {}

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

  private async load(avatarId: string): Promise<SharedDoc> {
    const rows = await this.db.docUpdate.findMany({
      where: { avatarId },
      orderBy: { id: "asc" },
      select: { id: true, update: true },
    });
    return new SharedDoc(avatarId, this.db, this.options, rows);
  }

  /** Waits for every open document's pending writes (used at shutdown). */
  async flushAll(): Promise<void> {
    const docs = await Promise.all(this.docs.values());
    await Promise.all(docs.map((d) => d.flushed()));
  }
}
