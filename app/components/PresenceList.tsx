"use client";
/**
 * "Here now": everyone in the room (this page first), each with a follow
 * button when they share a camera, so one person can show the others what
 * they are looking at. Which peer is followed stays with the caller, as the
 * viewport needs it too.
 */
import type { Peer } from "../lib/presence";

export interface PresenceListProps {
  peers: Peer[];
  /** The client id of the peer whose camera the viewport follows, or null. */
  following: number | null;
  onFollow: (clientId: number | null) => void;
}

export function PresenceList({ peers, following, onFollow }: PresenceListProps) {
  return (
    <>
      <h2 style={{ marginTop: "1.2rem" }}>Here now</h2>
      <ul className="presence" data-testid="presence">
        {peers.map((p) => (
          <li key={p.clientId} data-testid="peer">
            <span className="dot" style={{ background: p.color }} />
            {p.name}
            {p.self && <span className="muted">(you)</span>}
            {!p.self && p.camera && (
              <button
                className={following === p.clientId ? "active" : ""}
                data-testid="follow"
                onClick={() => onFollow(following === p.clientId ? null : p.clientId)}
                title="See what this person sees"
              >
                {following === p.clientId ? "following" : "follow"}
              </button>
            )}
          </li>
        ))}
      </ul>
    </>
  );
}
