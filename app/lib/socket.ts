"use client";
/** The page's socket.io connection (commands, avatar info, streamed frames), typed by server/protocol.ts. */
import { io, type Socket } from "socket.io-client";
import type { ClientToServerEvents, ServerToClientEvents } from "../../server/protocol";

export type AppSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

export function connectSocket(shareToken: string | null): AppSocket {
  return io({ path: "/socket.io", auth: shareToken ? { token: shareToken } : {}, transports: ["websocket"] });
}
