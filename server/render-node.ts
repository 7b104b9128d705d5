/**
 * Entry point of `npm run render-node`: a process that streams frames for a
 * cluster (docs/deploy.md). Configuration as for the server (server/config.ts);
 * REDIS_URL is required, RENDER_NODE_URL is the address pages reach it at.
 */
import { loadConfig } from "./config";
import { startRenderNode } from "./cluster/render-node";

const config = loadConfig();
const node = await startRenderNode({ config, publicUrl: process.env.RENDER_NODE_URL || null });
console.log(`PERSE Studio render node ready on ${node.url} (node ${node.nodeId})`);

let stopping = false;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    if (stopping) process.exit(1);
    stopping = true;
    console.log(`${signal}: closing (its avatars move to another node)...`);
    node.close().then(
      () => process.exit(0),
      (err: Error) => {
        console.error(err);
        process.exit(1);
      },
    );
  });
}
