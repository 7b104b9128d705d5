/**
 * The Yjs endpoint's dialect of the y-websocket protocol, shared by the
 * server (server/realtime/yjs-ws.ts) and the editor: message types, the
 * codes that start a refusal's reason, and the close code of an ended link.
 */

/** y-websocket's message types. */
export const YMessage = { sync: 0, awareness: 1, auth: 2, queryAwareness: 3 } as const;

/** The codes that start a refusal's reason ("code: sentence"), for clients to act on. */
export const RefusalCodes = {
  viewOnly: "view-only",
  invalidState: "invalid-state",
  invalidPresence: "invalid-presence",
  revoked: "revoked",
  expired: "expired",
} as const;
export type RefusalCode = (typeof RefusalCodes)[keyof typeof RefusalCodes];

export const VIEW_ONLY_REASON = `${RefusalCodes.viewOnly}: this share link cannot change the avatar`;

/** Close code of a socket whose share link was revoked or expired (4000-4999: the application's own). */
export const LINK_ENDED_CLOSE_CODE = 4403;

/** A refusal's reason split into its code (null when it has none this side knows) and its sentence. */
export function parseRefusal(reason: string): { code: RefusalCode | null; message: string } {
  const colon = reason.indexOf(":");
  const code = colon > 0 ? reason.slice(0, colon) : "";
  const known = (Object.values(RefusalCodes) as string[]).includes(code);
  return known
    ? { code: code as RefusalCode, message: reason.slice(colon + 1).trim() }
    : { code: null, message: reason };
}

/**
 * A page's secret for one shared document, sent as the `session` query
 * parameter of the Yjs socket: the server binds the Yjs client ids the page
 * writes under to it, so after a reconnect the page (and only the page) takes
 * its ids back. 128 random bits, base64url.
 */
export function newSessionSecret(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}
