"use client";
import { useEffect, useState } from "react";
import type { Api } from "../lib/trpc";
import { errorMessage } from "../lib/trpc";
import { embedIframe, embedUrl } from "../../protocol/embed";

interface LinkRow {
  id: string;
  role: string;
  label: string | null;
  createdAt: string | Date;
  expiresAt: string | Date | null;
  revokedAt: string | Date | null;
}

const EXPIRY_CHOICES: Array<[string, number | undefined]> = [
  ["Never", undefined],
  ["1 hour", 1],
  ["1 day", 24],
  ["1 week", 24 * 7],
  ["30 days", 24 * 30],
];

function linkState(l: LinkRow): string {
  if (l.revokedAt) return "revoked";
  if (l.expiresAt && new Date(l.expiresAt).getTime() <= Date.now()) return "expired";
  return l.expiresAt ? `until ${new Date(l.expiresAt).toLocaleString()}` : "active";
}

export function ShareDialog({ api, avatarId, onClose }: { api: Api; avatarId: string; onClose: () => void }) {
  const [links, setLinks] = useState<LinkRow[]>([]);
  const [role, setRole] = useState<"view" | "edit">("view");
  const [expiry, setExpiry] = useState(0);
  const [created, setCreated] = useState<{ url: string; token: string; role: "view" | "edit" } | null>(null);
  const [copied, setCopied] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const load = () => api.shareLinks.list.query({ avatarId }).then(setLinks, (e) => setError(errorMessage(e)));
  useEffect(() => {
    void load();
  }, [avatarId]);

  async function create() {
    setError(null);
    setCopied(false);
    try {
      const link = await api.shareLinks.create.mutate({ avatarId, role, expiresInHours: EXPIRY_CHOICES[expiry]![1] });
      setCreated({ url: `${location.origin}/s/${link.token}`, token: link.token, role });
      await load();
    } catch (e) {
      setError(errorMessage(e));
    }
  }

  function copy(text: string) {
    navigator.clipboard?.writeText(text).then(
      () => setCopied(true),
      () => setCopied(false),
    );
  }

  async function revoke(id: string) {
    try {
      await api.shareLinks.revoke.mutate({ id });
      await load();
    } catch (e) {
      setError(errorMessage(e));
    }
  }

  return (
    <div className="dialog" role="dialog" aria-label="Share this avatar" onClick={onClose}>
      <div className="card" onClick={(e) => e.stopPropagation()}>
        <div className="row" style={{ justifyContent: "space-between" }}>
          <h2>Share this avatar</h2>
          <button onClick={onClose} aria-label="Close">
            ✕
          </button>
        </div>
        <p className="muted">
          Anyone with a link can open this avatar. A view link sees every change live but can change nothing.
        </p>
        <div className="row">
          <select
            value={role}
            onChange={(e) => setRole(e.target.value as "view" | "edit")}
            data-testid="share-role"
            aria-label="Role"
          >
            <option value="view">Can view</option>
            <option value="edit">Can edit</option>
          </select>
          <select
            value={expiry}
            onChange={(e) => setExpiry(Number(e.target.value))}
            data-testid="share-expiry"
            aria-label="Expires"
          >
            {EXPIRY_CHOICES.map(([label], i) => (
              <option key={label} value={i}>
                Expires: {label}
              </option>
            ))}
          </select>
          <button onClick={create} data-testid="share-create">
            Create link
          </button>
        </div>
        {created && (
          <div style={{ marginTop: ".8rem" }}>
            <div className="new-url" data-testid="share-url">
              {created.url}
            </div>
            <div className="row" style={{ marginTop: ".4rem" }}>
              <button onClick={() => copy(created.url)}>Copy</button>
              <span className="muted">{copied ? "Copied." : "Shown once: copy it now."}</span>
            </div>
            {created.role === "view" && (
              <div style={{ marginTop: ".6rem" }}>
                <label className="muted" htmlFor="embed-snippet">
                  Embed in a web page (the player is labelled as an AI-generated avatar):
                </label>
                <textarea
                  id="embed-snippet"
                  className="new-url"
                  data-testid="embed-snippet"
                  readOnly
                  rows={3}
                  style={{ width: "100%" }}
                  value={embedIframe(embedUrl(location.origin, created.token), "AI-generated avatar")}
                />
                <button
                  onClick={() => copy(embedIframe(embedUrl(location.origin, created.token), "AI-generated avatar"))}
                >
                  Copy embed code
                </button>
              </div>
            )}
          </div>
        )}
        {error && (
          <p className="error" role="alert">
            {error}
          </p>
        )}
        <table className="links" style={{ marginTop: "1rem" }}>
          <thead>
            <tr>
              <th>Role</th>
              <th>Created</th>
              <th>State</th>
              <th />
            </tr>
          </thead>
          <tbody data-testid="share-links">
            {links.map((l) => (
              <tr key={l.id} data-testid="share-link-row" data-state={linkState(l)}>
                <td>{l.role}</td>
                <td>{new Date(l.createdAt).toLocaleString()}</td>
                <td>{linkState(l)}</td>
                <td>
                  {!l.revokedAt && (
                    <button onClick={() => revoke(l.id)} data-testid="share-revoke">
                      Revoke
                    </button>
                  )}
                </td>
              </tr>
            ))}
            {links.length === 0 && (
              <tr>
                <td colSpan={4} className="muted">
                  No links yet.
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
    </div>
  );
}
