/**
 * A worker thread running one of the project's TypeScript modules: the
 * workers are TypeScript like the rest of the server, so a two-line bootstrap
 * loads the module through tsx's API, as the CLIs and the server run through
 * tsx. Every thread the server starts (render, analysis, creation stages,
 * training pools, exports) starts here.
 */
import { Worker, type WorkerOptions } from "node:worker_threads";

/** A thread running `module` (a .ts file's URL, e.g. new URL("./x-worker.ts", import.meta.url)). */
export function tsWorker(module: URL, options: Omit<WorkerOptions, "eval"> = {}): Worker {
  const tsx = JSON.stringify(import.meta.resolve("tsx/esm/api"));
  const boot = `import(${tsx}).then((tsx) => tsx.tsImport(${JSON.stringify(module.href)}, ${JSON.stringify(module.href)}));`;
  return new Worker(boot, { ...options, eval: true });
}
