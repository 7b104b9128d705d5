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
  /** Attribute categories in order, each with its anchors' labels (slider -1 = first, +1 = second) and thumbnails (bundle file names). */
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
  "avatar:command": (req: { avatarId: string; command: AvatarCommand }, ack: (reply: SocketResult<{ version: number }>) => void) => void;
  "avatar:info": (req: { avatarId: string }, ack: (reply: SocketResult<AvatarInfo>) => void) => void;
  "stream:start": (req: StreamStartRequest, ack: (reply: SocketResult<{ backend: string; maxFps: number }>) => void) => void;
  "stream:camera": (req: { camera: StreamCamera; width?: number; height?: number }) => void;
  "stream:ack": (req: { frameId: number }) => void;
  "stream:stop": () => void;
}

export interface ServerToClientEvents {
  "server:hello": (hello: ServerHello) => void;
  "stream:frame": (frame: StreamFrame) => void;
  /** The stream stopped on the server's side (avatar gone, server closing, a limit). */
  "stream:ended": (reason: { code: SocketErrorCode; message: string }) => void;
}
