/**
 * tRPC setup: the request context (database, caller's access) and the
 * procedure builders that check roles. Errors carry a reason code in
 * `data.reason` so the UI can say what went wrong.
 */
import { initTRPC, TRPCError } from "@trpc/server";
import type { Db } from "../db/client";
import { ACCESS_DENIED_MESSAGES, canEdit, canView, type Access, type AccessDeniedReason } from "../auth/access";
import type { LinkSessions } from "../auth/link-sessions";

export interface ApiContext {
  db: Db;
  access: Access;
  /** The studio's public origin (PUBLIC_URL, or the allowed Host the owner used), for building share URLs. */
  origin: string;
  /** Open sessions by share link; revoking a link ends its sessions. Absent in tests that need none. */
  linkSessions?: LinkSessions;
}

/** Reason codes carried by API errors. */
export const ApiReasons = {
  forbidden: "forbidden",
  viewOnly: "view-only",
  notFound: "not-found",
  ownerOnly: "owner-only",
  /** jobs.createAvatar without the uploader's confirmation that they may use the photo. */
  consentMissing: "consent-missing",
  /** jobs.createAvatar confirming a version of the consent sentence the server no longer shows. */
  consentOutdated: "consent-outdated",
} as const;
export type ApiReason = (typeof ApiReasons)[keyof typeof ApiReasons];

export class ApiError extends TRPCError {
  constructor(
    code: "FORBIDDEN" | "NOT_FOUND" | "BAD_REQUEST" | "UNAUTHORIZED",
    readonly reason: ApiReason | AccessDeniedReason,
    message: string,
  ) {
    super({ code, message });
  }
}

const t = initTRPC.context<ApiContext>().create({
  errorFormatter({ shape, error }) {
    const reason = error instanceof ApiError ? error.reason : null;
    return { ...shape, data: { ...shape.data, reason, stack: undefined } };
  },
});

export const router = t.router;
export const publicProcedure = t.procedure;

/** The owner of this service only (never a share-link holder). */
export const ownerProcedure = t.procedure.use(({ ctx, next }) => {
  if (ctx.access.kind === "owner") return next({ ctx: { ...ctx, access: ctx.access } });
  if (ctx.access.kind === "none")
    throw new ApiError("UNAUTHORIZED", ctx.access.reason, ACCESS_DENIED_MESSAGES[ctx.access.reason]);
  throw new ApiError("FORBIDDEN", "owner-only", "Only the owner of this studio can do that; a share link cannot.");
});

/** Throws unless the caller may see this avatar; NOT_FOUND also for avatars a link does not cover. */
export function assertCanView(access: Access, avatarId: string): void {
  if (access.kind === "none") throw new ApiError("UNAUTHORIZED", access.reason, ACCESS_DENIED_MESSAGES[access.reason]);
  if (!canView(access, avatarId)) throw new ApiError("NOT_FOUND", "not-found", `No avatar with id "${avatarId}".`);
}

/** Throws FORBIDDEN for view-only links. */
export function assertCanEdit(access: Access, avatarId: string): void {
  assertCanView(access, avatarId);
  if (!canEdit(access, avatarId))
    throw new ApiError("FORBIDDEN", "view-only", "This is a view-only link: it cannot change the avatar.");
}
