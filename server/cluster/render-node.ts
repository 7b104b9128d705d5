/**
 * A render node (npm run render-node): a process that streams frames for the
 * cluster and does nothing else. Pages reach it directly, at its own address
 * (RENDER_NODE_URL), with a ticket a web process signed (render-nodes.ts);
 * it speaks only the stream:* part of the socket.io protocol. It reads the
 * avatar's document (following every edit over the bus, as web processes
 * do) and bundle (from the shared DATA_DIR), and renders with its own GPU,
 * or CPU threads.
 */
import http from "node:http";
import { randomUUID } from "node:crypto";
import { Server } from "socket.io";
import type { ServerConfig } from "../config";
import { createDb } from "../db/client";
import { ACCESS_DENIED_MESSAGES, canView } from "../auth/access";
import { LinkSessions } from "../auth/link-sessions";
import { AvatarStore } from "../avatar/avatar-store";
import { DocStore } from "../realtime/doc-store";
import { streamHubFor, type StreamHub } from "../realtime/stream";
import { ClusterBus } from "../bus/bus";
import { JOB_EVENTS_CHANNEL, type JobEvent } from "../jobs/runner";
import {
  clusterSecret,
  HEARTBEAT_MS,
  RenderNodeDirectory,
  verifyTicket,
  type TicketClaims,
} from "../realtime/render-nodes";
import { PROTOCOL_VERSION, type ClientToServerEvents, type ServerToClientEvents } from "../../protocol/messages";

export interface RenderNode {
  nodeId: string;
  url: string;
  stream: StreamHub;
  close(): Promise<void>;
}

export async function startRenderNode(options: {
  config: ServerConfig;
  /** The address pages reach this node at; default http://<HOST or 127.0.0.1>:<port>. */
  publicUrl?: string | null;
  log?: (line: string) => void;
}): Promise<RenderNode> {
  const { config } = options;
  const log = options.log ?? console.log;
  if (!config.redisUrl)
    throw new Error(
      "render node: REDIS_URL is not set; a render node serves a cluster's web processes (docs/deploy.md)",
    );
  const db = createDb(config.databaseUrl);
  const bus = await ClusterBus.connect(config.redisUrl, config.redisPrefix, log);
  const directory = new RenderNodeDirectory(bus.commands(), bus.prefix);
  const secret = await clusterSecret(bus.commands(), bus.prefix);
  const linkSessions = new LinkSessions();
  await linkSessions.joinCluster(bus);
  const docs = new DocStore(db, { compactAfterUpdates: config.compactAfterUpdates, bus, log });
  const avatars = new AvatarStore(db, config.dataDir);
  const { hub: stream, gpu } = streamHubFor(config, { docs, avatars, log });
  // An avatar opened while it was being created got the placeholder; when its job changes state, read it again.
  await bus.subscribe(JOB_EVENTS_CHANNEL, (payload) => {
    const { event } = JSON.parse(payload.toString()) as { event: JobEvent };
    if (event.type !== "change" || !event.status) return;
    db.job.findUnique({ where: { id: event.jobId }, select: { avatarId: true } }).then(
      (row) => row?.avatarId && avatars.forget(row.avatarId),
      () => undefined,
    );
  });

  const server = http.createServer((req, res) => {
    const ok = req.url === "/healthz";
    res.writeHead(ok ? 200 : 404, { "content-type": "application/json", "cache-control": "no-store" });
    res.end(JSON.stringify(ok ? { ok: true, role: "render-node" } : { error: "not-found" }));
  });
  const io = new Server<ClientToServerEvents, ServerToClientEvents, Record<string, never>, { claims: TicketClaims }>(
    server,
    { path: "/socket.io", serveClient: false, maxHttpBufferSize: config.maxWsMessageBytes, transports: ["websocket"] },
  );
  io.use((socket, next) => {
    const raw = (socket.handshake.auth as { ticket?: unknown } | undefined)?.ticket;
    const claims = typeof raw === "string" ? verifyTicket(secret, raw) : null;
    // The ticket is bound to the page it was given to: another site's page cannot use a copy.
    if (!claims || socket.handshake.headers.origin !== claims.origin) {
      const err = new Error("This render node needs a current ticket from the studio.") as Error & { data?: unknown };
      err.data = { code: "unauthorized", reason: "ticket" };
      return next(err);
    }
    socket.data = { claims };
    next();
  });
  io.on("connection", (socket) => {
    const { access, avatarId } = socket.data.claims;
    const forgetLink = linkSessions.open(access, (reason) => {
      socket.emit("session:ended", { code: "unauthorized", reason, message: ACCESS_DENIED_MESSAGES[reason] });
      socket.disconnect(true);
    });
    socket.once("disconnect", forgetLink);
    socket.emit("server:hello", {
      protocol: PROTOCOL_VERSION,
      role: access.kind === "link" ? access.role : "owner",
      avatarId,
    });
    // Only the avatar the ticket names.
    stream.attach(socket, (id) => id === avatarId && canView(access, id));
  });

  // Listening and registered only once warm: a node that takes over an avatar must stream at once.
  await stream.warmUp();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(config.port, config.host, () => resolve());
  });
  const port = (server.address() as { port: number }).port;
  const nodeId = randomUUID();
  const url = options.publicUrl ?? `http://${config.host === "0.0.0.0" ? "127.0.0.1" : config.host}:${port}`;
  const load = () => ({
    viewers: stream.viewerCount,
    avatars: stream.avatarCount,
    maxViewers: config.streamMaxViewers,
  });
  await directory.heartbeat({ nodeId, url }, load());
  const heartbeat = setInterval(
    () =>
      void directory
        .heartbeat({ nodeId, url }, load())
        .catch((err: Error) => log(`render node: heartbeat: ${err.message}`)),
    HEARTBEAT_MS,
  );

  let closing: Promise<void> | null = null;
  return {
    nodeId,
    url,
    stream,
    close() {
      closing ??= (async () => {
        clearInterval(heartbeat);
        await directory.unregister(nodeId).catch(() => undefined);
        stream.close();
        await new Promise<void>((resolve) => io.close(() => resolve()));
        server.closeAllConnections();
        await docs.flushAll();
        await bus.close();
        await db.$disconnect();
        (await gpu())?.destroy();
      })();
      return closing;
    },
  };
}
