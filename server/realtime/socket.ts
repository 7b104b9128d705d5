/**
 * socket.io on the shared HTTP server: connection auth (share token or
 * owner), health/echo, joining an avatar's room, and state-changing avatar
 * commands that view-only links may never run, streamed frames (stream.ts),
 * and creation-job progress for the owner (job:watch -> room job:<id>).
 */
import type { Server as HttpServer } from "node:http";
import { Server, type Socket } from "socket.io";
import { createAdapter } from "@socket.io/redis-adapter";
import { z } from "zod";
import type { Db } from "../db/client";
import { accessFor, ACCESS_DENIED_MESSAGES, canEdit, canView, type Access, type OwnerAuth } from "../auth/access";
import { isAllowedHost, originVerdict } from "../auth/origin-policy";
import type { LinkSessions } from "../auth/link-sessions";
import type { DocStore } from "./doc-store";
import type { StreamHub } from "./stream";
import {
  PROTOCOL_VERSION,
  type ClientToServerEvents,
  type ServerToClientEvents,
  type SocketResult,
} from "../../protocol/messages";
import { attributesMap, endsMap, playbackMap } from "../../protocol/shared-state";
import { BUILTIN_CLIP_NAMES } from "../../render-core/animation";
import type { JobRunner } from "../jobs/runner";
import { JobFeed } from "../jobs/feed";
import type { ClusterBus } from "../bus/bus";
import { signTicket, type RenderNodeDirectory } from "./render-nodes";

interface SocketData {
  access: Access;
  joined: Set<string>;
}

type AppSocket = Socket<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;

const joinSchema = z.object({ avatarId: z.string().min(1).max(64) });
const jobSchema = z.object({ jobId: z.string().min(1).max(64) });
const locateSchema = z.object({ avatarId: z.string().min(1).max(64), unreachable: z.string().max(512).optional() });
const commandSchema = z.object({
  avatarId: z.string().min(1).max(64),
  command: z.discriminatedUnion("type", [
    z.object({ type: z.literal("reset-attributes") }),
    z.object({
      type: z.literal("set-attribute"),
      key: z.string().min(1).max(64),
      value: z.number().finite().min(-1).max(1),
    }),
    z.object({ type: z.literal("play-clip"), clip: z.enum(BUILTIN_CLIP_NAMES as [string, ...string[]]) }),
    z.object({ type: z.literal("stop-clip") }),
  ]),
});

export interface SocketServerOptions {
  db: Db;
  docs: DocStore;
  /** The streaming renderer's commands (stream:*), when the server streams. */
  stream?: StreamHub;
  /** The owner key and the origin policy (every handshake is checked against it). */
  auth: OwnerAuth;
  /** Open sessions by share link: a revoked or expired link disconnects its sockets. */
  linkSessions?: LinkSessions;
  maxMessageBytes: number;
  /** The creation-job runner whose jobs the owner may watch. */
  jobs?: JobRunner;
  /** Least time between two job:update events of one job, ms. Default 250. */
  jobUpdateIntervalMs?: number;
  /** The other processes of the studio: rooms and emits then span them all (socket.io's Redis adapter). */
  bus?: ClusterBus | null;
  /** Render nodes that stream avatars for the cluster, and the secret their tickets are signed with. */
  renderNodes?: { directory: RenderNodeDirectory; secret: Buffer } | null;
  log?: (line: string) => void;
}

export function attachSocketServer(http: HttpServer, options: SocketServerOptions): Server {
  const io = new Server<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>(http, {
    path: "/socket.io",
    serveClient: false,
    maxHttpBufferSize: options.maxMessageBytes,
    // Other websocket paths (/yjs, Next's HMR) share this server: never destroy their upgrades.
    destroyUpgrade: false,
    // Every handshake and upgrade, polling included: the server's own names and pages only (origin-policy.ts).
    allowRequest: (req, callback) => {
      if (!isAllowedHost(req, options.auth.policy)) return callback("unknown host name", false);
      if (originVerdict(req, options.auth.policy) === "foreign")
        return callback("cross-site connection refused", false);
      callback(null, true);
    },
  });

  if (options.bus) {
    const { pub, sub } = options.bus.duplicatePair();
    io.adapter(createAdapter(pub, sub, { key: `${options.bus.prefix}:socket.io` }));
    io.of("/").adapter.on("error", (err: Error) => options.log?.(`socket.io: redis adapter: ${err.message}`));
  }

  io.use((socket, next) => {
    const raw = (socket.handshake.auth as { token?: unknown } | undefined)?.token;
    const token = typeof raw === "string" && raw ? raw : null;
    accessFor(options.db, socket.request, options.auth, token).then(
      (access) => {
        if (access.kind === "none") {
          const err = new Error(ACCESS_DENIED_MESSAGES[access.reason]) as Error & { data?: unknown };
          err.data = { code: "unauthorized", reason: access.reason };
          return next(err);
        }
        socket.data = { access, joined: new Set() };
        next();
      },
      (err: Error) => next(err),
    );
  });

  const jobRoom = (jobId: string) => `job:${jobId}`;
  if (options.jobs) {
    new JobFeed({
      runner: options.jobs,
      intervalMs: options.jobUpdateIntervalMs,
      // With several processes the watchers may be on another one: send, the adapter finds them.
      watched: (jobId) => !!options.bus || (io.sockets.adapter.rooms.get(jobRoom(jobId))?.size ?? 0) > 0,
      sendUpdate: (view) => io.to(jobRoom(view.id)).emit("job:update", view),
      sendLog: (jobId, lines) => io.to(jobRoom(jobId)).emit("job:log", { jobId, lines }),
      log: options.log,
    });
  }

  io.on("connection", (socket: AppSocket) => {
    const { access } = socket.data;
    const forgetLink = options.linkSessions?.open(access, (reason) => {
      socket.emit("session:ended", { code: "unauthorized", reason, message: ACCESS_DENIED_MESSAGES[reason] });
      socket.disconnect(true);
    });
    if (forgetLink) socket.once("disconnect", forgetLink);
    socket.emit("server:hello", {
      protocol: PROTOCOL_VERSION,
      role: access.kind === "link" ? access.role : "owner",
      avatarId: access.kind === "link" ? access.avatarId : null,
    });

    options.stream?.attach(socket, (avatarId) => canView(access, avatarId));

    socket.on("stream:locate", async (req, ack) => {
      if (typeof ack !== "function") return;
      const parsed = locateSchema.safeParse(req);
      if (!parsed.success) return ack(fail("bad-request", "stream:locate needs { avatarId: string }"));
      const { avatarId, unreachable } = parsed.data;
      if (!canView(access, avatarId)) return ack(fail("not-found", `No avatar with id "${avatarId}".`));
      const nodes = options.renderNodes;
      const origin = socket.handshake.headers.origin;
      if (!nodes || !origin || access.kind === "none") return ack({ ok: true, value: null });
      try {
        if (unreachable) await nodes.directory.dropIfUnreachable(unreachable);
        const node = await nodes.directory.locate(avatarId);
        if (!node) return ack({ ok: true, value: null });
        ack({ ok: true, value: { url: node.url, ticket: signTicket(nodes.secret, { avatarId, origin, access }) } });
      } catch (err) {
        options.log?.(`stream: locating avatar ${avatarId}'s render node failed: ${(err as Error).message}`);
        ack({ ok: true, value: null });
      }
    });

    socket.on("health:ping", (ack) => {
      if (typeof ack === "function") ack({ ok: true, protocol: PROTOCOL_VERSION, serverTime: Date.now() });
    });

    socket.on("echo", (payload, ack) => {
      if (typeof ack === "function") ack(payload);
    });

    socket.on("avatar:join", async (req, ack) => {
      if (typeof ack !== "function") return;
      const parsed = joinSchema.safeParse(req);
      if (!parsed.success) return ack(fail("bad-request", "avatar:join needs { avatarId: string }"));
      const { avatarId } = parsed.data;
      if (!canView(access, avatarId)) return ack(fail("not-found", `No avatar with id "${avatarId}".`));
      const exists = await options.db.avatar.findUnique({ where: { id: avatarId }, select: { id: true } });
      if (!exists) return ack(fail("not-found", `No avatar with id "${avatarId}".`));
      socket.data.joined.add(avatarId);
      await socket.join(`avatar:${avatarId}`);
      ack({ ok: true, value: { role: access.kind === "link" ? access.role : "owner" } });
    });

    socket.on("job:watch", async (req, ack) => {
      if (typeof ack !== "function") return;
      const parsed = jobSchema.safeParse(req);
      if (!parsed.success) return ack(fail("bad-request", "job:watch needs { jobId: string }"));
      const { jobId } = parsed.data;
      // Jobs and uploads are the owner's alone; a link holder learns nothing about them.
      if (access.kind !== "owner" || !options.jobs)
        return ack(fail("not-found", "Creation jobs are visible only to the owner of this studio."));
      // Joined before the read, so no change between the two is missed.
      await socket.join(jobRoom(jobId));
      const view = await options.jobs.view(jobId).catch(() => null);
      if (!view) {
        await socket.leave(jobRoom(jobId));
        return ack(fail("not-found", `No creation job with id "${jobId}".`));
      }
      ack({ ok: true, value: view });
    });

    socket.on("job:unwatch", async (req) => {
      const parsed = jobSchema.safeParse(req);
      if (parsed.success) await socket.leave(jobRoom(parsed.data.jobId));
    });

    socket.on("avatar:command", async (req, ack) => {
      if (typeof ack !== "function") return;
      const parsed = commandSchema.safeParse(req);
      if (!parsed.success)
        return ack(fail("bad-request", `avatar:command: ${parsed.error.issues[0]?.message ?? "malformed"}`));
      const { avatarId, command } = parsed.data;
      if (!socket.data.joined.has(avatarId)) return ack(fail("not-joined", "Join the avatar before sending commands."));
      if (!canEdit(access, avatarId))
        return ack(fail("view-only", "This is a view-only link: it cannot change the avatar."));
      const shared = await options.docs.acquire(avatarId);
      try {
        const attrs = attributesMap(shared.doc);
        const playback = playbackMap(shared.doc);
        shared.doc.transact(() => {
          if (command.type === "reset-attributes") {
            attrs.clear();
            endsMap(shared.doc).clear();
          } else if (command.type === "set-attribute") attrs.set(command.key, command.value);
          else if (command.type === "play-clip") {
            playback.set("clip", command.clip);
            playback.set("startedAt", Date.now());
          } else playback.set("clip", "");
        }, "socket-command");
        await shared.flushed();
        ack({ ok: true, value: { version: shared.version } });
      } finally {
        options.docs.release(shared);
      }
    });
  });

  return io;
}

function fail<T>(code: Exclude<SocketResult<T>, { ok: true }>["code"], message: string): SocketResult<T> {
  return { ok: false, code, message };
}
