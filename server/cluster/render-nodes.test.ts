/**
 * Render nodes: the directory on a real Redis (which node serves an avatar,
 * and who takes over), tickets, and a node that streams frames to a page
 * that located it through a web process (both in this process, with their
 * own connections, on PostgreSQL and Redis).
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Redis } from "ioredis";
import { openSocket, type TestSocket } from "../testing/socket-client";
import { hashToken, newShareToken } from "../auth/access";
import { startTestServer, tempDataDir, waitFor, type TestServer } from "../testing/harness";
import { clusterTestUrls, freshDatabase } from "./testing";
import { RenderNodeDirectory, pickNode, signTicket, verifyTicket } from "../realtime/render-nodes";
import { startRenderNode, type RenderNode } from "./render-node";
import type { StreamFrame, StreamLocation } from "../../protocol/messages";
import { VIEW } from "../../protocol/shared-state";

const urls = clusterTestUrls();

describe("stream tickets", () => {
  const secret = Buffer.alloc(32, 7);
  const claims = { avatarId: "a1", origin: "http://studio.test", access: { kind: "owner", role: "owner" } } as const;

  it("open only with the right secret, unchanged, before they expire", () => {
    const ticket = signTicket(secret, claims, 1_000);
    expect(verifyTicket(secret, ticket, 2_000)).toMatchObject(claims);
    expect(verifyTicket(Buffer.alloc(32, 8), ticket, 2_000)).toBeNull();
    expect(verifyTicket(secret, ticket, 1_000 + 61_000)).toBeNull();
    const [body, mac] = ticket.split(".");
    const forged = Buffer.from(JSON.stringify({ ...claims, avatarId: "a2", exp: 1e15 })).toString("base64url");
    expect(verifyTicket(secret, `${forged}.${mac}`, 2_000)).toBeNull();
    expect(verifyTicket(secret, `${body}.${mac}.x`, 2_000)).toBeNull();
    expect(verifyTicket(secret, "garbage", 2_000)).toBeNull();
  });

  it("carry a link's expiry back as a date", () => {
    const expiresAt = new Date(5_000_000);
    const link = { kind: "link", role: "view", avatarId: "a1", linkId: "l1", expiresAt } as const;
    const got = verifyTicket(secret, signTicket(secret, { ...claims, access: link }, 0), 1);
    expect(got?.access).toEqual(link);
  });
});

describe.skipIf(!urls)("render nodes", () => {
  let redis: Redis;
  let prefix: string;

  beforeAll(async () => {
    redis = new Redis(urls!.redis);
    prefix = `perse-test-${randomUUID().slice(0, 8)}`;
  });
  afterAll(() => redis?.disconnect());

  it("one node per avatar while it lives; a live node takes its avatars when it stops renewing", async () => {
    const dirA = new RenderNodeDirectory(redis, prefix);
    const dirB = new RenderNodeDirectory(redis, prefix);
    expect(await dirA.locate("avatar-1")).toBeNull();
    await dirA.heartbeat({ nodeId: "n1", url: "http://n1" });
    await dirA.heartbeat({ nodeId: "n2", url: "http://n2" });
    await dirA.heartbeat({ nodeId: "n3", url: "http://n3" });
    // Two web processes asking at once agree.
    const avatars = Array.from({ length: 30 }, (_, i) => `avatar-${i}`);
    const [fromA, fromB] = await Promise.all([
      Promise.all(avatars.map((id) => dirA.locate(id))),
      Promise.all(avatars.map((id) => dirB.locate(id))),
    ]);
    expect(fromB).toEqual(fromA);
    // Spread over the nodes.
    const counts = new Map<string, number>();
    for (const n of fromA) counts.set(n!.nodeId, (counts.get(n!.nodeId) ?? 0) + 1);
    expect(counts.size).toBe(3);
    // A node that stops renewing loses its avatars to live ones; the others keep theirs.
    const dead = fromA[0]!.nodeId;
    await dirA.unregister(dead);
    const after = await Promise.all(avatars.map((id) => dirB.locate(id)));
    after.forEach((n, i) => {
      expect(n!.nodeId).not.toBe(dead);
      if (fromA[i]!.nodeId !== dead) expect(n).toEqual(fromA[i]);
    });
  });

  it("a new avatar goes to the node with room and the fewest viewers; an avatar stays with its node", async () => {
    const dir = new RenderNodeDirectory(redis, `${prefix}-load`);
    const node = (id: string) => ({ nodeId: id, url: `http://${id}` });
    await dir.heartbeat(node("busy"), { viewers: 9, avatars: 2, maxViewers: 16 });
    await dir.heartbeat(node("full"), { viewers: 16, avatars: 1, maxViewers: 16 });
    await dir.heartbeat(node("quiet"), { viewers: 1, avatars: 1, maxViewers: 16 });
    const first = await Promise.all(Array.from({ length: 8 }, (_, i) => dir.locate(`load-${i}`)));
    expect(new Set(first.map((n) => n!.nodeId))).toEqual(new Set(["quiet"]));
    // The quiet node fills up (as its next heartbeat says): new avatars go to the busy one, never the full one.
    await dir.heartbeat(node("quiet"), { viewers: 16, avatars: 8, maxViewers: 16 });
    expect((await dir.locate("load-new"))!.nodeId).toBe("busy");
    expect((await dir.locate("load-0"))!.nodeId).toBe("quiet");
    // With every node full, a node is still named (its refusal tells the page why).
    await dir.heartbeat(node("busy"), { viewers: 16, avatars: 3, maxViewers: 16 });
    expect(["busy", "full", "quiet"]).toContain((await dir.locate("load-overflow"))!.nodeId);
    // Equal loads spread by the hash, as nodes without a load do.
    const even = ["e1", "e2", "e3"].map((id) => ({ ...node(id), load: { viewers: 2, avatars: 1, maxViewers: 16 } }));
    const picks = new Set(Array.from({ length: 30 }, (_, i) => pickNode(`spread-${i}`, even).nodeId));
    expect(picks.size).toBe(3);
  });

  describe("a node streaming for a web process", () => {
    let web: TestServer;
    let node: RenderNode;
    let avatarId: string;
    const sockets: TestSocket[] = [];

    beforeAll(async () => {
      const dataDir = tempDataDir("perse-render-node-");
      const databaseUrl = await freshDatabase(urls!.postgres);
      const config = { databaseUrl, redisUrl: urls!.redis, redisPrefix: prefix, dataDir };
      web = await startTestServer(config);
      node = await startRenderNode({ config: { ...web.config, port: 0, streamBackend: "cpu" }, log: () => undefined });
      avatarId = (await web.db.avatar.create({ data: { name: "Streamed by a node" } })).id;
    }, 120_000);
    afterAll(async () => {
      for (const s of sockets) s.close();
      await node?.close();
      await web?.close();
    });

    const greetings = new Map<TestSocket, Promise<void>>();
    function open(url: string, auth: { token?: string; ticket?: string }, origin = web.url): TestSocket {
      const { socket, greeted } = openSocket(url, auth, origin);
      sockets.push(socket);
      greetings.set(socket, greeted);
      return socket;
    }
    const connected = (s: TestSocket) => greetings.get(s)!;

    async function locate(token: string | null): Promise<StreamLocation> {
      const main = open(web.url, token ? { token } : {});
      await connected(main);
      const reply = await main.emitWithAck("stream:locate", { avatarId });
      expect(reply.ok).toBe(true);
      return (reply as { value: StreamLocation }).value;
    }

    it("gives the page the node's address and a ticket; the node streams the avatar's frames", async () => {
      const where = await locate(null);
      expect(where.url).toBe(node.url);
      const s = open(where.url, { ticket: where.ticket });
      await connected(s);
      const frames: StreamFrame[] = [];
      s.on("stream:frame", (f) => {
        frames.push(f);
        s.emit("stream:ack", { frameId: f.frameId });
      });
      const started = await s.emitWithAck("stream:start", { avatarId, width: 64, height: 64, camera: VIEW.camera });
      expect(started.ok).toBe(true);
      await waitFor(() => frames.length > 0, 30_000, "a frame from the node");
      expect(frames[0]!.mime).toBe("image/jpeg");
      expect(frames[0]!.data.byteLength).toBeGreaterThan(300);
      expect(node.stream.viewerCount).toBe(1);
      // Its heartbeat tells the web processes what it serves (where new avatars go).
      const directory = new RenderNodeDirectory(redis, prefix);
      await waitFor(
        async () => (await directory.liveNodes()).find((n) => n.nodeId === node.nodeId)?.load?.viewers === 1,
        3000,
        "the node's load in its registration",
      );
      expect((await directory.liveNodes()).find((n) => n.nodeId === node.nodeId)?.load).toEqual({
        viewers: 1,
        avatars: 1,
        maxViewers: web.config.streamMaxViewers,
      });
      // An edit through the web process reaches the node's frames.
      const before = frames[frames.length - 1]!.version;
      const main = open(web.url, {});
      await connected(main);
      expect((await main.emitWithAck("avatar:join", { avatarId })).ok).toBe(true);
      const set = await main.emitWithAck("avatar:command", {
        avatarId,
        command: { type: "set-attribute", key: "hair", value: 0.7 },
      });
      expect(set.ok).toBe(true);
      await waitFor(() => frames[frames.length - 1]!.version > before, 30_000, "a frame of the edited avatar");
    });

    it("refuses a connection without a valid ticket, from another origin, or for another avatar", async () => {
      const where = await locate(null);
      await expect(connected(open(where.url, {}))).rejects.toThrow(/ticket/);
      await expect(connected(open(where.url, { ticket: where.ticket + "x" }))).rejects.toThrow(/ticket/);
      await expect(connected(open(where.url, { ticket: where.ticket }, "http://evil.test"))).rejects.toThrow(/ticket/);
      const s = open(where.url, { ticket: where.ticket });
      await connected(s);
      const other = (await web.db.avatar.create({ data: { name: "Not in the ticket" } })).id;
      const reply = await s.emitWithAck("stream:start", {
        avatarId: other,
        width: 64,
        height: 64,
        camera: VIEW.camera,
      });
      expect(reply).toMatchObject({ ok: false, code: "not-found" });
    });

    it("ends a view link's node session when the link is revoked on a web process", async () => {
      const token = newShareToken();
      const link = await web.db.shareLink.create({ data: { avatarId, role: "view", tokenHash: hashToken(token) } });
      const where = await locate(token);
      const s = open(where.url, { ticket: where.ticket });
      await connected(s);
      const ended = new Promise<string>((resolve) => s.once("session:ended", (e) => resolve(e.reason)));
      await web.db.shareLink.update({ where: { id: link.id }, data: { revokedAt: new Date() } });
      web.linkSessions.end(link.id, "revoked");
      expect(await ended).toBe("revoked");
      await waitFor(() => !s.connected, 2000, "node socket closed");
    });
  });
});
