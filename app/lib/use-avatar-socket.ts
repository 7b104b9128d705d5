"use client";
/**
 * The editor page's one socket.io connection, shared by avatar info, clip
 * commands and StreamView's frames, so that one outdated-protocol hello or
 * session:ended stops all of them. The clock offset lets LOCAL mode place a
 * clip at the time the server started it, whatever this machine's clock says.
 */
import { useEffect, useState } from "react";
import type { AvatarInfo } from "../../protocol/messages";
import { connectSocket, type AppSocket } from "./socket";

export interface AvatarSocketOptions {
  avatarId: string;
  shareToken: string | null;
  /** False for view-only links: clip commands are then not sent. */
  canEdit: boolean;
  /** The page cannot go on (outdated protocol, unknown avatar, session ended). Must be stable (a state setter). */
  onStopped: (message: string) => void;
  /** The server refused one command. Must be stable (a state setter). */
  onRefused: (message: string) => void;
}

export function useAvatarSocket({ avatarId, shareToken, canEdit, onStopped, onRefused }: AvatarSocketOptions) {
  const [info, setInfo] = useState<AvatarInfo | null>(null);
  const [socket, setSocket] = useState<AppSocket | null>(null);
  const [serverOffsetMs, setServerOffsetMs] = useState(0);

  useEffect(() => {
    const s = connectSocket(shareToken, onStopped);
    const onConnect = () => {
      const sent = Date.now();
      void s.emitWithAck("health:ping").then((pong) => setServerOffsetMs(pong.serverTime - (sent + Date.now()) / 2));
      s.emitWithAck("avatar:info", { avatarId }).then((reply) =>
        reply.ok ? setInfo(reply.value) : onStopped(reply.message),
      );
      void s.emitWithAck("avatar:join", { avatarId });
    };
    const onEnded = (ended: { message: string }) => onStopped(ended.message);
    s.on("connect", onConnect);
    s.on("session:ended", onEnded);
    setSocket(s);
    return () => {
      s.off("connect", onConnect);
      s.off("session:ended", onEnded);
      s.close();
      setSocket(null);
    };
  }, [avatarId, shareToken, onStopped]);

  /** Plays clip `name` for everyone in the room, or stops the playing clip when `name` is null. */
  async function playClip(name: string | null) {
    if (!socket || !canEdit) return;
    const reply = await socket.emitWithAck("avatar:command", {
      avatarId,
      command: name ? { type: "play-clip", clip: name } : { type: "stop-clip" },
    });
    if (!reply.ok) onRefused(reply.message);
  }

  return { socket, info, serverOffsetMs, playClip };
}
