"use client";
import { useEffect, useMemo, useState } from "react";
import { createApi, errorMessage } from "../lib/trpc";
import { AvatarRoom } from "./AvatarRoom";

export function SharedAvatar({ token }: { token: string }) {
  const api = useMemo(() => createApi(token), [token]);
  const [avatarId, setAvatarId] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    api.me.query().then(
      (me) => (me.avatarId ? setAvatarId(me.avatarId) : setError("This share link no longer works.")),
      (e) => setError(errorMessage(e)),
    );
  }, [api]);
  if (error)
    return (
      <main>
        <p className="error" role="alert">
          {error}
        </p>
      </main>
    );
  if (!avatarId)
    return (
      <main>
        <p className="muted">Opening the shared avatar…</p>
      </main>
    );
  return <AvatarRoom avatarId={avatarId} shareToken={token} />;
}
