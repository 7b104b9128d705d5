/**
 * Open sessions (Yjs sockets, socket.io connections) by the share link they
 * were opened with, so that revoking a link, or its expiry, ends them at
 * once instead of at their next reconnect. The owner's sessions are not
 * tracked: they end only when the owner leaves.
 *
 * With several processes (a ClusterBus) a revocation is also published, and
 * every process ends the link's sessions it holds; expiry needs no message,
 * each process keeps its own timers.
 */
import type { Access } from "./access";
import type { ClusterBus } from "../bus/bus";

const LINKS_CHANNEL = "links";

export const LinkEndReasons = { revoked: "revoked", expired: "expired" } as const;
export type LinkEndReason = (typeof LinkEndReasons)[keyof typeof LinkEndReasons];

/** setTimeout's longest delay; a later expiry re-arms the timer. */
const MAX_TIMER_MS = 2 ** 31 - 1;

interface OpenSession {
  end: (reason: LinkEndReason) => void;
  timer: NodeJS.Timeout | null;
}

export class LinkSessions {
  private readonly byLink = new Map<string, Set<OpenSession>>();
  private bus: ClusterBus | null = null;

  /** Ends, from now on, the sessions of links revoked through any process of the cluster. */
  async joinCluster(bus: ClusterBus): Promise<void> {
    this.bus = bus;
    await bus.subscribe(LINKS_CHANNEL, (payload) => {
      const msg = JSON.parse(payload.toString()) as { from?: unknown; linkId?: unknown; reason?: unknown };
      if (msg.from === bus.processId || typeof msg.linkId !== "string") return;
      if (msg.reason !== LinkEndReasons.revoked && msg.reason !== LinkEndReasons.expired) return;
      this.endHere(msg.linkId, msg.reason);
    });
  }

  /**
   * Tracks a session opened with `access`; `end` is called once when its
   * link is revoked or expires. Returns the function that stops tracking it
   * (call it when the session closes by itself).
   */
  open(access: Access, end: (reason: LinkEndReason) => void): () => void {
    if (access.kind !== "link") return () => undefined;
    const { linkId, expiresAt } = access;
    const session: OpenSession = { end, timer: null };
    let sessions = this.byLink.get(linkId);
    if (!sessions) this.byLink.set(linkId, (sessions = new Set()));
    sessions.add(session);
    const forget = () => {
      if (session.timer) clearTimeout(session.timer);
      session.timer = null;
      const set = this.byLink.get(linkId);
      if (set?.delete(session) && set.size === 0) this.byLink.delete(linkId);
    };
    const finish = (reason: LinkEndReason) => {
      if (!this.byLink.get(linkId)?.has(session)) return;
      forget();
      session.end(reason);
    };
    if (expiresAt) {
      // Never synchronously: the caller is still setting the session up.
      const arm = (check: boolean) => {
        const left = expiresAt.getTime() - Date.now();
        if (check && left <= 0) return finish("expired");
        session.timer = setTimeout(() => arm(true), Math.min(Math.max(left, 0), MAX_TIMER_MS));
        session.timer.unref();
      };
      arm(false);
    }
    return forget;
  }

  /** Ends every open session of the link, in every process; returns how many this process held. */
  end(linkId: string, reason: LinkEndReason): number {
    this.bus?.publish(LINKS_CHANNEL, JSON.stringify({ from: this.bus.processId, linkId, reason }));
    return this.endHere(linkId, reason);
  }

  private endHere(linkId: string, reason: LinkEndReason): number {
    const sessions = [...(this.byLink.get(linkId) ?? [])];
    this.byLink.delete(linkId);
    for (const s of sessions) {
      if (s.timer) clearTimeout(s.timer);
      s.end(reason);
    }
    return sessions.length;
  }

  /** Sessions open with a link (tests, metrics). */
  count(linkId: string): number {
    return this.byLink.get(linkId)?.size ?? 0;
  }
}
