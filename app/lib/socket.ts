"use client";
/** The page's socket.io connection (commands, avatar info, streamed frames), typed by protocol/messages.ts. */
import { io, type Socket } from "socket.io-client";
import { PROTOCOL_VERSION, type ClientToServerEvents, type ServerToClientEvents } from "../../protocol/messages";

export type AppSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

export const OUTDATED_PAGE_MESSAGE = "This page is older than the studio's server (it was updated). Reload the page.";

/**
 * Connects, and checks the server's protocol version on its hello: a page
 * left open across an update closes its socket and calls `onOutdated`
 * instead of speaking a protocol the server no longer understands.
 */
export function connectSocket(shareToken: string | null, onOutdated?: (message: string) => void): AppSocket {
  const socket: AppSocket = io({
    path: "/socket.io",
    auth: shareToken ? { token: shareToken } : {},
    transports: ["websocket"],
  });
  socket.on("server:hello", (hello) => {
    if (hello.protocol === PROTOCOL_VERSION) return;
    socket.close();
    onOutdated?.(OUTDATED_PAGE_MESSAGE);
  });
  return socket;
}
