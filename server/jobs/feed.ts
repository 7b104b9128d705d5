/**
 * Turns the runner's events into what watchers receive: a job's view at most
 * once per `intervalMs` (and at once on a status change), its new log lines
 * batched in between. Jobs nobody watches cost nothing.
 */
import type { JobView } from "../../protocol/messages";
import type { JobEvent, JobRunner } from "./runner";

export interface JobFeedOptions {
  runner: JobRunner;
  /** Whether anyone watches the job now. */
  watched(jobId: string): boolean;
  sendUpdate(view: JobView): void;
  sendLog(jobId: string, lines: string[]): void;
  /** Least time between two updates of one job, ms. Default 250 (4 a second). */
  intervalMs?: number;
  log?: (line: string) => void;
}

interface Pending {
  lines: string[];
  timer: NodeJS.Timeout | null;
  lastSent: number;
  /** Sends of one job go out in order. */
  chain: Promise<void>;
}

export class JobFeed {
  private readonly pending = new Map<string, Pending>();
  private readonly unsubscribe: () => void;
  private readonly intervalMs: number;
  private closed = false;

  constructor(private readonly options: JobFeedOptions) {
    this.intervalMs = options.intervalMs ?? 250;
    this.unsubscribe = options.runner.subscribe((e) => this.on(e));
  }

  close(): void {
    this.closed = true;
    this.unsubscribe();
    for (const p of this.pending.values()) if (p.timer) clearTimeout(p.timer);
    this.pending.clear();
  }

  private on(e: JobEvent): void {
    if (e.type === "closed") return this.close();
    if (this.closed || !this.options.watched(e.jobId)) {
      this.pending.delete(e.jobId);
      return;
    }
    let p = this.pending.get(e.jobId);
    if (!p) {
      p = { lines: [], timer: null, lastSent: 0, chain: Promise.resolve() };
      this.pending.set(e.jobId, p);
    }
    if (e.type === "log") p.lines.push(...e.lines);
    if (e.type === "change" && e.status) return this.flush(e.jobId, p);
    if (p.timer) return;
    const wait = Math.max(0, p.lastSent + this.intervalMs - Date.now());
    p.timer = setTimeout(() => this.flush(e.jobId, p), wait);
  }

  private flush(jobId: string, p: Pending): void {
    if (p.timer) clearTimeout(p.timer);
    p.timer = null;
    p.lastSent = Date.now();
    const lines = p.lines.splice(0);
    p.chain = p.chain.then(async () => {
      if (this.closed) return;
      if (lines.length) this.options.sendLog(jobId, lines);
      try {
        const view = await this.options.runner.view(jobId);
        if (view && !this.closed) this.options.sendUpdate(view);
      } catch (err) {
        this.options.log?.(`jobs: could not read job ${jobId} for its watchers: ${(err as Error).message}`);
      }
    });
  }
}
