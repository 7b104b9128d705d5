"use client";
/**
 * The embeddable player (/embed/<token>, for another site's iframe): a view
 * link's avatar, live, without the editor around it. It renders LOCAL where
 * the browser has a hardware GPU and STREAM otherwise, as the editor decides,
 * lets the viewer orbit, publishes no presence (an embed is an audience, not
 * a participant), and always shows that the avatar is AI-generated.
 */
import { useEffect, useMemo, useState } from "react";
import { createApi, errorMessage } from "../lib/trpc";
import { probeGpu } from "../lib/gpu-status";
import { useAvatarSocket } from "../lib/use-avatar-socket";
import { useSharedRoom } from "../lib/use-shared-room";
import { useStreamSocket } from "../lib/use-stream-socket";
import { LocalView } from "./LocalView";
import { StreamView } from "./StreamView";

/** Side of the square picture, pixels: the frame's smaller side, within what the stream serves well. */
function pictureSize(): number {
  return Math.max(128, Math.min(768, Math.floor(Math.min(window.innerWidth, window.innerHeight))));
}

const ignore = () => undefined;

export function EmbedPlayer({ token }: { token: string }) {
  const api = useMemo(() => createApi(token), [token]);
  const [avatar, setAvatar] = useState<{ id: string; name: string } | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    api.me
      .query()
      .then(async (me) => {
        if (!me.avatarId) return setError("This link no longer works.");
        if (me.role !== "view") return setError("Only view links can be embedded: create one in the share dialog.");
        const a = await api.avatars.get.query({ id: me.avatarId });
        setAvatar({ id: me.avatarId, name: a.name });
      })
      .catch((e) => setError(errorMessage(e)));
  }, [api]);
  return (
    <div className="embed-player" data-testid="embed-player">
      {avatar && !error && <EmbedStage avatarId={avatar.id} name={avatar.name} token={token} onStopped={setError} />}
      {error && (
        <p className="error" role="alert" data-testid="embed-error">
          {error}
        </p>
      )}
      {!avatar && !error && <p className="muted">Opening the avatar…</p>}
      <div className="ai-label" data-testid="ai-label">
        AI-generated avatar
      </div>
    </div>
  );
}

function EmbedStage({
  avatarId,
  name,
  token,
  onStopped,
}: {
  avatarId: string;
  name: string;
  token: string;
  onStopped: (message: string) => void;
}) {
  const [size, setSize] = useState<number | null>(null);
  const [mode, setMode] = useState<"local" | "stream" | null>(null);
  const session = { avatarId, shareToken: token, canEdit: false, onStopped, onRefused: ignore };
  const { socket, serverOffsetMs } = useAvatarSocket(session);
  const streamSocket = useStreamSocket(socket, avatarId);
  useEffect(() => {
    setSize(pictureSize());
    void probeGpu().then((g) => setMode(g.adapter && !g.software ? "local" : "stream"));
  }, []);
  if (!size || !mode) return null;
  return (
    <>
      {mode === "local" ? (
        <EmbedLocalView
          avatarId={avatarId}
          token={token}
          size={size}
          serverOffsetMs={serverOffsetMs}
          onStopped={onStopped}
          onFail={() => setMode("stream")}
        />
      ) : (
        <StreamView
          socket={streamSocket?.socket ?? null}
          source={streamSocket?.source ?? ""}
          avatarId={avatarId}
          size={size}
          lastEditAt={null}
          serverOffsetMs={serverOffsetMs}
          onStats={ignore}
        />
      )}
      <a
        className="embed-credit"
        data-testid="embed-credit"
        href={`/s/${encodeURIComponent(token)}`}
        target="_blank"
        rel="noopener noreferrer"
      >
        {name} · PERSE Studio
      </a>
    </>
  );
}

/** LOCAL: the page renders the shared state itself, so only this mode opens the avatar's Yjs room (a stream needs none). */
function EmbedLocalView(props: {
  avatarId: string;
  token: string;
  size: number;
  serverOffsetMs: number;
  onStopped: (message: string) => void;
  onFail: () => void;
}) {
  const room = useSharedRoom({
    avatarId: props.avatarId,
    shareToken: props.token,
    canEdit: false,
    onStopped: props.onStopped,
    onRefused: ignore,
    presence: false,
  });
  return (
    <LocalView
      avatarId={props.avatarId}
      shareToken={props.token}
      size={props.size}
      positions={room.positions}
      ends={room.ends}
      controls={room.controls}
      playback={room.playback}
      drive={room.drive}
      serverOffsetMs={props.serverOffsetMs}
      lastEditAt={null}
      onStats={ignore}
      onFail={props.onFail}
    />
  );
}
