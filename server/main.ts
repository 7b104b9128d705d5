/**
 * Entry point: `npm start` (production) and `npm run dev` (HMR).
 * Configuration comes from the environment: see server/config.ts and the README.
 */
import { loadConfig } from "./config";
import { startServer } from "./http/app-server";

const config = loadConfig();
const server = await startServer({ config });
console.log(`PERSE Studio ready on ${server.url} (${config.dev ? "development" : "production"}; data in ${config.dataDir})`);

let stopping = false;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    if (stopping) process.exit(1);
    stopping = true;
    console.log(`${signal}: closing...`);
    server.close().then(
      () => process.exit(0),
      (err: Error) => {
        console.error(err);
        process.exit(1);
      },
    );
  });
}
