/**
 * A job worker SIGKILLed in the middle of a creation: another worker takes
 * the job once the dead one's lock lapses and finishes it from its last
 * finished stage, and the owner's page (a socket.io watcher on the web
 * process) sees it through to "done". Real processes, PostgreSQL and Redis.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tempDataDir, waitFor, type TestServer } from "../testing/harness";
import { startServerWithStages, steppingStages, watchNewJob } from "../jobs/testing";
import { clusterTestUrls, freshDatabase } from "./testing";
import { greetedSocket } from "../testing/socket-client";

const urls = clusterTestUrls();
let web: TestServer;
let env: Record<string, string>;
const workers: ChildProcess[] = [];

function startWorker(): Promise<ChildProcess> {
  const child = spawn(process.execPath, ["--import", "tsx", "server/jobs/testing-worker.ts"], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  workers.push(child);
  let output = "";
  return new Promise((resolve, reject) => {
    child.stdout!.on("data", (d: Buffer) => {
      output += d.toString();
      if (output.includes("test worker ready")) resolve(child);
    });
    child.stderr!.on("data", (d: Buffer) => (output += d.toString()));
    child.once("exit", (code) => reject(new Error(`test worker exited (${code}): ${output}`)));
  });
}

beforeAll(async () => {
  if (!urls) return;
  const dataDir = tempDataDir("perse-failover-");
  const redisPrefix = `perse-test-${randomUUID().slice(0, 8)}`;
  const databaseUrl = await freshDatabase(urls.postgres);
  env = {
    DATA_DIR: dataDir,
    DATABASE_URL: databaseUrl,
    REDIS_URL: urls.redis,
    REDIS_PREFIX: redisPrefix,
    TEST_STEPS: "10",
    TEST_STEP_MS: "150",
  };
  // The web process's own stages break: only a worker can finish the job.
  web = await startServerWithStages(steppingStages({ steps: 1, stepMs: 1, failIn: () => "first" }), {
    databaseUrl,
    redisUrl: urls.redis,
    redisPrefix,
    dataDir,
  });
}, 120_000);

afterAll(async () => {
  for (const w of workers) w.kill("SIGKILL");
  await web?.close();
});

describe.skipIf(!urls)("job workers", () => {
  it("a SIGKILLed worker's job is finished by another from its last finished stage, and the page sees it", async () => {
    const socket = await greetedSocket(web.url);
    try {
      const { jobId, avatarId, watched, updates } = await watchNewJob(web, socket, "Failover");
      // No worker yet: the job waits, and says for what.
      expect(watched).toMatchObject({ ok: true, value: { status: "queued", workersOnline: 0 } });
      const first = await startWorker();
      expect(await web.jobs.workersOnline()).toBe(1);
      await waitFor(async () => (await web.jobs.view(jobId))?.status !== "queued", 10_000, "the worker taking the job");

      // Killed in the middle of the second stage, the first one done.
      await waitFor(
        async () => {
          const row = await web.db.job.findUnique({ where: { id: jobId }, select: { stage: true, progress: true } });
          return row?.stage === "second" && row.progress > 0.4;
        },
        20_000,
        "the job in its second stage",
      );
      first.kill("SIGKILL");
      const killedAt = Date.now();
      await waitFor(async () => (await web.jobs.workersOnline()) === 0, 8000, "the dead worker's registration lapsed");
      await startWorker();
      expect(await web.jobs.workersOnline()).toBe(1);
      await waitFor(() => updates.some((u) => u.status === "done"), 45_000, "the job done by the second worker");
      console.log(`job finished ${Date.now() - killedAt} ms after its worker was killed`);

      const runs = fs
        .readFileSync(path.join(web.dataDir, "stage-runs.log"), "utf8")
        .trim()
        .split("\n")
        .map((l) => l.split(" "));
      const pids = [first.pid, workers[1]!.pid].map(String);
      // The first stage ran once, on the first worker; the second again from its start on the second; then the bundle.
      expect(runs).toEqual([
        ["first", pids[0]],
        ["second", pids[0]],
        ["second", pids[1]],
        ["bundle", pids[1]],
      ]);
      const avatar = await web.db.avatar.findUniqueOrThrow({ where: { id: avatarId }, select: { status: true } });
      expect(avatar.status).toBe("ready");
      const job = await web.db.job.findUniqueOrThrow({ where: { id: jobId }, select: { status: true, log: true } });
      expect(job.status).toBe("done");
      // The page saw progress before the kill and after it, ending at 1.
      expect(updates.filter((u) => u.status === "running").length).toBeGreaterThan(2);
      expect(updates[updates.length - 1]!.progress).toBe(1);
    } finally {
      socket.close();
    }
  }, 120_000);
});
