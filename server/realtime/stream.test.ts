import { afterAll, beforeAll, describe, expect, it } from "vitest";
import sharp from "sharp";
import { io as connect, type Socket } from "socket.io-client";
import { startTestServer, waitFor, type TestServer } from "../testing/harness";
import { hashToken, newShareToken } from "../auth/access";
import { isSoftwareAdapter } from "../gpu/node-device";
import { ACK_TIMEOUT_MS, LINK, MAX_IN_FLIGHT, adaptToLink } from "./stream";
import type {
  ClientToServerEvents,
  ServerHello,
  ServerToClientEvents,
  StreamFrame,
  StreamStartRequest,
} from "../../protocol/messages";

type Client = Socket<ServerToClientEvents, ClientToServerEvents>;

let server: TestServer;
let avatarId: string;
const sockets: Client[] = [];

async function open(token: string | null = null): Promise<Client> {
  const socket: Client = connect(server.url, {
    auth: token ? { token } : {},
    transports: ["websocket"],
    reconnection: false,
  });
  sockets.push(socket);
  await new Promise<ServerHello>((resolve, reject) => {
    socket.once("server:hello", resolve);
    socket.once("connect_error", reject);
  });
  return socket;
}

/** A STREAM viewer that acknowledges every frame and keeps them all. */
async function viewer(token: string | null = null, size = 64) {
  const socket = await open(token);
  const frames: StreamFrame[] = [];
  socket.on("stream:frame", (f) => {
    frames.push(f);
    socket.emit("stream:ack", { frameId: f.frameId });
  });
  const req: StreamStartRequest = {
    avatarId,
    width: size,
    height: size,
    camera: { yawDeg: 20, pitchDeg: 5, distance: 0.7 },
  };
  const started = await socket.emitWithAck("stream:start", req);
  return { socket, frames, started };
}

async function pixels(frame: StreamFrame): Promise<Buffer> {
  const { data, info } = await sharp(Buffer.from(frame.data as ArrayBuffer))
    .raw()
    .toBuffer({ resolveWithObject: true });
  expect([info.width, info.height, info.channels]).toEqual([frame.width, frame.height, 3]);
  return data;
}

function meanAbsDiff(a: Buffer, b: Buffer): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i]! - b[i]!);
  return s / a.length;
}

async function command(socket: Client, cmd: Parameters<ClientToServerEvents["avatar:command"]>[0]["command"]) {
  await socket.emitWithAck("avatar:join", { avatarId });
  return socket.emitWithAck("avatar:command", { avatarId, command: cmd });
}

beforeAll(async () => {
  server = await startTestServer({ streamMaxViewers: 3 });
  avatarId = (await server.db.avatar.create({ data: { name: "Stream test" } })).id;
}, 60_000);
afterAll(async () => {
  for (const s of sockets) s.close();
  await server?.close();
});

describe("streaming renderer", () => {
  it("streams frames of the avatar, re-renders on a change with one bake for all viewers, and says which version it shows", async () => {
    const a = await viewer();
    const b = await viewer(null, 48);
    expect(a.started).toMatchObject({ ok: true });
    await waitFor(() => a.frames.length >= 1 && b.frames.length >= 1, 20_000, "first frames");
    const first = a.frames[0]!;
    expect(first.mime).toBe("image/jpeg");
    expect([first.width, first.height, b.frames[0]!.width]).toEqual([64, 64, 48]);
    const px = await pixels(first);
    // The head fills the middle: not the background colour (0.16, 0.17, 0.2) there.
    const mid = (32 * 64 + 32) * 3;
    expect(Math.abs(px[mid]! - 41) + Math.abs(px[mid + 1]! - 43) + Math.abs(px[mid + 2]! - 51)).toBeGreaterThan(15);

    const bakesBefore = server.stream.stats.bakes;
    const editor = await open();
    const reply = await command(editor, { type: "set-attribute", key: "hair", value: 1 });
    expect(reply.ok).toBe(true);
    const version = reply.ok ? reply.value.version : -1;
    const changedA = await waitFor(
      () => a.frames.find((f) => f.version >= version),
      20_000,
      "a frame of the new version for A",
    );
    await waitFor(() => b.frames.find((f) => f.version >= version), 20_000, "a frame of the new version for B");
    expect(server.stream.stats.bakes - bakesBefore).toBe(1);
    expect(meanAbsDiff(await pixels(changedA), px)).toBeGreaterThan(1);
    expect(changedA.renderMs).toBeGreaterThan(0);
    a.socket.emit("stream:stop");
    b.socket.emit("stream:stop");
  }, 60_000);

  it("lets a view link watch with its own camera but not change anything", async () => {
    const t = newShareToken();
    await server.db.shareLink.create({ data: { avatarId, role: "view", tokenHash: hashToken(t) } });
    const v = await viewer(t);
    expect(v.started).toMatchObject({ ok: true });
    await waitFor(() => v.frames.length >= 1, 20_000, "a frame for the view link");
    const refused = await command(v.socket, { type: "set-attribute", key: "hair", value: -1 });
    expect(refused).toMatchObject({ ok: false, code: "view-only" });
    const before = v.frames.length;
    v.socket.emit("stream:camera", { camera: { yawDeg: -40, pitchDeg: 0, distance: 0.8 } });
    await waitFor(() => v.frames.length > before, 20_000, "a frame for the new camera");
    const shared = await server.docs.acquire(avatarId);
    expect(shared.doc.getMap("attributes").get("hair")).toBe(1); // unchanged by the view link
    server.docs.release(shared);
    v.socket.emit("stream:stop");
  }, 60_000);

  it("keeps streaming while a clip plays, without any document change", async () => {
    const v = await viewer();
    await waitFor(() => v.frames.length >= 1, 20_000, "first frame");
    const editor = await open();
    await command(editor, { type: "play-clip", clip: "talk" });
    const start = v.frames.length;
    const versionAfterPlay = (await server.docs.acquire(avatarId)).version;
    await waitFor(() => v.frames.length >= start + 6, 30_000, "six frames of the playing clip");
    expect(v.frames.at(-1)!.version).toBe(versionAfterPlay);
    // The frames move: the largest difference between the clip's frames and its first is well above JPEG noise.
    const first = await pixels(v.frames[start]!);
    let moved = 0;
    for (const f of v.frames.slice(start + 1, start + 6)) {
      const px = await pixels(f);
      if (px.length === first.length) moved = Math.max(moved, meanAbsDiff(px, first));
    }
    console.log(`clip frames: largest mean difference from the first ${moved.toFixed(2)} levels`);
    expect(moved).toBeGreaterThan(0.3);
    await command(editor, { type: "stop-clip" });
    v.socket.emit("stream:stop");
    expect(await command(editor, { type: "play-clip", clip: "moonwalk" } as never)).toMatchObject({
      ok: false,
      code: "bad-request",
    });
  }, 60_000);

  it("ends a burst of edits on a frame of the last version, never an older one after it", async () => {
    const v = await viewer();
    await waitFor(() => v.frames.length >= 1, 20_000, "first frame");
    const editor = await open();
    await editor.emitWithAck("avatar:join", { avatarId });
    let last = -1;
    for (let i = 0; i < 12; i++) {
      const r = await editor.emitWithAck("avatar:command", {
        avatarId,
        command: { type: "set-attribute", key: "beard", value: (i % 5) / 5 },
      });
      if (r.ok) last = r.value.version;
    }
    await waitFor(() => v.frames.some((f) => f.version >= last), 30_000, "a frame of the last edit");
    await new Promise((r) => setTimeout(r, 500)); // nothing older may follow it
    const versions = v.frames.map((f) => f.version);
    expect(versions.at(-1)).toBe(last);
    expect(versions.every((x, i) => i === 0 || x >= versions[i - 1]!)).toBe(true);
    // Latest state wins: far fewer frames than edits were rendered for the burst.
    expect(v.frames.filter((f) => f.version > versions[0]!).length).toBeLessThan(12);
    v.socket.emit("stream:stop");
  }, 60_000);

  it("renders on the CPU thread unless the adapter is a hardware GPU, and both back ends show the same picture", async (ctx) => {
    expect(
      isSoftwareAdapter({ vendor: "mesa", architecture: "", description: "llvmpipe (LLVM 19.1.7, 256 bits)" }),
    ).toBe(true);
    expect(isSoftwareAdapter({ vendor: "google", architecture: "", description: "SwiftShader Device" })).toBe(true);
    expect(isSoftwareAdapter({ vendor: "nvidia", architecture: "hopper", description: "NVIDIA H100 80GB HBM3" })).toBe(
      false,
    );
    const cpu = await viewer();
    await waitFor(() => cpu.frames.length >= 1, 20_000, "a frame");
    expect(cpu.frames[0]!.backend).toBe("cpu (worker thread)");
    cpu.socket.emit("stream:stop");
    const gpuServer = await startTestServer({ streamBackend: "webgpu" });
    try {
      const id = (await gpuServer.db.avatar.create({ data: { name: "Stream test" } })).id;
      // A CPU server on the same data folder streams the same avatar (a placeholder is seeded by its id).
      const socket: Client = connect(gpuServer.url, { transports: ["websocket"], reconnection: false });
      sockets.push(socket);
      await new Promise((r) => socket.once("server:hello", r));
      const frames: StreamFrame[] = [];
      socket.on("stream:frame", (f) => frames.push(f));
      const req = { avatarId: id, width: 64, height: 64, camera: { yawDeg: 20, pitchDeg: 5, distance: 0.7 } };
      expect(await socket.emitWithAck("stream:start", req)).toMatchObject({ ok: true });
      await waitFor(() => frames.length >= 1, 60_000, "a WebGPU frame");
      const gpuFrame = frames[0]!;
      if (!/^webgpu/.test(gpuFrame.backend)) return ctx.skip("this machine has no WebGPU adapter at all");
      socket.close();
      const cpuServer = await startTestServer({ streamBackend: "cpu", dataDir: gpuServer.dataDir });
      try {
        const s2: Client = connect(cpuServer.url, { transports: ["websocket"], reconnection: false });
        sockets.push(s2);
        await new Promise((r) => s2.once("server:hello", r));
        const cpuFrames: StreamFrame[] = [];
        s2.on("stream:frame", (f) => cpuFrames.push(f));
        expect(await s2.emitWithAck("stream:start", req)).toMatchObject({ ok: true });
        await waitFor(() => cpuFrames.length >= 1, 60_000, "a CPU frame");
        expect(cpuFrames[0]!.backend).toBe("cpu (worker thread)");
        // Same avatar, same camera: the JPEGs differ by compression only.
        expect(meanAbsDiff(await pixels(gpuFrame), await pixels(cpuFrames[0]!))).toBeLessThan(2);
        s2.close();
      } finally {
        await cpuServer.close();
      }
    } finally {
      await gpuServer.close();
    }
  }, 120_000);

  it("gives a slow link lower quality, then smaller frames, a still picture a sharp last frame, and a fast link both back", async () => {
    const link = { quality: 80, scaleStep: 0, slowAcks: 0, fastAcks: 0 };
    const slow = (k: number) => {
      for (let i = 0; i < k; i++) adaptToLink(link, 1200);
    };
    slow(4);
    expect(link).toMatchObject({ quality: 40, scaleStep: 0 });
    for (let i = 0; i < 10; i++) adaptToLink(link, 800); // slow, but not slow enough for smaller frames
    expect(link).toMatchObject({ quality: 40, scaleStep: 0 });
    slow(LINK.slowAcksToShrink);
    expect(link).toMatchObject({ quality: 40, scaleStep: 1 });
    slow(10 * LINK.slowAcksToShrink);
    expect(link.scaleStep).toBe(LINK.scales.length - 1); // never below the smallest scale
    for (let i = 0; i < LINK.fastAcksToGrow - 1; i++) adaptToLink(link, 10);
    expect(link.scaleStep).toBe(LINK.scales.length - 1); // one good ack is not a fast link yet
    for (let i = 0; i < LINK.fastAcksToGrow * LINK.scales.length; i++) adaptToLink(link, 10);
    // 39 fast acks: 20 bring the two scale steps back, the other 19 raise the quality by 2 each.
    expect(link).toMatchObject({ scaleStep: 0, quality: 40 + 2 * 19 });

    // Through the server: a viewer that acknowledges late gets half-size frames while a clip plays.
    const socket = await open();
    const frames: StreamFrame[] = [];
    let delay = 1200;
    socket.on("stream:frame", (f) => {
      frames.push(f);
      setTimeout(() => socket.emit("stream:ack", { frameId: f.frameId }), delay);
    });
    const req = { avatarId, width: 64, height: 64, camera: { yawDeg: 0, pitchDeg: 0, distance: 0.7 } };
    expect(await socket.emitWithAck("stream:start", req)).toMatchObject({ ok: true });
    const editor = await open();
    await command(editor, { type: "play-clip", clip: "talk" });
    const small = await waitFor(() => frames.find((f) => f.width === 32), 60_000, "a half-size frame");
    expect([small.height, small.quality]).toEqual([32, 40]);
    expect((await pixels(small)).length).toBe(32 * 32 * 3);
    // The clip stops: the still picture's last frame comes again sharp (full size, quality 80), once, slow link or not.
    await command(editor, { type: "stop-clip" });
    const settled = await waitFor(
      () => {
        const last = frames.at(-1)!;
        return last.width === 64 && last.quality >= LINK.settleQuality ? last : null;
      },
      60_000,
      "a settle frame",
    );
    expect([settled.height, settled.quality]).toEqual([64, LINK.settleQuality]);
    const afterSettle = frames.length;
    await new Promise((r) => setTimeout(r, delay + 3 * LINK.settleMs));
    expect(frames.length).toBe(afterSettle);
    // A fast link gets full-size frames while the clip plays.
    delay = 0;
    await command(editor, { type: "play-clip", clip: "talk" });
    const at = frames.length;
    await waitFor(
      () => frames.slice(at).some((f) => f.width === 64 && f.quality < LINK.settleQuality),
      60_000,
      "full-size frames again",
    );
    await command(editor, { type: "stop-clip" });
    socket.emit("stream:stop");
  }, 120_000);

  it("ends the streams of an avatar whose renderer failed, saying why, and streams again on a new start", async () => {
    const v = await viewer();
    await waitFor(() => v.frames.length >= 1, 20_000, "first frame");
    const ended: Array<{ message: string }> = [];
    v.socket.on("stream:ended", (r) => ended.push(r));
    // A render thread gone (as if it crashed): the next frame cannot be made.
    const hub = server.stream as unknown as { sessions: Map<string, { renderer: { destroy(): void } }> };
    hub.sessions.get(avatarId)!.renderer.destroy();
    const editor = await open();
    await command(editor, { type: "set-attribute", key: "beard", value: 0.3 });
    await waitFor(() => ended.length > 0, 20_000, "the stream to end");
    expect(ended[0]!.message).toMatch(
      /^The server could not render this avatar \(.*destroyed.*\); start the stream again\./,
    );
    expect(server.stream.viewerCount).toBe(0);
    const again = await viewer();
    expect(again.started).toMatchObject({ ok: true });
    await waitFor(() => again.frames.length >= 1, 30_000, "a frame from a fresh renderer");
    again.socket.emit("stream:stop");
  }, 60_000);

  it("takes a frame never acknowledged as lost after a while, so a viewer is not stuck behind it", async () => {
    const socket = await open();
    const frames: StreamFrame[] = [];
    socket.on("stream:frame", (f) => frames.push(f)); // never acknowledges
    const req = { avatarId, width: 48, height: 48, camera: { yawDeg: 5, pitchDeg: 0, distance: 0.7 } };
    expect(await socket.emitWithAck("stream:start", req)).toMatchObject({ ok: true });
    const editor = await open();
    await command(editor, { type: "play-clip", clip: "talk" });
    // Two frames fill the window; more come only once the unacknowledged ones time out.
    await waitFor(() => frames.length >= MAX_IN_FLIGHT + 1, 4 * ACK_TIMEOUT_MS + 10_000, "a frame past the window");
    await command(editor, { type: "stop-clip" });
    socket.emit("stream:stop");
  }, 60_000);

  it("refuses oversized frames, unknown avatars and viewers past the cap, with the reason", async () => {
    const s = await open();
    const camera = { yawDeg: 0, pitchDeg: 0, distance: 0.7 };
    expect(await s.emitWithAck("stream:start", { avatarId, width: 4096, height: 4096, camera })).toMatchObject({
      ok: false,
      code: "bad-request",
      message: expect.stringMatching(/at most 1048576 pixels/),
    });
    expect(await s.emitWithAck("stream:start", { avatarId: "nope", width: 64, height: 64, camera })).toMatchObject({
      ok: false,
      code: "not-found",
    });
    expect(
      await s.emitWithAck("stream:start", {
        avatarId,
        width: 64,
        height: 64,
        camera: { yawDeg: 0, pitchDeg: 0, distance: -1 },
      } as never),
    ).toMatchObject({ ok: false, code: "bad-request" });
    const held = [await viewer(), await viewer(), await viewer()];
    expect(held.every((h) => h.started.ok)).toBe(true);
    const fourth = await viewer();
    expect(fourth.started).toMatchObject({ ok: false, code: "busy" });
    for (const h of held) h.socket.close();
    await waitFor(() => server.stream.viewerCount === 0, 5000, "disconnects to free their viewers");
  }, 60_000);
});
