/**
 * A job worker: a process of the cluster that runs creation jobs from the
 * shared queue (queue.ts) and nothing else: no HTTP, no sockets. It needs
 * what the web processes have: REDIS_URL, the same DATABASE_URL and the
 * same DATA_DIR (the stages read the portrait and write the avatar there).
 */
import fs from "node:fs";
import type { ServerConfig } from "../config";
import { migrate } from "../db/migrate";
import { createDb } from "../db/client";
import { ClusterBus } from "../bus/bus";
import type { StageDef } from "../pipeline/create/stage";
import { CreationQueue } from "./queue";
import { JobRunner } from "./runner";

export interface JobWorker {
  /** Interrupts running jobs (they go back to the queue for another worker) and disconnects. */
  close(): Promise<void>;
}

export async function startJobWorker(options: {
  config: ServerConfig;
  stages: readonly StageDef[];
  log?: (line: string) => void;
  root?: string;
}): Promise<JobWorker> {
  const { config, stages } = options;
  const log = options.log ?? console.log;
  if (!config.redisUrl)
    throw new Error("worker: REDIS_URL is not set; a worker takes jobs from the cluster's queue (docs/deploy.md)");
  fs.mkdirSync(config.dataDir, { recursive: true });
  await migrate(config.databaseUrl, options.root);
  const db = createDb(config.databaseUrl);
  const bus = await ClusterBus.connect(config.redisUrl, config.redisPrefix, log);
  const queue = await CreationQueue.open(config.redisUrl, config.redisPrefix, log);
  const runner = new JobRunner({
    db,
    dataDir: config.dataDir,
    stages,
    concurrency: config.jobConcurrency,
    log,
    shared: { role: "worker", queue, bus },
  });
  await runner.start();
  let closing: Promise<void> | null = null;
  return {
    close() {
      closing ??= (async () => {
        await runner.close();
        await queue.close();
        await bus.close();
        await db.$disconnect();
      })();
      return closing;
    },
  };
}
