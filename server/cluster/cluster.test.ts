/**
 * Two server processes' worth of studio (two startServer instances, each with
 * its own documents, sockets and Redis connections) on one PostgreSQL
 * database, one Redis and one DATA_DIR: what one serves must reach the
 * other's clients. The several-OS-process version, with SIGKILL, is
 * e2e/cluster.spec.ts; this one checks the details fast.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as Y from "yjs";
import { createTRPCClient, httpLink } from "@trpc/client";
import { hashToken, newShareToken } from "../auth/access";
import { tempDataDir, waitFor, type TestServer } from "../testing/harness";
import { connectYClient, openYSocket } from "../testing/yjs-client";
import { startServerWithStages, steppingStages, watchNewJob } from "../jobs/testing";
import { startJobWorker, type JobWorker } from "../jobs/worker";
import { clusterTestUrls, freshDatabase } from "./testing";
import { LINK_ENDED_CLOSE_CODE, RefusalCodes } from "../../protocol/yjs";
import { greetedSocket } from "../testing/socket-client";
import type { AppRouter } from "../api/router";

const urls = clusterTestUrls();
let a: TestServer;
let b: TestServer;
let worker: JobWorker;
let avatarId: string;
const behaviour = { steps: 8, stepMs: 60 };

beforeAll(async () => {
  if (!urls) return;
  const dataDir = tempDataDir("perse-cluster-");
  // A prefix of its own: other tests' studios may share this Redis at the same time.
  const redisPrefix = `perse-test-${randomUUID().slice(0, 8)}`;
  const databaseUrl = await freshDatabase(urls.postgres);
  const config = { databaseUrl, redisUrl: urls.redis, redisPrefix, dataDir, compactAfterUpdates: 6 };
  // The web processes' stages break: a job done proves that the worker ran it.
  const broken = steppingStages({ ...behaviour, failIn: () => "first" });
  a = await startServerWithStages(broken, config);
  b = await startServerWithStages(broken, config);
  worker = await startJobWorker({ config: a.config, stages: steppingStages(behaviour), log: () => undefined });
  avatarId = (await a.db.avatar.create({ data: { name: "Cluster test" } })).id;
}, 120_000);

afterAll(async () => {
  await worker?.close();
  await Promise.all([a?.close(), b?.close()]);
});

async function link(role: "view" | "edit") {
  const token = newShareToken();
  const row = await a.db.shareLink.create({ data: { avatarId, role, tokenHash: hashToken(token) } });
  return { token, id: row.id };
}

async function timeUntil(check: () => boolean, what: string): Promise<number> {
  const start = performance.now();
  await waitFor(check, 3000, what);
  return performance.now() - start;
}

describe.skipIf(!urls)("several processes on Redis and PostgreSQL", () => {
  it("an edit on one process reaches the other's clients within 1 s, stored once", async () => {
    const ca = await connectYClient(a.url, avatarId);
    const cb = await connectYClient(b.url, avatarId);
    try {
      const rowsBefore = await a.db.docUpdate.count({ where: { avatarId } });
      ca.doc.getMap("attributes").set("hair", 0.42);
      const ab = await timeUntil(() => cb.doc.getMap("attributes").get("hair") === 0.42, "A's edit at B");
      cb.doc.getMap("attributes").set("beard", -0.5);
      const ba = await timeUntil(() => ca.doc.getMap("attributes").get("beard") === -0.5, "B's edit at A");
      expect(ab).toBeLessThan(1000);
      expect(ba).toBeLessThan(1000);
      // Each edit is one row: the process that received it stores it, the other only passes it on.
      await waitFor(async () => (await a.db.docUpdate.count({ where: { avatarId } })) >= rowsBefore + 2, 2000, "rows");
      await new Promise((r) => setTimeout(r, 200));
      expect(await a.db.docUpdate.count({ where: { avatarId } })).toBe(rowsBefore + 2);
    } finally {
      ca.destroy();
      cb.destroy();
    }
  });

  it("carries presence across processes, and an id held on one cannot be taken on the other", async () => {
    // A document B has not opened yet: B learns the presence A already holds when it opens it.
    const id = (await a.db.avatar.create({ data: { name: "Presence" } })).id;
    const ca = await connectYClient(a.url, id);
    ca.provider.awareness.setLocalStateField("user", { name: "Ada", color: "#112233" });
    const atA = await a.docs.acquire(id);
    await waitFor(() => atA.awareness.getStates().has(ca.doc.clientID), 2000, "Ada's presence at A");
    a.docs.release(atA);
    const cb = await connectYClient(b.url, id);
    const token = newShareToken();
    await a.db.shareLink.create({ data: { avatarId: id, role: "edit", tokenHash: hashToken(token) } });
    const forger = openYSocket(b.url, id, { token });
    try {
      const seen = () =>
        cb.provider.awareness.getStates().get(ca.doc.clientID) as { user?: { name: string } } | undefined;
      await timeUntil(() => seen()?.user?.name === "Ada", "A's presence at B");
      expect((await forger.opened).ok).toBe(true);
      // B has never seen a socket of Ada's: only the cluster tells it whose id this is.
      const clock = ca.provider.awareness.meta.get(ca.doc.clientID)!.clock;
      forger.sendPresence(ca.doc.clientID, clock + 10, { user: { name: "Not Ada", color: "#000000" } });
      await waitFor(() => forger.deniedReasons().length > 0, 3000, "refusal");
      expect(forger.deniedReasons()[0]).toMatch(new RegExp(`^${RefusalCodes.invalidPresence}`));
      await new Promise((r) => setTimeout(r, 300));
      expect(seen()?.user?.name).toBe("Ada");
      // Ada leaves A: B's clients see her go.
      const gone = await timeUntil(() => {
        if (!ca.doc.isDestroyed) ca.destroy();
        return !cb.provider.awareness.getStates().has(ca.doc.clientID);
      }, "Ada's presence gone at B");
      expect(gone).toBeLessThan(1000);
    } finally {
      forger.ws.close();
      if (!ca.doc.isDestroyed) ca.destroy();
      cb.destroy();
    }
  });

  it("writers on both processes while the log is compacted lose nothing, and a late process loads it all", async () => {
    const id = (await a.db.avatar.create({ data: { name: "Two writers" } })).id;
    const ca = await connectYClient(a.url, id);
    const cb = await connectYClient(b.url, id);
    const values = new Map<string, number>();
    try {
      for (let i = 0; i < 40; i++) {
        const key = `k${i}`;
        const value = Math.round((i / 39) * 1000) / 1000;
        values.set(key, value);
        (i % 2 ? cb : ca).doc.getMap("attributes").set(key, value);
        if (i % 5 === 0) await new Promise((r) => setTimeout(r, 5));
      }
      const all = (doc: Y.Doc) => [...values].every(([k, v]) => doc.getMap("attributes").get(k) === v);
      await waitFor(() => all(ca.doc) && all(cb.doc), 5000, "every edit on both sides");
      for (const server of [a, b]) {
        const shared = await server.docs.acquire(id);
        await shared.flushed();
        server.docs.release(shared);
      }
      const rows = await a.db.docUpdate.findMany({ where: { avatarId: id }, orderBy: { id: "asc" } });
      // Compacted (every 6 rows), and the stored log alone holds every edit.
      expect(rows.length).toBeLessThan(20);
      const replay = new Y.Doc();
      for (const r of rows) Y.applyUpdate(replay, r.update);
      expect(all(replay)).toBe(true);
      // A client that comes later, on either process, gets everything.
      const late = await connectYClient(b.url, id);
      expect(all(late.doc)).toBe(true);
      late.destroy();
    } finally {
      ca.destroy();
      cb.destroy();
    }
  });

  it("compaction keeps a row another process stored but has not published yet", async () => {
    const id = (await a.db.avatar.create({ data: { name: "Unpublished row" } })).id;
    const shared = await a.docs.acquire(id);
    try {
      // Stored by "another process" whose message has not arrived: A's document does not have it.
      const other = new Y.Doc();
      other.getMap("attributes").set("glasses", 0.25);
      await a.db.docUpdate.create({ data: { avatarId: id, update: new Uint8Array(Y.encodeStateAsUpdate(other)) } });
      // A's own edits then pass the compaction threshold; its last row's id is above the foreign one.
      for (let i = 0; i < 6; i++) shared.doc.getMap("attributes").set(`a${i}`, i / 10);
      await shared.flushed();
      const rows = await a.db.docUpdate.findMany({ where: { avatarId: id }, orderBy: { id: "asc" } });
      expect(rows.length).toBeLessThanOrEqual(2);
      const replay = new Y.Doc();
      for (const r of rows) Y.applyUpdate(replay, r.update);
      expect(replay.getMap("attributes").get("glasses")).toBe(0.25);
      expect(replay.getMap("attributes").get("a5")).toBe(0.5);
    } finally {
      a.docs.release(shared);
    }
  });

  it("a view link revoked through one process closes its sessions on the other within 1 s", async () => {
    const view = await link("view");
    const yjs = openYSocket(b.url, avatarId, { token: view.token });
    expect((await yjs.opened).ok).toBe(true);
    const socket = await greetedSocket(b.url, { token: view.token });
    try {
      await waitFor(() => b.linkSessions.count(view.id) === 2, 3000, "both sessions tracked at B");
      const ended = new Promise<string>((resolve) => socket.once("session:ended", (e) => resolve(e.reason)));
      // The owner revokes on A (loopback is the owner), through the API the share dialog calls.
      const owner = createTRPCClient<AppRouter>({ links: [httpLink({ url: `${a.url}/api/trpc` })] });
      const start = performance.now();
      await owner.shareLinks.revoke.mutate({ id: view.id });
      await waitFor(() => yjs.closed() !== null, 3000, "Yjs socket at B closed");
      expect(await ended).toBe("revoked");
      expect(performance.now() - start).toBeLessThan(1000);
      expect(yjs.closed()!.code).toBe(LINK_ENDED_CLOSE_CODE);
      expect(b.linkSessions.count(view.id)).toBe(0);
    } finally {
      socket.close();
      yjs.ws.close();
    }
  });

  it("a job queued on one web process runs on a worker and reports its progress to a watcher on another", async () => {
    const socket = await greetedSocket(b.url);
    try {
      const { watched, updates } = await watchNewJob(a, socket, "Made on A");
      expect(watched.ok).toBe(true);
      await waitFor(() => updates.some((u) => u.status === "done"), 10_000, "the job done, seen from B");
      const progress = updates.map((u) => u.progress);
      expect(new Set(progress).size).toBeGreaterThan(2);
      expect(progress[progress.length - 1]).toBe(1);
    } finally {
      socket.close();
    }
  });
});
