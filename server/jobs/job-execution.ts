/**
 * One creation job while this process runs it: its stages in order, from the
 * first one not done, with progress, ETA, log and published artifacts kept in
 * memory and written to the row at most every `writeIntervalMs` (status
 * changes at once), and its end: done, failed, cancelled or interrupted.
 */
import fs from "node:fs/promises";
import path from "node:path";
import type { Db } from "../db/client";
import type { ArtifactName, StageContext, StageDef } from "../pipeline/create/stage";
import { avatarBundlePath, avatarDir, BUNDLE_THUMBNAIL, isSafeSegment, jobDir as jobDirOf } from "../storage/layout";
import { estimateEta, stageHistory } from "./job-eta";
import { Stop, type JobEvent } from "./job-events";
import {
  appendLog,
  clamp01,
  isArtifactName,
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
  type CreationJobInput,
  type LiveState,
  type StageState,
} from "./job-record";

/** What a running job needs from its runner. */
export interface ExecutionHost {
  readonly db: Db;
  /** Absolute DATA_DIR. */
  readonly dataDir: string;
  readonly defs: readonly StageDef[];
  readonly writeIntervalMs: number;
  emit(e: JobEvent): void;
  serverLog(line: string): void;
}

/** Deletes what the stages wrote for an avatar (its folder under DATA_DIR/avatars). */
export async function removeAvatarFiles(dataDir: string, avatarId: string): Promise<void> {
  if (!isSafeSegment(avatarId)) return;
  await fs.rm(avatarDir(dataDir, avatarId), { recursive: true, force: true }).catch(() => undefined);
}

export class JobExecution implements LiveState {
  avatarId = "";
  input: CreationJobInput | null = null;
  readonly controller = new AbortController();
  /** Index of the running stage. */
  index = -1;
  stageStartedAt = 0;
  /** The running stage's own ETA, when it gave one. */
  stageEta: number | null = null;
  /** Mean seconds of each stage in earlier finished jobs of the same config. */
  history = new Map<string, number>();
  finished = false;
  stage: string | null = null;
  progress = 0;
  etaSeconds: number | null = null;
  stages: StageState[] = [];
  artifacts: Partial<Record<ArtifactName, string>> = {};
  log: string[] = [];
  private writeTimer: NodeJS.Timeout | null = null;
  private lastWrite = 0;
  private writing: Promise<void> = Promise.resolve();

  constructor(
    readonly id: string,
    private readonly host: ExecutionHost,
  ) {}

  /** Fresher than the row, but only while the row says "running" (a cancel or failure has already written the final state). */
  liveState(): LiveState | null {
    if (this.finished || !this.stages.length) return null;
    return {
      stage: this.stage,
      progress: this.progress,
      etaSeconds: this.etaSeconds,
      stages: this.stages,
      artifacts: this.artifacts,
      log: this.log,
    };
  }

  /** Runs the job to its end; an error outside any stage (database, disk) fails it. */
  async execute(): Promise<void> {
    try {
      await this.run();
    } catch (err) {
      await this.broken(err as Error);
    } finally {
      this.finished = true;
      if (this.writeTimer) clearTimeout(this.writeTimer);
    }
  }

  /** The runner's own line in the job's log. */
  private say(line: string): void {
    appendLog(this.log, [line]);
    this.host.emit({ type: "log", jobId: this.id, lines: [line] });
  }

  private async run(): Promise<void> {
    const { db, defs } = this.host;
    const row = await db.job.findUnique({ where: { id: this.id } });
    if (!row || row.status !== "queued" || !row.avatarId || this.controller.signal.aborted) return;
    this.input = parseInput(row.input, row.id);
    this.avatarId = row.avatarId;
    this.stages = reconcileStages(defs, parseStages(row.stages));
    this.artifacts = parseArtifacts(row.artifacts);
    this.log = splitLog(row.log).slice(-LOG_KEEP_LINES);
    this.history = await stageHistory(db, this.input.config);
    const first = this.stages.findIndex((s) => s.status !== "done" && s.status !== "skipped");
    this.stage = first >= 0 ? this.stages[first]!.name : null;
    this.progress = overallProgress(defs, this.stages);
    const resumed = this.stages.some((s) => s.status === "done");
    this.say(resumed ? `Resuming at ${this.stages[first]?.label ?? "the end"}.` : "Started.");
    const started = await db.job.updateMany({
      where: { id: this.id, status: "queued" },
      data: {
        status: "running",
        startedAt: row.startedAt ?? new Date(),
        stage: this.stage,
        stages: JSON.stringify(this.stages),
        log: this.log.join("\n"),
        progress: this.progress,
      },
    });
    if (started.count !== 1) return;
    this.host.emit({ type: "change", jobId: this.id, status: true });

    const jobDir = jobDirOf(this.host.dataDir, this.id);
    await fs.mkdir(jobDir, { recursive: true });
    const signal = this.controller.signal;

    for (let i = 0; i < defs.length; i++) {
      const def = defs[i]!;
      const state = this.stages[i]!;
      if (state.status === "done" || state.status === "skipped") continue;
      if (signal.aborted) break;
      this.index = i;
      this.stage = def.name;
      this.stageEta = null;
      this.stageStartedAt = performance.now();
      Object.assign(state, {
        status: "running",
        progress: 0,
        startedAt: new Date().toISOString(),
      } satisfies Partial<StageState>);
      this.refresh();
      await this.write(true);
      const t0 = performance.now();
      try {
        await def.run(this.context(jobDir, def));
        state.seconds += (performance.now() - t0) / 1000;
        // A stage that returns after an abort may have stopped short: it is not done.
        if (signal.aborted) break;
        state.status = "done";
        state.progress = 1;
        this.refresh();
        await this.write(true);
      } catch (err) {
        state.seconds += (performance.now() - t0) / 1000;
        if (signal.aborted) break;
        await this.fail(def, err);
        return;
      }
    }
    if (signal.aborted) return this.stopped();
    await this.finish();
  }

  private context(jobDir: string, def: StageDef): StageContext {
    const state = this.stages[this.index]!;
    const current = () => !this.finished && this.stage === def.name && state.status === "running";
    const emitChange = () => this.host.emit({ type: "change", jobId: this.id, status: false });
    return {
      jobId: this.id,
      avatarId: this.avatarId,
      dataDir: this.host.dataDir,
      jobDir,
      input: { portraitId: this.input!.portraitId, config: this.input!.config },
      signal: this.controller.signal,
      progress: (fraction, etaSeconds) => {
        if (!current()) return;
        state.progress = clamp01(fraction);
        this.stageEta = etaSeconds !== undefined && Number.isFinite(etaSeconds) && etaSeconds >= 0 ? etaSeconds : null;
        this.refresh();
        this.scheduleWrite();
        emitChange();
      },
      log: (line) => {
        if (this.finished) return;
        const lines = logLines(line);
        appendLog(this.log, lines);
        this.scheduleWrite();
        this.host.emit({ type: "log", jobId: this.id, lines });
      },
      publish: (name: ArtifactName, relativePath: string) => {
        if (!isArtifactName(name)) throw new Error(`publish: "${String(name)}" is not an artifact name`);
        const rel = safeRelative(jobDir, relativePath);
        if (!rel) throw new Error(`publish: "${relativePath}" is not a path inside the job folder`);
        if (this.finished) return;
        this.artifacts[name] = rel;
        this.scheduleWrite();
        emitChange();
      },
    };
  }

  /** Progress and ETA from the stage states. */
  private refresh(): void {
    this.progress = overallProgress(this.host.defs, this.stages);
    this.etaSeconds = estimateEta(this.host.defs, this);
  }

  /** The row's columns that mirror the in-memory state. */
  private columns() {
    return {
      stage: this.stage,
      progress: this.progress,
      etaSeconds: this.etaSeconds,
      stages: JSON.stringify(this.stages),
      artifacts: JSON.stringify(this.artifacts),
      log: this.log.join("\n"),
    };
  }

  private scheduleWrite(): void {
    if (this.writeTimer || this.finished) return;
    const wait = Math.max(0, this.lastWrite + this.host.writeIntervalMs - Date.now());
    this.writeTimer = setTimeout(() => {
      this.writeTimer = null;
      void this.write(false);
    }, wait);
  }

  /**
   * Writes the in-memory state, serialised per job; only while the row is
   * still "running" (a cancel has already written its own state). A row gone
   * or no longer running stops the job.
   */
  private write(now: boolean): Promise<void> {
    if (now && this.writeTimer) {
      clearTimeout(this.writeTimer);
      this.writeTimer = null;
    }
    this.writing = this.writing.then(async () => {
      this.lastWrite = Date.now();
      try {
        const r = await this.host.db.job.updateMany({
          where: { id: this.id, status: "running" },
          data: this.columns(),
        });
        if (r.count === 0 && !this.controller.signal.aborted) this.controller.abort(new Stop("gone"));
      } catch (err) {
        this.host.serverLog(`jobs: could not save job ${this.id}: ${(err as Error).message}`);
      }
    });
    if (now) this.host.emit({ type: "change", jobId: this.id, status: false });
    return this.writing;
  }

  private async fail(def: StageDef, err: unknown): Promise<void> {
    const message = shortError(err);
    this.host.serverLog(
      `jobs: job ${this.id} failed in ${def.name}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`,
    );
    this.stages[this.index]!.status = "failed";
    this.say(`${def.label} failed: ${message}`);
    this.etaSeconds = null;
    this.progress = overallProgress(this.host.defs, this.stages);
    await this.writing;
    const r = await this.host.db.job.updateMany({
      where: { id: this.id, status: "running" },
      data: { ...this.columns(), status: "failed", error: message, finishedAt: new Date(), stage: def.name },
    });
    if (r.count === 1)
      await this.host.db.avatar.updateMany({
        where: { id: this.avatarId, status: "creating" },
        data: { status: "failed" },
      });
    this.finished = true;
    this.host.emit({ type: "change", jobId: this.id, status: true });
  }

  private async stopped(): Promise<void> {
    const reason: unknown = this.controller.signal.reason;
    const why = reason instanceof Stop ? reason.why : "close";
    this.finished = true;
    if (why === "close") {
      // The row stays "running" with its stage states: the next start() resumes it.
      this.say("Interrupted: the server is shutting down; the job resumes when it starts again.");
      await this.write(true);
      return;
    }
    await this.writing;
    // Cancelled (or deleted under us): what the stages wrote for the deleted avatar goes too.
    await removeAvatarFiles(this.host.dataDir, this.avatarId);
  }

  private async finish(): Promise<void> {
    const { db, dataDir, defs } = this.host;
    const bundlePath = avatarBundlePath(this.avatarId);
    const bundleDir = path.join(dataDir, bundlePath);
    const manifest = await fs.stat(path.join(bundleDir, "manifest.json")).catch(() => null);
    if (!manifest?.isFile()) {
      const last = defs[defs.length - 1]!;
      this.index = defs.length - 1;
      await this.fail(
        last,
        new Error(`${last.label} finished without writing the avatar's bundle (${bundlePath}/manifest.json).`),
      );
      return;
    }
    const thumb = await fs.stat(path.join(bundleDir, BUNDLE_THUMBNAIL)).catch(() => null);
    this.stage = null;
    this.etaSeconds = null;
    this.progress = 1;
    this.say("Done: the avatar is ready.");
    await this.writing;
    const r = await db.job.updateMany({
      where: { id: this.id, status: "running" },
      data: { ...this.columns(), status: "done", finishedAt: new Date() },
    });
    this.finished = true;
    if (r.count !== 1) return;
    await db.avatar.updateMany({
      where: { id: this.avatarId },
      data: {
        status: "ready",
        bundlePath,
        thumbnailPath: thumb?.isFile() ? `${bundlePath}/${BUNDLE_THUMBNAIL}` : null,
      },
    });
    this.host.emit({ type: "change", jobId: this.id, status: true });
  }

  /** An error outside any stage: the job fails rather than staying "running" until a restart. */
  private async broken(err: Error): Promise<void> {
    this.host.serverLog(`jobs: job ${this.id} broke the runner: ${err.stack ?? err.message}`);
    if (this.controller.signal.aborted) return;
    try {
      const r = await this.host.db.job.updateMany({
        where: { id: this.id, status: { in: ["queued", "running"] } },
        data: {
          status: "failed",
          error: `The job runner failed: ${shortError(err)}`,
          finishedAt: new Date(),
          etaSeconds: null,
        },
      });
      if (r.count === 1 && this.avatarId)
        await this.host.db.avatar.updateMany({
          where: { id: this.avatarId, status: "creating" },
          data: { status: "failed" },
        });
      this.host.emit({ type: "change", jobId: this.id, status: true });
    } catch (again) {
      this.host.serverLog(`jobs: could not mark job ${this.id} failed: ${(again as Error).message}`);
    }
  }
}
