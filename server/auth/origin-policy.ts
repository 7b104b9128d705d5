/**
 * Which names this server answers to and which web pages may talk to it.
 *
 * - Host: a request must name the server by a loopback name (localhost,
 *   *.localhost, 127.x, [::1]), by an IP address, by PUBLIC_URL's host or by
 *   a name in ALLOWED_HOSTS. DNS rebinding needs the attacker's own DNS name
 *   in the Host header, so it is refused here; an IP address cannot be
 *   rebound, so LAN use by address keeps working without configuration.
 * - Origin: browsers send it on every websocket upgrade and every POST. It
 *   must be the server's own (the request's Host, or PUBLIC_URL) or listed in
 *   ALLOWED_ORIGINS; anything else is another site and is refused. Without
 *   Origin, a request is a program's, a navigation or a same-origin GET;
 *   Sec-Fetch-Site "cross-site" still marks another site's subresource.
 * - Owner status by loopback or by cookie needs the server's own Origin (or
 *   none): another site, even an allowed one, never acts as the owner.
 */
import { isIP } from "node:net";
import type { IncomingMessage } from "node:http";

export interface OriginPolicy {
  /** PUBLIC_URL's origin ("https://studio.example"), or null. */
  publicOrigin: string | null;
  /** Extra origins allowed to connect (share-link holders only), normalised. */
  allowedOrigins: ReadonlySet<string>;
  /** Extra host names (lower case, no port) this server answers to. */
  allowedHosts: ReadonlySet<string>;
}

export function makeOriginPolicy(options: {
  publicUrl: string | null;
  allowedOrigins: readonly string[];
  allowedHosts: readonly string[];
}): OriginPolicy {
  const publicOrigin = options.publicUrl ? normaliseOrigin(options.publicUrl) : null;
  if (options.publicUrl && !publicOrigin)
    throw new Error(`makeOriginPolicy: PUBLIC_URL "${options.publicUrl}" is not an http(s) URL`);
  const allowedOrigins = new Set<string>();
  for (const o of options.allowedOrigins) {
    const n = normaliseOrigin(o);
    if (!n) throw new Error(`makeOriginPolicy: ALLOWED_ORIGINS entry "${o}" is not an http(s) origin`);
    allowedOrigins.add(n);
  }
  const allowedHosts = new Set(options.allowedHosts.map((h) => h.trim().toLowerCase()).filter(Boolean));
  if (publicOrigin) allowedHosts.add(new URL(publicOrigin).hostname);
  return { publicOrigin, allowedOrigins, allowedHosts };
}

/** "scheme://host[:port]" with default ports dropped, or null for anything else. */
function normaliseOrigin(value: string): string | null {
  try {
    const u = new URL(value);
    return u.protocol === "http:" || u.protocol === "https:" ? u.origin : null;
  } catch {
    return null;
  }
}

const HOST_CHARS = /^[A-Za-z0-9.\-:[\]]{1,255}$/;

/** The Host header as a URL host ("name:port", default port dropped), null when absent, false when malformed. */
export function requestHost(req: IncomingMessage): string | null | false {
  const raw = req.headers.host;
  if (raw === undefined || raw === "") return null;
  if (!HOST_CHARS.test(raw)) return false;
  try {
    return new URL(`http://${raw}`).host;
  } catch {
    return false;
  }
}

function hostname(host: string): string {
  return new URL(`http://${host}`).hostname;
}

export function isLoopbackName(name: string): boolean {
  const n = name.toLowerCase();
  if (n === "localhost" || n.endsWith(".localhost") || n === "[::1]") return true;
  return isIP(n) === 4 && n.startsWith("127.");
}

/** Whether a request's Host is a name this server answers to (absent: a program, allowed). */
export function isAllowedHost(req: IncomingMessage, policy: OriginPolicy): boolean {
  const host = requestHost(req);
  if (host === null) return true;
  if (host === false) return false;
  const name = hostname(host);
  return isLoopbackName(name) || isIP(name.replace(/^\[|\]$/g, "")) !== 0 || policy.allowedHosts.has(name);
}

export type OriginVerdict = "absent" | "own" | "allowed" | "foreign";

/** Where the page behind a request comes from (its Origin header), judged against the policy. */
export function originVerdict(req: IncomingMessage, policy: OriginPolicy): OriginVerdict {
  const raw = req.headers.origin;
  if (raw === undefined) return "absent";
  const origin = normaliseOrigin(raw);
  if (!origin) return "foreign"; // "null" (sandboxed frames, file: pages) and garbage
  if (origin === policy.publicOrigin) return "own";
  const host = requestHost(req);
  if (host && new URL(origin).host === host) return "own";
  return policy.allowedOrigins.has(origin) ? "allowed" : "foreign";
}

/**
 * A browser request made by another site's page (not a link the person
 * followed): a foreign Origin, or Sec-Fetch-Site "cross-site" on anything but
 * a navigation (images, scripts and fetches without an Origin header).
 */
export function isCrossSiteRequest(req: IncomingMessage, policy: OriginPolicy): boolean {
  const verdict = originVerdict(req, policy);
  if (verdict === "foreign") return true;
  return (
    verdict === "absent" &&
    req.headers["sec-fetch-site"] === "cross-site" &&
    req.headers["sec-fetch-mode"] !== "navigate"
  );
}

/** The origin share URLs are built on: PUBLIC_URL, else the (allowed) Host the owner used. */
export function publicOriginFor(req: IncomingMessage, policy: OriginPolicy, fallbackPort: number): string {
  if (policy.publicOrigin) return policy.publicOrigin;
  const host = isAllowedHost(req, policy) ? requestHost(req) : null;
  return `http://${host || `localhost:${fallbackPort}`}`;
}

/** Methods that never change state (everything else is checked for cross-site use). */
export function isSafeMethod(method: string | undefined): boolean {
  return method === "GET" || method === "HEAD" || method === "OPTIONS";
}
