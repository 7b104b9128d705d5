/**
 * The one Node process: HTTP (Next.js pages, tRPC API, /healthz, share-link
 * landing, portrait uploads and job artifacts), the creation-job runner, and
 * three websocket endpoints on the same port, routed by path:
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
import { isPostgresUrl, migrate } from "../db/migrate";
import { createDb, type Db } from "../db/client";
import { seedDemo } from "../db/seed";
import {
  accessFor,
  ACCESS_DENIED_MESSAGES,
  canView,
  isOwnerRequest,
  ownerCookieHeader,
  resolveToken,
  sameSecret,
  type OwnerAuth,
} from "../auth/access";
import {
  isAllowedHost,
  isCrossSiteRequest,
  isSafeMethod,
  makeOriginPolicy,
  originVerdict,
  publicOriginFor,
} from "../auth/origin-policy";
import { LinkSessions } from "../auth/link-sessions";
import { ClusterBus } from "../bus/bus";
import { clusterSecret, RenderNodeDirectory } from "../realtime/render-nodes";
import { appRouter } from "../api/router";
import { DocStore } from "../realtime/doc-store";
import { YjsServer } from "../realtime/yjs-ws";
import { attachSocketServer } from "../realtime/socket";
import { streamHubFor, type StreamHub } from "../realtime/stream";
import { AvatarNotFoundError, AvatarStore } from "../avatar/avatar-store";
import { AvatarExporter, EXPORT_FORMATS, exportCurrentState, isExportFormat } from "../export/export";
import { errorPage } from "./error-page";
import { embedFramingHeaders, NO_FRAMING, oembedFor, oembedLinkHeader } from "./embed";
import { serveBrowserModel } from "./browser-models";
import { JobRunner } from "../jobs/runner";
import type { StageDef } from "../pipeline/create/stage";
import { defaultStages } from "../jobs/default-stages";
import { CreationQueue } from "../jobs/queue";
import { sendJsonError, uploadPortrait } from "../portraits/upload";
import { closePortraitAnalysis } from "../portraits/analysis-thread";
import { PORTRAIT_FILES } from "../portraits/store";
import { isPortraitId, portraitDir } from "../storage/layout";

export interface RunningServer {
  url: string;
  port: number;
  db: Db;
  docs: DocStore;
  yjs: YjsServer;
  io: IoServer;
  stream: StreamHub;
  jobs: JobRunner;
  /** Open sessions by share link (revocation and expiry end them). */
  linkSessions: LinkSessions;
  /** The other processes of the studio (REDIS_URL), or null when this process is alone. */
  bus: ClusterBus | null;
  close(): Promise<void>;
}

export interface StartOptions {
  config: ServerConfig;
  /** Project root (where .next, app/ and prisma/ are). Default: cwd. */
  root?: string;
  log?: (line: string) => void;
  /** The creation pipeline's stages; default creationStages() of server/pipeline/create/stages.ts (tests pass small ones). */
  creationStages?: readonly StageDef[];
}

const SHARE_TOKEN_HEADER = "x-share-token";
/** A page's Yjs session secret (protocol/yjs.ts newSessionSecret): 16 to 64 URL-safe characters. */
const SESSION_SECRET = /^[A-Za-z0-9_-]{16,64}$/;
/** Calls one tRPC batch may hold (the app's client sends at most this many). */
export const TRPC_MAX_BATCH = 16;

export async function startServer({
  config,
  root = process.cwd(),
  log = console.log,
  creationStages,
}: StartOptions): Promise<RunningServer> {
  fs.mkdirSync(config.dataDir, { recursive: true });
  const migrated = await migrate(config.databaseUrl, root);
  if (migrated.applied.length) log(`database: applied ${migrated.applied.join(", ")}`);
  const db = createDb(config.databaseUrl);
  if (config.seedDemo) await seedDemo(db, log, config.dataDir);

  const nextEvents = new EventEmitter();
  const nextApp = next({
    dev: config.dev,
    dir: root,
    quiet: !config.dev,
    httpServer: nextEvents as unknown as http.Server,
  });
  await nextApp.prepare();
  const nextHandler = nextApp.getRequestHandler();

  const policy = makeOriginPolicy(config);
  const auth: OwnerAuth = { ownerKey: config.ownerKey, policy };
  const secureCookie = policy.publicOrigin?.startsWith("https:") ?? false;
  const bus = config.redisUrl ? await ClusterBus.connect(config.redisUrl, config.redisPrefix, log) : null;
  if (bus && !isPostgresUrl(config.databaseUrl))
    log(
      "cluster: REDIS_URL is set but the database is SQLite: only processes on this machine can share it (docs/deploy.md)",
    );
  const linkSessions = new LinkSessions();
  if (bus) await linkSessions.joinCluster(bus);
  const docs = new DocStore(db, { compactAfterUpdates: config.compactAfterUpdates, bus, log });
  const yjs = new YjsServer(docs, {
    maxMessageBytes: config.maxWsMessageBytes,
    maxDocBytes: config.maxDocBytes,
    linkSessions,
    log,
  });
  const avatars = new AvatarStore(db, config.dataDir);
  const exporter = new AvatarExporter();
  // Several processes: this one queues creation jobs for the workers (npm run worker) instead of running them.
  const creationQueue =
    config.redisUrl && bus ? await CreationQueue.open(config.redisUrl, config.redisPrefix, log) : null;
  const jobs = new JobRunner({
    db,
    dataDir: config.dataDir,
    stages: creationStages ?? (await defaultStages(log)),
    concurrency: config.jobConcurrency,
    log,
    shared: bus && creationQueue ? { role: "web", queue: creationQueue, bus } : null,
  });
  // An avatar opened while it was being created got the placeholder; when its job changes state, read it again.
  jobs.subscribe((e) => {
    if (e.type !== "change" || !e.status) return;
    jobs.view(e.jobId).then(
      (v) => v && avatars.forget(v.avatarId),
      () => undefined,
    );
  });

  const server = http.createServer((req, res) => {
    handleRequest(req, res).catch((err: Error) => {
      log(`http: ${req.method} ${req.url} failed: ${err.stack ?? err.message}`);
      if (!res.headersSent)
        sendHtml(res, 500, "Something went wrong", "The server could not answer this request. It has been logged.");
      else res.destroy();
    });
  });

  async function handleRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = requestUrl(req);
    if (!url) return sendHtml(res, 400, "Bad request", "The address of this request could not be read.");
    const pathname = url.pathname;
    // Nothing but the embeddable player may be shown in another site's frame (clickjacking).
    for (const [k, v] of Object.entries(NO_FRAMING)) res.setHeader(k, v);
    // DNS rebinding: a page on another name that now resolves here is not answered.
    if (!isAllowedHost(req, policy)) {
      req.resume();
      return sendHtml(
        res,
        421,
        "Unknown host name",
        `This server does not answer to the name in this request. Its owner can add it to ALLOWED_HOSTS or PUBLIC_URL.`,
      );
    }
    // Another site's page may not change anything here (CSRF): not with the owner's cookie, not from the owner's machine.
    if (!isSafeMethod(req.method) && isCrossSiteRequest(req, policy)) {
      req.resume();
      return sendJsonError(
        res,
        403,
        "cross-site",
        "Requests from another site are refused. Open the studio itself to do this.",
      );
    }

    /** The caller's access, the share token from the header or, for links a page cannot add a header to, `?token=`. */
    const accessWithQueryToken = () => {
      const headerToken = req.headers[SHARE_TOKEN_HEADER];
      return accessFor(
        db,
        req,
        auth,
        typeof headerToken === "string" && headerToken ? headerToken : url.searchParams.get("token"),
      );
    };

    if (pathname === "/healthz") {
      await db.avatar.count();
      res.writeHead(200, { "content-type": "application/json", "cache-control": "no-store" });
      res.end(JSON.stringify({ ok: true, uptimeSeconds: Math.round(process.uptime()) }));
      return;
    }

    if (pathname.startsWith("/api/trpc/")) {
      const headerToken = req.headers[SHARE_TOKEN_HEADER];
      const token = typeof headerToken === "string" && headerToken ? headerToken : null;
      const access = await accessFor(db, req, auth, token);
      const origin = publicOriginFor(req, policy, config.port);
      await nodeHTTPRequestHandler({
        router: appRouter,
        req,
        res,
        path: pathname.slice("/api/trpc/".length),
        maxBodySize: config.maxBodyBytes,
        maxBatchSize: TRPC_MAX_BATCH,
        createContext: () => ({ db, access, origin, jobs, linkSessions }),
      });
      return;
    }

    // Portrait uploads, their pictures and the jobs' artifacts: the owner's alone.
    if (pathname === "/api/portraits" || pathname.startsWith("/api/portraits/") || pathname.startsWith("/api/jobs/")) {
      const access = await accessWithQueryToken();
      if (access.kind === "none") {
        req.resume();
        return sendJsonError(res, 401, access.reason, ACCESS_DENIED_MESSAGES[access.reason]);
      }
      if (access.kind !== "owner") {
        req.resume();
        return sendJsonError(res, 403, "owner-only", "Only the owner of this studio can do that; a share link cannot.");
      }
      if (pathname === "/api/portraits") {
        if (req.method !== "POST") return sendJsonError(res, 405, "method-not-allowed", "Upload a portrait with POST.");
        return uploadPortrait(req, res, { dataDir: config.dataDir, maxBytes: config.maxUploadBytes, log });
      }
      if (req.method !== "GET" && req.method !== "HEAD")
        return sendJsonError(res, 405, "method-not-allowed", "Only GET is allowed here.");
      const portraitFile = /^\/api\/portraits\/([^/]+)\/([a-z]+\.(?:png|jpg))$/.exec(pathname);
      if (portraitFile) {
        const id = safeDecode(portraitFile[1]!) ?? "";
        const name = portraitFile[2]!;
        if (!isPortraitId(id) || !(PORTRAIT_FILES as readonly string[]).includes(name))
          return sendJsonError(res, 404, "not-found", "No such portrait file.");
        return sendFile(req, res, path.join(portraitDir(config.dataDir, id), name), `No portrait with id "${id}".`);
      }
      const artifact = /^\/api\/jobs\/([^/]+)\/artifacts\/([a-z-]+)$/.exec(pathname);
      if (artifact) {
        const jobId = safeDecode(artifact[1]!) ?? "";
        const file = jobId.length <= 64 ? await jobs.artifactPath(jobId, artifact[2]!) : null;
        if (!file)
          return sendJsonError(res, 404, "not-found", `Job "${jobId}" has no artifact "${artifact[2]}" (yet).`);
        return sendFile(req, res, file, "The artifact's file is gone.");
      }
      return sendJsonError(res, 404, "not-found", "No such API path.");
    }

    // An avatar's bundle files, for pages that render it themselves (LOCAL mode).
    const bundleFile = /^\/api\/avatars\/([^/]+)\/bundle\/((?:thumbs\/)?[a-z0-9_-]+(?:\.[a-z0-9]+)*)$/.exec(pathname);
    if (bundleFile && req.method === "GET") {
      const avatarId = safeDecode(bundleFile[1]!) ?? "";
      const access = await accessWithQueryToken();
      if (access.kind === "none" || !canView(access, avatarId) || avatarId.length > 64)
        return sendJson(res, 404, { error: "not-found", message: "No such avatar." });
      let dir: string;
      try {
        dir = await avatars.bundleDir(avatarId);
      } catch (err) {
        if (err instanceof AvatarNotFoundError) return sendJson(res, 404, { error: "not-found", message: err.message });
        throw err;
      }
      const file = path.join(dir, bundleFile[2]!);
      const stat = await fs.promises.stat(file).catch(() => null);
      if (!stat?.isFile())
        return sendJson(res, 404, { error: "not-found", message: `The bundle has no ${bundleFile[2]}.` });
      res.writeHead(200, {
        "content-type": "application/octet-stream",
        "content-length": stat.size,
        "cache-control": "no-store",
      });
      fs.createReadStream(file).pipe(res);
      return;
    }

    // The avatar as it looks now (sliders, expression, pose), as a splat file for other viewers and engines.
    const exportFile = /^\/api\/avatars\/([^/]+)\/export\.([a-z]+)$/.exec(pathname);
    if (exportFile && req.method === "GET") {
      const avatarId = safeDecode(exportFile[1]!) ?? "";
      const format = exportFile[2]!;
      if (!isExportFormat(format))
        return sendJsonError(
          res,
          404,
          "not-found",
          `No export format "${format}": ${Object.keys(EXPORT_FORMATS).join(", ")} are.`,
        );
      const access = await accessWithQueryToken();
      const row =
        avatarId.length <= 64 ? await db.avatar.findUnique({ where: { id: avatarId }, select: { name: true } }) : null;
      if (access.kind === "none" || !canView(access, avatarId) || !row)
        return sendJsonError(res, 404, "not-found", "No such avatar.");
      let bytes: Uint8Array;
      try {
        bytes = await exportCurrentState({ avatars, docs, exporter }, avatarId, format);
      } catch (err) {
        if (err instanceof AvatarNotFoundError) return sendJsonError(res, 404, "not-found", err.message);
        log(`export: ${avatarId} as ${format} failed: ${(err as Error).stack ?? (err as Error).message}`);
        return sendJsonError(res, 500, "internal", `The avatar could not be exported: ${(err as Error).message}`);
      }
      const base = row.name.replace(/[^A-Za-z0-9._-]+/g, "-").replace(/^-+|-+$/g, "") || "avatar";
      res.writeHead(200, {
        "content-type": EXPORT_FORMATS[format].contentType,
        "content-length": bytes.byteLength,
        "content-disposition": `attachment; filename="${base}.${format}"`,
        "cache-control": "no-store",
      });
      res.end(bytes);
      return;
    }

    // Models the pages run themselves (the camera driver's face mesh).
    if (pathname.startsWith("/models/") && (await serveBrowserModel(req, res, pathname))) return;

    // oEmbed: the iframe for a view link, asked by other sites (and their servers), so readable from anywhere.
    if (pathname === "/api/oembed" && (req.method === "GET" || req.method === "HEAD")) {
      const answer = await oembedFor(db, publicOriginFor(req, policy, config.port), url.searchParams);
      res.setHeader("access-control-allow-origin", "*");
      if (answer.status !== 200) return sendJsonError(res, answer.status, "oembed", answer.message);
      return sendJson(res, 200, answer.body);
    }

    // The owner presents OWNER_KEY once; it is kept in a cookie.
    const presentedKey = url.searchParams.get("owner_key");
    if (presentedKey !== null && config.ownerKey) {
      if (!sameSecret(presentedKey, config.ownerKey))
        return sendHtml(res, 403, "Wrong owner key", ACCESS_DENIED_MESSAGES.private);
      url.searchParams.delete("owner_key");
      // One leading slash: "//host" would be a redirect to another site.
      res.writeHead(303, {
        location: `/${url.pathname.replace(/^\/+/, "")}${url.search}`,
        "set-cookie": ownerCookieHeader(config.ownerKey, secureCookie),
      });
      res.end();
      return;
    }

    const share = /^\/(s|embed)\/([^/]+)\/?$/.exec(pathname);
    if (share) {
      const access = await resolveToken(db, safeDecode(share[2]!) ?? "");
      if (access.kind === "none") {
        const gone = access.reason === "expired" || access.reason === "revoked";
        return sendHtml(
          res,
          gone ? 410 : 404,
          gone ? "This link no longer works" : "Link not found",
          ACCESS_DENIED_MESSAGES[access.reason],
        );
      }
      if (access.role === "view") {
        const origin = publicOriginFor(req, policy, config.port);
        res.setHeader("link", oembedLinkHeader(origin, `${origin}${pathname}`));
      }
      if (share[1] === "embed") {
        // An edit link in another site's page would let that page change the avatar.
        if (access.role !== "view")
          return sendHtml(
            res,
            403,
            "Only view links can be embedded",
            "This link can edit the avatar. Create a view link in the share dialog and embed that one.",
          );
        res.removeHeader("x-frame-options");
        for (const [k, v] of Object.entries(embedFramingHeaders(config.embedFrameAncestors))) res.setHeader(k, v);
      }
      return nextHandler(req, res);
    }

    // The upload page and job pages are the owner's too (their API is, in any case).
    const ownerPage =
      pathname === "/" ||
      pathname === "/new" ||
      ["/avatars", "/jobs"].some((p) => pathname === p || pathname.startsWith(`${p}/`));
    if (ownerPage && !isOwnerRequest(req, auth)) {
      return sendHtml(res, 403, "This studio is private", ACCESS_DENIED_MESSAGES.private);
    }
    return nextHandler(req, res);
  }

  const { hub: stream, gpu } = streamHubFor(config, { docs, avatars, log });
  const io = attachSocketServer(server, {
    db,
    docs,
    stream,
    jobs,
    auth,
    linkSessions,
    bus,
    renderNodes: bus
      ? {
          directory: new RenderNodeDirectory(bus.commands(), bus.prefix),
          secret: await clusterSecret(bus.commands(), bus.prefix),
        }
      : null,
    maxMessageBytes: config.maxWsMessageBytes,
    log,
  });

  server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = requestUrl(req);
    if (!url) return rejectUpgrade(socket, 400, "Bad Request");
    // engine.io's own listener answers it, after socket.io's allowRequest applies the same policy.
    if (url.pathname.startsWith("/socket.io/")) return;
    // Browsers always send Origin on websockets: another site's page (cross-site websocket hijacking) is refused.
    if (!isAllowedHost(req, policy)) return rejectUpgrade(socket, 421, "Misdirected Request");
    if (originVerdict(req, policy) === "foreign") return rejectUpgrade(socket, 403, "Forbidden");
    if (url.pathname.startsWith("/_next/")) {
      nextEvents.emit("upgrade", req, socket, head);
      return;
    }
    const yjsPath = /^\/yjs\/([^/]+)$/.exec(url.pathname);
    if (yjsPath) {
      void upgradeYjs(
        req,
        socket,
        head,
        safeDecode(yjsPath[1]!) ?? "",
        url.searchParams.get("token"),
        url.searchParams.get("session"),
      ).catch((err: Error) => {
        log(`yjs: upgrade failed: ${err.message}`);
        rejectUpgrade(socket, 500, "Internal Server Error");
      });
      return;
    }
    rejectUpgrade(socket, 404, "Not Found");
  });

  async function upgradeYjs(
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    avatarId: string,
    token: string | null,
    session: string | null,
  ) {
    if (session !== null && !SESSION_SECRET.test(session)) return rejectUpgrade(socket, 400, "Bad Request");
    const access = await accessFor(db, req, auth, token);
    if (access.kind === "none") return rejectUpgrade(socket, 401, "Unauthorized");
    const avatar =
      avatarId.length <= 64 ? await db.avatar.findUnique({ where: { id: avatarId }, select: { id: true } }) : null;
    if (!avatar || !canView(access, avatarId)) return rejectUpgrade(socket, 404, "Not Found");
    yjs.wss.handleUpgrade(req, socket, head, (ws) => {
      void yjs.accept(ws, req, avatarId, access, session);
    });
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(config.port, config.host, () => resolve());
  });
  const port = (server.address() as { port: number }).port;
  const url = `http://localhost:${port}`;
  // Jobs a previous process left unfinished continue now.
  await jobs.start();

  let closing: Promise<void> | null = null;
  return {
    url,
    port,
    db,
    docs,
    yjs,
    io,
    stream,
    jobs,
    linkSessions,
    bus,
    close() {
      closing ??= (async () => {
        // First: a running stage is aborted but not marked failed, so the next start resumes it.
        await jobs.close();
        yjs.close();
        stream.close();
        await new Promise<void>((resolve) => io.close(() => resolve()));
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
        await closePortraitAnalysis();
        await exporter.close();
        await docs.flushAll();
        await creationQueue?.close();
        await bus?.close();
        await nextApp.close();
        await db.$disconnect();
        (await gpu())?.destroy();
      })();
      return closing;
    },
  };
}

/**
 * The request's path and query, or null when they cannot be read. Joined to
 * a fixed origin rather than resolved against it, so "//" stays a path
 * instead of becoming a host.
 */
function requestUrl(req: IncomingMessage): URL | null {
  const target = req.url ?? "/";
  if (!target.startsWith("/")) return null;
  try {
    return new URL(`http://internal${target}`);
  } catch {
    return null;
  }
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

const CONTENT_TYPES: Record<string, string> = {
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".jpeg": "image/jpeg",
  ".webp": "image/webp",
  ".json": "application/json",
};

/** A file the caller has already checked the path of; 404 JSON when it is not there. */
async function sendFile(req: IncomingMessage, res: ServerResponse, file: string, missing: string): Promise<void> {
  const stat = await fs.promises.stat(file).catch(() => null);
  if (!stat?.isFile()) return sendJsonError(res, 404, "not-found", missing);
  res.writeHead(200, {
    "content-type": CONTENT_TYPES[path.extname(file).toLowerCase()] ?? "application/octet-stream",
    "content-length": stat.size,
    "cache-control": "private, no-cache",
    "x-content-type-options": "nosniff",
  });
  if (req.method === "HEAD") return void res.end();
  fs.createReadStream(file).pipe(res);
}

function sendHtml(res: ServerResponse, status: number, title: string, message: string): void {
  res.writeHead(status, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" });
  res.end(errorPage(title, message));
}

function rejectUpgrade(socket: Duplex, status: number, text: string): void {
  if (socket.writable) socket.write(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  socket.destroy();
}
