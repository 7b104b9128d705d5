/**
 * The one Node process: HTTP (Next.js pages, tRPC API, /healthz, share-link
 * landing) and three websocket endpoints on the same port, routed by path:
 *   /_next/...     Next.js (HMR in dev)      -> Next's own upgrade handler
 *   /socket.io/... socket.io                 -> engine.io
 *   /yjs/<avatar>  Yjs sync + awareness      -> YjsServer
 * Next is given a private EventEmitter as its "http server" so that it
 * never sees (and closes) upgrades that are not its own.
 */
import { EventEmitter } from "node:events";
import fs from "node:fs";
import path from "node:path";
import http, { type IncomingMessage, type ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import next from "next";
import { nodeHTTPRequestHandler } from "@trpc/server/adapters/node-http";
import type { Server as IoServer } from "socket.io";
import type { ServerConfig } from "../config";
import { migrate } from "../db/migrate";
import { createDb, type Db } from "../db/client";
import { seedDemo } from "../db/seed";
import { accessFor, ACCESS_DENIED_MESSAGES, canView, isOwnerRequest, ownerCookieHeader, resolveToken } from "../auth/access";
import { appRouter } from "../api/router";
import { DocStore } from "../realtime/doc-store";
import { YjsServer } from "../realtime/yjs-ws";
import { attachSocketServer } from "../realtime/socket";
import { StreamHub } from "../realtime/stream";
import { AvatarNotFoundError, AvatarStore } from "../avatar/avatar-store";
import { createNodeGpu, type NodeGpu } from "../gpu/node-device";
import { errorPage } from "./error-page";

export interface RunningServer {
  url: string;
  port: number;
  db: Db;
  docs: DocStore;
  yjs: YjsServer;
  io: IoServer;
  stream: StreamHub;
  close(): Promise<void>;
}

export interface StartOptions {
  config: ServerConfig;
  /** Project root (where .next, app/ and prisma/ are). Default: cwd. */
  root?: string;
  log?: (line: string) => void;
}

const SHARE_TOKEN_HEADER = "x-share-token";

export async function startServer({ config, root = process.cwd(), log = console.log }: StartOptions): Promise<RunningServer> {
  fs.mkdirSync(config.dataDir, { recursive: true });
  const migrated = await migrate(config.databaseUrl, root);
  if (migrated.applied.length) log(`database: applied ${migrated.applied.join(", ")}`);
  const db = createDb(config.databaseUrl);
  if (config.seedDemo) await seedDemo(db, log, config.dataDir);

  const nextEvents = new EventEmitter();
  const nextApp = next({ dev: config.dev, dir: root, quiet: !config.dev, httpServer: nextEvents as unknown as http.Server });
  await nextApp.prepare();
  const nextHandler = nextApp.getRequestHandler();

  const docs = new DocStore(db, { compactAfterUpdates: config.compactAfterUpdates, log });
  const yjs = new YjsServer(docs, { maxMessageBytes: config.maxWsMessageBytes, log });
  const avatars = new AvatarStore(db, config.dataDir);

  const server = http.createServer((req, res) => {
    handleRequest(req, res).catch((err: Error) => {
      log(`http: ${req.method} ${req.url} failed: ${err.stack ?? err.message}`);
      if (!res.headersSent) sendHtml(res, 500, "Something went wrong", "The server could not answer this request. It has been logged.");
      else res.destroy();
    });
  });

  async function handleRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://internal");
    const pathname = url.pathname;

    if (pathname === "/healthz") {
      await db.avatar.count();
      res.writeHead(200, { "content-type": "application/json", "cache-control": "no-store" });
      res.end(JSON.stringify({ ok: true, uptimeSeconds: Math.round(process.uptime()) }));
      return;
    }

    if (pathname.startsWith("/api/trpc/")) {
      const headerToken = req.headers[SHARE_TOKEN_HEADER];
      const token = typeof headerToken === "string" && headerToken ? headerToken : null;
      const access = await accessFor(db, req, config.ownerKey, token);
      const origin = `http://${req.headers.host ?? `localhost:${config.port}`}`;
      await nodeHTTPRequestHandler({
        router: appRouter,
        req,
        res,
        path: pathname.slice("/api/trpc/".length),
        maxBodySize: config.maxBodyBytes,
        createContext: () => ({ db, access, origin }),
      });
      return;
    }

    // An avatar's bundle files, for pages that render it themselves (LOCAL mode).
    const bundleFile = /^\/api\/avatars\/([^/]+)\/bundle\/((?:thumbs\/)?[a-z0-9_-]+(?:\.[a-z0-9]+)*)$/.exec(pathname);
    if (bundleFile && req.method === "GET") {
      const avatarId = safeDecode(bundleFile[1]!) ?? "";
      const headerToken = req.headers[SHARE_TOKEN_HEADER];
      const access = await accessFor(db, req, config.ownerKey, typeof headerToken === "string" && headerToken ? headerToken : url.searchParams.get("token"));
      if (access.kind === "none" || !canView(access, avatarId) || avatarId.length > 64) return sendJson(res, 404, { error: "not-found", message: "No such avatar." });
      let dir: string;
      try {
        dir = await avatars.bundleDir(avatarId);
      } catch (err) {
        if (err instanceof AvatarNotFoundError) return sendJson(res, 404, { error: "not-found", message: err.message });
        throw err;
      }
      const file = path.join(dir, bundleFile[2]!);
      const stat = await fs.promises.stat(file).catch(() => null);
      if (!stat?.isFile()) return sendJson(res, 404, { error: "not-found", message: `The bundle has no ${bundleFile[2]}.` });
      res.writeHead(200, { "content-type": "application/octet-stream", "content-length": stat.size, "cache-control": "no-store" });
      fs.createReadStream(file).pipe(res);
      return;
    }

    // The owner presents OWNER_KEY once; it is kept in a cookie.
    const presentedKey = url.searchParams.get("owner_key");
    if (presentedKey !== null && config.ownerKey) {
      if (presentedKey !== config.ownerKey) return sendHtml(res, 403, "Wrong owner key", ACCESS_DENIED_MESSAGES.private);
      url.searchParams.delete("owner_key");
      res.writeHead(303, { location: url.pathname + url.search, "set-cookie": ownerCookieHeader(config.ownerKey) });
      res.end();
      return;
    }

    const share = /^\/s\/([^/]+)\/?$/.exec(pathname);
    if (share) {
      const access = await resolveToken(db, safeDecode(share[1]!) ?? "");
      if (access.kind === "none") {
        const gone = access.reason === "expired" || access.reason === "revoked";
        return sendHtml(res, gone ? 410 : 404, gone ? "This link no longer works" : "Link not found", ACCESS_DENIED_MESSAGES[access.reason]);
      }
      return nextHandler(req, res);
    }

    const ownerPage = pathname === "/" || pathname === "/avatars" || pathname.startsWith("/avatars/");
    if (ownerPage && !isOwnerRequest(req, config.ownerKey)) {
      return sendHtml(res, 403, "This studio is private", ACCESS_DENIED_MESSAGES.private);
    }
    return nextHandler(req, res);
  }

  let gpu: Promise<NodeGpu | null> | null = null;
  const stream = new StreamHub({
    docs,
    avatars,
    // One device for the process, made when the first viewer streams; a lost device is logged, and later sessions fall back to the CPU.
    gpu: () => (gpu ??= config.streamBackend === "cpu" ? Promise.resolve(null) : createNodeGpu({ onFailure: (err) => log(`gpu: ${err.message}`), log: { info: log, warn: log, error: log } })),
    maxViewers: config.streamMaxViewers,
    maxPixels: config.streamMaxPixels,
    maxFps: 30,
    idleReleaseMs: 30_000,
    log,
  });
  const io = attachSocketServer(server, { db, docs, stream, ownerKey: config.ownerKey, maxMessageBytes: config.maxWsMessageBytes });

  server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(req.url ?? "/", "http://internal");
    if (url.pathname.startsWith("/socket.io/")) return; // engine.io's own listener answers it.
    if (url.pathname.startsWith("/_next/")) {
      nextEvents.emit("upgrade", req, socket, head);
      return;
    }
    const yjsPath = /^\/yjs\/([^/]+)$/.exec(url.pathname);
    if (yjsPath) {
      void upgradeYjs(req, socket, head, safeDecode(yjsPath[1]!) ?? "", url.searchParams.get("token")).catch((err: Error) => {
        log(`yjs: upgrade failed: ${err.message}`);
        rejectUpgrade(socket, 500, "Internal Server Error");
      });
      return;
    }
    rejectUpgrade(socket, 404, "Not Found");
  });

  async function upgradeYjs(req: IncomingMessage, socket: Duplex, head: Buffer, avatarId: string, token: string | null) {
    const access = await accessFor(db, req, config.ownerKey, token);
    if (access.kind === "none") return rejectUpgrade(socket, 401, "Unauthorized");
    const avatar = avatarId.length <= 64 ? await db.avatar.findUnique({ where: { id: avatarId }, select: { id: true } }) : null;
    if (!avatar || !canView(access, avatarId)) return rejectUpgrade(socket, 404, "Not Found");
    yjs.wss.handleUpgrade(req, socket, head, (ws) => {
      void yjs.accept(ws, req, avatarId, access.role);
    });
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(config.port, config.host, () => resolve());
  });
  const port = (server.address() as { port: number }).port;
  const url = `http://localhost:${port}`;

  let closing: Promise<void> | null = null;
  return {
    url,
    port,
    db,
    docs,
    yjs,
    io,
    stream,
    close() {
      closing ??= (async () => {
        yjs.close();
        stream.close();
        await new Promise<void>((resolve) => io.close(() => resolve()));
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
        await docs.flushAll();
        await nextApp.close();
        await db.$disconnect();
        (await gpu)?.destroy();
      })();
      return closing;
    },
  };
}

/** decodeURIComponent that answers null for malformed escapes instead of throwing. */
function safeDecode(s: string): string | null {
  try {
    return decodeURIComponent(s);
  } catch {
    return null;
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json", "cache-control": "no-store" });
  res.end(JSON.stringify(body));
}

function sendHtml(res: ServerResponse, status: number, title: string, message: string): void {
  res.writeHead(status, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" });
  res.end(errorPage(title, message));
}

function rejectUpgrade(socket: Duplex, status: number, text: string): void {
  if (socket.writable) socket.write(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  socket.destroy();
}

