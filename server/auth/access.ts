/**
 * Who may do what. Three kinds of caller:
 *  - owner: the person running the service (loopback, or OWNER_KEY cookie); may do anything;
 *  - a share-link holder with role "edit": may read and change ONE avatar's shared state;
 *  - a share-link holder with role "view": may read one avatar, never change anything.
 * Tokens carry 192 random bits; only their SHA-256 is stored.
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { Db } from "../db/client";
import {
  isAllowedHost,
  isCrossSiteRequest,
  isLoopbackName,
  originVerdict,
  requestHost,
  type OriginPolicy,
} from "./origin-policy";

export const Roles = { owner: "owner", edit: "edit", view: "view" } as const;
export type Role = (typeof Roles)[keyof typeof Roles];
export type LinkRole = Exclude<Role, "owner">;

/** What a request may touch: the owner sees every avatar, a link one. */
export type Access =
  | { kind: "owner"; role: "owner" }
  | { kind: "link"; role: LinkRole; avatarId: string; linkId: string; expiresAt: Date | null }
  | { kind: "none"; reason: AccessDeniedReason };

export const AccessDeniedReasons = {
  private: "private",
  unknownToken: "unknown-token",
  expired: "expired",
  revoked: "revoked",
  malformedToken: "malformed-token",
} as const;
export type AccessDeniedReason = (typeof AccessDeniedReasons)[keyof typeof AccessDeniedReasons];

export const ACCESS_DENIED_MESSAGES: Record<AccessDeniedReason, string> = {
  private: "This PERSE Studio is private. Ask its owner for a share link.",
  "unknown-token": "This share link does not exist. Check that it was copied whole.",
  expired: "This share link has expired. Ask the avatar's owner for a new one.",
  revoked: "This share link was revoked by the avatar's owner.",
  "malformed-token": "This is not a valid share link.",
};

const TOKEN_BYTES = 24;
const TOKEN_PATTERN = /^[A-Za-z0-9_-]{32}$/;

export function newShareToken(): string {
  return randomBytes(TOKEN_BYTES).toString("base64url");
}

export function hashToken(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}

export function canEdit(access: Access, avatarId: string): boolean {
  if (access.kind === "owner") return true;
  return access.kind === "link" && access.avatarId === avatarId && access.role === "edit";
}

export function canView(access: Access, avatarId: string): boolean {
  if (access.kind === "owner") return true;
  return access.kind === "link" && access.avatarId === avatarId;
}

/** Resolves a share token against the database. */
export async function resolveToken(db: Db, token: string, now = new Date()): Promise<Access> {
  if (!TOKEN_PATTERN.test(token)) return { kind: "none", reason: "malformed-token" };
  const link = await db.shareLink.findUnique({ where: { tokenHash: hashToken(token) } });
  if (!link) return { kind: "none", reason: "unknown-token" };
  if (link.revokedAt) return { kind: "none", reason: "revoked" };
  if (link.expiresAt && link.expiresAt.getTime() <= now.getTime()) return { kind: "none", reason: "expired" };
  if (link.role !== "view" && link.role !== "edit") return { kind: "none", reason: "unknown-token" };
  return { kind: "link", role: link.role, avatarId: link.avatarId, linkId: link.id, expiresAt: link.expiresAt };
}

const OWNER_COOKIE = "perse_owner";

function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  return address === "::1" || address.startsWith("127.") || address.startsWith("::ffff:127.");
}

/** A cookie's value; null when absent or not decodable (a malformed cookie is no cookie). */
function readCookie(req: IncomingMessage, name: string): string | null {
  const header = req.headers.cookie;
  if (!header) return null;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) {
      try {
        return decodeURIComponent(part.slice(eq + 1).trim());
      } catch {
        return null;
      }
    }
  }
  return null;
}

/** Constant-time comparison of two secrets of any length. */
export function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(hashToken(a));
  const y = Buffer.from(hashToken(b));
  return timingSafeEqual(x, y);
}

/** How the server tells its owner apart: the key (or loopback) and the names and pages it trusts. */
export interface OwnerAuth {
  ownerKey: string | null;
  policy: OriginPolicy;
}

/**
 * Owner check from the raw request. Only the server's own pages (or a
 * program: no Origin) may act as the owner; then the OWNER_KEY cookie when a
 * key is configured, else a loopback connection that also NAMES the server
 * by a loopback name (a proxy on this machine forwarding other names does not
 * make everyone the owner).
 */
export function isOwnerRequest(req: IncomingMessage, auth: OwnerAuth): boolean {
  const verdict = originVerdict(req, auth.policy);
  if (verdict !== "absent" && verdict !== "own") return false;
  if (isCrossSiteRequest(req, auth.policy) || !isAllowedHost(req, auth.policy)) return false;
  if (auth.ownerKey) {
    const presented = readCookie(req, OWNER_COOKIE);
    return presented !== null && sameSecret(presented, auth.ownerKey);
  }
  const host = requestHost(req);
  if (host && !isLoopbackName(new URL(`http://${host}`).hostname)) return false;
  // Deliberately the socket address, never X-Forwarded-For (a client could forge that).
  return isLoopback(req.socket.remoteAddress);
}

/** Strict: the cookie never rides along on another site's request, not even a same-site one's link. */
export function ownerCookieHeader(ownerKey: string, secure: boolean): string {
  return `${OWNER_COOKIE}=${encodeURIComponent(ownerKey)}; Path=/; HttpOnly; SameSite=Strict; Max-Age=31536000${secure ? "; Secure" : ""}`;
}

/**
 * Access of a request: a share token (header, query or socket auth) always
 * wins over owner status, so a link opened on the owner's machine behaves
 * exactly as it will for the person it is sent to.
 */
export async function accessFor(db: Db, req: IncomingMessage, auth: OwnerAuth, token: string | null): Promise<Access> {
  if (token) return resolveToken(db, token);
  if (isOwnerRequest(req, auth)) return { kind: "owner", role: "owner" };
  return { kind: "none", reason: "private" };
}
