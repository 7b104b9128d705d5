"use client";
/**
 * The connection a page's streamed frames come over: the page's own socket,
 * or, in a cluster with render nodes, a connection to the node that serves
 * the avatar (stream:locate gives its address and a ticket). When that node
 * goes away the page asks again and moves to the node that takes the avatar
 * over (docs/deploy.md).
 */
import { useEffect, useState } from "react";
import { io } from "socket.io-client";
import type { AppSocket } from "./socket";

/** How long to wait before asking again after a render node was lost or refused us. */
const RELOCATE_MS = 300;

export interface StreamSocket {
  socket: AppSocket;
  /** "server", or the render node's address. */
  source: string;
}

export function useStreamSocket(socket: AppSocket | null, avatarId: string): StreamSocket | null {
  const [current, setCurrent] = useState<StreamSocket | null>(null);

  useEffect(() => {
    if (!socket) return;
    let closed = false;
    let node: AppSocket | null = null;
    let nodeUrl: string | null = null;
    let timer: ReturnType<typeof setTimeout> | null = null;
    /** The node this page just lost: its web process checks it and, if it is dead, gives the avatar to another. */
    let lost: string | undefined;
    const relocate = () => {
      lost = nodeUrl ?? lost;
      nodeUrl = null;
      node?.close();
      node = null;
      if (!closed && !timer) timer = setTimeout(locate, RELOCATE_MS);
    };
    const locate = async () => {
      timer = null;
      if (closed || node || !socket.connected) return;
      const reply = await socket.emitWithAck("stream:locate", { avatarId, unreachable: lost }).catch(() => null);
      lost = undefined;
      if (closed || node) return;
      if (!reply?.ok || !reply.value) return setCurrent({ socket, source: "server" });
      const { url, ticket } = reply.value;
      const s: AppSocket = io(url, {
        path: "/socket.io",
        auth: { ticket },
        transports: ["websocket"],
        reconnection: false,
      });
      node = s;
      nodeUrl = url;
      s.on("connect", () => !closed && setCurrent({ socket: s, source: url }));
      s.on("connect_error", relocate);
      s.on("disconnect", (reason) => reason !== "io client disconnect" && relocate());
    };
    socket.on("connect", locate);
    void locate();
    return () => {
      closed = true;
      if (timer) clearTimeout(timer);
      socket.off("connect", locate);
      node?.close();
      setCurrent(null);
    };
  }, [socket, avatarId]);

  return current;
}
