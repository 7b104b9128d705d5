/**
 * Entry point of `npm run worker`: a process that runs creation jobs for a
 * cluster of web processes (docs/deploy.md). Configuration as for the server
 * (server/config.ts); REDIS_URL is required.
 */
import { loadConfig } from "./config";
import { defaultStages } from "./jobs/default-stages";
import { startJobWorker } from "./jobs/worker";
import { closePortraitAnalysis } from "./portraits/analysis-thread";

const config = loadConfig();
const worker = await startJobWorker({ config, stages: await defaultStages(console.log) });
console.log(`PERSE Studio job worker ready (${config.jobConcurrency} job(s) at once; data in ${config.dataDir})`);

let stopping = false;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    if (stopping) process.exit(1);
    stopping = true;
    console.log(`${signal}: interrupting running jobs (another worker resumes them)...`);
    Promise.all([worker.close(), closePortraitAnalysis()]).then(
      () => process.exit(0),
      (err: Error) => {
        console.error(err);
        process.exit(1);
      },
    );
  });
}
