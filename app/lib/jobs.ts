"use client";
/**
 * The browser's side of avatar creation: the portrait upload (POST
 * /api/portraits), the jobs API and a hook that watches one job live over
 * socket.io (job:watch, job:update, job:log). The upload's answer and JobView
 * are the server's types (plain HTTP, docs/jobs.md).
 */
import { useCallback, useEffect, useRef, useState } from "react";
import type { JobView } from "../../protocol/messages";
import type { PortraitUploaded } from "../../server/portraits/upload";
import { connectSocket } from "./socket";

/** What the browser accepts before uploading; the server checks again. */
export const PORTRAIT_TYPES = ["image/jpeg", "image/png", "image/webp"] as const;
export const PORTRAIT_MAX_BYTES = 20 * 1024 * 1024;

/** The upload's answer for an accepted portrait (server/portraits/upload.ts). */
export type Portrait = PortraitUploaded;
export type PortraitAnalysis = PortraitUploaded["analysis"];

export type PortraitRefusalCode =
  | "bad-image"
  | "too-large"
  | "no-face"
  | "many-faces"
  | "too-small"
  | "blurred"
  | "turned"
  | "unsupported-type"
  | "analysis-failed"
  | "cross-site"
  | "network"
  | "server";

export type UploadResult =
  | { ok: true; portrait: Portrait }
  | { ok: false; code: PortraitRefusalCode; message: string; overlayUrl: string | null };

export type { CreationConfig as JobConfig } from "../../protocol/creation-configs";
export type { JobStatus, StageStatus, JobStageView as JobStage, JobView } from "../../protocol/messages";

/** Why a file cannot be a portrait, before any upload; null when it may be one. */
export function checkPortraitFile(file: { name: string; type: string; size: number }): string | null {
  if (!(PORTRAIT_TYPES as readonly string[]).includes(file.type)) {
    const kind = file.type || "a file of unknown type";
    return `"${file.name}" is ${kind}: a portrait must be a JPEG, PNG or WebP photo.`;
  }
  if (file.size > PORTRAIT_MAX_BYTES) {
    return `"${file.name}" is ${(file.size / 1024 / 1024).toFixed(1)} MB: a portrait can be at most 20 MB.`;
  }
  if (file.size === 0) return `"${file.name}" is empty.`;
  return null;
}

/** Uploads the file's raw bytes; every outcome, including a network failure, comes back as a value. */
export async function uploadPortrait(file: Blob): Promise<UploadResult> {
  let res: Response;
  try {
    res = await fetch("/api/portraits", { method: "POST", body: file, headers: { "content-type": file.type } });
  } catch (e) {
    return {
      ok: false,
      code: "network",
      message: `The upload did not reach the server (${e instanceof Error ? e.message : String(e)}). Check the connection and try again.`,
      overlayUrl: null,
    };
  }
  const body = (await res.json().catch(() => null)) as
    (Portrait & { error?: { code?: string; message?: string }; overlayUrl?: string }) | null;
  if (res.status === 201 && body?.id) return { ok: true, portrait: body };
  if (res.status === 413) {
    return {
      ok: false,
      code: "too-large",
      message: body?.error?.message ?? "The photo is too large for the server (at most 20 MB).",
      overlayUrl: null,
    };
  }
  if (body?.error?.message) {
    return {
      ok: false,
      code: (body.error.code as PortraitRefusalCode) ?? "server",
      message: body.error.message,
      overlayUrl: body.overlayUrl ?? null,
    };
  }
  return {
    ok: false,
    code: "server",
    message: `The upload failed with HTTP ${res.status}. Try again in a moment.`,
    overlayUrl: null,
  };
}

/** How many log lines the page keeps. */
const LOG_LINES = 300;

export interface WatchedJob {
  job: JobView | null;
  log: string[];
  /** Why the job cannot be shown (unknown id, no access); null while fine. */
  error: string | null;
  connected: boolean;
  /** Bumped when the job's state moves on: a cache-buster for artifacts that are rewritten in place. */
  version: number;
}

/**
 * Joins log lines onto the page's log where they overlap its end: job:log
 * batches and the tail a job:update carries may cross or repeat. A tail that
 * does not overlap at all replaces the log (lines were missed in between);
 * a job:log batch is appended.
 */
export function mergeLog(log: string[], incoming: string[], source: "update" | "log"): string[] {
  if (incoming.length === 0) return log;
  for (let k = Math.min(log.length, incoming.length); k > 0; k--) {
    let same = true;
    for (let i = 0; i < k && same; i++) same = log[log.length - k + i] === incoming[i];
    if (same) return k === incoming.length ? log : [...log, ...incoming.slice(k)].slice(-LOG_LINES);
  }
  return (source === "update" ? incoming : [...log, ...incoming]).slice(-LOG_LINES);
}

/** A key that changes when an artifact may have been rewritten: a new stage or a further 2% of the job. */
function progressKey(job: JobView): string {
  return `${job.status}:${job.stage}:${Math.floor(job.progress * 50)}:${Object.keys(job.artifacts).length}`;
}

/** Watches one job live; re-watches after a reconnect. `show` takes a JobView from elsewhere (a mutation's answer). */
export function useJob(jobId: string): WatchedJob & { show: (job: JobView) => void } {
  const [state, setState] = useState<WatchedJob>({ job: null, log: [], error: null, connected: false, version: 0 });
  const lastKey = useRef("");

  const show = useCallback(
    (job: JobView) => {
      if (job.id !== jobId) return;
      const key = progressKey(job);
      const moved = key === lastKey.current ? 0 : 1;
      lastKey.current = key;
      setState((s) => ({
        ...s,
        job,
        log: mergeLog(s.log, job.log ?? [], "update"),
        error: null,
        version: s.version + moved,
      }));
    },
    [jobId],
  );

  useEffect(() => {
    const socket = connectSocket(null, (message) => setState((s) => ({ ...s, error: message })));
    const onConnect = () => {
      setState((s) => ({ ...s, connected: true }));
      socket.emit("job:watch", { jobId }, (reply) => {
        if (reply.ok) show(reply.value);
        else setState((s) => ({ ...s, error: reply.message }));
      });
    };
    const onDisconnect = () => setState((s) => ({ ...s, connected: false }));
    const onLog = ({ jobId: id, lines }: { jobId: string; lines: string[] }) => {
      if (id === jobId) setState((s) => ({ ...s, log: mergeLog(s.log, lines, "log") }));
    };
    socket.on("connect", onConnect);
    socket.on("disconnect", onDisconnect);
    socket.on("job:update", show);
    socket.on("job:log", onLog);
    return () => {
      socket.off("connect", onConnect);
      socket.off("disconnect", onDisconnect);
      socket.off("job:update", show);
      socket.off("job:log", onLog);
      socket.close();
    };
  }, [jobId, show]);

  return { ...state, show };
}

/** "about 12 min left", "under a minute left", "about 1 h 20 min left"; null when unknown. */
export function formatEta(seconds: number | null | undefined): string | null {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return null;
  if (seconds < 60) return "under a minute left";
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `about ${minutes} min left`;
  const h = Math.floor(minutes / 60),
    m = minutes % 60;
  return `about ${h} h${m ? ` ${m} min` : ""} left`;
}

/** "42 s", "3 min 05 s". */
export function formatSeconds(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return "";
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, "0")} s`;
}

/** An artifact URL that changes with `version`, so an image rewritten in place is fetched again. */
export function freshUrl(url: string, version: number): string {
  return `${url}${url.includes("?") ? "&" : "?"}v=${version}`;
}
