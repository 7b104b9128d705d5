/**
 * Redis goes away in the middle of a session and comes back (empty, as a
 * restarted Redis without persistence is): an edit stored on one process
 * while the bus was down (its message lost) still reaches the other
 * process's clients once the bus is back (the documents are read again from
 * the database), and a creation job made meanwhile, which only the database
 * holds, is run by a worker. A Redis of this test's own, on a free port, so
 * that stopping it disturbs no other test.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tempDataDir, waitFor, startTestServer, type TestServer } from "../testing/harness";
import { connectYClient } from "../testing/yjs-client";
import { fakePortrait, steppingStages } from "../jobs/testing";
import { startJobWorker } from "../jobs/worker";
import { clusterTestUrls, freshDatabase } from "./testing";
import { freePort } from "./local-cluster";

const urls = clusterTestUrls();
let redis: ChildProcess | null = null;
let port = 0;
let a: TestServer;
let b: TestServer;

async function startRedis(): Promise<void> {
  redis = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  const child = redis;
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on("data", (d: Buffer) => d.toString().includes("Ready to accept connections") && resolve());
    child.once("error", reject);
    child.once("exit", (code) => reject(new Error(`redis-server exited (${code})`)));
  });
}

async function stopRedis(): Promise<void> {
  const child = redis;
  redis = null;
  if (!child || child.exitCode !== null) return;
  await new Promise<void>((resolve) => {
    child.once("exit", () => resolve());
    child.kill("SIGKILL");
  });
}

beforeAll(async () => {
  if (!urls) return;
  port = await freePort();
  await startRedis();
  const config = {
    databaseUrl: await freshDatabase(urls.postgres),
    redisUrl: `redis://127.0.0.1:${port}`,
    redisPrefix: "perse-outage",
    dataDir: tempDataDir("perse-outage-"),
  };
  a = await startTestServer(config);
  b = await startTestServer(config);
}, 120_000);

afterAll(async () => {
  await Promise.all([a?.close(), b?.close()]);
  await stopRedis();
});

describe.skipIf(!urls)("a Redis outage", () => {
  it("loses no edit: what was stored while the bus was down reaches the other process when it is back", async () => {
    const id = (await a.db.avatar.create({ data: { name: "Outage" } })).id;
    const ca = await connectYClient(a.url, id);
    const cb = await connectYClient(b.url, id);
    try {
      ca.doc.getMap("attributes").set("hair", 0.1);
      await waitFor(() => cb.doc.getMap("attributes").get("hair") === 0.1, 3000, "the bus working");

      await stopRedis();
      // Editing on A goes on; A's clients have it, B's cannot yet.
      ca.doc.getMap("attributes").set("hair", 0.9);
      await waitFor(
        async () => (await a.db.docUpdate.findMany({ where: { avatarId: id } })).length >= 2,
        3000,
        "A's edit stored",
      );
      // Long enough for the publish to be given up (a few reconnection attempts).
      await new Promise((r) => setTimeout(r, 2000));
      expect(cb.doc.getMap("attributes").get("hair")).toBe(0.1);

      await startRedis();
      const back = performance.now();
      await waitFor(() => cb.doc.getMap("attributes").get("hair") === 0.9, 15_000, "A's edit at B after the outage");
      console.log(
        `the edit made during the outage reached B ${(performance.now() - back).toFixed(0)} ms after Redis was back`,
      );
      // And the bus carries new edits again.
      cb.doc.getMap("attributes").set("beard", -0.3);
      await waitFor(() => ca.doc.getMap("attributes").get("beard") === -0.3, 5000, "B's edit at A after the outage");
    } finally {
      ca.destroy();
      cb.destroy();
    }
  }, 60_000);

  it("loses no job: one created while Redis was down is run by a worker once it is back", async () => {
    const worker = await startJobWorker({
      config: a.config,
      stages: steppingStages({ steps: 3, stepMs: 20 }),
      log: () => undefined,
    });
    try {
      await stopRedis();
      // The web process gives up queueing after a few seconds; the row stays queued in the database.
      const { jobId } = await a.jobs.createAvatarJob({
        portraitId: await fakePortrait(a.dataDir),
        name: "Made during the outage",
        config: "tiny",
      });
      await new Promise((r) => setTimeout(r, 500));
      expect((await a.jobs.view(jobId))?.status).toBe("queued");

      await startRedis();
      const back = performance.now();
      await waitFor(async () => (await a.jobs.view(jobId))?.status === "done", 20_000, "the job done after the outage");
      console.log(
        `the job created during the outage was done ${(performance.now() - back).toFixed(0)} ms after Redis was back`,
      );
    } finally {
      await worker.close();
    }
  }, 60_000);
});
