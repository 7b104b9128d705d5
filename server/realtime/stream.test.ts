import { afterAll, beforeAll, describe, expect, it } from "vitest";
import sharp from "sharp";
import { io as connect, type Socket } from "socket.io-client";
import { startTestServer, waitFor, type TestServer } from "../testing/harness";
import { hashToken, newShareToken } from "../auth/access";
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
    await waitFor(() => v.frames.length >= start + 3, 30_000, "three frames of the playing clip");
    expect(v.frames.at(-1)!.version).toBe(versionAfterPlay);
    await command(editor, { type: "stop-clip" });
    v.socket.emit("stream:stop");
    expect(await command(editor, { type: "play-clip", clip: "moonwalk" } as never)).toMatchObject({
      ok: false,
      code: "bad-request",
    });
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
