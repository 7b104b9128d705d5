"use client";
import { useEffect, useMemo, useState, type FormEvent } from "react";
import { createApi, errorMessage } from "../lib/trpc";
import { formatEta, type JobView } from "../lib/jobs";

interface AvatarRow {
  id: string;
  name: string;
  status: string;
  /** The creation job while the avatar is being created. */
  jobId?: string | null;
  createdAt: string | Date;
}

/** How often the list refreshes while an avatar is being created. */
const POLL_MS = 3000;

export function AvatarList() {
  const api = useMemo(() => createApi(), []);
  const [avatars, setAvatars] = useState<AvatarRow[] | null>(null);
  const [jobs, setJobs] = useState<Map<string, JobView>>(new Map());
  const [error, setError] = useState<string | null>(null);
  const [name, setName] = useState("");

  const load = async () => {
    try {
      const rows = (await api.avatars.list.query()) as AvatarRow[];
      setAvatars(rows);
      if (rows.some((a) => a.status !== "ready")) {
        // Progress of avatars being created; the list still shows without it.
        const list = await api.jobs.list.query().catch(() => [] as JobView[]);
        const byAvatar = new Map<string, JobView>();
        for (const j of list)
          if (!byAvatar.has(j.avatarId) || new Date(j.createdAt) > new Date(byAvatar.get(j.avatarId)!.createdAt))
            byAvatar.set(j.avatarId, j);
        setJobs(byAvatar);
      }
    } catch (e) {
      setError(errorMessage(e));
    }
  };
  useEffect(() => {
    void load();
  }, []);

  const creating = avatars?.some((a) => a.status === "creating") ?? false;
  useEffect(() => {
    if (!creating) return;
    const t = window.setInterval(() => void load(), POLL_MS);
    return () => window.clearInterval(t);
  }, [creating]);

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
      <div className="row" style={{ marginBottom: "1rem" }}>
        <a className="button primary" href="/new" data-testid="new-avatar">
          New avatar from a photo
        </a>
      </div>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      {avatars === null && !error && <p className="muted">Loading…</p>}
      {avatars?.length === 0 && (
        <div className="card" data-testid="empty-state">
          <h2>No avatars yet</h2>
          <p className="muted">
            An avatar is made from one portrait photo: PERSE Studio analyses the face, fits a 3D head, synthesises
            attribute videos and trains an editable Gaussian-splat avatar. Choose{" "}
            <a href="/new">New avatar from a photo</a> to start.
          </p>
        </div>
      )}
      {avatars && avatars.length > 0 && (
        <div className="grid" data-testid="avatar-list">
          {avatars.map((a) => {
            const job = jobs.get(a.id);
            const jobId = a.jobId ?? job?.id ?? null;
            // An avatar still being made (or whose making failed) opens its job page.
            const href = a.status !== "ready" && jobId ? `/jobs/${jobId}` : `/avatars/${a.id}`;
            const eta = a.status === "creating" ? formatEta(job?.etaSeconds) : null;
            return (
              <a
                key={a.id}
                className={`card avatar-card status-${a.status}`}
                href={href}
                data-testid="avatar-card"
                data-status={a.status}
              >
                <strong>{a.name}</strong>
                {a.status === "creating" ? (
                  <>
                    <div className="muted" data-testid="avatar-card-progress">
                      {job ? `Creating · ${Math.floor(job.progress * 100)}%${eta ? ` · ${eta}` : ""}` : "Creating…"}
                    </div>
                    <div className="bar">
                      <div style={{ width: `${(job?.progress ?? 0) * 100}%` }} />
                    </div>
                  </>
                ) : (
                  <div className="muted">
                    {a.status === "failed" ? "creation failed" : a.status} ·{" "}
                    {new Date(a.createdAt).toLocaleDateString()}
                  </div>
                )}
              </a>
            );
          })}
        </div>
      )}
      <form className="row" style={{ marginTop: "1.5rem" }} onSubmit={create}>
        <span className="muted">Or an empty avatar (an untrained placeholder) to try shared editing:</span>
        <input
          type="text"
          placeholder="Name of a new avatar"
          value={name}
          onChange={(e) => setName(e.target.value)}
          aria-label="Avatar name"
        />
        <button type="submit" disabled={!name.trim()}>
          Create avatar
        </button>
      </form>
    </>
  );
}
