/**
 * Render nodes (npm run render-node): processes that stream frames, on GPU
 * machines in production. Each registers its address in Redis with a short
 * time to live and renews it; an avatar is served by one node at a time,
 * recorded in Redis. A web process answers a page's stream:locate with that
 * node's address and a ticket; the page then talks to the node directly (its
 * frames never pass through Redis or the web process). When a node stops
 * renewing, the next locate gives its avatars to a live node. A new avatar
 * goes to the node with the fewest viewers (then avatars) that has room, as
 * its last heartbeat reported them; equals are told apart by rendezvous
 * hashing, so that avatars spread and two web processes choose alike.
 *
 * The ticket: what the web process checked (the caller's access to the
 * avatar, and the page's Origin), signed with a secret every process of the
 * studio reads from Redis, valid for TICKET_MS to open a connection.
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import type { Redis } from "ioredis";
import type { Access } from "../auth/access";
import { scanKeys } from "../bus/bus";

/** A node's registration lives this long unless renewed (every HEARTBEAT_MS). */
export const NODE_TTL_MS = 2500;
export const HEARTBEAT_MS = 800;
const TICKET_MS = 60_000;
/** How long a web process waits for a node's health check when a page says it cannot reach it. */
const PROBE_MS = 500;
/** An avatar's node is remembered this long after its last locate. */
const ASSIGNMENT_TTL_S = 24 * 3600;

/** Sets KEYS[1] to ARGV[2] only if it still holds ARGV[1] ("" = absent): two web processes never split an avatar. */
const COMPARE_AND_SET = `
local cur = redis.call('GET', KEYS[1])
if (cur == false and ARGV[1] == '') or cur == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
  return 1
end
return 0`;

export interface NodeAddress {
  nodeId: string;
  url: string;
}

/** What a node serves now, renewed with its registration. */
export interface NodeLoad {
  viewers: number;
  avatars: number;
  /** The viewers it takes at most (STREAM_MAX_VIEWERS). */
  maxViewers: number;
}

/** A registration's value: the node's address and load as JSON; null when it is not one. */
function parseRegistration(nodeId: string, value: string): (NodeAddress & { load: NodeLoad | null }) | null {
  try {
    const { url, load } = JSON.parse(value) as { url?: unknown; load?: NodeLoad };
    return typeof url === "string" ? { nodeId, url, load: load ?? null } : null;
  } catch {
    return null;
  }
}

export class RenderNodeDirectory {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  private nodeKey(nodeId: string): string {
    return `${this.prefix}:render-node:${nodeId}`;
  }

  private avatarKey(avatarId: string): string {
    return `${this.prefix}:render-avatar:${avatarId}`;
  }

  /** Registers (or renews) a node for NODE_TTL_MS, with what it serves now. */
  async heartbeat(node: NodeAddress, load: NodeLoad | null = null): Promise<void> {
    await this.redis.set(this.nodeKey(node.nodeId), JSON.stringify({ url: node.url, load }), "PX", NODE_TTL_MS);
  }

  async unregister(nodeId: string): Promise<void> {
    await this.redis.del(this.nodeKey(nodeId));
  }

  /**
   * A page could not reach `url`: when the node registered there does not
   * answer its health check either, its registration goes at once (a killed
   * node would otherwise hold its avatars until its registration lapses).
   * Pages cannot use this to move avatars: a node that answers stays.
   */
  async dropIfUnreachable(url: string): Promise<boolean> {
    const node = (await this.liveNodes()).find((n) => n.url === url);
    if (!node) return false;
    const alive = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(PROBE_MS) }).then(
      (r) => r.ok,
      () => false,
    );
    if (alive) return false;
    await this.unregister(node.nodeId);
    return true;
  }

  /** The live nodes, by id, with the load each last reported. */
  async liveNodes(): Promise<Array<NodeAddress & { load: NodeLoad | null }>> {
    const keys = await scanKeys(this.redis, this.nodeKey("*"));
    if (!keys.length) return [];
    const values = await this.redis.mget(keys);
    const start = this.nodeKey("").length;
    return keys.flatMap((k, i) => {
      const node = typeof values[i] === "string" ? parseRegistration(k.slice(start), values[i]) : null;
      return node ? [node] : [];
    });
  }

  /**
   * The node that serves an avatar: the one recorded while it is alive, else
   * a live one chosen by rendezvous hashing (so that avatars spread over the
   * nodes and two web processes choose alike), recorded for the others.
   * Null when no node is alive: the web process streams itself.
   */
  async locate(avatarId: string): Promise<NodeAddress | null> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const current = await this.redis.get(this.avatarKey(avatarId));
      if (current) {
        const value = await this.redis.get(this.nodeKey(current));
        const node = value === null ? null : parseRegistration(current, value);
        if (node) {
          await this.redis.expire(this.avatarKey(avatarId), ASSIGNMENT_TTL_S);
          return { nodeId: current, url: node.url };
        }
      }
      const live = await this.liveNodes();
      if (!live.length) return null;
      const picked = pickNode(avatarId, live);
      const chosen = { nodeId: picked.nodeId, url: picked.url };
      const set = await this.redis.eval(
        COMPARE_AND_SET,
        1,
        this.avatarKey(avatarId),
        current ?? "",
        chosen.nodeId,
        String(ASSIGNMENT_TTL_S),
      );
      if (set === 1) return chosen;
    }
    throw new Error(`render nodes: the assignment of avatar ${avatarId} kept changing`);
  }
}

function score(avatarId: string, nodeId: string): number {
  return createHmac("sha256", nodeId).update(avatarId).digest().readUInt32BE(0);
}

/** A new avatar's node: among those with room (all, when none has), the fewest viewers, then avatars, then the hash. */
export function pickNode<N extends NodeAddress & { load: NodeLoad | null }>(avatarId: string, live: readonly N[]): N {
  const roomy = live.filter((n) => !n.load || n.load.viewers < n.load.maxViewers);
  const candidates = roomy.length ? roomy : live;
  const key = (n: N) => [n.load?.viewers ?? 0, n.load?.avatars ?? 0, -score(avatarId, n.nodeId)];
  return candidates.reduce((best, n) => {
    const [a, b] = [key(n), key(best)];
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! < b[i]! ? n : best;
    return best;
  });
}

/** The studio's signing secret, made once by whichever process asks first. */
export async function clusterSecret(redis: Redis, prefix: string): Promise<Buffer> {
  const key = `${prefix}:cluster-secret`;
  await redis.set(key, randomBytes(32).toString("base64url"), "NX");
  const secret = await redis.get(key);
  if (!secret) throw new Error("render nodes: the cluster secret could not be read from Redis");
  return Buffer.from(secret, "base64url");
}

/** What a ticket lets its holder do on a render node. */
export interface TicketClaims {
  avatarId: string;
  /** The page's Origin, which the connection to the node must come from. */
  origin: string;
  access: Exclude<Access, { kind: "none" }>;
  /** Milliseconds since the epoch after which the ticket opens nothing. */
  exp: number;
}

export function signTicket(secret: Buffer, claims: Omit<TicketClaims, "exp">, now = Date.now()): string {
  const body = Buffer.from(JSON.stringify({ ...claims, exp: now + TICKET_MS })).toString("base64url");
  return `${body}.${createHmac("sha256", secret).update(body).digest("base64url")}`;
}

/** The claims of a genuine, unexpired ticket, else null. */
export function verifyTicket(secret: Buffer, ticket: string, now = Date.now()): TicketClaims | null {
  const [body, mac, extra] = ticket.split(".");
  if (!body || !mac || extra !== undefined) return null;
  const expected = createHmac("sha256", secret).update(body).digest();
  const given = Buffer.from(mac, "base64url");
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
  let claims: TicketClaims;
  try {
    claims = JSON.parse(Buffer.from(body, "base64url").toString()) as TicketClaims;
  } catch {
    return null;
  }
  if (typeof claims.exp !== "number" || claims.exp < now) return null;
  const access = claims.access;
  if (access.kind === "link" && access.expiresAt) access.expiresAt = new Date(access.expiresAt);
  return claims;
}
