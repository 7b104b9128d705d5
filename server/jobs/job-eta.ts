/**
 * How long a running job has left: from its own stages' measured times and
 * the mean stage times of earlier jobs of the same config.
 */
import type { Db } from "../db/client";
import type { StageDef } from "../pipeline/create/stage";
import {
  clamp01,
  CREATE_AVATAR_KIND,
  parseInput,
  parseStages,
  type CreationJobInput,
  type StageState,
} from "./job-record";

export interface EtaInput {
  stages: readonly StageState[];
  /** Index of the running stage; -1 before the first. */
  index: number;
  /** performance.now() when the running stage started. */
  stageStartedAt: number;
  /** The running stage's own ETA, when it gave one. */
  stageEta: number | null;
  /** Mean seconds of each stage in earlier finished jobs of the same config. */
  history: ReadonlyMap<string, number>;
}

/**
 * Seconds left: the running stage's own ETA (else its elapsed time over its
 * progress, else the measured rate x its weight), plus each later stage's
 * mean time in earlier jobs of the same config (else the measured rate x its
 * weight). The rate is seconds per unit of weight over this job's finished
 * stages and the running one. Null while nothing has been measured.
 */
export function estimateEta(defs: readonly StageDef[], live: EtaInput): number | null {
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
      weight += defs[j]!.weight;
    }
  });
  if (p >= 0.02) {
    sec += elapsed;
    weight += p * defs[i]!.weight;
  }
  const rate = weight > 0 ? sec / weight : null;
  let left: number | null =
    live.stageEta ??
    (p >= 0.02 && elapsed >= 0.5 ? (elapsed * (1 - p)) / p : rate !== null ? rate * defs[i]!.weight * (1 - p) : null);
  for (let j = i + 1; j < live.stages.length && left !== null; j++) {
    const s = live.stages[j]!;
    if (s.status === "done" || s.status === "skipped") continue;
    const known = live.history.get(s.name) ?? (rate !== null ? rate * defs[j]!.weight : null);
    left = known === null ? null : left + known;
  }
  return left === null ? null : Math.round(left * 10) / 10;
}

/** Mean seconds per stage over the last finished jobs of this config. */
export async function stageHistory(db: Db, config: string): Promise<Map<string, number>> {
  const rows = await db.job.findMany({
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
