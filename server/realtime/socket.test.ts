import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { io as connect, type Socket } from "socket.io-client";
import { waitFor, type TestServer } from "../testing/harness";
import { connectYClient } from "../testing/yjs-client";
import { hashToken, newShareToken } from "../auth/access";
import {
  PROTOCOL_VERSION,
  type ClientToServerEvents,
  type JobView,
  type ServerHello,
  type ServerToClientEvents,
} from "../../protocol/messages";
import { fakePortrait, startServerWithStages, steppingStages } from "../jobs/testing";

type Client = Socket<ServerToClientEvents, ClientToServerEvents>;

let server: TestServer;
let avatarId: string;
// The job stages read these when they run.
const behaviour = { steps: 10, stepMs: 50 };
const sockets: Client[] = [];

async function open(token: string | null = null): Promise<{ socket: Client; hello: ServerHello }> {
  const socket: Client = connect(server.url, {
    auth: token ? { token } : {},
    transports: ["websocket"],
    reconnection: false,
  });
  sockets.push(socket);
  const hello = await new Promise<ServerHello>((resolve, reject) => {
    socket.once("server:hello", resolve);
    socket.once("connect_error", reject);
  });
  return { socket, hello };
}

async function token(role: "view" | "edit") {
  const t = newShareToken();
  await server.db.shareLink.create({ data: { avatarId, role, tokenHash: hashToken(t) } });
  return t;
}

beforeAll(async () => {
  // Small stages stand in for the creation pipeline (job:watch tests).
  server = await startServerWithStages(steppingStages(behaviour), { maxWsMessageBytes: 16 * 1024 });
  avatarId = (await server.db.avatar.create({ data: { name: "Socket test" } })).id;
});
afterAll(async () => {
  for (const s of sockets) s.close();
  await server?.close();
});

describe("socket.io", () => {
  it("greets the owner, answers ping and echoes", async () => {
    const { socket, hello } = await open();
    expect(hello).toEqual({ protocol: PROTOCOL_VERSION, role: "owner", avatarId: null });
    const pong = await socket.emitWithAck("health:ping");
    expect(pong.ok).toBe(true);
    expect(pong.protocol).toBe(PROTOCOL_VERSION);
    expect(await socket.emitWithAck("echo", { a: [1, 2, 3] })).toEqual({ a: [1, 2, 3] });
  });

  it("refuses bad tokens at connection with the reason", async () => {
    const err = await open(newShareToken()).catch((e: Error & { data?: { reason: string } }) => e);
    expect((err as Error & { data?: { reason: string } }).data?.reason).toBe("unknown-token");
  });

  it("refuses every state-changing command from a view link, and the document stays as it was", async () => {
    const watcher = await connectYClient(server.url, avatarId);
    watcher.doc.getMap("attributes").set("hair", 0.3);
    const { socket, hello } = await open(await token("view"));
    expect(hello.role).toBe("view");
    const joined = await socket.emitWithAck("avatar:join", { avatarId });
    expect(joined).toEqual({ ok: true, value: { role: "view" } });
    const reset = await socket.emitWithAck("avatar:command", { avatarId, command: { type: "reset-attributes" } });
    expect(reset).toMatchObject({ ok: false, code: "view-only" });
    const set = await socket.emitWithAck("avatar:command", {
      avatarId,
      command: { type: "set-attribute", key: "hair", value: -1 },
    });
    expect(set).toMatchObject({ ok: false, code: "view-only" });
    await new Promise((r) => setTimeout(r, 200));
    expect(watcher.doc.getMap("attributes").get("hair")).toBe(0.3);
    watcher.destroy();
  });

  it("runs an edit link's command and every Yjs client sees it", async () => {
    const watcher = await connectYClient(server.url, avatarId);
    const { socket } = await open(await token("edit"));
    expect((await socket.emitWithAck("avatar:join", { avatarId })).ok).toBe(true);
    const reply = await socket.emitWithAck("avatar:command", {
      avatarId,
      command: { type: "set-attribute", key: "beard", value: 0.75 },
    });
    expect(reply.ok).toBe(true);
    await waitFor(() => watcher.doc.getMap("attributes").get("beard") === 0.75, 3000, "command to reach Yjs");
    watcher.destroy();
  });

  it("answers malformed commands and other avatars with clear errors", async () => {
    const { socket } = await open(await token("edit"));
    expect(await socket.emitWithAck("avatar:join", { avatarId: 42 } as never)).toMatchObject({
      ok: false,
      code: "bad-request",
    });
    expect(await socket.emitWithAck("avatar:join", { avatarId: "someone-else" })).toMatchObject({
      ok: false,
      code: "not-found",
    });
    expect(
      await socket.emitWithAck("avatar:command", { avatarId, command: { type: "reset-attributes" } }),
    ).toMatchObject({ ok: false, code: "not-joined" });
    await socket.emitWithAck("avatar:join", { avatarId });
    expect(
      await socket.emitWithAck("avatar:command", {
        avatarId,
        command: { type: "set-attribute", key: "hair", value: 99 },
      }),
    ).toMatchObject({ ok: false, code: "bad-request" });
    expect(
      await socket.emitWithAck("avatar:command", { avatarId, command: { type: "explode" } as never }),
    ).toMatchObject({ ok: false, code: "bad-request" });
  });

  it("disconnects a client that sends an oversized message, and the server stays up", async () => {
    const { socket } = await open();
    const reason = new Promise<string>((resolve) => socket.once("disconnect", resolve));
    socket.emit("echo", "x".repeat(64 * 1024), () => undefined);
    expect(await reason).toBe("transport close");
    const again = await open();
    expect((await again.socket.emitWithAck("health:ping")).ok).toBe(true);
  });
});

describe("job progress over socket.io", () => {
  it("gives the owner the job's view, then at most 4 updates a second plus status changes, and every log line once", async () => {
    Object.assign(behaviour, { steps: 10, stepMs: 50 });
    const { socket } = await open();
    const updates: Array<{ at: number; view: JobView }> = [];
    const lines: string[] = [];
    socket.on("job:update", (view) => updates.push({ at: Date.now(), view }));
    socket.on("job:log", (batch) => lines.push(...batch.lines));
    const { jobId } = await server.jobs.createAvatarJob({
      portraitId: await fakePortrait(server.dataDir),
      name: "Watched",
      config: "tiny",
    });
    const ack = await socket.emitWithAck("job:watch", { jobId });
    expect(ack.ok).toBe(true);
    if (!ack.ok) return;
    expect(ack.value).toMatchObject({ id: jobId, avatarName: "Watched" });
    expect(["queued", "running"]).toContain(ack.value.status);
    const started = Date.now();
    await waitFor(() => updates.some((u) => u.view.status === "done"), 10_000, "the done update");
    const seconds = (Date.now() - started) / 1000;

    const steps = lines.filter((l) => / step /.test(l));
    const expected = [
      ...Array.from({ length: 10 }, (_, i) => `first step ${i + 1}`),
      ...Array.from({ length: 10 }, (_, i) => `second step ${i + 1}`),
    ];
    expect(steps).toEqual(expected);
    expect(lines.at(-1)).toBe("Done: the avatar is ready.");
    // Progress updates arrive while it runs, never backwards.
    const progress = updates.map((u) => u.view.progress);
    expect(progress.filter((p) => p > 0 && p < 1).length).toBeGreaterThanOrEqual(3);
    for (let i = 1; i < progress.length; i++) expect(progress[i]!).toBeGreaterThanOrEqual(progress[i - 1]! - 1e-9);
    // 4 a second, plus one per status change (running, done) and stage start the runner writes at once.
    const changes = new Set(updates.map((u) => `${u.view.status}:${u.view.stage}`)).size;
    expect(updates.length).toBeLessThanOrEqual(Math.ceil(seconds * 4) + changes + 2);
    const last = updates.at(-1)!.view;
    expect(last).toMatchObject({
      status: "done",
      progress: 1,
      artifacts: { overlay: `/api/jobs/${jobId}/artifacts/overlay` },
    });
  });

  it("stops sending once unwatched", async () => {
    Object.assign(behaviour, { steps: 20, stepMs: 30 });
    const { socket } = await open();
    let after = 0;
    let unwatched = false;
    socket.on("job:update", () => unwatched && after++);
    socket.on("job:log", () => unwatched && after++);
    const { jobId } = await server.jobs.createAvatarJob({
      portraitId: await fakePortrait(server.dataDir),
      name: "Unwatched",
      config: "tiny",
    });
    expect((await socket.emitWithAck("job:watch", { jobId })).ok).toBe(true);
    socket.emit("job:unwatch", { jobId });
    expect((await socket.emitWithAck("health:ping")).ok).toBe(true);
    unwatched = true;
    await server.jobs.idle();
    expect(after).toBe(0);
  });

  it("never lets a share link watch a job, and says so", async () => {
    Object.assign(behaviour, { steps: 2, stepMs: 10 });
    const { jobId } = await server.jobs.createAvatarJob({
      portraitId: await fakePortrait(server.dataDir),
      name: "Private",
      config: "tiny",
    });
    for (const role of ["view", "edit"] as const) {
      const { socket } = await open(await token(role));
      let got = 0;
      socket.on("job:update", () => got++);
      socket.on("job:log", () => got++);
      const reply = await socket.emitWithAck("job:watch", { jobId });
      expect(reply).toEqual({
        ok: false,
        code: "not-found",
        message: "Creation jobs are visible only to the owner of this studio.",
      });
      await server.jobs.idle();
      expect(got).toBe(0);
    }
    const { socket } = await open();
    expect(await socket.emitWithAck("job:watch", { jobId: "no-such-job" })).toMatchObject({
      ok: false,
      code: "not-found",
    });
    expect(await socket.emitWithAck("job:watch", { jobId: 5 } as never)).toMatchObject({
      ok: false,
      code: "bad-request",
    });
  });
});
