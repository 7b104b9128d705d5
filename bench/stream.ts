/**
 * Streaming benchmark (npm run bench:stream): N headless STREAM viewers on
 * loopback against one in-process server, on the placeholder avatar, for each
 * stream back end in one run (the old/new comparison on this machine):
 *   1. a clip plays for BENCH_SECONDS: frames per second per viewer, bytes per frame;
 *   2. BENCH_CHANGES slider moves made as the editor makes them, through a real Yjs
 *      client (y-websocket), each once every viewer showed the last: change-to-frame
 *      latency (the Yjs edit -> the first frame of a newer document version), p50 / p95.
 * The event loop's delay (perf_hooks.monitorEventLoopDelay, p99) is taken over both phases;
 * server CPU is process CPU time over wall time in the clip phase; memory is the RSS
 * after the row. The viewers' socket clients share the process, a small part of both.
 * Optional soak: BENCH_SOAK_SECONDS of 16-viewer clip streaming on the last back end,
 * with RSS and heap sampled every 10 % of it (memory must stay flat).
 * Env: BENCH_BACKENDS ("webgpu,auto"), BENCH_VIEWERS ("1,4,16"), BENCH_SIZE (384),
 * BENCH_SECONDS (10), BENCH_CHANGES (8), BENCH_SOAK_SECONDS (0).
 */
import { monitorEventLoopDelay } from "node:perf_hooks";
import { io as connect, type Socket } from "socket.io-client";
import { startTestServer, waitFor, type TestServer } from "../server/testing/harness";
import { connectYClient } from "../server/testing/yjs-client";
import { attributesMap } from "../protocol/shared-state";
import type { ClientToServerEvents, ServerToClientEvents } from "../protocol/messages";
import type { ServerConfig } from "../server/config";
import { percentile } from "../render-core/math/arrays";

type Client = Socket<ServerToClientEvents, ClientToServerEvents>;

const list = (name: string, fallback: string) => (process.env[name] ?? fallback).split(",");
const BACKENDS = list("BENCH_BACKENDS", "webgpu,auto") as ServerConfig["streamBackend"][];
const VIEWERS = list("BENCH_VIEWERS", "1,4,16").map(Number);
const SIZE = Number(process.env.BENCH_SIZE ?? 384);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CHANGES = Number(process.env.BENCH_CHANGES ?? 8);
const SOAK = Number(process.env.BENCH_SOAK_SECONDS ?? 0);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(0);

interface Viewer {
  socket: Client;
  frames: Array<{ at: number; version: number; bytes: number }>;
}

interface Row {
  backend: string;
  viewers: number;
  fps: number;
  bytes: number;
  p50: number;
  p95: number;
  loopP99: number;
  cores: number;
  rss: number;
}

async function open(server: TestServer): Promise<Client> {
  const socket: Client = connect(server.url, { transports: ["websocket"], reconnection: false });
  await new Promise<void>((resolve, reject) => {
    socket.once("server:hello", () => resolve());
    socket.once("connect_error", reject);
  });
  return socket;
}

async function startViewers(server: TestServer, avatarId: string, n: number, onBackend: (b: string) => void) {
  const viewers: Viewer[] = [];
  for (let i = 0; i < n; i++) {
    const socket = await open(server);
    const v: Viewer = { socket, frames: [] };
    socket.on("stream:frame", (f) => {
      v.frames.push({ at: performance.now(), version: f.version, bytes: (f.data as ArrayBuffer).byteLength });
      onBackend(f.backend);
      socket.emit("stream:ack", { frameId: f.frameId });
    });
    const r = await socket.emitWithAck("stream:start", {
      avatarId,
      width: SIZE,
      height: SIZE,
      camera: { yawDeg: 10 * i, pitchDeg: 5, distance: 0.7 },
    });
    if (!r.ok) throw new Error(r.message);
    viewers.push(v);
  }
  await waitFor(() => viewers.every((v) => v.frames.length > 0), 300_000, "first frames");
  return viewers;
}

const rows: Row[] = [];
console.log(`image ${SIZE}x${SIZE}, placeholder avatar; clip phase ${SECONDS} s; ${CHANGES} slider moves through Yjs`);
for (const backendName of BACKENDS) {
  const server = await startTestServer({
    streamMaxViewers: Math.max(...VIEWERS) + 1,
    streamBackend: backendName,
  });
  const avatarId = (await server.db.avatar.create({ data: { name: "bench" } })).id;
  const driver = await open(server);
  await driver.emitWithAck("avatar:join", { avatarId });
  const command = async (cmd: Parameters<ClientToServerEvents["avatar:command"]>[0]["command"]) => {
    const r = await driver.emitWithAck("avatar:command", { avatarId, command: cmd });
    if (!r.ok) throw new Error(r.message);
  };
  const editor = await connectYClient(server.url, avatarId);
  let backend = "";

  for (const n of VIEWERS) {
    const viewers = await startViewers(server, avatarId, n, (b) => (backend = b));
    const loop = monitorEventLoopDelay({ resolution: 10 });
    loop.enable();

    // 1. Throughput while a clip plays.
    await command({ type: "play-clip", clip: "talk" });
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const counts0 = viewers.map((v) => v.frames.length);
    const stats0 = { ...server.stream.stats };
    await sleep(SECONDS * 1000);
    const batches = server.stream.stats.batches - stats0.batches;
    const rendered = server.stream.stats.frames - stats0.frames;
    const wall = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const fps = viewers.map((v, i) => (v.frames.length - counts0[i]!) / wall);
    const played = viewers.flatMap((v, i) => v.frames.slice(counts0[i]!));
    const bytes = played.reduce((s, f) => s + f.bytes, 0) / Math.max(1, played.length);
    await command({ type: "stop-clip" });
    await sleep(1000);

    // 2. Slider moves through Yjs, as the editor's sliders make them.
    const latencies: number[] = [];
    for (let c = 0; c < CHANGES; c++) {
      const before = Math.max(...viewers.flatMap((v) => v.frames.map((f) => f.version)));
      const sent = performance.now();
      attributesMap(editor.doc).set("hair", c % 2 ? -0.6 : 0.6);
      await waitFor(
        () => viewers.every((v) => v.frames.some((f) => f.version > before && f.at >= sent)),
        300_000,
        "every viewer to show the change",
      );
      for (const v of viewers) latencies.push(v.frames.find((f) => f.version > before && f.at >= sent)!.at - sent);
      await sleep(200);
    }
    loop.disable();
    rows.push({
      backend,
      viewers: n,
      fps: fps.reduce((a, b) => a + b, 0) / n,
      bytes,
      p50: percentile(latencies, 50),
      p95: percentile(latencies, 95),
      loopP99: loop.percentile(99) / 1e6,
      cores: (cpu.user + cpu.system) / 1e6 / wall,
      rss: process.memoryUsage().rss,
    });
    const r = rows.at(-1)!;
    console.log(
      `${r.backend}: ${n} viewers: ${r.fps.toFixed(2)} fps each, p50/p95 ${r.p50.toFixed(0)}/${r.p95.toFixed(0)} ms, loop p99 ${r.loopP99.toFixed(1)} ms; clip: ${batches} batches, ${(rendered / Math.max(1, batches)).toFixed(1)} frames per batch`,
    );
    for (const v of viewers) v.socket.close();
    await waitFor(() => server.stream.viewerCount === 0, 10_000, "viewers to leave");
  }

  if (SOAK > 0 && backendName === BACKENDS.at(-1)) {
    const viewers = await startViewers(server, avatarId, 16, () => undefined);
    await command({ type: "play-clip", clip: "talk" });
    console.log(`\nsoak: 16 viewers, clip playing, ${SOAK} s (${backend})`);
    console.log("| elapsed s | frames (all viewers) | RSS MiB | heap used MiB |");
    console.log("|---:|---:|---:|---:|");
    const t0 = performance.now();
    for (let k = 1; k <= 10; k++) {
      await sleep((SOAK * 1000) / 10);
      global.gc?.();
      const m = process.memoryUsage();
      const frames = viewers.reduce((s, v) => s + v.frames.length, 0);
      console.log(
        `| ${((performance.now() - t0) / 1000).toFixed(0)} | ${frames} | ${mib(m.rss)} | ${mib(m.heapUsed)} |`,
      );
      for (const v of viewers) v.frames.length = 0; // the bench's own record must not grow
    }
    await command({ type: "stop-clip" });
    for (const v of viewers) v.socket.close();
  }
  editor.destroy();
  driver.close();
  await server.close();
}

console.log("");
console.log(
  "| back end | viewers | fps per viewer (clip) | bytes per frame | change-to-frame p50 ms | p95 ms | event-loop delay p99 ms | server CPU (cores) | RSS MiB |",
);
console.log("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
for (const r of rows)
  console.log(
    `| ${r.backend} | ${r.viewers} | ${r.fps.toFixed(2)} | ${Math.round(r.bytes)} | ${r.p50.toFixed(0)} | ${r.p95.toFixed(0)} | ${r.loopP99.toFixed(1)} | ${r.cores.toFixed(2)} | ${mib(r.rss)} |`,
  );
if (BACKENDS.length === 2) {
  console.log("\nold/new (first back end over the second), per viewer count:");
  for (const n of VIEWERS) {
    const [a, b] = BACKENDS.map((_, k) => rows.filter((r) => r.viewers === n)[k]!);
    if (!a || !b) continue;
    console.log(
      `  ${n} viewers: fps x${(b.fps / a.fps).toFixed(1)}, p95 latency ${(a.p95 / b.p95).toFixed(1)}x lower, event-loop p99 ${(a.loopP99 / b.loopP99).toFixed(1)}x lower`,
    );
  }
}
process.exit(0);
