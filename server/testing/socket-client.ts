/**
 * A socket.io client for tests, as the page connects (websocket only, no
 * reconnection): resolves once the server has greeted it (server:hello), or
 * rejects with the refusal. `auth` is a share token or a render-node ticket.
 */
import { io, type Socket } from "socket.io-client";
import type { ClientToServerEvents, ServerToClientEvents } from "../../protocol/messages";

export type TestSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

export function openSocket(
  url: string,
  auth: { token?: string; ticket?: string } = {},
  origin?: string,
): { socket: TestSocket; greeted: Promise<void> } {
  const socket: TestSocket = io(url, {
    auth,
    transports: ["websocket"],
    reconnection: false,
    ...(origin ? { extraHeaders: { origin } } : {}),
  });
  const greeted = new Promise<void>((resolve, reject) => {
    socket.once("server:hello", () => resolve());
    socket.once("connect_error", reject);
  });
  greeted.catch(() => undefined);
  return { socket, greeted };
}

/** openSocket, waiting for the greeting. */
export async function greetedSocket(url: string, auth: { token?: string; ticket?: string } = {}): Promise<TestSocket> {
  const { socket, greeted } = openSocket(url, auth);
  try {
    await greeted;
  } catch (err) {
    socket.close();
    throw err;
  }
  return socket;
}
