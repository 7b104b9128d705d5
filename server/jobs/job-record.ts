/**
 * A creation job as the Job row stores it (JSON text columns for the input,
 * the per-stage state and the artifacts; the log as newline-separated text)
 * and as the browser sees it (JobView). Pure functions: no database here.
 */
import path from "node:path";
import { z } from "zod";
import { creationConfigSchema } from "../pipeline/create/configs";
import type { ArtifactName, StageDef } from "../pipeline/create/stage";
import type { JobStatus, JobView, StageStatus } from "../../protocol/messages";
import { PORTRAIT_ID } from "../storage/layout";

// The tRPC router validates its input with these.

export const CREATE_AVATAR_KIND = "create-avatar";
/** Log lines kept in the row; older ones are dropped. */
export const LOG_KEEP_LINES = 500;
/** Log lines a JobView carries. */
export const VIEW_LOG_LINES = 200;
/** A single log line longer than this is cut (a stage printing a whole tensor must not bloat the row). */
const MAX_LINE_CHARS = 2000;

export const ARTIFACT_NAMES = [
  "overlay",
  "fit",
  "texture",
  "contact-sheet",
  "loss-curve",
  "identity-sheet",
] as const satisfies readonly ArtifactName[];
// Fails to compile when stage.ts gains an artifact name this list lacks.
const allArtifactsListed: [Exclude<ArtifactName, (typeof ARTIFACT_NAMES)[number]>] extends [never] ? true : never =
  true;
void allArtifactsListed;

export function isArtifactName(name: string): name is ArtifactName {
  return (ARTIFACT_NAMES as readonly string[]).includes(name);
}

/** What a creation job's `input` column holds. */
export const creationJobInput = z.object({
  portraitId: z.string().regex(PORTRAIT_ID),
  config: creationConfigSchema,
  /** The avatar's name and id when the job was made: both outlive a cancel, which deletes the avatar. */
  name: z.string(),
  avatarId: z.string(),
});
export type CreationJobInput = z.infer<typeof creationJobInput>;

const stageState = z.object({
  name: z.string(),
  label: z.string(),
  status: z.enum(["pending", "running", "done", "failed", "skipped"]),
  progress: z.number(),
  seconds: z.number(),
  startedAt: z.string().optional(),
});
export type StageState = z.infer<typeof stageState>;

export function parseInput(text: string, jobId: string): CreationJobInput {
  const parsed = creationJobInput.safeParse(safeJson(text));
  if (!parsed.success)
    throw new Error(
      `Job ${jobId}: its stored input is not a creation input (${parsed.error.issues[0]?.message ?? "malformed"})`,
    );
  return parsed.data;
}

/** The stored stage states; a corrupt column reads as "nothing done yet" (stages are idempotent, so that only costs time). */
export function parseStages(text: string): StageState[] {
  const parsed = z.array(stageState).safeParse(safeJson(text));
  return parsed.success ? parsed.data : [];
}

export function parseArtifacts(text: string): Partial<Record<ArtifactName, string>> {
  const parsed = z.record(z.string(), z.string()).safeParse(safeJson(text));
  if (!parsed.success) return {};
  const out: Partial<Record<ArtifactName, string>> = {};
  for (const [name, rel] of Object.entries(parsed.data)) if (isArtifactName(name)) out[name] = rel;
  return out;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/**
 * The stage list for a run: one state per current stage definition, keeping
 * what the stored states say about stages of the same name (so a job resumed
 * by a newer server with a changed stage list still skips finished work).
 */
export function reconcileStages(defs: readonly StageDef[], saved: readonly StageState[]): StageState[] {
  const byName = new Map(saved.map((s) => [s.name, s]));
  return defs.map((d) => {
    const old = byName.get(d.name);
    return old
      ? { ...old, label: d.label }
      : { name: d.name, label: d.label, status: "pending", progress: 0, seconds: 0 };
  });
}

/** Weighted progress over the whole job, 0..1. */
export function overallProgress(defs: readonly StageDef[], states: readonly StageState[]): number {
  let total = 0;
  let done = 0;
  defs.forEach((d, i) => {
    const w = Math.max(0, d.weight);
    const s = states[i];
    total += w;
    if (s?.status === "done" || s?.status === "skipped") done += w;
    else if (s) done += w * clamp01(s.progress);
  });
  return total > 0 ? done / total : 0;
}

export function clamp01(x: number): number {
  return Number.isFinite(x) ? Math.min(1, Math.max(0, x)) : 0;
}

export function splitLog(text: string): string[] {
  return text ? text.split("\n") : [];
}

/** Splits a stage's log call into lines, cutting each to a sane length. */
export function logLines(line: string): string[] {
  return String(line)
    .replace(/\r\n?/g, "\n")
    .split("\n")
    .map((l) => (l.length > MAX_LINE_CHARS ? `${l.slice(0, MAX_LINE_CHARS)}…` : l));
}

/** Appends in place and drops the oldest lines beyond LOG_KEEP_LINES. */
export function appendLog(log: string[], lines: readonly string[]): void {
  log.push(...lines);
  if (log.length > LOG_KEEP_LINES) log.splice(0, log.length - LOG_KEEP_LINES);
}

/** A failure as the user reads it: the first line of the message, not too long; the stack goes to the server log. */
export function shortError(err: unknown): string {
  const raw = err instanceof Error ? err.message : String(err);
  const first = raw.split("\n").find((l) => l.trim()) ?? "";
  const line = first.trim() || (err instanceof Error ? err.name : "Unknown error");
  return line.length > 300 ? `${line.slice(0, 299)}…` : line;
}

/**
 * A published path, relative to the job folder, normalised to forward
 * slashes; null when it would leave the folder.
 */
export function safeRelative(jobDir: string, relativePath: string): string | null {
  if (typeof relativePath !== "string" || !relativePath || relativePath.includes("\0")) return null;
  const abs = path.resolve(jobDir, relativePath);
  if (!abs.startsWith(path.resolve(jobDir) + path.sep)) return null;
  return path.relative(jobDir, abs).split(path.sep).join("/");
}

export function artifactUrl(jobId: string, name: string): string {
  return `/api/jobs/${encodeURIComponent(jobId)}/artifacts/${name}`;
}

export function portraitThumbnailUrl(portraitId: string): string {
  return `/api/portraits/${encodeURIComponent(portraitId)}/thumbnail.jpg`;
}

/** The row fields a view needs. */
export interface JobRowForView {
  id: string;
  avatarId: string | null;
  status: string;
  stage: string | null;
  progress: number;
  etaSeconds: number | null;
  input: string;
  stages: string;
  artifacts: string;
  log: string;
  error: string | null;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
  avatar: { name: string } | null;
}

/** A running job's fresher in-memory state, laid over its row. */
export interface LiveState {
  stage: string | null;
  progress: number;
  etaSeconds: number | null;
  stages: StageState[];
  artifacts: Partial<Record<ArtifactName, string>>;
  log: string[];
}

const STATUSES: readonly JobStatus[] = ["queued", "running", "done", "failed", "cancelled"];

export function toJobView(row: JobRowForView, queuePosition: number | null, live: LiveState | null): JobView {
  const input = parseInput(row.input, row.id);
  const stages = live?.stages ?? parseStages(row.stages);
  const artifacts = live?.artifacts ?? parseArtifacts(row.artifacts);
  const log = live?.log ?? splitLog(row.log);
  const status = (STATUSES as readonly string[]).includes(row.status) ? (row.status as JobStatus) : "failed";
  return {
    id: row.id,
    avatarId: row.avatarId ?? input.avatarId,
    avatarName: row.avatar?.name ?? input.name,
    status,
    queuePosition: status === "queued" ? queuePosition : null,
    stage: live ? live.stage : row.stage,
    progress: live ? live.progress : row.progress,
    etaSeconds: live ? live.etaSeconds : row.etaSeconds,
    stages: stages.map((s) => ({
      name: s.name,
      label: s.label,
      status: s.status as StageStatus,
      progress: s.progress,
      seconds: Math.round(s.seconds * 10) / 10,
    })),
    log: log.slice(-VIEW_LOG_LINES),
    error: row.error,
    artifacts: Object.fromEntries(Object.keys(artifacts).map((name) => [name, artifactUrl(row.id, name)])),
    createdAt: row.createdAt.toISOString(),
    startedAt: row.startedAt?.toISOString() ?? null,
    finishedAt: row.finishedAt?.toISOString() ?? null,
    portrait: { id: input.portraitId, thumbnailUrl: portraitThumbnailUrl(input.portraitId) },
  };
}
