/**
 * The message bus between the processes of one studio (REDIS_URL set):
 * Redis pub/sub, one connection that publishes and one that listens.
 *
 * Pub/sub delivers in order while a connection holds and drops what is
 * published while it does not. Everything sent here is already stored in
 * the database (or, like presence, renewed every few seconds), so the bus
 * is the fast path only: after its listening connection comes back it
 * tells onResync's listeners, which read again what they might have missed.
 */
import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";

export type BusHandler = (payload: Buffer) => void;

/**
 * `log`, saying a line again only once `windowMs` has passed since it last said it (with how many it held back):
 * while Redis is away each connection reports every reconnection attempt, several a second over a process.
 */
export function quietRepeats(log: (line: string) => void, windowMs = 60_000): (line: string) => void {
  const said = new Map<string, { at: number; held: number }>();
  return (line) => {
    const now = Date.now();
    const last = said.get(line);
    if (last && now - last.at < windowMs) {
      last.held++;
      return;
    }
    said.set(line, { at: now, held: 0 });
    if (said.size > 100) said.delete(said.keys().next().value!);
    log(last?.held ? `${line} (and ${last.held} more like it)` : line);
  };
}

/** Every key matching `pattern` (SCAN, so Redis is never blocked by KEYS). */
export async function scanKeys(redis: Redis, pattern: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = "0";
  do {
    const [next, batch] = await redis.scan(cursor, "MATCH", pattern, "COUNT", 100);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== "0");
  return keys;
}

export class ClusterBus {
  /** This process's id: messages carry it, and a process ignores its own. */
  readonly processId = randomUUID();
  private readonly handlers = new Map<string, Set<BusHandler>>();
  private readonly resyncListeners = new Set<() => void>();
  /** Connections made for others (duplicatePair), closed with the bus. */
  private readonly extra: Redis[] = [];
  private connectedOnce = false;
  /** Connection errors, each said once a minute at most. */
  private readonly quiet: (line: string) => void;
  private closed = false;

  private constructor(
    /** Prefix of this studio's channels and keys (REDIS_PREFIX), so that studios may share a Redis. */
    readonly prefix: string,
    private readonly pub: Redis,
    private readonly sub: Redis,
    private readonly log: (line: string) => void,
  ) {
    this.quiet = quietRepeats(log);
    // connect() has usually made it ready already: only a later "ready" is a comeback.
    this.connectedOnce = sub.status === "ready";
    sub.on("messageBuffer", (channel: Buffer, message: Buffer) => {
      for (const handler of this.handlers.get(channel.toString()) ?? []) {
        try {
          handler(message);
        } catch (err) {
          log(`cluster: a message on ${channel.toString()} could not be handled: ${(err as Error).message}`);
        }
      }
    });
    sub.on("ready", () => {
      if (!this.connectedOnce) {
        this.connectedOnce = true;
        return;
      }
      log("cluster: the bus is back; reading again what may have been missed");
      for (const listener of this.resyncListeners) listener();
    });
    for (const conn of [pub, sub]) {
      conn.on("error", (err: Error) => {
        if (!this.closed) this.quiet(`cluster: redis: ${err.message}`);
      });
    }
  }

  /** Connects both connections; rejects with a clear reason when Redis cannot be reached. */
  static async connect(
    url: string,
    prefix: string,
    log: (line: string) => void = () => undefined,
  ): Promise<ClusterBus> {
    const options = { lazyConnect: true, maxRetriesPerRequest: 3, connectionName: "perse-studio" } as const;
    const pub = new Redis(url, options);
    const sub = new Redis(url, options);
    try {
      await Promise.all([pub.connect(), sub.connect()]);
    } catch (err) {
      pub.disconnect();
      sub.disconnect();
      throw new Error(`cluster: cannot reach Redis at REDIS_URL (${(err as Error).message})`);
    }
    return new ClusterBus(prefix, pub, sub, log);
  }

  /** Listens on a channel; resolves once Redis has confirmed, with the function that stops listening. */
  async subscribe(channel: string, handler: BusHandler): Promise<() => void> {
    const name = `${this.prefix}:${channel}`;
    let set = this.handlers.get(name);
    if (!set) {
      this.handlers.set(name, (set = new Set()));
      await this.sub.subscribe(name);
    }
    set.add(handler);
    return () => {
      const current = this.handlers.get(name);
      if (!current?.delete(handler) || current.size > 0) return;
      this.handlers.delete(name);
      if (!this.closed) this.sub.unsubscribe(name).catch(() => undefined);
    };
  }

  publish(channel: string, payload: Uint8Array | string): void {
    const data =
      typeof payload === "string" ? payload : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
    this.pub.publish(`${this.prefix}:${channel}`, data).catch((err: Error) => {
      if (!this.closed) this.log(`cluster: could not publish on ${channel}: ${err.message}`);
    });
  }

  /** Called after the listening connection came back from a break (messages may have been lost). */
  onResync(listener: () => void): () => void {
    this.resyncListeners.add(listener);
    return () => this.resyncListeners.delete(listener);
  }

  /** The connection that publishes, for plain commands (keys of the render-node directory). */
  commands(): Redis {
    return this.pub;
  }

  /** Two new connections on the same Redis (socket.io's adapter needs its own publisher and listener), closed with the bus. */
  duplicatePair(): { pub: Redis; sub: Redis } {
    const pair = { pub: this.pub.duplicate(), sub: this.sub.duplicate() };
    for (const conn of [pair.pub, pair.sub]) {
      conn.on("error", (err: Error) => {
        if (!this.closed) this.quiet(`cluster: redis: ${err.message}`);
      });
      this.extra.push(conn);
    }
    return pair;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.handlers.clear();
    this.resyncListeners.clear();
    await Promise.allSettled([this.pub, this.sub, ...this.extra].map((c) => c.quit()));
  }
}
