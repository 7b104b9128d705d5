/** The worker side of stage-thread.ts: runs one creation stage and reports back. */
import { parentPort } from "node:worker_threads";
import { creationStages } from "./stages";
import type { FromWorker, ToWorker } from "./stage-thread";

const port = parentPort!;
const controller = new AbortController();
const send = (m: FromWorker) => port.postMessage(m);

port.on("message", (m: ToWorker) => {
  if (m.type === "abort") return controller.abort();
  const stage = creationStages().find((s) => s.name === m.stage);
  if (!stage) return send({ type: "failed", message: `No creation stage "${m.stage}".` });
  stage
    .run({
      ...m.ctx,
      signal: controller.signal,
      progress: (fraction, etaSeconds) =>
        send({ type: "progress", fraction, ...(etaSeconds !== undefined ? { etaSeconds } : {}) }),
      log: (line) => send({ type: "log", line }),
      publish: (name, path) => send({ type: "publish", name, path }),
    })
    .then(
      () => send({ type: "done" }),
      (err: Error) => send({ type: "failed", message: err.message, ...(err.stack ? { stack: err.stack } : {}) }),
    );
});
