/**
 * The HTTP API (tRPC v11), mounted at /api/trpc. The app imports only the
 * AppRouter type from here.
 */
import { z } from "zod";
import { TRPCError } from "@trpc/server";
import { ApiError, assertCanEdit, assertCanView, ownerProcedure, publicProcedure, router } from "./trpc";
import { newShareToken, hashToken } from "../auth/access";
import { JobError, type JobRunner } from "../jobs/runner";
import { CREATE_AVATAR_KIND } from "../jobs/job-record";
import { creationConfigSchema } from "../pipeline/create/configs";
import { PHOTO_CONSENT, PHOTO_CONSENT_MESSAGES } from "../../protocol/consent";

const avatarId = z.string().min(1).max(64);
const name = z.string().trim().min(1, "A name cannot be empty").max(80, "A name has at most 80 characters");

const avatarSelect = { id: true, name: true, status: true, createdAt: true, updatedAt: true } as const;

const avatars = router({
  /** Newest first; an avatar still being made (or whose making failed) carries its creation job's id, else null. */
  list: ownerProcedure.query(async ({ ctx }) => {
    const rows = await ctx.db.avatar.findMany({
      orderBy: { createdAt: "desc" },
      select: {
        ...avatarSelect,
        jobs: { where: { kind: CREATE_AVATAR_KIND }, orderBy: { createdAt: "desc" }, take: 1, select: { id: true } },
      },
    });
    return rows.map(({ jobs, ...a }) => ({ ...a, jobId: a.status !== "ready" ? (jobs[0]?.id ?? null) : null }));
  }),

  /** The owner also gets `photoConsent`: when the uploader confirmed they may use the photo, and the sentence. */
  get: publicProcedure.input(z.object({ id: avatarId })).query(async ({ ctx, input }) => {
    assertCanView(ctx.access, input.id);
    const row = await ctx.db.avatar.findUnique({
      where: { id: input.id },
      select: { ...avatarSelect, photoConsentAt: true, photoConsentText: true },
    });
    if (!row) throw new ApiError("NOT_FOUND", "not-found", `No avatar with id "${input.id}".`);
    const { photoConsentAt, photoConsentText, ...avatar } = row;
    if (ctx.access.kind === "link") return { ...avatar, role: ctx.access.role };
    const photoConsent = photoConsentAt ? { at: photoConsentAt, text: photoConsentText ?? "" } : null;
    return { ...avatar, role: "owner" as const, photoConsent };
  }),

  create: ownerProcedure
    .input(z.object({ name }))
    .mutation(({ ctx, input }) => ctx.db.avatar.create({ data: { name: input.name }, select: avatarSelect })),

  rename: publicProcedure.input(z.object({ id: avatarId, name })).mutation(async ({ ctx, input }) => {
    assertCanEdit(ctx.access, input.id);
    const found = await ctx.db.avatar.findUnique({ where: { id: input.id }, select: { id: true } });
    if (!found) throw new ApiError("NOT_FOUND", "not-found", `No avatar with id "${input.id}".`);
    return ctx.db.avatar.update({ where: { id: input.id }, data: { name: input.name }, select: avatarSelect });
  }),
});

const linkSelect = {
  id: true,
  avatarId: true,
  role: true,
  label: true,
  createdAt: true,
  expiresAt: true,
  revokedAt: true,
} as const;

const shareLinks = router({
  create: ownerProcedure
    .input(
      z.object({
        avatarId,
        role: z.enum(["view", "edit"]),
        /** Hours until the link stops working; omitted: never. */
        expiresInHours: z
          .number()
          .positive()
          .max(24 * 365)
          .optional(),
        label: z.string().trim().max(80).optional(),
      }),
    )
    .mutation(async ({ ctx, input }) => {
      const avatar = await ctx.db.avatar.findUnique({ where: { id: input.avatarId }, select: { id: true } });
      if (!avatar) throw new ApiError("NOT_FOUND", "not-found", `No avatar with id "${input.avatarId}".`);
      const token = newShareToken();
      const expiresAt = input.expiresInHours ? new Date(Date.now() + input.expiresInHours * 3600_000) : null;
      const link = await ctx.db.shareLink.create({
        data: {
          avatarId: input.avatarId,
          role: input.role,
          label: input.label || null,
          tokenHash: hashToken(token),
          expiresAt,
        },
        select: linkSelect,
      });
      // The token is shown this once; only its hash is kept.
      return { ...link, token, url: `${ctx.origin}/s/${token}` };
    }),

  list: ownerProcedure.input(z.object({ avatarId })).query(({ ctx, input }) =>
    ctx.db.shareLink.findMany({
      where: { avatarId: input.avatarId },
      orderBy: { createdAt: "desc" },
      select: linkSelect,
    }),
  ),

  revoke: ownerProcedure.input(z.object({ id: z.string().min(1).max(64) })).mutation(async ({ ctx, input }) => {
    const link = await ctx.db.shareLink.findUnique({ where: { id: input.id }, select: { id: true, revokedAt: true } });
    if (!link) throw new ApiError("NOT_FOUND", "not-found", `No share link with id "${input.id}".`);
    if (link.revokedAt) return ctx.db.shareLink.findUniqueOrThrow({ where: { id: input.id }, select: linkSelect });
    const revoked = await ctx.db.shareLink.update({
      where: { id: input.id },
      data: { revokedAt: new Date() },
      select: linkSelect,
    });
    // Sessions already open with the link end now, not at their next reconnect.
    ctx.linkSessions?.end(link.id, "revoked");
    return revoked;
  }),
});

/** The request context's job runner (app-server.ts puts it there). */
export interface JobsContext {
  jobs: JobRunner;
}

const jobsProcedure = ownerProcedure.use(({ ctx, next }) => {
  const jobs = (ctx as typeof ctx & Partial<JobsContext>).jobs;
  if (!jobs) throw new TRPCError({ code: "INTERNAL_SERVER_ERROR", message: "This server runs no creation jobs." });
  return next({ ctx: { jobs } });
});

/** Runner errors as API errors: an unknown job is NOT_FOUND, a request its state does not allow CONFLICT. */
async function jobCall<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (err instanceof JobError) {
      if (err.code === "not-found") throw new ApiError("NOT_FOUND", "not-found", err.message);
      throw new TRPCError({ code: "CONFLICT", message: err.message });
    }
    throw err;
  }
}

const jobId = z.object({ id: z.string().min(1).max(64) });

/**
 * The uploader's confirmation that they may use the photo (protocol/consent.ts).
 * Optional on the wire so that a request without it gets the plain sentence
 * below rather than a schema error; `true` and the version shown are required.
 */
const photoConsentInput = {
  consent: z.boolean().optional(),
  /** PHOTO_CONSENT.version of the sentence the page showed. */
  consentVersion: z.number().int().optional(),
};

/** Refuses (BAD_REQUEST) a creation without the confirmation, or against an older sentence; else what to store. */
function photoConsentOf(input: { consent?: boolean; consentVersion?: number }): { at: Date; text: string } {
  if (input.consent !== true) throw new ApiError("BAD_REQUEST", "consent-missing", PHOTO_CONSENT_MESSAGES.missing);
  if (input.consentVersion !== PHOTO_CONSENT.version)
    throw new ApiError("BAD_REQUEST", "consent-outdated", PHOTO_CONSENT_MESSAGES.outdated);
  return { at: new Date(), text: PHOTO_CONSENT.text };
}

const jobs = router({
  /**
   * Starts making an avatar from an uploaded portrait (POST /api/portraits), once the
   * uploader has confirmed they may use it; the confirmation is stored with the avatar.
   */
  createAvatar: jobsProcedure
    .input(
      z.object({
        portraitId: z.string().min(1).max(64),
        name,
        config: creationConfigSchema.default("auto"),
        ...photoConsentInput,
      }),
    )
    .mutation(({ ctx, input }) => {
      const photoConsent = photoConsentOf(input);
      const { portraitId, name, config } = input;
      return jobCall(() => ctx.jobs.createAvatarJob({ portraitId, name, config, photoConsent }));
    }),

  get: jobsProcedure.input(jobId).query(async ({ ctx, input }) => {
    const view = await ctx.jobs.view(input.id);
    if (!view) throw new ApiError("NOT_FOUND", "not-found", `No creation job with id "${input.id}".`);
    return view;
  }),

  /** Newest first. */
  list: jobsProcedure.query(({ ctx }) => ctx.jobs.list()),

  cancel: jobsProcedure.input(jobId).mutation(({ ctx, input }) => jobCall(() => ctx.jobs.cancel(input.id))),

  retry: jobsProcedure.input(jobId).mutation(({ ctx, input }) => jobCall(() => ctx.jobs.retry(input.id))),
});

export const appRouter = router({
  health: publicProcedure.query(() => ({ ok: true as const })),
  /** The caller's role: "owner", or the share link's role and avatar. */
  me: publicProcedure.query(({ ctx }) =>
    ctx.access.kind === "link"
      ? { role: ctx.access.role, avatarId: ctx.access.avatarId }
      : ctx.access.kind === "owner"
        ? { role: "owner" as const, avatarId: null }
        : { role: null, avatarId: null, reason: ctx.access.reason },
  ),
  avatars,
  shareLinks,
  jobs,
});

export type AppRouter = typeof appRouter;
