/**
 * Streaming benchmark (npm run bench:stream): N headless STREAM viewers on
 * loopback against one in-process server, on the placeholder avatar.
 *   1. a clip plays for BENCH_SECONDS: frames per second per viewer, bytes per frame;
 *   2. BENCH_CHANGES slider changes, each after every viewer showed the last:
 *      change-to-frame latency (command sent -> first frame of the new document version), p50 / p95.
 * Server CPU is process CPU time over wall time (the viewers' socket clients share the process, a small part);
 * memory is the process's RSS at the end.
 * Env: BENCH_VIEWERS ("1,4,16"), BENCH_SIZE (512), BENCH_SECONDS (10), BENCH_CHANGES (5), STREAM_BACKEND (auto|cpu).
 */
import { io as connect, type Socket } from "socket.io-client";
import { startTestServer, waitFor } from "../server/testing/harness";
import type { ClientToServerEvents, ServerToClientEvents } from "../protocol/messages";

type Client = Socket<ServerToClientEvents, ClientToServerEvents>;

const list = (name: string, fallback: string) => (process.env[name] ?? fallback).split(",").map(Number);
const VIEWERS = list("BENCH_VIEWERS", "1,4,16");
const SIZE = Number(process.env.BENCH_SIZE ?? 512);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CHANGES = Number(process.env.BENCH_CHANGES ?? 5);

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
};

interface Viewer {
  socket: Client;
  frames: Array<{ at: number; version: number; bytes: number }>;
}

const server = await startTestServer({
  streamMaxViewers: Math.max(...VIEWERS) + 1,
  streamBackend: process.env.STREAM_BACKEND === "cpu" ? "cpu" : "auto",
});
const avatarId = (await server.db.avatar.create({ data: { name: "bench" } })).id;

async function open(): Promise<Client> {
  const socket: Client = connect(server.url, { transports: ["websocket"], reconnection: false });
  await new Promise<void>((resolve, reject) => {
    socket.once("server:hello", () => resolve());
    socket.once("connect_error", reject);
  });
  return socket;
}

const driver = await open();
await driver.emitWithAck("avatar:join", { avatarId });
const command = async (cmd: Parameters<ClientToServerEvents["avatar:command"]>[0]["command"]) => {
  const r = await driver.emitWithAck("avatar:command", { avatarId, command: cmd });
  if (!r.ok) throw new Error(r.message);
  return r.value.version;
};

let backend = "";
console.log(`image ${SIZE}x${SIZE}, placeholder avatar; clip phase ${SECONDS} s; ${CHANGES} slider changes`);
console.log(
  "| viewers | fps per viewer (clip) | bytes per frame | change-to-frame p50 ms | p95 ms | server CPU (cores) | RSS MiB |",
);
console.log("|---:|---:|---:|---:|---:|---:|---:|");
for (const n of VIEWERS) {
  const viewers: Viewer[] = [];
  for (let i = 0; i < n; i++) {
    const socket = await open();
    const v: Viewer = { socket, frames: [] };
    socket.on("stream:frame", (f) => {
      v.frames.push({ at: performance.now(), version: f.version, bytes: (f.data as ArrayBuffer).byteLength });
      backend = f.backend;
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

  // 1. Throughput while a clip plays.
  await command({ type: "play-clip", clip: "talk" });
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const counts0 = viewers.map((v) => v.frames.length);
  await new Promise((r) => setTimeout(r, SECONDS * 1000));
  const wall = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const fps = viewers.map((v, i) => (v.frames.length - counts0[i]!) / wall);
  const played = viewers.flatMap((v, i) => v.frames.slice(counts0[i]!));
  const bytes = played.reduce((s, f) => s + f.bytes, 0) / Math.max(1, played.length);
  await command({ type: "stop-clip" });
  await new Promise((r) => setTimeout(r, 500));

  // 2. Latency of slider changes.
  const latencies: number[] = [];
  for (let c = 0; c < CHANGES; c++) {
    const sent = performance.now();
    const version = await command({ type: "set-attribute", key: "hair", value: c % 2 ? -0.6 : 0.6 });
    await waitFor(
      () => viewers.every((v) => v.frames.some((f) => f.version >= version && f.at >= sent)),
      300_000,
      "every viewer to show the change",
    );
    for (const v of viewers) latencies.push(v.frames.find((f) => f.version >= version && f.at >= sent)!.at - sent);
  }
  const cores = (cpu.user + cpu.system) / 1e6 / wall;
  const rss = process.memoryUsage().rss / 2 ** 20;
  console.log(
    `| ${n} | ${(fps.reduce((a, b) => a + b, 0) / n).toFixed(2)} | ${Math.round(bytes)} | ${pct(latencies, 50).toFixed(0)} | ${pct(latencies, 95).toFixed(0)} | ${cores.toFixed(2)} | ${rss.toFixed(0)} |`,
  );
  for (const v of viewers) v.socket.close();
  await waitFor(() => server.stream.viewerCount === 0, 10_000, "viewers to leave");
}
console.log(`renderer: ${backend}`);
driver.close();
await server.close();
process.exit(0);
