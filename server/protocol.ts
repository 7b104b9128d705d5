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
} as const;
export type SocketErrorCode = (typeof SocketErrorCodes)[keyof typeof SocketErrorCodes];

export type SocketResult<T> = { ok: true; value: T } | { ok: false; code: SocketErrorCode; message: string };

/** State-changing commands on an avatar; refused for view-only links. */
export type AvatarCommand = { type: "reset-attributes" } | { type: "set-attribute"; key: string; value: number };

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
}

export interface ServerToClientEvents {
  "server:hello": (hello: ServerHello) => void;
}
