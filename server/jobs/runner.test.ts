import { afterEach, describe, expect, it } from "vitest";
import fs from "node:fs";
import path from "node:path";
import { migrate } from "../db/migrate";
import { createDb, type Db } from "../db/client";
import { tempDataDir, waitFor } from "../testing/harness";
import type { StageContext, StageDef } from "../pipeline/create/stage";
import { newPortraitId, writePortraitFolder } from "../portraits/store";
import { JobRunner, type JobEvent } from "./runner";
import { parseStages } from "./job-record";

interface Env {
  db: Db;
  dataDir: string;
  portraitId: string;
}

const opened: Array<{ db: Db; runners: JobRunner[] }> = [];

async function env(): Promise<Env> {
  const dataDir = tempDataDir("perse-jobs-");
  const url = `file:${path.join(dataDir, "perse.db")}`;
  await migrate(url);
  const db = createDb(url);
  opened.push({ db, runners: [] });
  const portraitId = newPortraitId();
  await writePortraitFolder(dataDir, portraitId, [["analysis.json", "{}"]]);
  return { db, dataDir, portraitId };
}

function runner(e: Env, stages: StageDef[], extra: { concurrency?: number } = {}): JobRunner {
  const r = new JobRunner({ db: e.db, dataDir: e.dataDir, stages, writeIntervalMs: 50, ...extra });
  opened.find((o) => o.db === e.db)!.runners.push(r);
  return r;
}

afterEach(async () => {
  for (const { db, runners } of opened.splice(0)) {
    for (const r of runners) await r.close();
    await db.$disconnect();
  }
});

/** Waits until the signal aborts, then throws like a well-behaved stage. */
function untilAborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) return reject(new Error("aborted"));
    signal.addEventListener("abort", () => reject(new Error("aborted")), { once: true });
  });
}

/** A gate a test opens when it likes. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((r) => (open = r));
  return { open, opened };
}

/** The last stage's duty: the avatar's bundle with a thumbnail. */
async function writeBundle(ctx: StageContext): Promise<void> {
  const dir = path.join(ctx.dataDir, "avatars", ctx.avatarId, "bundle");
  await fs.promises.mkdir(dir, { recursive: true });
  await fs.promises.writeFile(path.join(dir, "manifest.json"), JSON.stringify({ job: ctx.jobId }));
  await fs.promises.writeFile(path.join(dir, "thumbnail.png"), Buffer.from([0x89, 0x50, 0x4e, 0x47]));
}

/** Three stages that record what ran; the middle one can be held or made to fail. */
function recordingStages(ran: string[], hold?: { middle: (ctx: StageContext) => Promise<void> }): StageDef[] {
  return [
    {
      name: "analyse",
      label: "Analyse",
      weight: 1,
      async run(ctx) {
        ran.push(`analyse:${ctx.jobId}`);
        await fs.promises.writeFile(path.join(ctx.jobDir, "analysis.txt"), "ok");
        ctx.log("face found");
      },
    },
    {
      name: "train",
      label: "Train",
      weight: 8,
      async run(ctx) {
        ran.push(`train:${ctx.jobId}`);
        if (hold) await hold.middle(ctx);
      },
    },
    {
      name: "bundle",
      label: "Bundle",
      weight: 1,
      async run(ctx) {
        ran.push(`bundle:${ctx.jobId}`);
        await writeBundle(ctx);
      },
    },
  ];
}

describe("JobRunner", () => {
  it("runs one job at a time, first in first out, and shows the queue positions", async () => {
    const e = await env();
    const events: string[] = [];
    const first = gate();
    let held = true;
    const stages: StageDef[] = [
      {
        name: "work",
        label: "Work",
        weight: 1,
        async run(ctx) {
          events.push(`start:${ctx.jobId}`);
          if (held) {
            held = false;
            await first.opened;
          }
          await new Promise((r) => setTimeout(r, 20));
          await writeBundle(ctx);
          events.push(`end:${ctx.jobId}`);
        },
      },
    ];
    const r = runner(e, stages);
    const a = await r.createAvatarJob({ portraitId: e.portraitId, name: "A", config: "tiny" });
    const b = await r.createAvatarJob({ portraitId: e.portraitId, name: "B", config: "tiny" });
    const c = await r.createAvatarJob({ portraitId: e.portraitId, name: "C", config: "tiny" });
    await waitFor(() => events.length === 1, 5000, "the first job to start");
    expect((await r.view(a.jobId))!.status).toBe("running");
    expect((await r.view(b.jobId))!).toMatchObject({ status: "queued", queuePosition: 1 });
    expect((await r.view(c.jobId))!).toMatchObject({ status: "queued", queuePosition: 2 });
    first.open();
    await r.idle();
    expect(events).toEqual([
      `start:${a.jobId}`,
      `end:${a.jobId}`,
      `start:${b.jobId}`,
      `end:${b.jobId}`,
      `start:${c.jobId}`,
      `end:${c.jobId}`,
    ]);
    for (const j of [a, b, c]) {
      const v = (await r.view(j.jobId))!;
      expect(v).toMatchObject({
        status: "done",
        progress: 1,
        queuePosition: null,
        stage: null,
        etaSeconds: null,
        error: null,
      });
      const avatar = await e.db.avatar.findUniqueOrThrow({ where: { id: j.avatarId } });
      expect(avatar).toMatchObject({
        status: "ready",
        bundlePath: `avatars/${j.avatarId}/bundle`,
        thumbnailPath: `avatars/${j.avatarId}/bundle/thumbnail.png`,
      });
    }
    expect((await r.list()).map((v) => v.avatarName)).toEqual(["C", "B", "A"]);
  });

  it("runs two at once with concurrency 2", async () => {
    const e = await env();
    let running = 0;
    let most = 0;
    const stages: StageDef[] = [
      {
        name: "work",
        label: "Work",
        weight: 1,
        async run(ctx) {
          most = Math.max(most, ++running);
          await new Promise((r) => setTimeout(r, 150));
          await writeBundle(ctx);
          running--;
        },
      },
    ];
    const r = runner(e, stages, { concurrency: 2 });
    for (const name of ["A", "B", "C", "D"])
      await r.createAvatarJob({ portraitId: e.portraitId, name, config: "tiny" });
    await r.idle();
    expect(most).toBe(2);
  });

  it("writes weighted progress, the stage's ETA plus the rest, and the log to the row while a stage runs", async () => {
    const e = await env();
    const release = gate();
    const stages: StageDef[] = [
      { name: "quick", label: "Quick", weight: 1, run: async () => new Promise((r) => setTimeout(r, 100)) },
      {
        name: "slow",
        label: "Slow",
        weight: 3,
        async run(ctx) {
          ctx.progress(0.5, 12);
          for (let i = 0; i < 700; i++) ctx.log(`step ${i}`);
          await release.opened;
        },
      },
      { name: "bundle", label: "Bundle", weight: 1, run: writeBundle },
    ];
    const r = runner(e, stages);
    const { jobId } = await r.createAvatarJob({ portraitId: e.portraitId, name: "P", config: "tiny" });
    // quick: 1 of 5 done, slow: half of 3 -> (1 + 1.5) / 5.
    const row = await waitFor(
      async () => {
        const j = await e.db.job.findUniqueOrThrow({ where: { id: jobId } });
        return Math.abs(j.progress - 0.5) < 1e-9 && j.log.includes("step 699") ? j : null;
      },
      5000,
      "progress 0.5 in the row",
    );
    expect(row.status).toBe("running");
    expect(row.stage).toBe("slow");
    // 12 s of the stage's own, plus the bundle stage at the measured rate (about 0.1 s per unit of weight): a little over 12.
    expect(row.etaSeconds).toBeGreaterThanOrEqual(12);
    expect(row.etaSeconds).toBeLessThan(13);
    const lines = row.log.split("\n");
    expect(lines).toHaveLength(500);
    expect(lines.at(-1)).toBe("step 699");
    const stored = parseStages(row.stages);
    expect(stored.map((s) => [s.name, s.status])).toEqual([
      ["quick", "done"],
      ["slow", "running"],
      ["bundle", "pending"],
    ]);
    expect(stored[0]!.seconds).toBeGreaterThan(0.05);
    const view = (await r.view(jobId))!;
    expect(view.log).toHaveLength(200);
    expect(view.stages[1]).toMatchObject({ name: "slow", label: "Slow", status: "running", progress: 0.5 });
    release.open();
    await r.idle();
    expect((await r.view(jobId))!.status).toBe("done");
  });

  it("resumes a job interrupted mid-stage without re-running its finished stages", async () => {
    const e = await env();
    const ranBefore: string[] = [];
    const first = runner(e, recordingStages(ranBefore, { middle: (ctx) => untilAborted(ctx.signal) }));
    const { jobId, avatarId } = await first.createAvatarJob({ portraitId: e.portraitId, name: "R", config: "tiny" });
    await waitFor(() => ranBefore.includes(`train:${jobId}`), 5000, "training to start");
    await first.close();
    const killed = await e.db.job.findUniqueOrThrow({ where: { id: jobId } });
    expect(killed.status).toBe("running");
    expect(killed.error).toBeNull();
    expect(parseStages(killed.stages).map((s) => s.status)).toEqual(["done", "running", "pending"]);
    expect((await e.db.avatar.findUniqueOrThrow({ where: { id: avatarId } })).status).toBe("creating");

    const ranAfter: string[] = [];
    const second = runner(e, recordingStages(ranAfter));
    expect(await second.start()).toEqual([jobId]);
    await second.idle();
    expect(ranAfter).toEqual([`train:${jobId}`, `bundle:${jobId}`]);
    const done = (await second.view(jobId))!;
    expect(done.status).toBe("done");
    expect(done.log).toContain("Resuming at Train.");
    expect(done.log).toContain("face found");
    expect((await e.db.avatar.findUniqueOrThrow({ where: { id: avatarId } })).status).toBe("ready");
  });

  it("cancels a running job: the job stays cancelled, its creating avatar and files are gone", async () => {
    const e = await env();
    const ran: string[] = [];
    let stageSawAbort = false;
    const r = runner(
      e,
      recordingStages(ran, {
        middle: async (ctx) => {
          await fs.promises.mkdir(path.join(ctx.dataDir, "avatars", ctx.avatarId, "bundle"), { recursive: true });
          await untilAborted(ctx.signal).catch((err: Error) => {
            stageSawAbort = true;
            throw err;
          });
        },
      }),
    );
    const { jobId, avatarId } = await r.createAvatarJob({ portraitId: e.portraitId, name: "C", config: "tiny" });
    const queued = await r.createAvatarJob({ portraitId: e.portraitId, name: "Q", config: "tiny" });
    await waitFor(() => ran.includes(`train:${jobId}`), 5000, "training to start");
    const view = await r.cancel(jobId);
    expect(view).toMatchObject({
      id: jobId,
      status: "cancelled",
      avatarId,
      avatarName: "C",
      etaSeconds: null,
      stage: null,
    });
    expect(await e.db.avatar.findUnique({ where: { id: avatarId } })).toBeNull();
    const row = await e.db.job.findUniqueOrThrow({ where: { id: jobId } });
    expect(row).toMatchObject({ status: "cancelled", avatarId: null });
    expect(row.finishedAt).not.toBeNull();
    // A queued job can be cancelled too and never starts.
    expect((await r.cancel(queued.jobId)).status).toBe("cancelled");
    await r.idle();
    expect(stageSawAbort).toBe(true);
    expect(ran).not.toContain(`bundle:${jobId}`);
    expect(ran.some((x) => x.endsWith(queued.jobId))).toBe(false);
    expect(fs.existsSync(path.join(e.dataDir, "avatars", avatarId))).toBe(false);
    expect(await e.db.avatar.count({ where: { status: "creating" } })).toBe(0);
    // Cancelling twice answers the same; a finished job cannot be cancelled.
    expect((await r.cancel(jobId)).status).toBe("cancelled");
    expect((await e.db.job.findUniqueOrThrow({ where: { id: jobId } })).status).toBe("cancelled");
  });

  it("fails with the stage's message, marks the avatar failed, and a retry continues from the failed stage", async () => {
    const e = await env();
    const ran: string[] = [];
    let broken = true;
    const logged: string[] = [];
    const r = new JobRunner({
      db: e.db,
      dataDir: e.dataDir,
      writeIntervalMs: 50,
      log: (l) => logged.push(l),
      stages: recordingStages(ran, {
        middle: async () => {
          if (broken) throw new Error("The training loss became NaN at step 12.\nsecond line of detail");
        },
      }),
    });
    opened.at(-1)!.runners.push(r);
    const { jobId, avatarId } = await r.createAvatarJob({ portraitId: e.portraitId, name: "F", config: "tiny" });
    await r.idle();
    const failed = (await r.view(jobId))!;
    expect(failed).toMatchObject({
      status: "failed",
      error: "The training loss became NaN at step 12.",
      stage: "train",
      etaSeconds: null,
    });
    expect(failed.stages.map((s) => s.status)).toEqual(["done", "failed", "pending"]);
    expect(failed.log.at(-1)).toBe("Train failed: The training loss became NaN at step 12.");
    expect((await e.db.avatar.findUniqueOrThrow({ where: { id: avatarId } })).status).toBe("failed");
    // The stack reaches the server log, not the user.
    expect(logged.some((l) => l.includes("runner.test.ts"))).toBe(true);
    expect(failed.error).not.toContain("runner.test.ts");

    broken = false;
    const retried = await r.retry(jobId);
    expect(["queued", "running"]).toContain(retried.status);
    await r.idle();
    expect(ran).toEqual([`analyse:${jobId}`, `train:${jobId}`, `train:${jobId}`, `bundle:${jobId}`]);
    expect((await r.view(jobId))!).toMatchObject({ status: "done", error: null });
    expect((await e.db.avatar.findUniqueOrThrow({ where: { id: avatarId } })).status).toBe("ready");
    await expect(r.retry(jobId)).rejects.toThrow(/Only a failed job can be retried; this one is done/);
    await expect(r.cancel(jobId)).rejects.toThrow(/nothing to cancel/);
  });

  it("fails a job whose last stage wrote no bundle, and refuses artifacts outside the job folder", async () => {
    const e = await env();
    const published: string[] = [];
    const stages: StageDef[] = [
      {
        name: "only",
        label: "Only",
        weight: 1,
        async run(ctx) {
          await fs.promises.writeFile(path.join(ctx.jobDir, "fit.png"), "x");
          ctx.publish("fit", "fit.png");
          published.push("fit");
          try {
            ctx.publish("overlay", "../../perse.db");
          } catch (err) {
            published.push((err as Error).message);
          }
        },
      },
    ];
    const r = runner(e, stages);
    const { jobId, avatarId } = await r.createAvatarJob({ portraitId: e.portraitId, name: "N", config: "tiny" });
    await r.idle();
    const v = (await r.view(jobId))!;
    expect(v.status).toBe("failed");
    expect(v.error).toBe(
      `Only finished without writing the avatar's bundle (avatars/${avatarId}/bundle/manifest.json).`,
    );
    expect(v.artifacts).toEqual({ fit: `/api/jobs/${jobId}/artifacts/fit` });
    expect(published[1]).toMatch(/not a path inside the job folder/);
  });

  it("refuses an unknown portrait and tells listeners about changes and log lines", async () => {
    const e = await env();
    const r = runner(e, recordingStages([]));
    await expect(r.createAvatarJob({ portraitId: "AAAAAAAAAAAAAAAA", name: "X", config: "auto" })).rejects.toThrow(
      /No uploaded portrait with id "AAAAAAAAAAAAAAAA"/,
    );
    await expect(r.createAvatarJob({ portraitId: "../../etc", name: "X", config: "auto" })).rejects.toThrow(
      /No uploaded portrait/,
    );
    expect(await e.db.avatar.count()).toBe(0);
    const seen: JobEvent[] = [];
    r.subscribe((ev) => seen.push(ev));
    const { jobId } = await r.createAvatarJob({ portraitId: e.portraitId, name: "L", config: "auto" });
    await r.idle();
    expect(seen.filter((ev) => ev.type === "log").flatMap((ev) => (ev.type === "log" ? ev.lines : []))).toEqual([
      "Started.",
      "face found",
      "Done: the avatar is ready.",
    ]);
    expect(seen.filter((ev) => ev.type === "change" && ev.status && ev.jobId === jobId).length).toBeGreaterThanOrEqual(
      3,
    );
  });
});
