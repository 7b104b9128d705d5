"use client";
/**
 * One avatar-creation job, live: the portrait, the overall bar with its ETA,
 * one row per stage, the log, the pictures the stages publish (loss curve,
 * dataset contact sheet, fit), Cancel, and Retry after a failure. When the
 * job is done it opens the editor on its own after a moment.
 */
import { useEffect, useMemo, useRef, useState } from "react";
import { useRouter } from "next/navigation";
import { createApi, errorMessage } from "../lib/trpc";
import { formatEta, formatSeconds, freshUrl, useJob, type JobStage, type JobView } from "../lib/jobs";

/** Pictures in the order a person wants them, with captions; others follow by name. */
const ARTIFACTS: Array<[string, string]> = [
  ["loss-curve", "Training loss"],
  ["contact-sheet", "Synthetic training videos"],
  ["overlay", "Face analysis"],
  ["fit", "Head fitted to the photo"],
  ["texture", "Texture from the photo"],
  ["identity-sheet", "Identity check"],
];

const STAGE_ICONS: Record<JobStage["status"], string> = {
  pending: "○",
  running: "◐",
  done: "✓",
  failed: "✕",
  skipped: "–",
};

/** How long "ready" stays on screen before the editor opens. */
const OPEN_EDITOR_AFTER_MS = 2500;

function percent(fraction: number): string {
  return `${Math.floor(Math.max(0, Math.min(1, fraction)) * 100)}%`;
}

function headline(job: JobView): string {
  const stage = job.stages.find((s) => s.name === job.stage);
  switch (job.status) {
    case "queued":
      if (job.workersOnline === 0) return "Waiting for a job worker: none is running (npm run worker starts one)";
      return job.queuePosition
        ? `Waiting for the server: number ${job.queuePosition} in line`
        : "Waiting for the server";
    case "running":
      return stage ? `${stage.label}…` : "Running…";
    case "done":
      return "Your avatar is ready";
    case "failed":
      return "Creating the avatar failed";
    case "cancelled":
      return "Cancelled";
  }
}

function Bar({ fraction, testId }: { fraction: number; testId?: string }) {
  const f = Math.max(0, Math.min(1, fraction));
  return (
    <div
      className="bar"
      role="progressbar"
      aria-valuemin={0}
      aria-valuemax={100}
      aria-valuenow={Math.floor(f * 100)}
      data-testid={testId}
      data-progress={f.toFixed(4)}
    >
      <div style={{ width: `${f * 100}%` }} />
    </div>
  );
}

export function JobProgress({ jobId }: { jobId: string }) {
  const api = useMemo(() => createApi(), []);
  const router = useRouter();
  const { job, log, error, connected, version, show } = useJob(jobId);
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const [actionError, setActionError] = useState<string | null>(null);
  const logRef = useRef<HTMLPreElement>(null);
  const stickToEnd = useRef(true);

  // Follow the log's end unless the reader scrolled up to read.
  useEffect(() => {
    const el = logRef.current;
    if (el && stickToEnd.current) el.scrollTop = el.scrollHeight;
  }, [log]);

  const done = job?.status === "done";
  const avatarId = job?.avatarId;
  useEffect(() => {
    if (!done || !avatarId) return;
    const t = window.setTimeout(() => router.push(`/avatars/${encodeURIComponent(avatarId)}`), OPEN_EDITOR_AFTER_MS);
    return () => window.clearTimeout(t);
  }, [done, avatarId, router]);

  async function act(action: "cancel" | "retry") {
    setBusy(true);
    setActionError(null);
    try {
      // Both answer the job's new view (a cancelled job stays, naming its deleted avatar).
      show(await api.jobs[action].mutate({ id: jobId }));
    } catch (e) {
      setActionError(errorMessage(e));
    } finally {
      setBusy(false);
      setConfirming(false);
    }
  }

  if (error) {
    return (
      <main>
        <h1>Avatar creation</h1>
        <p className="error big" role="alert" data-testid="job-error">
          {error}
        </p>
        <a href="/">Back to your avatars</a>
      </main>
    );
  }
  if (!job) {
    return (
      <main>
        <h1>Avatar creation</h1>
        <p className="muted" data-testid="job-loading">
          <span className="spinner small" aria-hidden="true" /> {connected ? "Loading the job…" : "Connecting…"}
        </p>
      </main>
    );
  }

  const active = job.status === "queued" || job.status === "running";
  const eta = active ? formatEta(job.etaSeconds) : null;
  const pictures = [
    ...ARTIFACTS.filter(([name]) => job.artifacts[name]),
    ...Object.keys(job.artifacts)
      .filter((n) => !ARTIFACTS.some(([k]) => k === n))
      .map((n): [string, string] => [n, n]),
  ];

  return (
    <main>
      <div className="job-head">
        <img className="job-portrait" src={job.portrait.thumbnailUrl} alt="The portrait" data-testid="job-portrait" />
        <div style={{ flex: 1, minWidth: 0 }}>
          <h1 style={{ margin: 0 }} data-testid="job-avatar-name">
            {job.avatarName}
          </h1>
          <p className={`job-status ${job.status}`} data-testid="job-status" data-status={job.status}>
            {headline(job)}
          </p>
          <div className="row">
            <div style={{ flex: 1 }}>
              <Bar fraction={job.progress} testId="job-progress" />
            </div>
            <strong data-testid="job-percent">{percent(job.progress)}</strong>
            {eta && (
              <span className="muted" data-testid="job-eta">
                {eta}
              </span>
            )}
          </div>
          {!connected && active && <p className="muted status-line">Connection lost: reconnecting…</p>}
        </div>
      </div>

      {done && (
        <div className="card job-ready" data-testid="job-ready">
          <strong>Your avatar is ready.</strong> Opening the editor…{" "}
          <a href={`/avatars/${encodeURIComponent(job.avatarId)}`} data-testid="open-editor">
            Open it now
          </a>
        </div>
      )}
      {job.status === "failed" && (
        <div className="card refusal" data-testid="job-failed">
          <p className="refusal-message" role="alert" data-testid="job-failure">
            {job.error ?? "The job failed without a message; its log below may say why."}
          </p>
          <button className="primary" disabled={busy} onClick={() => void act("retry")} data-testid="job-retry">
            Retry
          </button>
        </div>
      )}
      {job.status === "cancelled" && (
        <div className="card" data-testid="job-cancelled">
          Creating this avatar was cancelled. <a href="/new">Start again with a photo</a> · <a href="/">Your avatars</a>
        </div>
      )}
      {actionError && (
        <p className="error" role="alert" data-testid="job-action-error">
          {actionError}
        </p>
      )}

      <div className="job-body">
        <section className="card">
          <h2>Steps</h2>
          <ol className="stages" data-testid="job-stages">
            {job.stages.map((s) => (
              <li
                key={s.name}
                className={`stage ${s.status}`}
                data-testid="stage-row"
                data-stage={s.name}
                data-status={s.status}
              >
                <span className={`stage-icon${s.status === "running" ? " spin" : ""}`} aria-label={s.status}>
                  {STAGE_ICONS[s.status]}
                </span>
                <span className="stage-label">{s.label}</span>
                <Bar fraction={s.status === "done" ? 1 : s.progress} />
                <span className="stage-time muted">{s.status === "pending" ? "" : formatSeconds(s.seconds)}</span>
              </li>
            ))}
          </ol>
          {/* A failed job can be cancelled too: that deletes the avatar it left behind. */}
          {(active || job.status === "failed") && (
            <div className="row" style={{ marginTop: ".8rem" }}>
              {confirming ? (
                <>
                  <span>
                    {active
                      ? "Stop creating this avatar? The work done so far is lost."
                      : "Delete this avatar instead of retrying?"}
                  </span>
                  <button
                    className="danger"
                    disabled={busy}
                    onClick={() => void act("cancel")}
                    data-testid="job-cancel-confirm"
                  >
                    {active ? "Yes, cancel" : "Yes, delete it"}
                  </button>
                  <button disabled={busy} onClick={() => setConfirming(false)}>
                    {active ? "Keep going" : "No"}
                  </button>
                </>
              ) : (
                <button onClick={() => setConfirming(true)} data-testid="job-cancel">
                  {active ? "Cancel" : "Delete this avatar"}
                </button>
              )}
            </div>
          )}
        </section>
        <section className="card">
          <h2>Log</h2>
          <pre
            className="job-log"
            ref={logRef}
            data-testid="job-log"
            onScroll={(e) => {
              const el = e.currentTarget;
              stickToEnd.current = el.scrollHeight - el.scrollTop - el.clientHeight < 24;
            }}
          >
            {log.length ? log.join("\n") : "No output yet."}
          </pre>
        </section>
      </div>

      {pictures.length > 0 && (
        <section className="artifacts" data-testid="job-artifacts">
          {pictures.map(([name, caption]) => (
            <figure key={name} className="card" data-testid={`artifact-${name}`}>
              <img
                src={name === "loss-curve" ? freshUrl(job.artifacts[name]!, version) : job.artifacts[name]!}
                alt={caption}
              />
              <figcaption className="muted">{caption}</figcaption>
            </figure>
          ))}
        </section>
      )}
    </main>
  );
}
