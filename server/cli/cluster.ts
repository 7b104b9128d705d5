/**
 * `npm run cluster`: the studio as several processes on this machine, for
 * trying a cluster setup before deploying it (docs/deploy.md): N web
 * processes on one database, one Redis and one DATA_DIR, behind a TCP
 * balancer on PORT. Ctrl-C stops them all.
 */
import path from "node:path";
import { parseArgs } from "node:util";
import { intOption, runCli, UsageError } from "./run-cli";
import { startLocalCluster } from "../cluster/local-cluster";
import { defaultDatabaseUrl } from "../storage/layout";

const USAGE = `usage: npm run cluster -- [--web N] [--workers N] [--render-nodes N]
  --web N            web processes (default 2)
  --workers N        job workers (default 1)
  --render-nodes N   render nodes (default 0: each web process streams its own viewers)
environment: PORT (the balancer's, default 3000), REDIS_URL (default redis://127.0.0.1:6379),
  DATABASE_URL (default SQLite under DATA_DIR: fine on one machine; PostgreSQL for several),
  DATA_DIR (default ./data), and everything \`npm start\` reads.`;

async function main(argv: string[]): Promise<void> {
  let values: { web?: string; workers?: string; "render-nodes"?: string };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: { web: { type: "string" }, workers: { type: "string" }, "render-nodes": { type: "string" } },
    }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const webProcesses = intOption(values.web, "--web", 2, 1, 16);
  const workers = intOption(values.workers, "--workers", 1, 0, 16);
  const renderNodes = intOption(values["render-nodes"], "--render-nodes", 0, 0, 16);
  const dataDir = path.resolve(process.env.DATA_DIR ?? "./data");
  const cluster = await startLocalCluster({
    webProcesses,
    workers,
    renderNodes,
    dataDir,
    databaseUrl: process.env.DATABASE_URL || defaultDatabaseUrl(dataDir),
    redisUrl: process.env.REDIS_URL || "redis://127.0.0.1:6379",
    port: intOption(process.env.PORT, "PORT", 3000, 0, 65535),
    onLine: (name, line) => console.log(`[${name}] ${line}`),
  });
  console.log(
    `PERSE Studio cluster ready on ${cluster.url}: ${cluster.webs.map((w, i) => `web${i + 1} ${w.url}`).join(", ")}` +
      `, ${workers} job worker(s), ${renderNodes} render node(s)`,
  );
  await new Promise<void>((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
  });
  console.log("closing the cluster...");
  await cluster.close();
}

runCli("cluster", USAGE, main);
