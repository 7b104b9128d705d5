import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTRPCClient, httpLink, TRPCClientError } from "@trpc/client";
import type { AppRouter } from "./router";
import { startTestServer, waitFor, type TestServer } from "../testing/harness";
import { fakePortrait, startServerWithStages, steppingStages } from "../jobs/testing";
import { PHOTO_CONSENT, PHOTO_CONSENT_MESSAGES } from "../../protocol/consent";

let server: TestServer;

function api(token: string | null = null) {
  return createTRPCClient<AppRouter>({
    links: [httpLink({ url: `${server.url}/api/trpc`, headers: token ? { "x-share-token": token } : {} })],
  });
}

async function errorOf(
  p: Promise<unknown>,
): Promise<{ code: string; reason: string | null; status: number; message: string }> {
  try {
    await p;
  } catch (err) {
    if (err instanceof TRPCClientError) {
      const data = err.data as { code: string; reason: string | null; httpStatus: number };
      return { code: data.code, reason: data.reason, status: data.httpStatus, message: err.message };
    }
    throw err;
  }
  throw new Error("expected the call to fail");
}

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.close();
});

describe("tRPC API", () => {
  it("lets the owner create, list and rename avatars", async () => {
    const owner = api();
    const created = await owner.avatars.create.mutate({ name: "  Ada  " });
    expect(created.name).toBe("Ada");
    const list = await owner.avatars.list.query();
    expect(list.map((a) => a.id)).toContain(created.id);
    const renamed = await owner.avatars.rename.mutate({ id: created.id, name: "Ada L." });
    expect(renamed.name).toBe("Ada L.");
  });

  it("creates share links whose token has at least 128 bits and is stored only hashed", async () => {
    const owner = api();
    const { id } = await owner.avatars.create.mutate({ name: "Shared" });
    const link = await owner.shareLinks.create.mutate({ avatarId: id, role: "view" });
    expect(Buffer.from(link.token, "base64url").length * 8).toBeGreaterThanOrEqual(128);
    expect(link.url).toMatch(new RegExp(`/s/${link.token}$`));
    const row = await server.db.shareLink.findUniqueOrThrow({ where: { id: link.id } });
    expect(JSON.stringify(row)).not.toContain(link.token);
    expect(row.tokenHash).toMatch(/^[0-9a-f]{64}$/);
    const listed = await owner.shareLinks.list.query({ avatarId: id });
    expect(listed).toHaveLength(1);
    expect(JSON.stringify(listed)).not.toContain(link.token);
  });

  it("gives a view link read access and FORBIDDEN on every mutation", async () => {
    const owner = api();
    const { id } = await owner.avatars.create.mutate({ name: "Viewed" });
    const { token } = await owner.shareLinks.create.mutate({ avatarId: id, role: "view" });
    const viewer = api(token);
    expect((await viewer.avatars.get.query({ id })).role).toBe("view");
    expect(await viewer.me.query()).toEqual({ role: "view", avatarId: id });
    expect(await errorOf(viewer.avatars.rename.mutate({ id, name: "Hacked" }))).toMatchObject({
      code: "FORBIDDEN",
      reason: "view-only",
    });
    expect(await errorOf(viewer.avatars.create.mutate({ name: "x" }))).toMatchObject({
      code: "FORBIDDEN",
      reason: "owner-only",
    });
    expect(await errorOf(viewer.shareLinks.create.mutate({ avatarId: id, role: "edit" }))).toMatchObject({
      code: "FORBIDDEN",
    });
    expect(await errorOf(viewer.shareLinks.list.query({ avatarId: id }))).toMatchObject({ code: "FORBIDDEN" });
    expect(await errorOf(viewer.avatars.list.query())).toMatchObject({ code: "FORBIDDEN" });
    expect((await server.db.avatar.findUniqueOrThrow({ where: { id } })).name).toBe("Viewed");
  });

  it("lets an edit link rename its own avatar but see no other", async () => {
    const owner = api();
    const mine = await owner.avatars.create.mutate({ name: "Mine" });
    const other = await owner.avatars.create.mutate({ name: "Other" });
    const { token } = await owner.shareLinks.create.mutate({ avatarId: mine.id, role: "edit" });
    const editor = api(token);
    expect((await editor.avatars.rename.mutate({ id: mine.id, name: "Ours" })).name).toBe("Ours");
    expect(await errorOf(editor.avatars.get.query({ id: other.id }))).toMatchObject({ code: "NOT_FOUND" });
    expect(await errorOf(editor.avatars.rename.mutate({ id: other.id, name: "x" }))).toMatchObject({
      code: "NOT_FOUND",
    });
  });

  it("stops revoked and expired links at once", async () => {
    const owner = api();
    const { id } = await owner.avatars.create.mutate({ name: "Revocable" });
    const link = await owner.shareLinks.create.mutate({ avatarId: id, role: "edit" });
    expect((await api(link.token).avatars.get.query({ id })).role).toBe("edit");
    await owner.shareLinks.revoke.mutate({ id: link.id });
    expect(await errorOf(api(link.token).avatars.get.query({ id }))).toMatchObject({
      code: "UNAUTHORIZED",
      reason: "revoked",
    });
    const short = await owner.shareLinks.create.mutate({ avatarId: id, role: "view", expiresInHours: 1 });
    await server.db.shareLink.update({ where: { id: short.id }, data: { expiresAt: new Date(Date.now() - 1) } });
    expect(await errorOf(api(short.token).avatars.get.query({ id }))).toMatchObject({
      code: "UNAUTHORIZED",
      reason: "expired",
    });
    expect(await errorOf(api("garbage!").avatars.get.query({ id }))).toMatchObject({ reason: "malformed-token" });
  });

  it("answers bad input with clear errors and changes nothing", async () => {
    const count = await server.db.avatar.count();
    const post = (path: string, body: string) =>
      fetch(`${server.url}/api/trpc/${path}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
      });
    const malformed = await post("avatars.create", "{not json");
    expect(malformed.status).toBe(400);
    const invalid = await post("avatars.create", JSON.stringify({ name: "" }));
    expect(invalid.status).toBe(400);
    expect(((await invalid.json()) as { error: { message: string } }).error.message).toMatch(/empty/);
    const huge = await post("avatars.create", JSON.stringify({ name: "x".repeat(2 << 20) }));
    expect(huge.status).toBe(413);
    const unknown = await api()
      .avatars.get.query({ id: "does-not-exist" })
      .catch((e: TRPCClientError<AppRouter>) => e);
    expect((unknown as TRPCClientError<AppRouter>).data?.code).toBe("NOT_FOUND");
    const noProc = await fetch(`${server.url}/api/trpc/avatars.nothing`);
    expect(noProc.status).toBe(404);
    expect(await server.db.avatar.count()).toBe(count);
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  });
});

/** What the new-avatar page sends once the uploader ticked the box. */
const consent = { consent: true, consentVersion: PHOTO_CONSENT.version } as const;

describe("tRPC jobs", () => {
  let jobsServer: TestServer;
  // The stages read these when they run, so each test can set them.
  const behaviour = { steps: 3, stepMs: 20, failIn: null as string | null };

  function owner(token: string | null = null) {
    return createTRPCClient<AppRouter>({
      links: [httpLink({ url: `${jobsServer.url}/api/trpc`, headers: token ? { "x-share-token": token } : {} })],
    });
  }

  async function until(jobId: string, status: string) {
    return waitFor(
      async () => {
        const v = await owner().jobs.get.query({ id: jobId });
        return v.status === status ? v : null;
      },
      10_000,
      `job ${jobId} to be ${status}`,
    );
  }

  beforeAll(async () => {
    jobsServer = await startServerWithStages(
      steppingStages({
        get steps() {
          return behaviour.steps;
        },
        get stepMs() {
          return behaviour.stepMs;
        },
        failIn: () => behaviour.failIn,
      }),
    );
  });
  afterAll(async () => {
    await jobsServer?.close();
  });

  it("creates an avatar from an uploaded portrait, reports its progress and lists it", async () => {
    Object.assign(behaviour, { steps: 4, stepMs: 40, failIn: null });
    const portraitId = await fakePortrait(jobsServer.dataDir);
    const { jobId, avatarId } = await owner().jobs.createAvatar.mutate({ portraitId, name: "  Nova  ", ...consent });
    const listed = (await owner().avatars.list.query()).find((a) => a.id === avatarId);
    expect(listed).toMatchObject({ name: "Nova", status: "creating", jobId });
    const running = await until(jobId, "running");
    expect(running).toMatchObject({
      avatarId,
      avatarName: "Nova",
      queuePosition: null,
      portrait: { id: portraitId, thumbnailUrl: `/api/portraits/${portraitId}/thumbnail.jpg` },
    });
    expect(running.stages.map((s) => s.name)).toEqual(["first", "second", "bundle"]);
    const done = await until(jobId, "done");
    expect(done).toMatchObject({
      progress: 1,
      stage: null,
      etaSeconds: null,
      error: null,
      artifacts: { overlay: `/api/jobs/${jobId}/artifacts/overlay` },
    });
    expect(done.stages.every((s) => s.status === "done" && s.progress === 1)).toBe(true);
    expect(done.stages[0]!.seconds).toBeGreaterThanOrEqual(0.1);
    expect(done.log).toEqual(
      expect.arrayContaining(["Started.", "first step 4", "second step 4", "Done: the avatar is ready."]),
    );
    expect(new Date(done.finishedAt!).getTime()).toBeGreaterThanOrEqual(new Date(done.startedAt!).getTime());
    expect(JSON.parse((await jobsServer.db.job.findUniqueOrThrow({ where: { id: jobId } })).input)).toMatchObject({
      config: "auto",
      portraitId,
    });
    expect((await owner().avatars.list.query()).find((a) => a.id === avatarId)).toMatchObject({
      status: "ready",
      jobId: null,
    });
    expect((await owner().jobs.list.query())[0]!.id).toBe(jobId);
  });

  it("answers an unknown portrait or job with NOT_FOUND and a bad config with BAD_REQUEST, creating nothing", async () => {
    const count = await jobsServer.db.avatar.count();
    const missing = await errorOf(
      owner().jobs.createAvatar.mutate({ portraitId: "AAAAAAAAAAAAAAAA", name: "Ghost", ...consent }),
    );
    expect(missing).toMatchObject({ code: "NOT_FOUND", reason: "not-found" });
    const message = await owner()
      .jobs.createAvatar.mutate({ portraitId: "AAAAAAAAAAAAAAAA", name: "Ghost", ...consent })
      .catch((e: Error) => e.message);
    expect(message).toBe('No uploaded portrait with id "AAAAAAAAAAAAAAAA". Upload the photo again.');
    const portraitId = await fakePortrait(jobsServer.dataDir);
    const badConfig = await errorOf(
      owner().jobs.createAvatar.mutate({ portraitId, name: "X", config: "huge" as "tiny", ...consent }),
    );
    expect(badConfig.code).toBe("BAD_REQUEST");
    expect(await errorOf(owner().jobs.get.query({ id: "nope" }))).toMatchObject({ code: "NOT_FOUND" });
    expect(await errorOf(owner().jobs.cancel.mutate({ id: "nope" }))).toMatchObject({ code: "NOT_FOUND" });
    expect(await jobsServer.db.avatar.count()).toBe(count);
  });

  it("refuses to create without the uploader's confirmation, or against an older sentence, storing nothing", async () => {
    const portraitId = await fakePortrait(jobsServer.dataDir);
    const [avatars, jobs] = [await jobsServer.db.avatar.count(), await jobsServer.db.job.count()];
    const create = (extra: { consent?: boolean; consentVersion?: number }) =>
      errorOf(owner().jobs.createAvatar.mutate({ portraitId, name: "Unconfirmed", config: "tiny", ...extra }));
    const missing = {
      code: "BAD_REQUEST",
      status: 400,
      reason: "consent-missing",
      message: "Confirm that you have the right to use this photo.",
    };
    expect(PHOTO_CONSENT_MESSAGES.missing).toBe(missing.message);
    expect(await create({})).toEqual(missing);
    expect(await create({ consent: false, consentVersion: PHOTO_CONSENT.version })).toEqual(missing);
    const outdated = {
      code: "BAD_REQUEST",
      status: 400,
      reason: "consent-outdated",
      message: "The consent text changed; reload the page.",
    };
    expect(await create({ consent: true, consentVersion: PHOTO_CONSENT.version - 1 })).toEqual(outdated);
    expect(await create({ consent: true })).toEqual(outdated);
    // Not true is not a yes, whatever else is sent.
    const raw = await fetch(`${jobsServer.url}/api/trpc/jobs.createAvatar`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ portraitId, name: "Unconfirmed", consent: "yes", consentVersion: PHOTO_CONSENT.version }),
    });
    expect(raw.status).toBe(400);
    expect(await jobsServer.db.avatar.count()).toBe(avatars);
    expect(await jobsServer.db.job.count()).toBe(jobs);
    expect(await jobsServer.db.avatar.count({ where: { name: "Unconfirmed" } })).toBe(0);
  });

  it("stores when the uploader confirmed and the exact sentence with the avatar, shown to the owner only", async () => {
    Object.assign(behaviour, { steps: 1, stepMs: 1, failIn: null });
    const portraitId = await fakePortrait(jobsServer.dataDir);
    const before = Date.now();
    const { jobId, avatarId } = await owner().jobs.createAvatar.mutate({
      portraitId,
      name: "Confirmed",
      config: "tiny",
      ...consent,
    });
    const row = await jobsServer.db.avatar.findUniqueOrThrow({ where: { id: avatarId } });
    expect(row.photoConsentText).toBe(PHOTO_CONSENT.text);
    expect(row.photoConsentAt!.getTime()).toBeGreaterThanOrEqual(before - 1000);
    expect(row.photoConsentAt!.getTime()).toBeLessThanOrEqual(Date.now() + 1000);
    await until(jobId, "done");

    const seen = await owner().avatars.get.query({ id: avatarId });
    expect(seen).toMatchObject({ role: "owner", photoConsent: { text: PHOTO_CONSENT.text } });
    expect(new Date((seen as { photoConsent: { at: string } }).photoConsent.at).getTime()).toBe(
      row.photoConsentAt!.getTime(),
    );
    const { token } = await owner().shareLinks.create.mutate({ avatarId, role: "edit" });
    const viaLink = await owner(token).avatars.get.query({ id: avatarId });
    expect(viaLink.role).toBe("edit");
    expect(viaLink).not.toHaveProperty("photoConsent");

    // An avatar made without a photo (the API's create, the demo) has no confirmation.
    const bare = await owner().avatars.create.mutate({ name: "No photo" });
    expect(await owner().avatars.get.query({ id: bare.id })).toMatchObject({ photoConsent: null });
    expect(await jobsServer.db.avatar.findUniqueOrThrow({ where: { id: bare.id } })).toMatchObject({
      photoConsentAt: null,
      photoConsentText: null,
    });
  });

  it("shows a failed job's reason, retries it to the end, and cancels another, deleting its avatar", async () => {
    Object.assign(behaviour, { steps: 2, stepMs: 20, failIn: "second" });
    const portraitId = await fakePortrait(jobsServer.dataDir);
    const failing = await owner().jobs.createAvatar.mutate({ portraitId, name: "Fragile", config: "tiny", ...consent });
    const failed = await until(failing.jobId, "failed");
    expect(failed).toMatchObject({ error: "Second broke on purpose.", stage: "second" });
    expect((await owner().avatars.list.query()).find((a) => a.id === failing.avatarId)).toMatchObject({
      status: "failed",
      jobId: failing.jobId,
    });
    behaviour.failIn = null;
    await owner().jobs.retry.mutate({ id: failing.jobId });
    await until(failing.jobId, "done");
    expect(await errorOf(owner().jobs.cancel.mutate({ id: failing.jobId }))).toMatchObject({ code: "CONFLICT" });
    expect(await errorOf(owner().jobs.retry.mutate({ id: failing.jobId }))).toMatchObject({ code: "CONFLICT" });

    Object.assign(behaviour, { steps: 1000, stepMs: 20 });
    const slow = await owner().jobs.createAvatar.mutate({ portraitId, name: "Doomed", config: "tiny", ...consent });
    await until(slow.jobId, "running");
    const cancelled = await owner().jobs.cancel.mutate({ id: slow.jobId });
    expect(cancelled).toMatchObject({ status: "cancelled", avatarName: "Doomed", avatarId: slow.avatarId });
    expect((await owner().avatars.list.query()).some((a) => a.id === slow.avatarId)).toBe(false);
    expect((await owner().jobs.get.query({ id: slow.jobId })).status).toBe("cancelled");
    await jobsServer.jobs.idle();
  });

  it("keeps jobs from share links", async () => {
    const avatarId = (await jobsServer.db.avatar.create({ data: { name: "Shared" } })).id;
    const { token } = await owner().shareLinks.create.mutate({ avatarId, role: "edit" });
    const linked = owner(token);
    const portraitId = await fakePortrait(jobsServer.dataDir);
    expect(await errorOf(linked.jobs.list.query())).toMatchObject({ code: "FORBIDDEN", reason: "owner-only" });
    expect(await errorOf(linked.jobs.createAvatar.mutate({ portraitId, name: "Sneaky", ...consent }))).toMatchObject({
      code: "FORBIDDEN",
    });
    const job = (await owner().jobs.list.query())[0]!;
    expect(await errorOf(linked.jobs.get.query({ id: job.id }))).toMatchObject({ code: "FORBIDDEN" });
    expect(await errorOf(linked.jobs.cancel.mutate({ id: job.id }))).toMatchObject({ code: "FORBIDDEN" });
  });
});
