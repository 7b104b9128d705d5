/**
 * Uploaded portraits are decoded, analysed and drawn on one long-lived
 * worker thread (analysis-worker.ts), not the server's own: a 49-megapixel
 * photo took the event loop away for seconds, stalling every page and
 * websocket. The worker starts with the first upload, loads the models once,
 * takes uploads one at a time in arrival order, is started afresh for the
 * next upload if it dies, and ends with closePortraitAnalysis().
 */
import { tsWorker } from "../threads/ts-worker";
import { Worker } from "node:worker_threads";
import type { PortraitAnalysis } from "../pipeline/analyse/analyse";
import type { RefusalCode } from "../pipeline/analyse/refusal";

/** What the worker makes of one upload. Byte arrays own their buffers (they were transferred, not copied). */
export type UploadAnalysis =
  | {
      type: "accepted";
      analysis: Omit<PortraitAnalysis, "matte">;
      /** The uploaded bytes, handed back. */
      original: Uint8Array;
      portraitPng: Uint8Array;
      overlayPng: Uint8Array;
      thumbnailJpg: Uint8Array;
    }
  | {
      type: "refused";
      code: RefusalCode;
      message: string;
      details: Record<string, number>;
      /** The refusal drawn on the photo (JPEG, at most 1024 px); null when the file could not be decoded. */
      overlayJpeg: Uint8Array | null;
    };

export type ToAnalysisWorker = { id: number; bytes: Uint8Array; maxBytes: number };
export type FromAnalysisWorker =
  { id: number; result: UploadAnalysis } | { id: number; failed: { message: string; stack?: string } };

interface Job {
  id: number;
  bytes: Uint8Array;
  maxBytes: number;
  resolve(r: UploadAnalysis): void;
  reject(err: Error): void;
}

function startWorker(): Worker {
  return tsWorker(new URL("./analysis-worker.ts", import.meta.url));
}

class AnalysisThread {
  private worker: Worker | null = null;
  private current: Job | null = null;
  private readonly waiting: Job[] = [];
  private nextId = 1;

  get state(): { worker: Worker | null; busy: boolean } {
    return { worker: this.worker, busy: this.current !== null };
  }

  /** Hands `bytes` to the worker: their whole buffer is transferred (detached here), or copied when small. */
  analyse(bytes: Uint8Array, maxBytes: number): Promise<UploadAnalysis> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ id: this.nextId++, bytes, maxBytes, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    if (this.current || this.waiting.length === 0) return;
    const job = (this.current = this.waiting.shift()!);
    try {
      const worker = this.worker ?? this.start();
      worker.ref(); // an answer is awaited: keep the process up for it
      // Small arrays may live in Node's shared Buffer pool, which must not be detached: those are copied.
      const bytes = job.bytes.buffer.byteLength > Buffer.poolSize ? job.bytes : new Uint8Array(job.bytes);
      worker.postMessage({ id: job.id, bytes, maxBytes: job.maxBytes } satisfies ToAnalysisWorker, [
        bytes.buffer as ArrayBuffer,
      ]);
    } catch (err) {
      // Not started or not sent: this upload fails, the queue goes on.
      this.current = null;
      if (this.waiting.length === 0) this.worker?.unref();
      job.reject(err instanceof Error ? err : new Error(String(err)));
      this.pump();
    }
  }

  private start(): Worker {
    const worker = startWorker();
    this.worker = worker;
    let error: Error | null = null;
    worker.on("message", (m: FromAnalysisWorker) => {
      const job = this.current;
      if (this.worker !== worker || !job || job.id !== m.id) return;
      this.current = null;
      if ("failed" in m)
        job.reject(Object.assign(new Error(m.failed.message), m.failed.stack ? { stack: m.failed.stack } : {}));
      else job.resolve(m.result);
      // Idle: a process that forgot closePortraitAnalysis() may still exit.
      if (this.waiting.length === 0) worker.unref();
      this.pump();
    });
    worker.on("error", (err) => {
      error = err;
    });
    worker.on("exit", (code) => {
      if (this.worker !== worker) return; // closed on purpose
      this.worker = null;
      const job = this.current;
      this.current = null;
      job?.reject(
        new Error(
          `PortraitAnalysis: the analysis worker stopped (exit code ${code})${error ? `: ${error.stack ?? error.message}` : ""}`,
        ),
      );
      this.pump(); // the next upload gets a fresh worker
    });
    return worker;
  }

  /** Stops the worker; uploads still waiting or in progress are rejected. A later upload starts a new worker. */
  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = null;
    const jobs = [...(this.current ? [this.current] : []), ...this.waiting.splice(0)];
    this.current = null;
    for (const job of jobs)
      job.reject(new Error("PortraitAnalysis: the server closed before the portrait was analysed"));
    if (worker) await worker.terminate();
  }
}

const thread = new AnalysisThread();

/** Decodes and analyses an upload on the worker thread. Refusals are results; a rejection means the analysis itself failed. */
export function analyseUploadOnWorker(bytes: Uint8Array, options: { maxBytes: number }): Promise<UploadAnalysis> {
  return thread.analyse(bytes, options.maxBytes);
}

/** Ends the analysis worker (server shutdown). Safe to call when none runs, and more than once. */
export function closePortraitAnalysis(): Promise<void> {
  return thread.close();
}

/** The worker now running (or null) and whether it has an upload in hand: for tests, which stop it mid-analysis. */
export function portraitAnalysisState(): { worker: Worker | null; busy: boolean } {
  return thread.state;
}
