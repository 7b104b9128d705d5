/**
 * Server configuration from the environment, resolved once into a frozen
 * object. Every field: meaning, unit, default.
 */
import path from "node:path";
import { defaultDatabaseUrl } from "./storage/layout";

export interface ServerConfig {
  /** TCP port to listen on. Env PORT, default 3000; 0 picks a free port. */
  port: number;
  /** Interface to bind. Env HOST, default 0.0.0.0 (all). */
  host: string;
  /** Root of all files (database, portraits, datasets, bundles). Env DATA_DIR, default ./data. */
  dataDir: string;
  /** Database URL. Env DATABASE_URL; default file:<DATA_DIR>/perse.db (SQLite). postgres://... selects PostgreSQL. */
  databaseUrl: string;
  /**
   * Redis that joins this process to the others of one studio (several web processes on one database):
   * shared editing, presence, revocations and socket.io rooms cross processes through it. Env REDIS_URL,
   * e.g. redis://127.0.0.1:6379; default unset (one process, nothing shared). See docs/deploy.md.
   */
  redisUrl: string | null;
  /** Prefix of every Redis key and channel of this studio, so that studios can share one Redis. Env REDIS_PREFIX, default "perse". */
  redisPrefix: string;
  /** Next.js dev mode (HMR). `--dev` flag or NODE_ENV !== "production". */
  dev: boolean;
  /**
   * Owner access without a share link. Env OWNER_KEY: when set, the owner must
   * present it once as /?owner_key=KEY (it is kept in a cookie). When unset, only
   * requests from loopback (this machine) are the owner. Behind a reverse proxy
   * every request looks local: set OWNER_KEY there.
   */
  ownerKey: string | null;
  /**
   * The address people reach the studio at, e.g. https://studio.example. Share
   * URLs are built on it, its host is one the server answers to, its origin may
   * connect, and an https URL makes the owner cookie Secure. Env PUBLIC_URL,
   * default unset (share URLs then use the Host the owner browsed, which must be
   * a loopback name, an IP address or an ALLOWED_HOSTS name).
   */
  publicUrl: string | null;
  /** Other sites' origins whose pages may connect with share links (never as the owner). Env ALLOWED_ORIGINS, comma-separated. */
  allowedOrigins: string[];
  /**
   * Sites whose pages may show a view link's embedded player (/embed/<token>) in a frame: CSP frame-ancestors
   * sources. Env EMBED_FRAME_ANCESTORS: origins separated by spaces or commas, "'none'" to allow no embedding;
   * default "*" (any site). Every other page refuses all framing.
   */
  embedFrameAncestors: string;
  /** Host names, besides loopback names, IP addresses and PUBLIC_URL's, that this server answers to. Env ALLOWED_HOSTS, comma-separated. */
  allowedHosts: string[];
  /** Largest avatar shared state (the encoded Yjs document), bytes; edits past it are refused. Env MAX_DOC_BYTES, default 1 MiB. */
  maxDocBytes: number;
  /** Largest websocket message accepted (Yjs and socket.io), bytes. Env MAX_WS_MESSAGE_BYTES, default 1 MiB. */
  maxWsMessageBytes: number;
  /** Largest HTTP request body accepted by the API, bytes. Env MAX_BODY_BYTES, default 1 MiB. */
  maxBodyBytes: number;
  /** Compact an avatar's Yjs update log into one update once it holds this many rows. Default 200. */
  compactAfterUpdates: number;
  /** Create the demo avatar when the database has no avatar. Env SEED_DEMO, default true. */
  seedDemo: boolean;
  /** STREAM viewers served at once by this process. Env STREAM_MAX_VIEWERS, default 16. */
  streamMaxViewers: number;
  /** Largest streamed frame, pixels (width x height). Env STREAM_MAX_PIXELS, default 1024 x 1024. */
  streamMaxPixels: number;
  /**
   * Renderer of streamed frames. Env STREAM_BACKEND: "auto" (default: WebGPU through Dawn on a hardware
   * adapter, else the CPU twins on a worker thread per avatar), "webgpu" (Dawn on any adapter, software
   * ones included) or "cpu".
   */
  streamBackend: "auto" | "webgpu" | "cpu";
  /**
   * Dawn's skip_validation and disable_robustness toggles for the server's own GPU device (its kernels are
   * the project's, tested with validation on): no validation pass before each indirect dispatch and no
   * bounds checks. Env GPU_SKIP_VALIDATION=true; default off.
   */
  gpuSkipValidation: boolean;
  /** Largest portrait upload accepted (POST /api/portraits), bytes; refused with 413 while it streams in. Env MAX_UPLOAD_BYTES, default 20 MiB. */
  maxUploadBytes: number;
  /** Creation jobs run at once by this process; the others queue. Env JOB_CONCURRENCY, default 1. */
  jobConcurrency: number;
}

function streamBackendFromEnv(value: string | undefined): ServerConfig["streamBackend"] {
  if (value === undefined || value === "" || value === "auto") return "auto";
  if (value === "cpu" || value === "webgpu") return value;
  throw new Error(`config: STREAM_BACKEND must be auto, webgpu or cpu, got "${value}"`);
}

const FRAME_SOURCE = /^(\*|'self'|https?:\/\/(\*\.)?[A-Za-z0-9.-]+(:\d{1,5})?)$/;

/**
 * The frame-ancestors sources from EMBED_FRAME_ANCESTORS: "*" (any site, the
 * default: a view link shows nothing its holder could not pass on anyway),
 * "'none'" (no embedding), or origins separated by spaces or commas.
 */
export function parseFrameAncestors(value: string | undefined): string {
  const raw = (value ?? "").trim();
  if (raw === "") return "*";
  if (raw === "'none'" || raw === "none") return "'none'";
  const sources = raw.split(/[\s,]+/).filter(Boolean);
  const bad = sources.find((s) => !FRAME_SOURCE.test(s));
  if (bad)
    throw new Error(
      `config: EMBED_FRAME_ANCESTORS entry "${bad}" is not *, 'self', 'none' or an http(s) origin such as https://blog.example`,
    );
  return sources.join(" ");
}

function intFromEnv(name: string, fallback: number, min: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) {
    throw new Error(`config: ${name} must be an integer >= ${min}, got "${raw}"`);
  }
  return value;
}

function listFromEnv(name: string): string[] {
  return (process.env[name] ?? "")
    .split(",")
    .map((v) => v.trim())
    .filter(Boolean);
}

export function loadConfig(overrides: Partial<ServerConfig> = {}, argv: string[] = process.argv): ServerConfig {
  const dataDir = path.resolve(overrides.dataDir ?? process.env.DATA_DIR ?? "./data");
  const resolved: ServerConfig = {
    port: intFromEnv("PORT", 3000, 0),
    host: process.env.HOST || "0.0.0.0",
    dataDir,
    databaseUrl: process.env.DATABASE_URL || defaultDatabaseUrl(dataDir),
    redisUrl: process.env.REDIS_URL || null,
    redisPrefix: process.env.REDIS_PREFIX || "perse",
    dev: argv.includes("--dev") || (process.env.NODE_ENV !== "production" && !argv.includes("--prod")),
    ownerKey: process.env.OWNER_KEY || null,
    publicUrl: process.env.PUBLIC_URL || null,
    allowedOrigins: listFromEnv("ALLOWED_ORIGINS"),
    allowedHosts: listFromEnv("ALLOWED_HOSTS"),
    embedFrameAncestors: parseFrameAncestors(process.env.EMBED_FRAME_ANCESTORS),
    maxDocBytes: intFromEnv("MAX_DOC_BYTES", 1 << 20, 4096),
    maxWsMessageBytes: intFromEnv("MAX_WS_MESSAGE_BYTES", 1 << 20, 1024),
    maxBodyBytes: intFromEnv("MAX_BODY_BYTES", 1 << 20, 1024),
    compactAfterUpdates: intFromEnv("COMPACT_AFTER_UPDATES", 200, 2),
    seedDemo: process.env.SEED_DEMO !== "false",
    streamMaxViewers: intFromEnv("STREAM_MAX_VIEWERS", 16, 1),
    streamMaxPixels: intFromEnv("STREAM_MAX_PIXELS", 1024 * 1024, 256),
    streamBackend: streamBackendFromEnv(process.env.STREAM_BACKEND),
    gpuSkipValidation: process.env.GPU_SKIP_VALIDATION === "true",
    maxUploadBytes: intFromEnv("MAX_UPLOAD_BYTES", 20 * 1024 * 1024, 1024),
    jobConcurrency: intFromEnv("JOB_CONCURRENCY", 1, 1),
    ...overrides,
  };
  resolved.dataDir = dataDir;
  return Object.freeze(resolved);
}
