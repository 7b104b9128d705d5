import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { io as connect, type Socket } from "socket.io-client";
import { startTestServer, waitFor, type TestServer } from "../testing/harness";
import { connectYClient } from "../testing/yjs-client";
import { hashToken, newShareToken } from "../auth/access";
import { PROTOCOL_VERSION, type ClientToServerEvents, type ServerHello, type ServerToClientEvents } from "../protocol";

type Client = Socket<ServerToClientEvents, ClientToServerEvents>;

let server: TestServer;
let avatarId: string;
const sockets: Client[] = [];

async function open(token: string | null = null): Promise<{ socket: Client; hello: ServerHello }> {
  const socket: Client = connect(server.url, { auth: token ? { token } : {}, transports: ["websocket"], reconnection: false });
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
  server = await startTestServer({ maxWsMessageBytes: 16 * 1024 });
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
    const set = await socket.emitWithAck("avatar:command", { avatarId, command: { type: "set-attribute", key: "hair", value: -1 } });
    expect(set).toMatchObject({ ok: false, code: "view-only" });
    await new Promise((r) => setTimeout(r, 200));
    expect(watcher.doc.getMap("attributes").get("hair")).toBe(0.3);
    watcher.destroy();
  });

  it("runs an edit link's command and every Yjs client sees it", async () => {
    const watcher = await connectYClient(server.url, avatarId);
    const { socket } = await open(await token("edit"));
    expect((await socket.emitWithAck("avatar:join", { avatarId })).ok).toBe(true);
    const reply = await socket.emitWithAck("avatar:command", { avatarId, command: { type: "set-attribute", key: "beard", value: 0.75 } });
    expect(reply.ok).toBe(true);
    await waitFor(() => watcher.doc.getMap("attributes").get("beard") === 0.75, 3000, "command to reach Yjs");
    watcher.destroy();
  });

  it("answers malformed commands and other avatars with clear errors", async () => {
    const { socket } = await open(await token("edit"));
    expect(await socket.emitWithAck("avatar:join", { avatarId: 42 } as never)).toMatchObject({ ok: false, code: "bad-request" });
    expect(await socket.emitWithAck("avatar:join", { avatarId: "someone-else" })).toMatchObject({ ok: false, code: "not-found" });
    expect(await socket.emitWithAck("avatar:command", { avatarId, command: { type: "reset-attributes" } })).toMatchObject({ ok: false, code: "not-joined" });
    await socket.emitWithAck("avatar:join", { avatarId });
    expect(
      await socket.emitWithAck("avatar:command", { avatarId, command: { type: "set-attribute", key: "hair", value: 99 } }),
    ).toMatchObject({ ok: false, code: "bad-request" });
    expect(await socket.emitWithAck("avatar:command", { avatarId, command: { type: "explode" } as never })).toMatchObject({ ok: false, code: "bad-request" });
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
