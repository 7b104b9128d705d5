/**
 * The in-process creation-job runner. A job is a Job row (kind
 * "create-avatar") that runs the stage list in order:
 *
 *   queued --start--> running --last stage--> done      (Avatar "ready" + bundlePath)
 *     |                 |  \--stage throws--> failed    (Avatar "failed"; retry -> queued)
 *     \--cancel--> cancelled <--cancel--/               (Avatar row deleted)
 *
 * At most `concurrency` jobs run at once; the others wait in a FIFO queue.
 * Stage progress, ETA and log live in memory while a stage runs and reach the
 * row at most every `writeIntervalMs`; status changes are written at once.
 * A job interrupted by a kill or by close() keeps its stage states, and
 * start() re-queues it: it continues from the first stage not done (stages
 * skip or resume what is on disk).
 *
 * Several processes (`shared`): web processes put jobs on the cluster's
 * queue (queue.ts) instead of running them, and worker processes
 * (server/worker.ts) run what they take from it; job events cross to every
 * process over the bus, so a browser watching on any process sees them. This file keeps the queue and answers
 * requests; a running job is a JobExecution (job-execution.ts, its ETA in
 * job-eta.ts), and the row's columns are read and written by job-record.ts.
 */
import fs from "node:fs/promises";
import path from "node:path";
import type { Db } from "../db/client";
import type { CreationInput, StageDef } from "../pipeline/create/stage";
import type { JobView } from "../../protocol/messages";
import { portraitExists } from "../portraits/store";
import { jobDir as jobDirOf } from "../storage/layout";
import { JobError, Stop, type JobEvent } from "./job-events";
import type { CreationQueue } from "./queue";
import type { ClusterBus } from "../bus/bus";
import { JobExecution, removeAvatarFiles, type ExecutionHost } from "./job-execution";
import {
  appendLog,
  CREATE_AVATAR_KIND,
  isArtifactName,
  parseArtifacts,
  parseInput,
  parseStages,
  reconcileStages,
  safeRelative,
  splitLog,
  toJobView,
  type CreationJobInput,
  type LiveState,
} from "./job-record";

export { JobError, type JobEvent } from "./job-events";

export interface JobRunnerOptions {
  db: Db;
  /** Absolute DATA_DIR. */
  dataDir: string;
  /** The creation pipeline, in order (server/pipeline/create/stages.ts in production). */
  stages: readonly StageDef[];
  /** Jobs run at once by this process. Default 1. */
  concurrency?: number;
  /** Least time between two progress/log writes of one job to the database, ms. Default 500. */
  writeIntervalMs?: number;
  /** Server log (stacks of failed stages go here, never to the user). Default: none. */
  log?: (line: string) => void;
  /** One of several processes: "web" queues jobs, "worker" runs them. Default: none (this process runs its own). */
  shared?: SharedJobs | null;
}

export interface SharedJobs {
  role: "web" | "worker";
  queue: CreationQueue;
  bus: ClusterBus;
}

/** The bus channel job events cross processes on: { from: process id, event: JobEvent } as JSON. */
export const JOB_EVENTS_CHANNEL = "job-events";
/** How often a worker puts back on the queue the unfinished rows it does not hold. */
const RECONCILE_MS = 60_000;

const jobSelect = {
  id: true,
  avatarId: true,
  status: true,
  stage: true,
  progress: true,
  etaSeconds: true,
  input: true,
  stages: true,
  artifacts: true,
  log: true,
  error: true,
  createdAt: true,
  startedAt: true,
  finishedAt: true,
  avatar: { select: { name: true } },
} as const;

export class JobRunner {
  private readonly db: Db;
  private readonly dataDir: string;
  private readonly defs: readonly StageDef[];
  private readonly concurrency: number;
  private readonly serverLog: (line: string) => void;
  /** What a running job reaches of this runner. */
  private readonly host: ExecutionHost;
  private readonly queue: string[] = [];
  private readonly active = new Map<string, { execution: JobExecution; done: Promise<void> }>();
  private readonly listeners = new Set<(e: JobEvent) => void>();
  private readonly shared: SharedJobs | null;
  private reconcileTimer: NodeJS.Timeout | null = null;
  private stopResync: () => void = () => undefined;
  private closed = false;

  constructor(options: JobRunnerOptions) {
    if (!options.stages.length) throw new Error("JobRunner: the stage list is empty");
    const names = options.stages.map((s) => s.name);
    if (new Set(names).size !== names.length) throw new Error(`JobRunner: stage names repeat (${names.join(", ")})`);
    const concurrency = options.concurrency ?? 1;
    if (!Number.isInteger(concurrency) || concurrency < 1)
      throw new Error(`JobRunner: concurrency must be an integer >= 1, got ${concurrency}`);
    this.db = options.db;
    this.dataDir = path.resolve(options.dataDir);
    this.defs = options.stages;
    this.concurrency = concurrency;
    this.serverLog = options.log ?? (() => undefined);
    this.shared = options.shared ?? null;
    this.host = {
      db: this.db,
      dataDir: this.dataDir,
      defs: this.defs,
      writeIntervalMs: options.writeIntervalMs ?? 500,
      emit: (e) => this.emit(e),
      serverLog: this.serverLog,
    };
  }

  /** Listens to job changes and log lines; returns the unsubscribe function. */
  subscribe(listener: (e: JobEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Re-queues the jobs a previous process left queued or running (those first), oldest first.
   * Shared: listens to the other processes' job events and puts the unfinished rows on the
   * queue (a no-op for those it holds); a worker then takes jobs.
   */
  async start(): Promise<string[]> {
    if (this.shared) return this.startShared(this.shared);
    const rows = await this.db.job.findMany({
      where: { kind: CREATE_AVATAR_KIND, status: { in: ["running", "queued"] } },
      select: { id: true, status: true, queuedAt: true, createdAt: true },
    });
    rows.sort(
      (a, b) =>
        Number(b.status === "running") - Number(a.status === "running") ||
        (a.queuedAt ?? a.createdAt).getTime() - (b.queuedAt ?? b.createdAt).getTime() ||
        a.createdAt.getTime() - b.createdAt.getTime(),
    );
    const ids = rows.map((r) => r.id).filter((id) => !this.queue.includes(id) && !this.active.has(id));
    if (!ids.length) return [];
    await this.db.job.updateMany({ where: { id: { in: ids }, status: "running" }, data: { status: "queued" } });
    this.serverLog(`jobs: resuming ${ids.length} unfinished job(s)`);
    for (const id of ids) this.queue.push(id);
    for (const id of ids) this.emit({ type: "change", jobId: id, status: true });
    this.pump();
    return ids;
  }

  private async startShared(shared: SharedJobs): Promise<string[]> {
    await shared.bus.subscribe(JOB_EVENTS_CHANNEL, (payload) => {
      const { from, event } = JSON.parse(payload.toString()) as { from: string; event: JobEvent };
      if (from !== shared.bus.processId) this.deliver(event);
    });
    const ids = await this.reconcile();
    if (shared.role === "worker") {
      this.reconcileTimer = setInterval(() => void this.reconcile().catch(() => undefined), RECONCILE_MS);
      this.reconcileTimer.unref();
      // Back from a Redis outage (perhaps an emptied one): jobs created meanwhile wait only in the database.
      this.stopResync = shared.bus.onResync(() => void this.reconcile().catch(() => undefined));
      shared.queue.work({ run: (id) => this.runClaimed(id), closing: () => this.closed }, this.concurrency);
    }
    return ids;
  }

  /** Puts every unfinished row on the shared queue; returns their ids. */
  private async reconcile(): Promise<string[]> {
    const rows = await this.db.job.findMany({
      where: { kind: CREATE_AVATAR_KIND, status: { in: ["running", "queued"] } },
      orderBy: { createdAt: "asc" },
      select: { id: true },
    });
    for (const { id } of rows) await this.shared!.queue.enqueue(id);
    return rows.map((r) => r.id);
  }

  /**
   * A job the shared queue gave this worker. A row still "running" was left by a
   * worker that died (the queue hands a job on only once its holder's lock lapsed):
   * it is queued again and resumes from its first stage not done.
   */
  private async runClaimed(jobId: string): Promise<void> {
    if (this.closed) return;
    // Handed out again while it runs here (a queue worker replaced after a Redis outage): one execution only.
    const running = this.active.get(jobId);
    if (running) return void (await running.done);
    await this.db.job.updateMany({ where: { id: jobId, status: "running" }, data: { status: "queued" } });
    const execution = new JobExecution(jobId, this.host);
    const entry = { execution, done: execution.execute() };
    this.active.set(jobId, entry);
    try {
      await entry.done;
    } finally {
      this.active.delete(jobId);
    }
  }

  /** Runs the job here, or (shared) hands it to the queue. */
  private async dispatch(jobId: string): Promise<void> {
    if (this.shared) return void (await this.shared.queue.enqueue(jobId));
    this.queue.push(jobId);
    this.pump();
  }

  /**
   * Creates the Avatar ("creating") and its queued job. `photoConsent` is the
   * uploader's confirmation (protocol/consent.ts), stored with the avatar in
   * the same write; jobs.createAvatar refuses a request without one before
   * it gets here.
   */
  async createAvatarJob(request: {
    portraitId: string;
    name: string;
    config: CreationInput["config"];
    photoConsent?: { at: Date; text: string } | null;
  }): Promise<{ jobId: string; avatarId: string }> {
    if (this.closed) throw new JobError("conflict", "The server is shutting down; try again in a moment.");
    if (!(await portraitExists(this.dataDir, request.portraitId))) {
      throw new JobError("not-found", `No uploaded portrait with id "${request.portraitId}". Upload the photo again.`);
    }
    const stages = reconcileStages(this.defs, []);
    const { jobId, avatarId } = await this.db.$transaction(async (tx) => {
      const avatar = await tx.avatar.create({
        data: {
          name: request.name,
          status: "creating",
          photoConsentAt: request.photoConsent?.at ?? null,
          photoConsentText: request.photoConsent?.text ?? null,
        },
        select: { id: true },
      });
      const input: CreationJobInput = {
        portraitId: request.portraitId,
        config: request.config,
        name: request.name,
        avatarId: avatar.id,
      };
      const job = await tx.job.create({
        data: {
          kind: CREATE_AVATAR_KIND,
          avatarId: avatar.id,
          status: "queued",
          input: JSON.stringify(input),
          stages: JSON.stringify(stages),
          queuedAt: new Date(),
        },
        select: { id: true },
      });
      return { jobId: job.id, avatarId: avatar.id };
    });
    await this.dispatch(jobId);
    this.emit({ type: "change", jobId, status: true });
    return { jobId, avatarId };
  }

  /** 1 = next to start; null when not waiting in this process's queue. */
  queuePosition(jobId: string): number | null {
    const i = this.queue.indexOf(jobId);
    return i < 0 ? null : i + 1;
  }

  async view(jobId: string): Promise<JobView | null> {
    const row = await this.db.job.findUnique({ where: { id: jobId }, select: { ...jobSelect, kind: true } });
    if (!row || row.kind !== CREATE_AVATAR_KIND) return null;
    const position = this.shared ? ((await this.sharedPositions()).get(jobId) ?? null) : this.queuePosition(jobId);
    const view = toJobView(row, position, row.status === "running" ? this.liveState(jobId) : null);
    if (view.status === "queued") view.workersOnline = await this.workersOnline();
    return view;
  }

  /** Shared: the job workers taking jobs now; null when this process runs its jobs itself (or Redis cannot tell). */
  async workersOnline(): Promise<number | null> {
    return this.shared ? this.shared.queue.workersOnline() : null;
  }

  /** Shared: every queued job's place in the cluster's queue, first come first served (1 = next). */
  private async sharedPositions(): Promise<Map<string, number>> {
    const queued = await this.db.job.findMany({
      where: { kind: CREATE_AVATAR_KIND, status: "queued" },
      orderBy: [{ queuedAt: "asc" }, { createdAt: "asc" }],
      select: { id: true },
    });
    return new Map(queued.map((r, i) => [r.id, i + 1]));
  }

  /** Creation jobs, newest first. */
  async list(limit = 100): Promise<JobView[]> {
    const rows = await this.db.job.findMany({
      where: { kind: CREATE_AVATAR_KIND },
      orderBy: { createdAt: "desc" },
      take: limit,
      select: jobSelect,
    });
    const shared = this.shared ? await this.sharedPositions() : null;
    return rows.map((row) =>
      toJobView(
        row,
        shared ? (shared.get(row.id) ?? null) : this.queuePosition(row.id),
        row.status === "running" ? this.liveState(row.id) : null,
      ),
    );
  }

  /**
   * The absolute path of a published artifact (a running job's newest one,
   * even before the row has it), checked to lie inside the job's folder; null
   * when the job has no such artifact.
   */
  async artifactPath(jobId: string, name: string): Promise<string | null> {
    if (!isArtifactName(name)) return null;
    let rel = this.liveState(jobId)?.artifacts[name];
    if (rel === undefined) {
      const row = await this.db.job.findUnique({ where: { id: jobId }, select: { kind: true, artifacts: true } });
      if (!row || row.kind !== CREATE_AVATAR_KIND) return null;
      rel = parseArtifacts(row.artifacts)[name];
    }
    if (rel === undefined) return null;
    const jobDir = jobDirOf(this.dataDir, jobId);
    const safe = safeRelative(jobDir, rel);
    if (!safe) return null;
    // A link inside the folder must not lead out of it either.
    const [real, realDir] = await Promise.all([
      fs.realpath(path.join(jobDir, safe)).catch(() => null),
      fs.realpath(jobDir).catch(() => null),
    ]);
    if (!real || !realDir || !real.startsWith(realDir + path.sep)) return null;
    return real;
  }

  /**
   * Cancels a queued, running or failed job: status "cancelled", its Avatar
   * row deleted (the job is detached first so it stays). A running stage's
   * signal is aborted; the avatar's files go once it has stopped.
   */
  async cancel(jobId: string): Promise<JobView> {
    const row = await this.db.job.findUnique({
      where: { id: jobId },
      select: { kind: true, status: true, avatarId: true, input: true, stages: true, log: true },
    });
    if (!row || row.kind !== CREATE_AVATAR_KIND) throw new JobError("not-found", `No creation job with id "${jobId}".`);
    if (row.status === "done")
      throw new JobError("conflict", "This job has finished: its avatar is ready, there is nothing to cancel.");
    if (row.status !== "cancelled") {
      const input = parseInput(row.input, jobId);
      const avatarId = row.avatarId ?? input.avatarId;
      const qi = this.queue.indexOf(jobId);
      if (qi >= 0) this.queue.splice(qi, 1);
      const live = this.active.get(jobId)?.execution;
      if (live) live.controller.abort(new Stop("cancel"));
      const stages = (live?.stages ?? parseStages(row.stages)).map((s) =>
        s.status === "running" ? { ...s, status: "pending" as const } : s,
      );
      const log = live?.log ?? splitLog(row.log);
      appendLog(log, ["Cancelled."]);
      await this.db.$transaction([
        this.db.job.update({
          where: { id: jobId },
          data: {
            status: "cancelled",
            avatarId: null,
            stage: null,
            etaSeconds: null,
            finishedAt: new Date(),
            stages: JSON.stringify(stages),
            log: log.join("\n"),
          },
        }),
        // Never a finished avatar, whatever raced with us.
        this.db.avatar.deleteMany({ where: { id: avatarId, status: { in: ["creating", "failed"] } } }),
      ]);
      if (!live) await removeAvatarFiles(this.dataDir, avatarId);
      this.emit({ type: "change", jobId, status: true });
      if (qi >= 0) this.queue.forEach((id) => this.emit({ type: "change", jobId: id, status: false }));
    }
    return (await this.view(jobId))!;
  }

  /** Re-queues a failed job; it continues from the stage that failed. */
  async retry(jobId: string): Promise<JobView> {
    const row = await this.db.job.findUnique({
      where: { id: jobId },
      select: { kind: true, status: true, avatarId: true, stages: true },
    });
    if (!row || row.kind !== CREATE_AVATAR_KIND) throw new JobError("not-found", `No creation job with id "${jobId}".`);
    if (row.status !== "failed")
      throw new JobError("conflict", `Only a failed job can be retried; this one is ${row.status}.`);
    if (!row.avatarId)
      throw new JobError("conflict", "This job's avatar was deleted; start a new one from the portrait.");
    if (this.closed) throw new JobError("conflict", "The server is shutting down; try again in a moment.");
    const stages = parseStages(row.stages).map((s) =>
      s.status === "failed" || s.status === "running" ? { ...s, status: "pending" as const, progress: 0 } : s,
    );
    await this.db.$transaction([
      this.db.job.update({
        where: { id: jobId },
        data: {
          status: "queued",
          error: null,
          finishedAt: null,
          etaSeconds: null,
          stage: null,
          queuedAt: new Date(),
          stages: JSON.stringify(stages),
        },
      }),
      this.db.avatar.update({ where: { id: row.avatarId }, data: { status: "creating" } }),
    ]);
    await this.dispatch(jobId);
    this.emit({ type: "change", jobId, status: true });
    return (await this.view(jobId))!;
  }

  /** Resolves once no job runs and none waits (tests). */
  async idle(): Promise<void> {
    while (this.active.size || (this.queue.length && !this.closed)) {
      await Promise.all([...this.active.values()].map((a) => a.done));
      await new Promise((r) => setImmediate(r));
    }
  }

  /**
   * Stops: running stages are aborted without being marked failed (the rows
   * stay "running" and the next start() resumes them); queued rows stay queued.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.reconcileTimer) clearInterval(this.reconcileTimer);
    this.stopResync();
    this.queue.length = 0;
    for (const { execution } of this.active.values()) execution.controller.abort(new Stop("close"));
    await Promise.all([...this.active.values()].map((a) => a.done));
    this.emit({ type: "closed" });
    this.listeners.clear();
  }

  /** To this process's listeners and (shared) every other process's. */
  private emit(e: JobEvent): void {
    if (this.shared && e.type !== "closed") {
      const { bus } = this.shared;
      bus.publish(JOB_EVENTS_CHANNEL, JSON.stringify({ from: bus.processId, event: e }));
    }
    this.deliver(e);
  }

  private deliver(e: JobEvent): void {
    for (const l of this.listeners) {
      try {
        l(e);
      } catch (err) {
        this.serverLog(`jobs: a listener failed: ${(err as Error).message}`);
      }
    }
  }

  private liveState(jobId: string): LiveState | null {
    return this.active.get(jobId)?.execution.liveState() ?? null;
  }

  /** Starts queued jobs, first come first served, while fewer than `concurrency` run. */
  private pump(): void {
    while (!this.closed && this.active.size < this.concurrency && this.queue.length) {
      const jobId = this.queue.shift()!;
      // Registered before the first await, so a cancel that comes meanwhile finds it.
      const execution = new JobExecution(jobId, this.host);
      const entry = { execution, done: Promise.resolve() };
      this.active.set(jobId, entry);
      for (const id of this.queue) this.emit({ type: "change", jobId: id, status: false });
      entry.done = execution.execute().finally(() => {
        this.active.delete(jobId);
        this.pump();
      });
    }
  }
}
