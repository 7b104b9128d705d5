"use client";
import { useEffect, useMemo, useState, type FormEvent } from "react";
import { createApi, errorMessage } from "../lib/trpc";

interface AvatarRow {
  id: string;
  name: string;
  status: string;
  createdAt: string | Date;
}

export function AvatarList() {
  const api = useMemo(() => createApi(), []);
  const [avatars, setAvatars] = useState<AvatarRow[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [name, setName] = useState("");

  const load = () => api.avatars.list.query().then(setAvatars, (e) => setError(errorMessage(e)));
  useEffect(() => {
    void load();
  }, []);

  async function create(e: FormEvent) {
    e.preventDefault();
    setError(null);
    try {
      await api.avatars.create.mutate({ name });
      setName("");
      await load();
    } catch (err) {
      setError(errorMessage(err));
    }
  }

  return (
    <>
      {error && <p className="error" role="alert">{error}</p>}
      {avatars === null && !error && <p className="muted">Loading…</p>}
      {avatars?.length === 0 && (
        <div className="card" data-testid="empty-state">
          <h2>No avatars yet</h2>
          <p className="muted">
            An avatar is made from one portrait photo: PERSE Studio analyses the face, fits a 3D head, synthesises attribute
            videos and trains an editable Gaussian-splat avatar. Until the portrait pipeline lands, create an empty avatar
            below to try shared editing and share links.
          </p>
        </div>
      )}
      {avatars && avatars.length > 0 && (
        <div className="grid" data-testid="avatar-list">
          {avatars.map((a) => (
            <a key={a.id} className="card avatar-card" href={`/avatars/${a.id}`} data-testid="avatar-card">
              <strong>{a.name}</strong>
              <div className="muted">{a.status} · {new Date(a.createdAt).toLocaleDateString()}</div>
            </a>
          ))}
        </div>
      )}
      <form className="row" style={{ marginTop: "1.2rem" }} onSubmit={create}>
        <input type="text" placeholder="Name of a new avatar" value={name} onChange={(e) => setName(e.target.value)} aria-label="Avatar name" />
        <button type="submit" disabled={!name.trim()}>Create avatar</button>
      </form>
    </>
  );
}
