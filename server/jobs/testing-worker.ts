/**
 * A job worker process for the tests (spawned, so that it can be SIGKILLed):
 * the stepping stages of testing.ts, TEST_STEPS x TEST_STEP_MS each, and one
 * line "<stage> <pid>" in DATA_DIR/stage-runs.log each time a stage starts.
 * Configuration as for `npm run worker`.
 */
import fs from "node:fs/promises";
import path from "node:path";
import { loadConfig } from "../config";
import { steppingStages } from "./testing";
import { startJobWorker } from "./worker";

export const STAGE_RUNS_FILE = "stage-runs.log";

const config = loadConfig();
const stages = steppingStages({
  steps: Number(process.env.TEST_STEPS ?? 10),
  stepMs: Number(process.env.TEST_STEP_MS ?? 100),
}).map((def) => ({
  ...def,
  async run(ctx: Parameters<typeof def.run>[0]) {
    await fs.appendFile(path.join(config.dataDir, STAGE_RUNS_FILE), `${def.name} ${process.pid}\n`);
    return def.run(ctx);
  },
}));
const worker = await startJobWorker({ config, stages, log: (line) => console.log(line) });
console.log("test worker ready");
process.on("SIGTERM", () => void worker.close().then(() => process.exit(0)));
