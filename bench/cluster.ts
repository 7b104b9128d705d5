/**
 * Cluster benchmark (npm run bench:cluster): BENCH_CLIENTS Yjs clients (the real
 * y-websocket provider, as pages use it) on one avatar, spread evenly over the web
 * processes of a local cluster (server/cluster/local-cluster.ts: separate OS
 * processes), one row per setup in one run:
 *   - "2 processes": two web processes on PostgreSQL and Redis (REDIS_URL);
 *   - "1 process": one web process on the same database without Redis (today's
 *     shape on PostgreSQL), for the ratio;
 *   - "1 process, SQLite": the embedded default.
 * BENCH_EDITS slider changes, one every BENCH_INTERVAL_MS, each by the next of ten
 * writers (half on each process). Per edit: the time until every other client has
 * it (edit-to-every-peer), p50 / p95 / max; lost: (client, edit) pairs never seen
 * plus clients whose final state differs; Redis commands per edit from the
 * server's INFO commandstats (all commands the processes sent, presence included).
 * BENCH_BASELINE_ROOT: another checkout (built, with node_modules) whose server runs a
 * fourth row, "1 process, SQLite" on that code, for the before/after of the default.
 * Env: BENCH_CLIENTS (200), BENCH_EDITS (100), BENCH_INTERVAL_MS (50),
 * DATABASE_URL (a PostgreSQL server whose role may create databases: each PostgreSQL
 * row gets a new one; default PG_TEST_URL), REDIS_URL
 * (default redis://127.0.0.1:6379).
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Redis } from "ioredis";
import { startLocalCluster, type LocalCluster } from "../server/cluster/local-cluster";
import { freshDatabase } from "../server/cluster/testing";
import { connectYClient, type YClient } from "../server/testing/yjs-client";
import { waitFor } from "../server/testing/harness";
import { attributesMap } from "../protocol/shared-state";
import { defaultDatabaseUrl } from "../server/storage/layout";
import { percentile } from "../render-core/math/arrays";

const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 200);
const EDITS = Number(process.env.BENCH_EDITS ?? 100);
const INTERVAL_MS = Number(process.env.BENCH_INTERVAL_MS ?? 50);
const WRITERS = 10;
const KEYS = 32;
const REDIS_URL = process.env.REDIS_URL || "redis://127.0.0.1:6379";
/** A PostgreSQL server URL: each PostgreSQL row runs on a new database made there. */
const POSTGRES_URL = process.env.DATABASE_URL || process.env.PG_TEST_URL;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Edit i's value: unique, inside the sliders' [-1, 1]. */
const valueOf = (i: number) => Math.round((-1 + (2 * (i + 1)) / (EDITS + 2)) * 1e6) / 1e6;

async function redisCalls(redis: Redis): Promise<number> {
  const info = await redis.info("commandstats");
  let calls = 0;
  for (const m of info.matchAll(/calls=(\d+)/g)) calls += Number(m[1]);
  return calls;
}

interface Row {
  setup: string;
  p50: number;
  p95: number;
  max: number;
  lost: number;
  redisPerEdit: number | null;
  connectS: number;
}

async function run(setup: string, cluster: LocalCluster, redis: Redis | null): Promise<Row> {
  const res = await fetch(`${cluster.webs[0]!.url}/api/trpc/avatars.create`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ name: `bench:cluster ${setup}` }),
  });
  const avatarId = ((await res.json()) as { result: { data: { id: string } } }).result.data.id;
  const connectStart = performance.now();
  const clients: YClient[] = [];
  for (let i = 0; i < CLIENTS; i += 20) {
    const batch = Array.from({ length: Math.min(20, CLIENTS - i) }, (_, k) =>
      connectYClient(cluster.webs[(i + k) % cluster.webs.length]!.url, avatarId),
    );
    clients.push(...(await Promise.all(batch)));
  }
  const connectS = (performance.now() - connectStart) / 1000;
  // seen[c][i]: when client c first had edit i.
  const seen = clients.map(() => new Float64Array(EDITS).fill(NaN));
  const index = new Map<number, number>();
  for (let i = 0; i < EDITS; i++) index.set(valueOf(i), i);
  clients.forEach((c, ci) =>
    attributesMap(c.doc).observe((event) => {
      const now = performance.now();
      for (const key of event.keysChanged) {
        const i = index.get(attributesMap(c.doc).get(key) as number);
        if (i !== undefined && Number.isNaN(seen[ci]![i]!)) seen[ci]![i] = now;
      }
    }),
  );
  await sleep(500);
  const callsBefore = redis ? await redisCalls(redis) : 0;
  const writers = Array.from({ length: WRITERS }, (_, w) => w % clients.length);
  const sentAt = new Float64Array(EDITS);
  const writerOf = new Int32Array(EDITS);
  for (let i = 0; i < EDITS; i++) {
    const ci = writers[i % WRITERS]!;
    writerOf[i] = ci;
    sentAt[i] = performance.now();
    seen[ci]![i] = sentAt[i]!;
    attributesMap(clients[ci]!.doc).set(`k${i % KEYS}`, valueOf(i));
    await sleep(INTERVAL_MS);
  }
  const all = () => seen.every((s) => s.every((t) => !Number.isNaN(t)));
  await waitFor(all, 15_000, "every edit at every client").catch(() => undefined);
  const callsAfter = redis ? await redisCalls(redis) : 0;
  const perEdit: number[] = [];
  let lost = 0;
  for (let i = 0; i < EDITS; i++) {
    let last = 0;
    for (let c = 0; c < clients.length; c++) {
      const t = seen[c]![i]!;
      if (Number.isNaN(t)) lost++;
      else last = Math.max(last, t - sentAt[i]!);
    }
    perEdit.push(last);
  }
  // Key order follows arrival, which differs between clients: compare sorted entries.
  const state = (c: YClient) =>
    JSON.stringify([...attributesMap(c.doc).entries()].sort(([a], [b]) => a.localeCompare(b)));
  const final = state(clients[writerOf[EDITS - 1]!]!);
  for (const c of clients) if (state(c) !== final) lost++;
  for (const c of clients) c.destroy();
  return {
    setup,
    p50: percentile(perEdit, 50),
    p95: percentile(perEdit, 95),
    max: Math.max(...perEdit),
    lost,
    // The benchmark's own two INFO calls are not the cluster's.
    redisPerEdit: redis ? (callsAfter - callsBefore - 1) / EDITS : null,
    connectS,
  };
}

async function main(): Promise<void> {
  // Every y-websocket provider listens for the process's exit.
  process.setMaxListeners(0);
  const redis = new Redis(REDIS_URL, { lazyConnect: true });
  await redis.connect();
  const baseline = process.env.BENCH_BASELINE_ROOT;
  const setups: Array<{ setup: string; web: number; db: "pg" | "sqlite"; redis: boolean; root?: string }> = [
    { setup: "2 processes, PostgreSQL + Redis", web: 2, db: "pg", redis: true },
    { setup: "1 process, PostgreSQL", web: 1, db: "pg", redis: false },
    { setup: "1 process, SQLite (default)", web: 1, db: "sqlite", redis: false },
    ...(baseline
      ? [
          {
            setup: `1 process, SQLite, code at ${baseline}`,
            web: 1,
            db: "sqlite" as const,
            redis: false,
            root: baseline,
          },
        ]
      : []),
  ];
  const rows: Row[] = [];
  console.log(`bench:cluster: ${CLIENTS} clients, ${EDITS} edits every ${INTERVAL_MS} ms, ${os.cpus().length} cores`);
  for (const s of setups) {
    if (s.db === "pg" && !POSTGRES_URL) {
      console.log(`${s.setup}: skipped (no DATABASE_URL or PG_TEST_URL)`);
      continue;
    }
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "perse-bench-cluster-"));
    const cluster = await startLocalCluster({
      webProcesses: s.web,
      dataDir,
      databaseUrl: s.db === "pg" ? await freshDatabase(POSTGRES_URL!) : defaultDatabaseUrl(dataDir),
      redisUrl: s.redis ? REDIS_URL : null,
      root: s.root,
      env: { SEED_DEMO: "false", REDIS_PREFIX: `perse-bench-${process.pid}` },
    });
    try {
      const row = await run(s.setup, cluster, s.redis ? redis : null);
      rows.push(row);
      console.log(
        `${row.setup}: edit-to-every-peer p50 ${row.p50.toFixed(0)} ms, p95 ${row.p95.toFixed(0)} ms, max ${row.max.toFixed(0)} ms; ` +
          `lost ${row.lost}; redis commands/edit ${row.redisPerEdit?.toFixed(1) ?? "-"}; ${CLIENTS} clients connected in ${row.connectS.toFixed(1)} s`,
      );
    } finally {
      await cluster.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  }
  const find = (prefix: string) => rows.find((r) => r.setup.startsWith(prefix));
  const [two, one, sqlite, old] = [
    find("2 processes"),
    find("1 process, PostgreSQL"),
    find("1 process, SQLite ("),
    find("1 process, SQLite, code"),
  ];
  if (two && one) console.log(`ratio p95 (2 processes / 1 process, PostgreSQL): ${(two.p95 / one.p95).toFixed(2)}`);
  if (sqlite && old)
    console.log(`ratio p95 (this code / baseline, 1 process, SQLite): ${(sqlite.p95 / old.p95).toFixed(2)}`);
  redis.disconnect();
}

await main();
