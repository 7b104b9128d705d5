/**
 * Creation jobs across processes (REDIS_URL set): a BullMQ queue on the
 * cluster's Redis. Web processes add a job's id; worker processes
 * (npm run worker) take them one by one.
 *
 * Why BullMQ and not pg-boss: a creation runs for many minutes, and a killed
 * worker's job must move on within seconds. BullMQ's worker holds a lock it
 * renews while the job runs; a job whose lock lapses is "stalled" and goes
 * back to the queue for another worker. pg-boss (on Node 20: version 10)
 * only expires a job after a fixed time, which would have to exceed the
 * longest creation. The Job rows in the database stay the truth: the queue
 * holds ids only, a stage resumes from what its row and DATA_DIR say, and
 * every worker adds back, at start and every minute, the queued or running
 * rows the queue does not hold (a Redis that restarted empty loses nothing).
 */
import { randomUUID } from "node:crypto";
import { DelayedError, Queue, Worker, type Job } from "bullmq";
import { Redis } from "ioredis";
import { quietRepeats, scanKeys } from "../bus/bus";

const CREATION_QUEUE = "perse-create-avatar";

/** How the queue finds out that a worker died: its lock lapses after LOCK_MS, checked every STALLED_CHECK_MS. */
const LOCK_MS = 10_000;
const STALLED_CHECK_MS = 5_000;
/**
 * How long a web process waits for Redis to take a new job (before leaving it to the workers' reconciliation) or to
 * answer a question (how many workers are online).
 */
const REDIS_ANSWER_MS = 3_000;
/** How soon a worker whose blocking connection ended is replaced (again and again while Redis is away). */
const RESTART_MS = 2_000;
/** A worker's registration lives this long unless renewed (every third of it). */
const WORKER_TTL_MS = 4_500;

/** `p`'s value, or null when it has not settled within `ms`. */
async function answerWithin<T>(p: Promise<T>, ms: number): Promise<T | null> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), ms)));
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export interface CreationWork {
  /** Runs the job to its end (done, failed or cancelled: its row says which). */
  run(jobId: string): Promise<void>;
  /** Whether this process is closing: the job was interrupted, not finished, and goes back to the queue. */
  closing(): boolean;
}

export class CreationQueue {
  private readonly queue: Queue;
  private worker: Worker | null = null;
  private heartbeat: NodeJS.Timeout | null = null;
  private restartTimer: NodeJS.Timeout | null = null;
  private closing = false;
  private stopHeartbeat: () => Promise<void> = async () => undefined;

  private readonly prefix: string;

  private constructor(
    private readonly connection: Redis,
    redisPrefix: string,
    private readonly log: (line: string) => void,
    /** Redis errors, each said once a minute at most (while Redis is away, every reconnection attempt fails). */
    private readonly quiet: (line: string) => void,
  ) {
    this.prefix = `${redisPrefix}:bull`;
    this.queue = new Queue(CREATION_QUEUE, { connection, prefix: this.prefix });
    this.queue.on("error", (err: Error) => this.quiet(`jobs: queue: ${err.message}`));
  }

  static async open(
    url: string,
    redisPrefix: string,
    log: (line: string) => void = () => undefined,
  ): Promise<CreationQueue> {
    // BullMQ's blocking reads need requests that never give up.
    const connection = new Redis(url, { maxRetriesPerRequest: null, lazyConnect: true });
    const quiet = quietRepeats(log);
    connection.on("error", (err: Error) => quiet(`jobs: redis: ${err.message}`));
    try {
      await connection.connect();
    } catch (err) {
      connection.disconnect();
      throw new Error(`jobs: cannot reach Redis at REDIS_URL (${(err as Error).message})`);
    }
    return new CreationQueue(connection, redisPrefix, log, quiet);
  }

  /**
   * Adds a job's id; nothing happens when the queue already holds it (waiting, running or delayed).
   * Answers false when Redis does not answer within REDIS_ANSWER_MS: the row is queued all the
   * same, and the workers' next reconciliation adds it.
   */
  async enqueue(jobId: string): Promise<boolean> {
    const added = this.queue
      .add("create-avatar", { jobId }, { jobId, removeOnComplete: true, removeOnFail: true })
      .then(
        () => true,
        (err: Error) => {
          this.log(`jobs: could not queue job ${jobId}: ${err.message}`);
          return false;
        },
      );
    const ok = (await answerWithin(added, REDIS_ANSWER_MS)) ?? false;
    if (!ok) this.log(`jobs: the queue did not answer; job ${jobId} waits in the database for the workers to add it`);
    return ok;
  }

  /** Workers taking jobs now (their registrations in Redis); null when Redis cannot tell. */
  async workersOnline(): Promise<number | null> {
    // This connection waits for Redis as long as it takes (BullMQ needs that); a page asking must not.
    const keys = scanKeys(this.connection, `${this.prefix}:worker:*`).catch(() => null);
    return (await answerWithin(keys, REDIS_ANSWER_MS))?.length ?? null;
  }

  /** Takes jobs, `concurrency` at a time, until close(). */
  work(work: CreationWork, concurrency: number): void {
    // Registered while it lives, so that a queued job can tell the page whether any worker will take it.
    const key = `${this.prefix}:worker:${randomUUID()}`;
    const register = () =>
      this.connection.set(key, "1", "PX", WORKER_TTL_MS).catch((err: Error) => this.log(`jobs: ${err.message}`));
    void register();
    this.heartbeat = setInterval(register, WORKER_TTL_MS / 3);
    this.heartbeat.unref();
    this.stopHeartbeat = () => this.connection.del(key).then(() => undefined);
    const startWorker = (): Worker => {
      const worker = new Worker(
        CREATION_QUEUE,
        async (job: Job<{ jobId: string }>, token?: string) => {
          await work.run(job.data.jobId);
          if (work.closing() && token) {
            // Interrupted by this worker's shutdown: back to the queue at once, for any worker.
            await job.moveToDelayed(Date.now(), token);
            throw new DelayedError();
          }
        },
        {
          connection: this.connection,
          prefix: this.prefix,
          concurrency,
          lockDuration: LOCK_MS,
          stalledInterval: STALLED_CHECK_MS,
          // A job is never failed for stalling: each worker that dies leaves it to the next.
          maxStalledCount: Number.MAX_SAFE_INTEGER,
        },
      );
      worker.on("error", (err: Error) => {
        this.quiet(`jobs: worker: ${err.message}`);
        // BullMQ's blocking connection can end for good when Redis goes away while the worker starts (then it takes
        // no job again, though Redis comes back): a new worker, tried again every RESTART_MS until Redis answers.
        if (err.message !== "Connection is closed." || worker !== this.worker || this.closing) return;
        this.restartTimer ??= setTimeout(() => {
          this.restartTimer = null;
          if (worker !== this.worker || this.closing) return;
          this.log("jobs: the queue's blocking connection ended; taking jobs through a new one");
          void worker.close(true).catch(() => undefined);
          this.worker = startWorker();
        }, RESTART_MS);
      });
      return worker;
    };
    this.worker = startWorker();
  }

  async close(): Promise<void> {
    this.closing = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    if (this.heartbeat) clearInterval(this.heartbeat);
    await this.stopHeartbeat().catch(() => undefined);
    await this.worker?.close();
    await this.queue.close();
    await this.connection.quit().catch(() => undefined);
  }
}
