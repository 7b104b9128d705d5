import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as Y from "yjs";
import WebSocket from "ws";
import { startTestServer, waitFor, type TestServer } from "../testing/harness";
import { connectYClient, forgedAttributeUpdate, rawYSocket, recordDenials } from "../testing/yjs-client";
import { newShareToken, hashToken } from "../auth/access";
import { VIEW_ONLY_REASON } from "../../protocol/yjs";

let server: TestServer;
let avatarId: string;
let viewToken: string;
let editToken: string;

async function link(role: "view" | "edit", extra: { expiresAt?: Date; revokedAt?: Date } = {}) {
  const token = newShareToken();
  await server.db.shareLink.create({ data: { avatarId, role, tokenHash: hashToken(token), ...extra } });
  return token;
}

const rowCount = () => server.db.docUpdate.count({ where: { avatarId } });

beforeAll(async () => {
  server = await startTestServer({ maxWsMessageBytes: 64 * 1024 });
  avatarId = (await server.db.avatar.create({ data: { name: "Yjs test" } })).id;
  viewToken = await link("view");
  editToken = await link("edit");
});

afterAll(async () => {
  await server?.close();
});

describe("Yjs websocket endpoint", () => {
  it("propagates an edit between two clients and stores it before they see it", async () => {
    const a = await connectYClient(server.url, avatarId);
    const b = await connectYClient(server.url, avatarId, editToken);
    try {
      a.doc.getMap("attributes").set("hair", 0.42);
      await waitFor(() => b.doc.getMap("attributes").get("hair") === 0.42, 3000, "edit to reach b");
      // Stored before broadcast: once b has it, the row exists.
      const rows = await server.db.docUpdate.findMany({ where: { avatarId } });
      const replay = new Y.Doc();
      for (const r of rows) Y.applyUpdate(replay, r.update);
      expect(replay.getMap("attributes").get("hair")).toBe(0.42);
    } finally {
      a.destroy();
      b.destroy();
    }
  });

  it("lets a view link read but rejects its forged update, which no other client ever sees", async () => {
    const watcher = await connectYClient(server.url, avatarId);
    const viewer = await rawYSocket(server.url, avatarId, viewToken);
    try {
      const before = await rowCount();
      const valueBefore = watcher.doc.getMap("attributes").get("hair");
      viewer.sendUpdate(forgedAttributeUpdate("hair", -0.9));
      await waitFor(() => viewer.deniedReasons().length > 0, 3000, "permission denied");
      expect(viewer.deniedReasons()[0]).toBe(VIEW_ONLY_REASON);
      await new Promise((r) => setTimeout(r, 300));
      expect(watcher.doc.getMap("attributes").get("hair")).toBe(valueBefore);
      expect(await rowCount()).toBe(before);
      // The view socket stays usable for reading.
      expect(viewer.closed()).toBeNull();
    } finally {
      viewer.ws.close();
      watcher.destroy();
    }
  });

  it("closes a socket that sends garbage with 1007 and changes nothing", async () => {
    const before = await rowCount();
    const raw = await rawYSocket(server.url, avatarId);
    raw.ws.send(new Uint8Array([0, 2, 200, 1, 2, 3, 255, 255]));
    await waitFor(() => raw.closed(), 3000, "close");
    expect(raw.closed()!.code).toBe(1007);
    expect(await rowCount()).toBe(before);
    const health = await fetch(`${server.url}/healthz`);
    expect(health.status).toBe(200);
  });

  it("closes a socket whose message exceeds the size cap with 1009", async () => {
    const raw = await rawYSocket(server.url, avatarId);
    raw.ws.send(new Uint8Array(65 * 1024));
    await waitFor(() => raw.closed(), 3000, "close");
    expect(raw.closed()!.code).toBe(1009);
  });

  it("refuses upgrades for unknown avatars, bad tokens, revoked and expired links", async () => {
    const revoked = await link("edit", { revokedAt: new Date() });
    const expired = await link("view", { expiresAt: new Date(Date.now() - 1000) });
    await expect(rawYSocket(server.url, "no-such-avatar")).rejects.toThrow(/HTTP 404/);
    await expect(rawYSocket(server.url, avatarId, "not-a-token")).rejects.toThrow(/HTTP 401/);
    await expect(rawYSocket(server.url, avatarId, newShareToken())).rejects.toThrow(/HTTP 401/);
    await expect(rawYSocket(server.url, avatarId, revoked)).rejects.toThrow(/HTTP 401/);
    await expect(rawYSocket(server.url, avatarId, expired)).rejects.toThrow(/HTTP 401/);
    const other = (await server.db.avatar.create({ data: { name: "Other" } })).id;
    await expect(rawYSocket(server.url, other, viewToken)).rejects.toThrow(/HTTP 404/);
  });

  it("keeps Yjs sockets open beside socket.io and page requests", async () => {
    const client = await connectYClient(server.url, avatarId);
    let closes = 0;
    client.provider.on("connection-close", () => closes++);
    await fetch(`${server.url}/`);
    await fetch(`${server.url}/avatars/${avatarId}`);
    await new Promise((r) => setTimeout(r, 2500));
    expect(closes).toBe(0);
    expect(client.provider.wsconnected).toBe(true);
    client.destroy();
  });

  it("compacts the update log and loses nothing", async () => {
    const small = await startTestServer({ compactAfterUpdates: 5 });
    try {
      const id = (await small.db.avatar.create({ data: { name: "Compaction" } })).id;
      const c = await connectYClient(small.url, id);
      // Slider positions in [-1, 1], the only values the shared state allows.
      for (let i = 0; i < 23; i++) c.doc.getMap("attributes").set(`k${i % 7}`, i / 22);
      const probe = await connectYClient(small.url, id);
      await waitFor(() => probe.doc.getMap("attributes").get("k1") === 1, 5000, "all edits");
      const shared = await small.docs.acquire(id);
      await shared.flushed();
      small.docs.release(shared);
      const rows = await small.db.docUpdate.findMany({ where: { avatarId: id }, orderBy: { id: "asc" } });
      expect(rows.length).toBeLessThan(5);
      const replay = new Y.Doc();
      for (const r of rows) Y.applyUpdate(replay, r.update);
      expect(replay.getMap("attributes").toJSON()).toEqual(c.doc.getMap("attributes").toJSON());
      c.destroy();
      probe.destroy();
    } finally {
      await small.close();
    }
  });

  it("refuses a write under another connection's client id, and an update that waits for changes the server lacks", async () => {
    const victim = await connectYClient(server.url, avatarId);
    const bad = await rawYSocket(server.url, avatarId, editToken);
    const denied = recordDenials(victim.provider);
    try {
      victim.doc.getMap("attributes").set("brows", 0.25);
      await waitFor(
        async () =>
          (await server.docs
            .acquire(avatarId)
            .then((d) => (server.docs.release(d), d.doc.getMap("attributes").get("brows")))) === 0.25,
        3000,
        "victim's edit",
      );
      // The victim's next clock, written by someone else: the two replicas would never converge.
      const spoof = new Y.Doc();
      Y.applyUpdate(spoof, Y.encodeStateAsUpdate(victim.doc));
      spoof.clientID = victim.doc.clientID;
      const sv = Y.encodeStateVector(spoof);
      spoof.getMap("attributes").set("brows", -1);
      bad.sendUpdate(Y.encodeStateAsUpdate(spoof, sv));
      // An update built on a change the server never saw: it would land later, inside someone's edit.
      const future = new Y.Doc();
      Y.applyUpdate(future, Y.encodeStateAsUpdate(victim.doc));
      future.getMap("attributes").set("unseen", 0.1);
      const afterFuture = Y.encodeStateVector(future);
      future.getMap("attributes").set("unseen", 0.2);
      bad.sendUpdate(Y.encodeStateAsUpdate(future, afterFuture));
      await waitFor(() => bad.deniedReasons().length >= 2, 3000, "two refusals");
      expect(bad.deniedReasons()[0]).toMatch(/^invalid-state: client \d+ is another connection's/);
      expect(bad.deniedReasons()[1]).toBe("invalid-state: the update depends on changes the server does not have");
      victim.doc.getMap("attributes").set("brows", 0.5);
      const shared = await server.docs.acquire(avatarId);
      try {
        await waitFor(() => shared.doc.getMap("attributes").get("brows") === 0.5, 3000, "victim's next edit");
        expect(shared.doc.store.pendingStructs).toBeNull();
        expect(shared.doc.getMap("attributes").get("unseen")).toBeUndefined();
      } finally {
        server.docs.release(shared);
      }
      expect(denied).toEqual([]);
    } finally {
      bad.ws.close();
      victim.destroy();
    }
  });

  it("does not refuse a view page that re-sends deletions the server already has", async () => {
    const editor = await connectYClient(server.url, avatarId);
    editor.doc.getMap("attributes").set("tmp", 0.3);
    editor.doc.getMap("attributes").delete("tmp");
    const viewer = await connectYClient(server.url, avatarId, viewToken);
    const denied = recordDenials(viewer.provider);
    try {
      await waitFor(
        () => viewer.doc.getMap("attributes").get("tmp") === undefined && viewer.provider.synced,
        3000,
        "viewer synced",
      );
      viewer.provider.disconnect();
      viewer.provider.connect();
      await waitFor(() => viewer.provider.synced, 3000, "viewer resynced");
      await new Promise((r) => setTimeout(r, 300));
      expect(denied).toEqual([]);
    } finally {
      viewer.destroy();
      editor.destroy();
    }
  });

  it("answers an unknown websocket path with 404", async () => {
    const ws = new WebSocket(server.url.replace("http", "ws") + "/nowhere");
    const status = await new Promise<number>((resolve) => {
      ws.on("unexpected-response", (_req, res) => resolve(res.statusCode ?? 0));
      ws.on("error", () => resolve(-1));
    });
    expect(status).toBe(404);
  });
});
