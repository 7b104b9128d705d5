/**
 * The socket.io protocol between the app and the server: one version
 * constant and the typed events in both directions. The app imports this
 * file as types (and the constants objects) only.
 */
export const PROTOCOL_VERSION = 1;

/** Reason codes a refused socket.io command carries. */
export const SocketErrorCodes = {
  viewOnly: "view-only",
  notFound: "not-found",
  notJoined: "not-joined",
  badRequest: "bad-request",
  unauthorized: "unauthorized",
  internal: "internal",
  busy: "busy",
} as const;
export type SocketErrorCode = (typeof SocketErrorCodes)[keyof typeof SocketErrorCodes];

export type SocketResult<T> = { ok: true; value: T } | { ok: false; code: SocketErrorCode; message: string };

/** State-changing commands on an avatar; refused for view-only links. */
export type AvatarCommand =
  | { type: "reset-attributes" }
  | { type: "set-attribute"; key: string; value: number }
  | { type: "play-clip"; clip: string }
  | { type: "stop-clip" };

/** What the editor shows controls for. */
export interface AvatarInfo {
  /** Attribute categories in order, each with its anchors' labels (slider ends: the first two unless the document's "ends" picks others) and thumbnails (bundle file names). */
  categories: Array<{ name: string; anchors: string[]; thumbnails: Array<string | null> }>;
  clips: string[];
  gaussians: number;
  /** True while the avatar is an untrained placeholder (no bundle yet). */
  placeholder: boolean;
}

/** A STREAM viewer's own camera: an orbit around the head. */
export interface StreamCamera {
  yawDeg: number;
  pitchDeg: number;
  /** Metres from the head's centre. */
  distance: number;
}

export interface StreamStartRequest {
  avatarId: string;
  width: number;
  height: number;
  camera: StreamCamera;
}

/** One rendered frame for one viewer. */
export interface StreamFrame {
  frameId: number;
  /** The avatar document's version the frame shows (to measure change-to-photon latency). */
  version: number;
  width: number;
  height: number;
  mime: "image/jpeg";
  data: ArrayBuffer | Uint8Array;
  quality: number;
  /** Server-side milliseconds: bake submission (0 when none was needed; on a GPU the bake runs inside renderMs), deform + render + readback, encode. */
  bakeMs: number;
  renderMs: number;
  encodeMs: number;
  /** Which renderer made it: "webgpu" (adapter description) or "cpu". */
  backend: string;
  /** When the camera frame behind the face it shows was taken (DriveState.at, server clock), while someone drives. */
  driveAt?: number;
}

/** A creation job's state, as job:watch, job:update and the jobs.* API return it. */
export const JobStatuses = {
  queued: "queued",
  running: "running",
  done: "done",
  failed: "failed",
  cancelled: "cancelled",
} as const;
export type JobStatus = (typeof JobStatuses)[keyof typeof JobStatuses];

export const StageStatuses = {
  pending: "pending",
  running: "running",
  done: "done",
  failed: "failed",
  skipped: "skipped",
} as const;
export type StageStatus = (typeof StageStatuses)[keyof typeof StageStatuses];

export interface JobStageView {
  /** Stable id ("analyse", "fit", ...). */
  name: string;
  label: string;
  status: StageStatus;
  /** 0..1 within the stage. */
  progress: number;
  /** Seconds spent in the stage so far (over every run of it). */
  seconds: number;
}

export interface JobView {
  id: string;
  /** The avatar being made; after a cancel it names the deleted avatar. */
  avatarId: string;
  avatarName: string;
  status: JobStatus;
  /** 1 = the next job to start; null unless queued. */
  queuePosition: number | null;
  /**
   * Job workers running (a studio of several processes, docs/deploy.md), so that a queued job can say it waits
   * for one; null where the server runs jobs itself, or unless queued.
   */
  workersOnline?: number | null;
  /** The running (or failed) stage's name; null before the first and after the last. */
  stage: string | null;
  /** 0..1 over the whole job (stage weights normalised). */
  progress: number;
  /** Seconds until done; null while unknown. */
  etaSeconds: number | null;
  stages: JobStageView[];
  /** The last 200 log lines. */
  log: string[];
  /** Short, user-readable reason of a failure. */
  error: string | null;
  /** Artifact name ("overlay", "fit", ...) -> URL of the image (/api/jobs/<id>/artifacts/<name>). */
  artifacts: Record<string, string>;
  /** ISO 8601 times. */
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  portrait: { id: string; thumbnailUrl: string };
}

export interface ServerHello {
  protocol: number;
  role: "owner" | "edit" | "view";
  /** The avatar a share link is limited to; null for the owner. */
  avatarId: string | null;
}

export interface ClientToServerEvents {
  "health:ping": (ack: (reply: { ok: true; protocol: number; serverTime: number }) => void) => void;
  echo: (payload: unknown, ack: (reply: unknown) => void) => void;
  "avatar:join": (req: { avatarId: string }, ack: (reply: SocketResult<{ role: ServerHello["role"] }>) => void) => void;
  "avatar:command": (
    req: { avatarId: string; command: AvatarCommand },
    ack: (reply: SocketResult<{ version: number }>) => void,
  ) => void;
  "avatar:info": (req: { avatarId: string }, ack: (reply: SocketResult<AvatarInfo>) => void) => void;
  "stream:start": (
    req: StreamStartRequest,
    ack: (reply: SocketResult<{ backend: string; maxFps: number }>) => void,
  ) => void;
  /**
   * Where this avatar's frames come from: a render node's address and a ticket to present there (auth.ticket),
   * or null when this process streams them itself (no render node is running).
   */
  "stream:locate": (
    req: { avatarId: string; /** A node address this page could not reach just now. */ unreachable?: string },
    ack: (reply: SocketResult<StreamLocation | null>) => void,
  ) => void;
  "stream:camera": (req: { camera: StreamCamera; width?: number; height?: number }) => void;
  "stream:ack": (req: { frameId: number }) => void;
  "stream:stop": () => void;
  /** Owner only: the job's current view, then job:update and job:log until job:unwatch. */
  "job:watch": (req: { jobId: string }, ack: (reply: SocketResult<JobView>) => void) => void;
  "job:unwatch": (req: { jobId: string }) => void;
}

/** A render node that serves an avatar's stream (docs/deploy.md). */
export interface StreamLocation {
  url: string;
  /** Opens one connection to that node for this avatar, within a minute; bound to the page's origin. */
  ticket: string;
}

export interface ServerToClientEvents {
  "server:hello": (hello: ServerHello) => void;
  "stream:frame": (frame: StreamFrame) => void;
  /** The stream stopped on the server's side (avatar gone, server closing, a limit). */
  "stream:ended": (reason: { code: SocketErrorCode; message: string }) => void;
  /** The share link this connection was opened with was revoked or expired; the server disconnects right after. */
  "session:ended": (ended: { code: "unauthorized"; reason: "revoked" | "expired"; message: string }) => void;
  /** A watched job changed: at most 4 a second per job, and always on a status change. */
  "job:update": (view: JobView) => void;
  /** New log lines of a watched job, batched. */
  "job:log": (batch: { jobId: string; lines: string[] }) => void;
}
