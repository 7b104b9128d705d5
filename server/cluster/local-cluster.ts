/**
 * A whole cluster on one machine: several web processes (server/main.ts,
 * each its own OS process), job workers (server/worker.ts) and render nodes
 * (server/render-node.ts) on one
 * database, one Redis and one DATA_DIR, the web processes behind a TCP
 * balancer. `npm run cluster` runs it; e2e/cluster.spec.ts and
 * bench:cluster start it to kill and measure its processes.
 */
import { spawn, type ChildProcess } from "node:child_process";
import net from "node:net";
import path from "node:path";
import { startBalancer, type Balancer } from "./balancer";

export interface ClusterProcess {
  port: number;
  url: string;
  child: ChildProcess;
  /** Its output so far (the last 200 lines). */
  output: string[];
}

export interface LocalCluster {
  /** The balancer's address: what browsers use. */
  url: string;
  webs: ClusterProcess[];
  workers: ClusterProcess[];
  renderNodes: ClusterProcess[];
  /** Starts the i-th web process again on its port (after a kill). */
  restart(i: number): Promise<void>;
  /** Starts the i-th job worker again (after a kill). */
  restartWorker(i: number): Promise<void>;
  close(): Promise<void>;
}

export interface LocalClusterOptions {
  webProcesses: number;
  /** Job workers (npm run worker); default 0. Needs redisUrl. */
  workers?: number;
  /** Render nodes (npm run render-node); default 0. Needs redisUrl. */
  renderNodes?: number;
  databaseUrl: string;
  /** Null runs the processes alone, each unaware of the others (bench:cluster's one-process row). */
  redisUrl: string | null;
  dataDir: string;
  /** The balancer's port; default a free one. */
  port?: number;
  /** More environment for every process (SEED_DEMO, STREAM_BACKEND, ...). */
  env?: Record<string, string>;
  /** Each line a process prints, with its name. */
  onLine?: (name: string, line: string) => void;
  root?: string;
}

export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function waitHealthy(web: ClusterProcess, timeoutMs: number): Promise<void> {
  const start = Date.now();
  for (;;) {
    if (web.child.exitCode !== null)
      throw new Error(`web process on port ${web.port} exited (${web.child.exitCode}):\n${web.output.join("\n")}`);
    const ok = await fetch(`${web.url}/healthz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    if (Date.now() - start > timeoutMs)
      throw new Error(`web process on port ${web.port} not healthy in ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

export async function startLocalCluster(options: LocalClusterOptions): Promise<LocalCluster> {
  const root = options.root ?? process.cwd();
  const ports = await Promise.all(Array.from({ length: options.webProcesses }, () => freePort()));
  const webs: ClusterProcess[] = [];
  const workers: ClusterProcess[] = [];
  const renderNodes: ClusterProcess[] = [];

  function spawnProcess(
    i: number,
    port: number,
    entry = "server/main.ts",
    name = `web${i + 1}`,
    extraEnv: Record<string, string> = {},
  ): ClusterProcess {
    const child = spawn(process.execPath, ["--import", "tsx", path.join(root, entry)], {
      cwd: root,
      env: {
        ...process.env,
        NODE_ENV: "production",
        ...options.env,
        PORT: String(port),
        HOST: "127.0.0.1",
        DATA_DIR: options.dataDir,
        DATABASE_URL: options.databaseUrl,
        REDIS_URL: options.redisUrl ?? "",
        ...extraEnv,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const web: ClusterProcess = { port, url: `http://127.0.0.1:${port}`, child, output: [] };
    for (const stream of [child.stdout!, child.stderr!]) {
      let rest = "";
      stream.on("data", (chunk: Buffer) => {
        const lines = (rest + chunk.toString()).split("\n");
        rest = lines.pop()!;
        for (const line of lines) {
          web.output.push(line);
          if (web.output.length > 200) web.output.shift();
          options.onLine?.(name, line);
        }
      });
    }
    return web;
  }

  async function startWorker(i: number): Promise<ClusterProcess> {
    const worker = spawnProcess(i, 0, "server/worker.ts", `worker${i + 1}`);
    await new Promise<void>((resolve, reject) => {
      worker.child.stdout!.on("data", (d: Buffer) => d.toString().includes("job worker ready") && resolve());
      worker.child.once("exit", (code) => reject(new Error(`worker exited (${code}):\n${worker.output.join("\n")}`)));
    });
    return worker;
  }

  let balancer: Balancer | null = null;
  try {
    // One at a time: the first one migrates the database and seeds it alone.
    for (let i = 0; i < ports.length; i++) {
      const web = spawnProcess(i, ports[i]!);
      webs.push(web);
      await waitHealthy(web, 120_000);
    }
    balancer = await startBalancer(ports, { port: options.port });
    for (let i = 0; i < (options.renderNodes ?? 0); i++) {
      const port = await freePort();
      const node = spawnProcess(i, port, "server/render-node.ts", `render${i + 1}`, {
        RENDER_NODE_URL: `http://127.0.0.1:${port}`,
      });
      renderNodes.push(node);
      await waitHealthy(node, 60_000);
    }
    for (let i = 0; i < (options.workers ?? 0); i++) workers.push(await startWorker(i));
  } catch (err) {
    for (const w of [...webs, ...workers, ...renderNodes]) w.child.kill("SIGKILL");
    throw err;
  }
  const bal = balancer;
  return {
    url: `http://127.0.0.1:${bal.port}`,
    webs,
    workers,
    renderNodes,
    async restart(i) {
      const web = spawnProcess(i, ports[i]!);
      webs[i] = web;
      await waitHealthy(web, 120_000);
    },
    async restartWorker(i) {
      workers[i] = await startWorker(i);
    },
    async close() {
      await bal.close();
      await Promise.all(
        [...webs, ...workers, ...renderNodes].map(
          (w) =>
            new Promise<void>((resolve) => {
              if (w.child.exitCode !== null || w.child.signalCode !== null) return resolve();
              w.child.once("exit", () => resolve());
              w.child.kill("SIGTERM");
              setTimeout(() => w.child.kill("SIGKILL"), 10_000).unref();
            }),
        ),
      );
    },
  };
}
