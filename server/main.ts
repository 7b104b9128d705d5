/**
 * Entry point: `npm start` (production) and `npm run dev` (HMR).
 * Configuration comes from the environment: see server/config.ts and the README.
 */
import { loadConfig } from "./config";
import { startServer } from "./http/app-server";

// If whoever reads our output goes away (a closed terminal, a killed parent),
// writes fail with EPIPE; logging that failure would fail again, forever.
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (err: NodeJS.ErrnoException) => {
    if (err.code === "EPIPE" || err.code === "ERR_STREAM_DESTROYED") {
      console.log = console.error = console.warn = console.info = () => undefined;
      return;
    }
    throw err;
  });
}

const config = loadConfig();
const server = await startServer({ config });
console.log(
  `PERSE Studio ready on ${server.url} (${config.dev ? "development" : "production"}; data in ${config.dataDir})`,
);

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
