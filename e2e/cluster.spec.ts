/**
 * The studio as a cluster on this machine: two web processes and two render
 * nodes (separate OS processes) on PostgreSQL, Redis and one DATA_DIR, the
 * web processes behind the local TCP balancer (server/cluster/local-cluster.ts). Needs PG_TEST_URL and
 * REDIS_TEST_URL (.ci/run sets both; it never skips in CI).
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect, test, type Browser, type Page } from "@playwright/test";
import { startLocalCluster, type LocalCluster } from "../server/cluster/local-cluster";
import { clusterTestUrls, freshDatabase } from "../server/cluster/testing";
import { fileURLToPath } from "node:url";
import { expectHairBothWays, openSynced, setHair, startJob } from "./helpers";

const urls = clusterTestUrls();
let cluster: LocalCluster;
let avatarId: string;

test.describe.configure({ mode: "serial" });
test.skip(!urls, "PG_TEST_URL and REDIS_TEST_URL are not set (scripts/start-test-postgres.sh, start-test-redis.sh)");

test.beforeAll(async () => {
  test.setTimeout(240_000);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "perse-e2e-cluster-"));
  cluster = await startLocalCluster({
    webProcesses: 2,
    renderNodes: 2,
    workers: 1,
    databaseUrl: await freshDatabase(urls!.postgres),
    redisUrl: urls!.redis,
    dataDir,
    // Keys and channels of its own: nothing else in this Redis is this cluster's.
    env: { SEED_DEMO: "false", REDIS_PREFIX: `perse-e2e-${process.pid}` },
  });
  avatarId = (await mutate<{ id: string }>(cluster.webs[0]!.url, "avatars.create", { name: "Cluster e2e" })).id;
});

/** A tRPC mutation on one web process, as the owner (loopback). */
async function mutate<T>(base: string, name: string, input: unknown): Promise<T> {
  const res = await fetch(`${base}/api/trpc/${name}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(input),
  });
  expect(res.ok, `${name} answers`).toBe(true);
  return ((await res.json()) as { result: { data: T } }).result.data;
}

test.afterAll(async () => {
  await cluster?.close();
});

async function editor(browser: Browser, base: string, at = `/avatars/${avatarId}`): Promise<Page> {
  const page = await (await browser.newContext({ baseURL: base })).newPage();
  await openSynced(page, at);
  return page;
}

/** The portrait the create-avatar e2e uses (rendered by scripts/make-test-portraits.ts). */
const PORTRAIT = fileURLToPath(new URL("./fixtures/portrait.jpg", import.meta.url));

const framesOf = (page: Page) =>
  page.getByTestId("stream-canvas").evaluate((c: HTMLCanvasElement) => ({
    frames: Number(c.dataset.frames),
    version: Number(c.dataset.version),
    source: c.dataset.source ?? "",
  }));

test("two browsers on different web processes see each other's edits and presence within 1 s, and both stream", async ({
  browser,
}) => {
  test.setTimeout(120_000);
  const a = await editor(browser, cluster.webs[0]!.url);
  const b = await editor(browser, cluster.webs[1]!.url);
  await expect(a.getByTestId("peer")).toHaveCount(2);
  await expect(b.getByTestId("peer")).toHaveCount(2);
  // The avatar's render node streams to both, whichever web process they are on.
  for (const page of [a, b])
    await expect.poll(async () => (await framesOf(page)).frames, { timeout: 60_000 }).toBeGreaterThan(0);
  const source = (await framesOf(a)).source;
  expect(cluster.renderNodes.map((n) => n.url)).toContain(source);
  expect((await framesOf(b)).source).toBe(source);
  // Measured once the node streams (its first session's bake shares these 2 cores with everything else).
  await expectHairBothWays(a, b, "on the other web process");
  const before = await framesOf(b);
  await setHair(a, 0.8);
  await expect.poll(async () => (await framesOf(b)).version, { timeout: 30_000 }).toBeGreaterThan(before.version);
  await a.context().close();
  await b.context().close();
});

test("SIGKILL of a web process: its browsers reconnect to the other and no acknowledged edit is lost", async ({
  browser,
}) => {
  test.setTimeout(120_000);
  // Through the balancer: each page's sockets land on either process.
  const a = await editor(browser, cluster.url);
  const b = await editor(browser, cluster.url);
  await setHair(a, 0.55);
  // Acknowledged: stored, then broadcast, so B has it.
  await expect(b.getByTestId("value-hair")).toHaveText("0.55", { timeout: 2000 });

  cluster.webs[0]!.child.kill("SIGKILL");
  await new Promise<void>((resolve) => cluster.webs[0]!.child.once("exit", () => resolve()));
  const killedAt = Date.now();
  // Whatever either page had on the dead process comes back through the balancer on the other.
  await expect(a.getByTestId("sync-status")).toHaveText("synced", { timeout: 20_000 });
  await expect(b.getByTestId("sync-status")).toHaveText("synced", { timeout: 20_000 });
  await setHair(b, -0.25);
  await expect(a.getByTestId("value-hair")).toHaveText("-0.25", { timeout: 5000 });
  console.log(`both browsers editing again ${Date.now() - killedAt} ms after the kill`);

  // A browser that arrives now (served by the survivor) finds the last edit, stored before the kill or after.
  const c = await editor(browser, cluster.url);
  await expect(c.getByTestId("value-hair")).toHaveText("-0.25");
  for (const page of [a, b, c]) await page.context().close();
  await cluster.restart(0);
});

test("SIGKILL of the render node: another takes the avatar and its viewers get frames again within 5 s", async ({
  browser,
}) => {
  test.setTimeout(120_000);
  const page = await editor(browser, cluster.url);
  await expect.poll(async () => (await framesOf(page)).frames, { timeout: 60_000 }).toBeGreaterThan(0);
  const serving = (await framesOf(page)).source;
  const victim = cluster.renderNodes.find((n) => n.url === serving)!;
  expect(victim, `frames come from a render node (${serving})`).toBeTruthy();
  victim.child.kill("SIGKILL");
  const killedAt = Date.now();
  const framesBefore = (await framesOf(page)).frames;
  await expect
    .poll(async () => (await framesOf(page)).source !== serving, { timeout: 15_000, intervals: [50] })
    .toBe(true);
  console.log(`the page moved to ${(await framesOf(page)).source} ${Date.now() - killedAt} ms after the kill`);
  // A frame drawn after the kill, from the other node (the page asks its web process again and moves).
  await expect
    .poll(
      async () => {
        const now = await framesOf(page);
        return now.source !== serving && now.frames > framesBefore;
      },
      { timeout: 15_000, intervals: [100] },
    )
    .toBe(true);
  const elapsed = Date.now() - killedAt;
  console.log(`frames again from ${(await framesOf(page)).source} ${elapsed} ms after the render node was killed`);
  expect(elapsed).toBeLessThan(5000);
  await page.context().close();
});

test("a view link revoked on one web process closes its session on the other within 1 s", async ({ browser }) => {
  const link = await mutate<{ id: string; token: string }>(cluster.webs[0]!.url, "shareLinks.create", {
    avatarId,
    role: "view",
  });
  // The viewer is on the second web process; the owner revokes through the first.
  const viewer = await editor(browser, cluster.webs[1]!.url, `/s/${link.token}`);
  await expect(viewer.getByTestId("role-badge")).toHaveText("View only");
  const start = Date.now();
  await mutate(cluster.webs[0]!.url, "shareLinks.revoke", { id: link.id });
  await expect(viewer.getByTestId("load-error")).toContainText(/revoked/i, { timeout: 5000 });
  const elapsed = Date.now() - start;
  console.log(`the view link's page on the other web process ended ${elapsed} ms after the revocation`);
  expect(elapsed).toBeLessThan(1000);
  await viewer.context().close();
});

test("SIGKILL of the job worker in the middle of training: a new worker resumes from the checkpoint, and the page shows it", async ({
  browser,
}) => {
  test.setTimeout(300_000);
  const page = await (await browser.newContext({ baseURL: cluster.url })).newPage();
  await startJob(page, PORTRAIT, "Cluster failover", "tiny");
  const trainBar = page.locator('[data-testid="stage-row"][data-stage="train"] [role="progressbar"]');
  // Past its first checkpoints (every 10 of the tiny config's iterations), not yet done.
  await expect
    .poll(async () => Number((await trainBar.getAttribute("data-progress").catch(() => null)) ?? 0), {
      timeout: 180_000,
      intervals: [50],
    })
    .toBeGreaterThan(0.3);
  const progressAtKill = Number(await trainBar.getAttribute("data-progress"));
  cluster.workers[0]!.child.kill("SIGKILL");
  const killedAt = Date.now();
  console.log(`worker killed with the training at ${(progressAtKill * 100).toFixed(0)}%`);
  expect(progressAtKill).toBeLessThan(1);
  await cluster.restartWorker(0);

  await expect(page.getByTestId("job-ready")).toBeVisible({ timeout: 120_000 });
  console.log(`the page showed the job done ${Date.now() - killedAt} ms after the kill`);
  // The new worker went on from the dead one's checkpoint, as the job's log on the page says.
  const resumed = (await page.getByTestId("job-log").textContent())!.match(/train: resuming .* at iteration (\d+)/);
  expect(resumed, "the job log says training resumed from a checkpoint").toBeTruthy();
  expect(Number(resumed![1])).toBeGreaterThan(0);
  console.log(`training resumed at iteration ${resumed![1]}`);
  await expect(page.locator('[data-testid="stage-row"][data-status="done"]')).toHaveCount(
    await page.getByTestId("stage-row").count(),
  );
  await page.context().close();
});
