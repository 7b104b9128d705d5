/**
 * Creation stages run on a worker thread when the server runs them: training
 * and rendering are seconds of CPU at a time, which on the server's own thread
 * would stall every websocket and page of every editing session. The worker
 * (stage-worker.ts) runs the same stage code; progress, log lines and
 * published files come back as messages, and cancelling is a message too.
 */
import { tsWorker } from "../../threads/ts-worker";
import { Worker } from "node:worker_threads";
import type { StageContext, StageDef } from "./stage";

export type ToWorker =
  | { type: "run"; stage: string; ctx: Pick<StageContext, "jobId" | "avatarId" | "dataDir" | "jobDir" | "input"> }
  | { type: "abort" };
export type FromWorker =
  | { type: "progress"; fraction: number; etaSeconds?: number }
  | { type: "log"; line: string }
  | { type: "publish"; name: Parameters<StageContext["publish"]>[0]; path: string }
  | { type: "done" }
  | { type: "failed"; message: string; stack?: string };

function startWorker(): Worker {
  return tsWorker(new URL("./stage-worker.ts", import.meta.url));
}

/** The same stage, run on a fresh worker thread that ends with it. */
export function onWorkerThread(stage: StageDef): StageDef {
  return {
    ...stage,
    run: (ctx) =>
      new Promise<void>((resolve, reject) => {
        const worker = startWorker();
        let settled = false;
        const finish = (err: Error | null) => {
          if (settled) return;
          settled = true;
          ctx.signal.removeEventListener("abort", onAbort);
          void worker.terminate();
          if (err) reject(err);
          else resolve();
        };
        const onAbort = () => worker.postMessage({ type: "abort" } satisfies ToWorker);
        ctx.signal.addEventListener("abort", onAbort);
        worker.on("message", (m: FromWorker) => {
          if (m.type === "progress") ctx.progress(m.fraction, m.etaSeconds);
          else if (m.type === "log") ctx.log(m.line);
          else if (m.type === "publish") ctx.publish(m.name, m.path);
          else if (m.type === "done") finish(null);
          else finish(Object.assign(new Error(m.message), m.stack ? { stack: m.stack } : {}));
        });
        worker.on("error", (err) => finish(err));
        worker.on("exit", (code) =>
          finish(new Error(`The ${stage.label.toLowerCase()} step stopped unexpectedly (worker exit code ${code}).`)),
        );
        const { jobId, avatarId, dataDir, jobDir, input } = ctx;
        worker.postMessage({
          type: "run",
          stage: stage.name,
          ctx: { jobId, avatarId, dataDir, jobDir, input },
        } satisfies ToWorker);
        if (ctx.signal.aborted) onAbort();
      }),
  };
}
