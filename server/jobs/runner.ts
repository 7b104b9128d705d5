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
 */
import fs from "node:fs/promises";
import path from "node:path";
import type { Db } from "../db/client";
import type { ArtifactName, CreationInput, StageContext, StageDef } from "../pipeline/create/stage";
import type { JobView } from "../../protocol/messages";
import { portraitExists } from "../portraits/store";
import {
  appendLog,
  bundlePathOf,
  clamp01,
  CREATE_AVATAR_KIND,
  isArtifactName,
  jobDirOf,
  LOG_KEEP_LINES,
  logLines,
  overallProgress,
  parseArtifacts,
  parseInput,
  parseStages,
  reconcileStages,
  safeRelative,
  shortError,
  splitLog,
  toJobView,
  type CreationJobInput,
  type LiveState,
  type StageState,
} from "./job-record";

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
}

/** What the socket layer listens to. "change" with status: true is a status change. */
export type JobEvent =
  | { type: "change"; jobId: string; status: boolean }
  | { type: "log"; jobId: string; lines: string[] }
  | { type: "closed" };

/** A request the job's state does not allow, or an unknown job; `code` maps to the API's error. */
export class JobError extends Error {
  constructor(
    readonly code: "not-found" | "conflict",
    message: string,
  ) {
    super(message);
  }
}

/** Why a running stage's signal was aborted. */
class Stop extends Error {
  constructor(readonly why: "cancel" | "close" | "gone") {
    super(why === "cancel" ? "The job was cancelled." : why === "close" ? "The server is shutting down." : "The job's row is gone.");
  }
}

interface Live extends LiveState {
  id: string;
  avatarId: string;
  input: CreationJobInput;
  controller: AbortController;
  /** Index of the running stage. */
  index: number;
  stageStartedAt: number;
  /** The running stage's own ETA, when it gave one. */
  stageEta: number | null;
  /** Mean seconds of each stage in earlier finished jobs of the same config. */
  history: Map<string, number>;
  finished: boolean;
  writeTimer: NodeJS.Timeout | null;
  lastWrite: number;
  writing: Promise<void>;
  done: Promise<void>;
}

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
  private readonly writeIntervalMs: number;
  private readonly serverLog: (line: string) => void;
  private readonly queue: string[] = [];
  private readonly active = new Map<string, Live>();
  private readonly listeners = new Set<(e: JobEvent) => void>();
  private closed = false;

  constructor(options: JobRunnerOptions) {
    if (!options.stages.length) throw new Error("JobRunner: the stage list is empty");
    const names = options.stages.map((s) => s.name);
    if (new Set(names).size !== names.length) throw new Error(`JobRunner: stage names repeat (${names.join(", ")})`);
    const concurrency = options.concurrency ?? 1;
    if (!Number.isInteger(concurrency) || concurrency < 1) throw new Error(`JobRunner: concurrency must be an integer >= 1, got ${concurrency}`);
    this.db = options.db;
    this.dataDir = path.resolve(options.dataDir);
    this.defs = options.stages;
    this.concurrency = concurrency;
    this.writeIntervalMs = options.writeIntervalMs ?? 500;
    this.serverLog = options.log ?? (() => undefined);
  }

  /** Listens to job changes and log lines; returns the unsubscribe function. */
  subscribe(listener: (e: JobEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Re-queues the jobs a previous process left queued or running (those first), oldest first. */
  async start(): Promise<string[]> {
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

  /** Creates the Avatar ("creating") and its queued job. */
  async createAvatarJob(request: { portraitId: string; name: string; config: CreationInput["config"] }): Promise<{ jobId: string; avatarId: string }> {
    if (this.closed) throw new JobError("conflict", "The server is shutting down; try again in a moment.");
    if (!(await portraitExists(this.dataDir, request.portraitId))) {
      throw new JobError("not-found", `No uploaded portrait with id "${request.portraitId}". Upload the photo again.`);
    }
    const stages = reconcileStages(this.defs, []);
    const { jobId, avatarId } = await this.db.$transaction(async (tx) => {
      const avatar = await tx.avatar.create({ data: { name: request.name, status: "creating" }, select: { id: true } });
      const input: CreationJobInput = { portraitId: request.portraitId, config: request.config, name: request.name, avatarId: avatar.id };
      const job = await tx.job.create({
        data: { kind: CREATE_AVATAR_KIND, avatarId: avatar.id, status: "queued", input: JSON.stringify(input), stages: JSON.stringify(stages), queuedAt: new Date() },
        select: { id: true },
      });
      return { jobId: job.id, avatarId: avatar.id };
    });
    this.queue.push(jobId);
    this.emit({ type: "change", jobId, status: true });
    this.pump();
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
    return toJobView(row, this.queuePosition(jobId), row.status === "running" ? this.liveState(jobId) : null);
  }

  /** Creation jobs, newest first. */
  async list(limit = 100): Promise<JobView[]> {
    const rows = await this.db.job.findMany({ where: { kind: CREATE_AVATAR_KIND }, orderBy: { createdAt: "desc" }, take: limit, select: jobSelect });
    return rows.map((row) => toJobView(row, this.queuePosition(row.id), row.status === "running" ? this.liveState(row.id) : null));
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
    const [real, realDir] = await Promise.all([fs.realpath(path.join(jobDir, safe)).catch(() => null), fs.realpath(jobDir).catch(() => null)]);
    if (!real || !realDir || !real.startsWith(realDir + path.sep)) return null;
    return real;
  }

  /**
   * Cancels a queued, running or failed job: status "cancelled", its Avatar
   * row deleted (the job is detached first so it stays). A running stage's
   * signal is aborted; the avatar's files go once it has stopped.
   */
  async cancel(jobId: string): Promise<JobView> {
    const row = await this.db.job.findUnique({ where: { id: jobId }, select: { kind: true, status: true, avatarId: true, input: true, stages: true, log: true } });
    if (!row || row.kind !== CREATE_AVATAR_KIND) throw new JobError("not-found", `No creation job with id "${jobId}".`);
    if (row.status === "done") throw new JobError("conflict", "This job has finished: its avatar is ready, there is nothing to cancel.");
    if (row.status !== "cancelled") {
      const input = parseInput(row.input, jobId);
      const avatarId = row.avatarId ?? input.avatarId;
      const qi = this.queue.indexOf(jobId);
      if (qi >= 0) this.queue.splice(qi, 1);
      const live = this.active.get(jobId);
      if (live) live.controller.abort(new Stop("cancel"));
      const stages = (live?.stages ?? parseStages(row.stages)).map((s) => (s.status === "running" ? { ...s, status: "pending" as const } : s));
      const log = live?.log ?? splitLog(row.log);
      appendLog(log, ["Cancelled."]);
      await this.db.$transaction([
        this.db.job.update({
          where: { id: jobId },
          data: { status: "cancelled", avatarId: null, stage: null, etaSeconds: null, finishedAt: new Date(), stages: JSON.stringify(stages), log: log.join("\n") },
        }),
        // Never a finished avatar, whatever raced with us.
        this.db.avatar.deleteMany({ where: { id: avatarId, status: { in: ["creating", "failed"] } } }),
      ]);
      if (!live) await this.removeAvatarFiles(avatarId);
      this.emit({ type: "change", jobId, status: true });
      if (qi >= 0) this.queue.forEach((id) => this.emit({ type: "change", jobId: id, status: false }));
    }
    return (await this.view(jobId))!;
  }

  /** Re-queues a failed job; it continues from the stage that failed. */
  async retry(jobId: string): Promise<JobView> {
    const row = await this.db.job.findUnique({ where: { id: jobId }, select: { kind: true, status: true, avatarId: true, stages: true } });
    if (!row || row.kind !== CREATE_AVATAR_KIND) throw new JobError("not-found", `No creation job with id "${jobId}".`);
    if (row.status !== "failed") throw new JobError("conflict", `Only a failed job can be retried; this one is ${row.status}.`);
    if (!row.avatarId) throw new JobError("conflict", "This job's avatar was deleted; start a new one from the portrait.");
    if (this.closed) throw new JobError("conflict", "The server is shutting down; try again in a moment.");
    const stages = parseStages(row.stages).map((s) => (s.status === "failed" || s.status === "running" ? { ...s, status: "pending" as const, progress: 0 } : s));
    await this.db.$transaction([
      this.db.job.update({
        where: { id: jobId },
        data: { status: "queued", error: null, finishedAt: null, etaSeconds: null, stage: null, queuedAt: new Date(), stages: JSON.stringify(stages) },
      }),
      this.db.avatar.update({ where: { id: row.avatarId }, data: { status: "creating" } }),
    ]);
    this.queue.push(jobId);
    this.emit({ type: "change", jobId, status: true });
    this.pump();
    return (await this.view(jobId))!;
  }

  /** Resolves once no job runs and none waits (tests). */
  async idle(): Promise<void> {
    while (this.active.size || (this.queue.length && !this.closed)) {
      await Promise.all([...this.active.values()].map((l) => l.done));
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
    this.queue.length = 0;
    for (const live of this.active.values()) live.controller.abort(new Stop("close"));
    await Promise.all([...this.active.values()].map((l) => l.done));
    this.emit({ type: "closed" });
    this.listeners.clear();
  }

  private emit(e: JobEvent): void {
    for (const l of this.listeners) {
      try {
        l(e);
      } catch (err) {
        this.serverLog(`jobs: a listener failed: ${(err as Error).message}`);
      }
    }
  }

  /** The runner's own line in a job's log. */
  private say(live: Live, line: string): void {
    appendLog(live.log, [line]);
    this.emit({ type: "log", jobId: live.id, lines: [line] });
  }

  /** Fresher than the row, but only while the row says "running" (a cancel or failure has already written the final state). */
  private liveState(jobId: string): LiveState | null {
    const live = this.active.get(jobId);
    if (!live || live.finished || !live.stages.length) return null;
    return { stage: live.stage, progress: live.progress, etaSeconds: live.etaSeconds, stages: live.stages, artifacts: live.artifacts, log: live.log };
  }

  private pump(): void {
    while (!this.closed && this.active.size < this.concurrency && this.queue.length) {
      const jobId = this.queue.shift()!;
      // Registered before the first await, so a cancel that comes meanwhile finds it.
      const live: Live = {
        id: jobId,
        avatarId: "",
        input: null as unknown as CreationJobInput,
        controller: new AbortController(),
        index: -1,
        stageStartedAt: 0,
        stageEta: null,
        history: new Map(),
        finished: false,
        writeTimer: null,
        lastWrite: 0,
        writing: Promise.resolve(),
        done: Promise.resolve(),
        stage: null,
        progress: 0,
        etaSeconds: null,
        stages: [],
        artifacts: {},
        log: [],
      };
      this.active.set(jobId, live);
      for (const id of this.queue) this.emit({ type: "change", jobId: id, status: false });
      live.done = this.run(live)
        .catch((err: Error) => this.broken(live, err))
        .finally(() => {
          live.finished = true;
          if (live.writeTimer) clearTimeout(live.writeTimer);
          this.active.delete(jobId);
          this.pump();
        });
    }
  }

  private async run(live: Live): Promise<void> {
    const row = await this.db.job.findUnique({ where: { id: live.id } });
    if (!row || row.status !== "queued" || !row.avatarId || live.controller.signal.aborted) return;
    live.input = parseInput(row.input, row.id);
    live.avatarId = row.avatarId;
    live.stages = reconcileStages(this.defs, parseStages(row.stages));
    live.artifacts = parseArtifacts(row.artifacts);
    live.log = splitLog(row.log).slice(-LOG_KEEP_LINES);
    live.history = await this.stageHistory(live.input.config);
    const first = live.stages.findIndex((s) => s.status !== "done" && s.status !== "skipped");
    live.stage = first >= 0 ? live.stages[first]!.name : null;
    live.progress = overallProgress(this.defs, live.stages);
    const resumed = live.stages.some((s) => s.status === "done");
    this.say(live, resumed ? `Resuming at ${live.stages[first]?.label ?? "the end"}.` : "Started.");
    const started = await this.db.job.updateMany({
      where: { id: live.id, status: "queued" },
      data: { status: "running", startedAt: row.startedAt ?? new Date(), stage: live.stage, stages: JSON.stringify(live.stages), log: live.log.join("\n"), progress: live.progress },
    });
    if (started.count !== 1) return;
    this.emit({ type: "change", jobId: live.id, status: true });

    const jobDir = jobDirOf(this.dataDir, live.id);
    await fs.mkdir(jobDir, { recursive: true });
    const signal = live.controller.signal;

    for (let i = 0; i < this.defs.length; i++) {
      const def = this.defs[i]!;
      const state = live.stages[i]!;
      if (state.status === "done" || state.status === "skipped") continue;
      if (signal.aborted) break;
      live.index = i;
      live.stage = def.name;
      live.stageEta = null;
      live.stageStartedAt = performance.now();
      Object.assign(state, { status: "running", progress: 0, startedAt: new Date().toISOString() } satisfies Partial<StageState>);
      this.refresh(live);
      await this.write(live, true);
      const t0 = performance.now();
      try {
        await def.run(this.context(live, jobDir, def));
        state.seconds += (performance.now() - t0) / 1000;
        // A stage that returns after an abort may have stopped short: it is not done.
        if (signal.aborted) break;
        state.status = "done";
        state.progress = 1;
        this.refresh(live);
        await this.write(live, true);
      } catch (err) {
        state.seconds += (performance.now() - t0) / 1000;
        if (signal.aborted) break;
        await this.fail(live, def, err);
        return;
      }
    }
    if (signal.aborted) return this.stopped(live);
    await this.finish(live);
  }

  private context(live: Live, jobDir: string, def: StageDef): StageContext {
    const state = live.stages[live.index]!;
    const current = () => !live.finished && live.stage === def.name && state.status === "running";
    return {
      jobId: live.id,
      avatarId: live.avatarId,
      dataDir: this.dataDir,
      jobDir,
      input: { portraitId: live.input.portraitId, config: live.input.config },
      signal: live.controller.signal,
      progress: (fraction, etaSeconds) => {
        if (!current()) return;
        state.progress = clamp01(fraction);
        live.stageEta = etaSeconds !== undefined && Number.isFinite(etaSeconds) && etaSeconds >= 0 ? etaSeconds : null;
        this.refresh(live);
        this.scheduleWrite(live);
        this.emit({ type: "change", jobId: live.id, status: false });
      },
      log: (line) => {
        if (live.finished) return;
        const lines = logLines(line);
        appendLog(live.log, lines);
        this.scheduleWrite(live);
        this.emit({ type: "log", jobId: live.id, lines });
      },
      publish: (name: ArtifactName, relativePath: string) => {
        if (!isArtifactName(name)) throw new Error(`publish: "${String(name)}" is not an artifact name`);
        const rel = safeRelative(jobDir, relativePath);
        if (!rel) throw new Error(`publish: "${relativePath}" is not a path inside the job folder`);
        if (live.finished) return;
        live.artifacts[name] = rel;
        this.scheduleWrite(live);
        this.emit({ type: "change", jobId: live.id, status: false });
      },
    };
  }

  /** Progress and ETA from the stage states. */
  private refresh(live: Live): void {
    live.progress = overallProgress(this.defs, live.stages);
    live.etaSeconds = this.eta(live);
  }

  /**
   * Seconds left: the running stage's own ETA (else its elapsed time over its
   * progress, else the measured rate x its weight), plus each later stage's
   * mean time in earlier jobs of the same config (else the measured rate x its
   * weight). The rate is seconds per unit of weight over this job's finished
   * stages and the running one. Null while nothing has been measured.
   */
  private eta(live: Live): number | null {
    const i = live.index;
    if (i < 0) return null;
    const cur = live.stages[i]!;
    const elapsed = (performance.now() - live.stageStartedAt) / 1000;
    const p = clamp01(cur.progress);
    let sec = 0;
    let weight = 0;
    live.stages.forEach((s, j) => {
      if (j !== i && s.status === "done" && s.seconds > 0) {
        sec += s.seconds;
        weight += this.defs[j]!.weight;
      }
    });
    if (p >= 0.02) {
      sec += elapsed;
      weight += p * this.defs[i]!.weight;
    }
    const rate = weight > 0 ? sec / weight : null;
    let left: number | null =
      live.stageEta ?? (p >= 0.02 && elapsed >= 0.5 ? (elapsed * (1 - p)) / p : rate !== null ? rate * this.defs[i]!.weight * (1 - p) : null);
    for (let j = i + 1; j < live.stages.length && left !== null; j++) {
      const s = live.stages[j]!;
      if (s.status === "done" || s.status === "skipped") continue;
      const known = live.history.get(s.name) ?? (rate !== null ? rate * this.defs[j]!.weight : null);
      left = known === null ? null : left + known;
    }
    return left === null ? null : Math.round(left * 10) / 10;
  }

  /** Mean seconds per stage over the last finished jobs of this config. */
  private async stageHistory(config: string): Promise<Map<string, number>> {
    const rows = await this.db.job.findMany({
      where: { kind: CREATE_AVATAR_KIND, status: "done" },
      orderBy: { finishedAt: "desc" },
      take: 20,
      select: { id: true, input: true, stages: true },
    });
    const sums = new Map<string, { s: number; n: number }>();
    let used = 0;
    for (const r of rows) {
      if (used >= 5) break;
      let input: CreationJobInput;
      try {
        input = parseInput(r.input, r.id);
      } catch {
        continue;
      }
      if (input.config !== config) continue;
      used++;
      for (const s of parseStages(r.stages)) {
        if (s.status !== "done") continue;
        const acc = sums.get(s.name) ?? { s: 0, n: 0 };
        acc.s += s.seconds;
        acc.n++;
        sums.set(s.name, acc);
      }
    }
    return new Map([...sums].map(([name, { s, n }]) => [name, s / n]));
  }

  private scheduleWrite(live: Live): void {
    if (live.writeTimer || live.finished) return;
    const wait = Math.max(0, live.lastWrite + this.writeIntervalMs - Date.now());
    live.writeTimer = setTimeout(() => {
      live.writeTimer = null;
      void this.write(live, false);
    }, wait);
  }

  /**
   * Writes the in-memory state, serialised per job; only while the row is
   * still "running" (a cancel has already written its own state). A row gone
   * or no longer running stops the job.
   */
  private write(live: Live, now: boolean): Promise<void> {
    if (now && live.writeTimer) {
      clearTimeout(live.writeTimer);
      live.writeTimer = null;
    }
    live.writing = live.writing.then(async () => {
      live.lastWrite = Date.now();
      try {
        const r = await this.db.job.updateMany({
          where: { id: live.id, status: "running" },
          data: {
            stage: live.stage,
            progress: live.progress,
            etaSeconds: live.etaSeconds,
            stages: JSON.stringify(live.stages),
            artifacts: JSON.stringify(live.artifacts),
            log: live.log.join("\n"),
          },
        });
        if (r.count === 0 && !live.controller.signal.aborted) live.controller.abort(new Stop("gone"));
      } catch (err) {
        this.serverLog(`jobs: could not save job ${live.id}: ${(err as Error).message}`);
      }
    });
    if (now) this.emit({ type: "change", jobId: live.id, status: false });
    return live.writing;
  }

  private async fail(live: Live, def: StageDef, err: unknown): Promise<void> {
    const message = shortError(err);
    this.serverLog(`jobs: job ${live.id} failed in ${def.name}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    live.stages[live.index]!.status = "failed";
    this.say(live, `${def.label} failed: ${message}`);
    live.etaSeconds = null;
    live.progress = overallProgress(this.defs, live.stages);
    await live.writing;
    const r = await this.db.job.updateMany({
      where: { id: live.id, status: "running" },
      data: {
        status: "failed",
        error: message,
        finishedAt: new Date(),
        stage: def.name,
        etaSeconds: null,
        progress: live.progress,
        stages: JSON.stringify(live.stages),
        artifacts: JSON.stringify(live.artifacts),
        log: live.log.join("\n"),
      },
    });
    if (r.count === 1) await this.db.avatar.updateMany({ where: { id: live.avatarId, status: "creating" }, data: { status: "failed" } });
    live.finished = true;
    this.emit({ type: "change", jobId: live.id, status: true });
  }

  private async stopped(live: Live): Promise<void> {
    const why = live.controller.signal.reason instanceof Stop ? live.controller.signal.reason.why : "close";
    live.finished = true;
    if (why === "close") {
      // The row stays "running" with its stage states: the next start() resumes it.
      this.say(live, "Interrupted: the server is shutting down; the job resumes when it starts again.");
      await this.write(live, true);
      return;
    }
    await live.writing;
    // Cancelled (or deleted under us): what the stages wrote for the deleted avatar goes too.
    await this.removeAvatarFiles(live.avatarId);
  }

  private async finish(live: Live): Promise<void> {
    const bundlePath = bundlePathOf(live.avatarId);
    const bundleDir = path.join(this.dataDir, bundlePath);
    const manifest = await fs.stat(path.join(bundleDir, "manifest.json")).catch(() => null);
    if (!manifest?.isFile()) {
      const last = this.defs[this.defs.length - 1]!;
      live.index = this.defs.length - 1;
      await this.fail(live, last, new Error(`${last.label} finished without writing the avatar's bundle (${bundlePath}/manifest.json).`));
      return;
    }
    const thumb = await fs.stat(path.join(bundleDir, "thumbnail.png")).catch(() => null);
    live.stage = null;
    live.etaSeconds = null;
    live.progress = 1;
    this.say(live, "Done: the avatar is ready.");
    await live.writing;
    const r = await this.db.job.updateMany({
      where: { id: live.id, status: "running" },
      data: {
        status: "done",
        finishedAt: new Date(),
        stage: null,
        etaSeconds: null,
        progress: 1,
        stages: JSON.stringify(live.stages),
        artifacts: JSON.stringify(live.artifacts),
        log: live.log.join("\n"),
      },
    });
    live.finished = true;
    if (r.count !== 1) return;
    await this.db.avatar.updateMany({
      where: { id: live.avatarId },
      data: { status: "ready", bundlePath, thumbnailPath: thumb?.isFile() ? `${bundlePath}/thumbnail.png` : null },
    });
    this.emit({ type: "change", jobId: live.id, status: true });
  }

  /** An error outside any stage (database, disk): the job fails rather than staying "running" until a restart. */
  private async broken(live: Live, err: Error): Promise<void> {
    this.serverLog(`jobs: job ${live.id} broke the runner: ${err.stack ?? err.message}`);
    if (live.controller.signal.aborted) return;
    try {
      const r = await this.db.job.updateMany({
        where: { id: live.id, status: { in: ["queued", "running"] } },
        data: { status: "failed", error: `The job runner failed: ${shortError(err)}`, finishedAt: new Date(), etaSeconds: null },
      });
      if (r.count === 1 && live.avatarId) await this.db.avatar.updateMany({ where: { id: live.avatarId, status: "creating" }, data: { status: "failed" } });
      this.emit({ type: "change", jobId: live.id, status: true });
    } catch (again) {
      this.serverLog(`jobs: could not mark job ${live.id} failed: ${(again as Error).message}`);
    }
  }

  private async removeAvatarFiles(avatarId: string): Promise<void> {
    if (!avatarId || avatarId.includes("/") || avatarId.includes("\\") || avatarId.startsWith(".")) return;
    await fs.rm(path.join(this.dataDir, "avatars", avatarId), { recursive: true, force: true }).catch(() => undefined);
  }
}
