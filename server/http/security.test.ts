/**
 * The attacks of the security review, each reproduced against a real server
 * through real HTTP and websockets (docs/security.md lists them). Requests are
 * made with node:http and ws so that Host, Origin, Cookie and Sec-Fetch-*
 * headers are exactly what a browser on another site would send.
 */
import http from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as Y from "yjs";
import * as awarenessProtocol from "y-protocols/awareness";
import { io as connect, type Socket } from "socket.io-client";
import { startTestServer, waitFor, type TestServer } from "../testing/harness";
import { connectYClient, openYSocket, recordDenials } from "../testing/yjs-client";
import { encodeAwarenessEntries } from "../realtime/shared-state-guard";
import { hashToken, newShareToken } from "../auth/access";
import { LINK_ENDED_CLOSE_CODE } from "../../protocol/yjs";
import { TRPC_MAX_BATCH } from "./app-server";
import type { ClientToServerEvents, ServerToClientEvents } from "../../protocol/messages";

type Client = Socket<ServerToClientEvents, ClientToServerEvents>;

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One HTTP request with exactly these headers (Host included). */
function request(
  base: string,
  path: string,
  options: { method?: string; headers?: Record<string, string>; body?: string | Buffer } = {},
): Promise<Reply> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: url.hostname,
        port: url.port,
        path,
        method: options.method ?? "GET",
        headers: options.headers,
        setHost: !options.headers?.host,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") }),
        );
      },
    );
    req.on("error", reject);
    req.end(options.body);
  });
}

/** A websocket to /yjs/<avatar> with chosen headers (and a share token). */
const yjsSocket = (base: string, avatarId: string, headers: Record<string, string> = {}, token: string | null = null) =>
  openYSocket(base, avatarId, { headers, token });

/** The update a scratch document makes when `change` runs on it. */
function updateOf(change: (doc: Y.Doc) => void): Uint8Array {
  const doc = new Y.Doc();
  change(doc);
  return Y.encodeStateAsUpdate(doc);
}

function socketClient(
  base: string,
  options: { token?: string; headers?: Record<string, string> } = {},
): Promise<{ socket: Client } | { error: string }> {
  const socket: Client = connect(base, {
    auth: options.token ? { token: options.token } : {},
    transports: ["websocket"],
    reconnection: false,
    extraHeaders: options.headers,
  });
  return new Promise((resolve) => {
    socket.once("server:hello", () => resolve({ socket }));
    socket.once("connect_error", (err) => {
      socket.close();
      resolve({ error: err.message });
    });
  });
}

const EVIL = "http://evil.example";

describe("with no OWNER_KEY (loopback owner)", () => {
  let server: TestServer;
  let avatarId: string;
  let host: string;
  const rows = () => server.db.docUpdate.count({ where: { avatarId } });

  async function link(role: "view" | "edit", expiresAt: Date | null = null) {
    const token = newShareToken();
    const row = await server.db.shareLink.create({ data: { avatarId, role, tokenHash: hashToken(token), expiresAt } });
    return { token, id: row.id };
  }

  beforeAll(async () => {
    server = await startTestServer({ streamMaxViewers: 4, streamBackend: "cpu", maxDocBytes: 16 * 1024 });
    avatarId = (await server.db.avatar.create({ data: { name: "Security" } })).id;
    host = `localhost:${server.port}`;
  }, 60_000);
  afterAll(async () => {
    await server?.close();
  });

  describe("cross-site websocket hijacking", () => {
    it("refuses a Yjs upgrade from another site's page on the owner's machine with 403", async () => {
      const s = yjsSocket(server.url, avatarId, { origin: EVIL });
      expect(await s.opened).toEqual({ ok: false, status: 403 });
      // A null origin (sandboxed frame, file: page) is another site too.
      expect(await yjsSocket(server.url, avatarId, { origin: "null" }).opened).toEqual({ ok: false, status: 403 });
    });

    it("refuses a socket.io handshake from another site's page", async () => {
      const r = await socketClient(server.url, { headers: { origin: EVIL } });
      expect("error" in r).toBe(true);
    });

    it("accepts the server's own page as the owner, and a program with no Origin", async () => {
      const own = yjsSocket(server.url, avatarId, { origin: `http://${host}` });
      expect(await own.opened).toEqual({ ok: true });
      own.ws.close();
      const r = await socketClient(server.url, { headers: { origin: `http://${host}` } });
      expect("socket" in r).toBe(true);
      if ("socket" in r) r.socket.close();
    });
  });

  describe("DNS rebinding", () => {
    it("answers a request naming an unknown host with 421, on HTTP and websockets", async () => {
      const api = await request(server.url, "/api/trpc/me", { headers: { host: `attacker.example:${server.port}` } });
      expect(api.status).toBe(421);
      expect(api.body).not.toContain('"role"');
      const ws = yjsSocket(server.url, avatarId, { host: `attacker.example:${server.port}` });
      expect(await ws.opened).toEqual({ ok: false, status: 421 });
      const io = await socketClient(server.url, { headers: { host: `attacker.example:${server.port}` } });
      expect("error" in io).toBe(true);
    });

    it("still answers loopback names and IP addresses, which cannot be rebound", async () => {
      for (const h of [
        `localhost:${server.port}`,
        `127.0.0.1:${server.port}`,
        `[::1]:${server.port}`,
        `192.168.1.20:${server.port}`,
      ]) {
        expect((await request(server.url, "/healthz", { headers: { host: h } })).status, h).toBe(200);
      }
    });

    it("makes a loopback connection the owner only when it names the server by a loopback name", async () => {
      const byName = JSON.parse((await request(server.url, "/api/trpc/me", { headers: { host } })).body);
      expect(byName.result.data.role).toBe("owner");
      const byAddress = JSON.parse(
        (await request(server.url, "/api/trpc/me", { headers: { host: `192.168.1.20:${server.port}` } })).body,
      );
      expect(byAddress.result.data.role).toBeNull();
    });

    it("builds share URLs on the Host the owner used once it passed the check", async () => {
      const res = await request(server.url, "/api/trpc/shareLinks.create", {
        method: "POST",
        headers: { host, "content-type": "application/json", origin: `http://${host}` },
        body: JSON.stringify({ avatarId, role: "view" }),
      });
      expect(res.status).toBe(200);
      expect(JSON.parse(res.body).result.data.url).toMatch(new RegExp(`^http://${host}/s/[A-Za-z0-9_-]{32}$`));
    });
  });

  describe("cross-site requests that change state (CSRF)", () => {
    it("refuses a tRPC mutation and an upload posted by another site's page", async () => {
      const before = await server.db.avatar.count();
      const mutation = await request(server.url, "/api/trpc/avatars.create", {
        method: "POST",
        headers: { host, origin: EVIL, "content-type": "text/plain" },
        body: JSON.stringify({ name: "planted" }),
      });
      expect(mutation.status).toBe(403);
      expect(JSON.parse(mutation.body).error.code).toBe("cross-site");
      const upload = await request(server.url, "/api/portraits", {
        method: "POST",
        headers: { host, origin: EVIL, "content-type": "multipart/form-data; boundary=X" },
        body: '--X\r\nContent-Disposition: form-data; name="portrait"\r\n\r\nabc\r\n--X--\r\n',
      });
      expect(upload.status).toBe(403);
      // A form post whose browser left out Origin still says Sec-Fetch-Site.
      const noOrigin = await request(server.url, "/api/trpc/avatars.create", {
        method: "POST",
        headers: {
          host,
          "sec-fetch-site": "cross-site",
          "sec-fetch-mode": "no-cors",
          "content-type": "application/json",
        },
        body: JSON.stringify({ name: "planted" }),
      });
      expect(noOrigin.status).toBe(403);
      expect(await server.db.avatar.count()).toBe(before);
    });

    it("does not serve the owner's files to another site's image tags", async () => {
      const res = await request(server.url, "/api/jobs/x/artifacts/fit", {
        headers: { host, "sec-fetch-site": "cross-site", "sec-fetch-mode": "no-cors" },
      });
      expect(res.status).toBe(401);
    });
  });

  describe("revocation and expiry end open sessions", () => {
    it("closes a revoked edit link's Yjs socket and socket.io connection within a second", async () => {
      const { token, id } = await link("edit");
      const y = yjsSocket(server.url, avatarId, {}, token);
      expect(await y.opened).toEqual({ ok: true });
      const io = await socketClient(server.url, { token });
      if (!("socket" in io)) throw new Error(io.error);
      const ended: string[] = [];
      io.socket.on("session:ended", (e) => ended.push(e.reason));
      await waitFor(() => server.linkSessions.count(id) === 2, 2000, "both sessions tracked");
      const res = await request(server.url, "/api/trpc/shareLinks.revoke", {
        method: "POST",
        headers: { host, "content-type": "application/json" },
        body: JSON.stringify({ id }),
      });
      expect(res.status).toBe(200);
      const t0 = Date.now();
      await waitFor(() => y.closed() && io.socket.disconnected, 1000, "sessions closed");
      expect(Date.now() - t0).toBeLessThan(1000);
      expect(y.closed()!.code).toBe(LINK_ENDED_CLOSE_CODE);
      expect(y.deniedReasons()[0]).toMatch(/^revoked: /);
      expect(ended).toEqual(["revoked"]);
      // A write after the revocation cannot get in: the socket is closed and a new one is refused.
      const before = await rows();
      expect(await yjsSocket(server.url, avatarId, {}, token).opened).toEqual({ ok: false, status: 401 });
      expect(await rows()).toBe(before);
    });

    it("closes an expiring link's sessions when it expires", async () => {
      const expiresAt = new Date(Date.now() + 700);
      const { token } = await link("edit", expiresAt);
      const y = yjsSocket(server.url, avatarId, {}, token);
      expect(await y.opened).toEqual({ ok: true });
      const io = await socketClient(server.url, { token });
      if (!("socket" in io)) throw new Error(io.error);
      await waitFor(() => y.closed() && io.socket.disconnected, 2000, "sessions closed at expiry");
      expect(Date.now()).toBeGreaterThanOrEqual(expiresAt.getTime());
      expect(Date.now() - expiresAt.getTime()).toBeLessThan(1000);
      expect(y.deniedReasons()[0]).toMatch(/^expired: /);
    });
  });

  describe("hostile presence", () => {
    it("refuses a view link's presence that would crash editors or load a URL, and presence for another client", async () => {
      const { token } = await link("view");
      const editor = await connectYClient(server.url, avatarId);
      const editorDenied = recordDenials(editor.provider);
      try {
        editor.provider.awareness.setLocalStateField("user", { name: "Ada", color: "#ff7a7a" });
        const viewer = yjsSocket(server.url, avatarId, {}, token);
        expect(await viewer.opened).toEqual({ ok: true });
        viewer.sendPresence(900001, 1, { user: { name: { boom: 1 }, color: "#ffffff" } });
        viewer.sendPresence(900001, 2, { user: { name: "Eve", color: "url(https://evil.example/x.png)" } });
        // Ada's own id, with a later clock: an impersonation.
        const adaId = editor.doc.clientID;
        await waitFor(() => editor.provider.awareness.getStates().size >= 1, 2000, "own presence");
        viewer.sendPresence(adaId, 1000, { user: { name: "Not Ada", color: "#000000" } });
        await waitFor(() => viewer.deniedReasons().length >= 3, 2000, "three refusals");
        expect(viewer.deniedReasons().every((r) => r.startsWith("invalid-presence: "))).toBe(true);
        await new Promise((r) => setTimeout(r, 200));
        const states = [...editor.provider.awareness.getStates().values()] as Array<{
          user?: { name?: unknown; color?: unknown };
        }>;
        expect(states.map((s) => s.user?.name)).toEqual(["Ada"]);
        // Its own, well-formed presence is still allowed.
        viewer.sendPresence(900002, 1, { user: { name: "Viewer", color: "#8fb4ff" } });
        await waitFor(
          () =>
            [...editor.provider.awareness.getStates().values()].some(
              (s) => (s as { user?: { name?: string } }).user?.name === "Viewer",
            ),
          2000,
          "viewer's presence",
        );
        // The editor echoes every peer's presence (y-websocket does): those echoes are never refused.
        expect(editorDenied).toEqual([]);
        viewer.ws.close();
      } finally {
        editor.destroy();
      }
    });
  });

  describe("hostile shared state from an edit link", () => {
    it("refuses wrong types and unknown keys before storing or broadcasting them", async () => {
      const { token } = await link("edit");
      const watcher = await connectYClient(server.url, avatarId);
      const bad = yjsSocket(server.url, avatarId, {}, token);
      expect(await bad.opened).toEqual({ ok: true });
      try {
        await new Promise((r) => setTimeout(r, 100));
        const before = await rows();
        const attacks: Array<[string, Uint8Array]> = [
          ["startedAt NaN", updateOf((d) => d.getMap("playback").set("startedAt", NaN))],
          ["clip not built in", updateOf((d) => d.getMap("playback").set("clip", "<script>"))],
          [
            "savedBy an object",
            updateOf((d) => d.getMap("presets").set("look", { attributes: {}, savedBy: { boom: 1 }, savedAt: 1 })),
          ],
          ["attribute a string", updateOf((d) => d.getMap("attributes").set("hair", "x"))],
          ["attribute out of range", updateOf((d) => d.getMap("attributes").set("hair", 7))],
          ["pose control unknown", updateOf((d) => d.getMap("pose").set("explode", 1))],
          ["nested shared type", updateOf((d) => d.getMap("attributes").set("hair", new Y.Map()))],
          ["unknown top-level map", updateOf((d) => d.getMap("evil").set("x", 1))],
          ["list content in a map", updateOf((d) => d.getArray("attributes").insert(0, [1]))],
        ];
        for (const [, u] of attacks) bad.sendUpdate(u);
        await waitFor(() => bad.deniedReasons().length >= attacks.length, 3000, "every attack refused");
        expect(bad.deniedReasons().map((r) => r.split(":")[0])).toEqual(attacks.map(() => "invalid-state"));
        await new Promise((r) => setTimeout(r, 200));
        expect(await rows()).toBe(before);
        expect(watcher.doc.getMap("playback").toJSON()).toEqual({});
        expect(watcher.doc.getMap("presets").toJSON()).toEqual({});
        expect(watcher.doc.getMap("attributes").get("hair")).toBeUndefined();
        expect([...watcher.doc.share.keys()].sort()).not.toContain("evil");
        // A valid edit from the same link still goes through.
        bad.sendUpdate(updateOf((d) => d.getMap("attributes").set("beard", 0.5)));
        await waitFor(() => watcher.doc.getMap("attributes").get("beard") === 0.5, 3000, "valid edit");
      } finally {
        bad.ws.close();
        watcher.destroy();
      }
    });

    it("caps the shared state's size with a clear refusal", async () => {
      const { token } = await link("edit");
      const bad = yjsSocket(server.url, avatarId, {}, token);
      expect(await bad.opened).toEqual({ ok: true });
      const before = await rows();
      // Valid presets, 20 KiB of them in all: past this server's 16 KiB cap.
      const huge = new Y.Doc();
      for (let i = 0; i < 60; i++) {
        huge.getMap("presets").set(`p${i}`, {
          attributes: Object.fromEntries(Array.from({ length: 20 }, (_, k) => [`category-${k}`, 0.123456789])),
          savedBy: "x",
          savedAt: 1,
        });
      }
      bad.sendUpdate(Y.encodeStateAsUpdate(huge));
      await waitFor(() => bad.deniedReasons().length > 0, 3000, "refusal");
      expect(bad.deniedReasons()[0]).toMatch(/^invalid-state: the avatar's shared state would exceed 16384 bytes/);
      expect(await rows()).toBe(before);
      bad.ws.close();
    });
  });

  it("lets only as many viewers stream as the cap, however many start at once on a cold session", async () => {
    const cold = (await server.db.avatar.create({ data: { name: "Cold" } })).id;
    const clients = await Promise.all(Array.from({ length: 24 }, () => socketClient(server.url)));
    const sockets = clients.map((c) => ("socket" in c ? c.socket : null)).filter((s): s is Client => !!s);
    expect(sockets).toHaveLength(24);
    try {
      const replies = await Promise.all(
        sockets.map((s) =>
          s.emitWithAck("stream:start", {
            avatarId: cold,
            width: 16,
            height: 16,
            camera: { yawDeg: 0, pitchDeg: 0, distance: 0.7 },
          }),
        ),
      );
      expect(replies.filter((r) => r.ok)).toHaveLength(4);
      expect(replies.filter((r) => !r.ok && r.code === "busy")).toHaveLength(20);
      expect(server.stream.viewerCount).toBe(4);
    } finally {
      for (const s of sockets) s.close();
    }
  });

  describe("malformed requests are 4xx", () => {
    it("answers GET // and other odd targets without a 500", async () => {
      expect((await request(server.url, "//", { headers: { host } })).status).toBeLessThan(500);
      expect((await request(server.url, "//evil.example/x", { headers: { host } })).status).toBeLessThan(500);
      expect((await request(server.url, "/%E0%A4%A", { headers: { host } })).status).toBeLessThan(500);
    });

    it("refuses a tRPC batch larger than the limit with 400", async () => {
      const n = TRPC_MAX_BATCH + 1;
      const paths = Array.from({ length: n }, () => "health").join(",");
      const input = encodeURIComponent(
        JSON.stringify(Object.fromEntries(Array.from({ length: n }, (_, i) => [i, {}]))),
      );
      const res = await request(server.url, `/api/trpc/${paths}?batch=1&input=${input}`, { headers: { host } });
      expect(res.status).toBe(400);
      const ok = await request(
        server.url,
        `/api/trpc/health,health?batch=1&input=${encodeURIComponent('{"0":{},"1":{}}')}`,
        { headers: { host } },
      );
      expect(ok.status).toBe(200);
    });
  });
});

describe("with OWNER_KEY and an https PUBLIC_URL (behind a proxy)", () => {
  const KEY = "owner-key-for-the-security-test";
  let server: TestServer;
  let avatarId: string;
  const PUBLIC = "https://studio.example";

  beforeAll(async () => {
    server = await startTestServer({ ownerKey: KEY, publicUrl: PUBLIC });
    avatarId = (await server.db.avatar.create({ data: { name: "Proxied" } })).id;
  }, 60_000);
  afterAll(async () => {
    await server?.close();
  });

  const cookie = `perse_owner=${KEY}`;

  it("sets the owner cookie Strict, HttpOnly and Secure", async () => {
    const res = await request(server.url, `/?owner_key=${KEY}`, { headers: { host: "studio.example" } });
    expect(res.status).toBe(303);
    const set = String(res.headers["set-cookie"]);
    expect(set).toMatch(/HttpOnly/);
    expect(set).toMatch(/SameSite=Strict/);
    expect(set).toMatch(/Secure/);
    // "//host" in the redirect target would send the owner to another site.
    const redirect = await request(server.url, `//evil.example?owner_key=${KEY}`, {
      headers: { host: "studio.example" },
    });
    expect(redirect.headers.location).toBe("/evil.example");
  });

  it("refuses a same-site page that rides the owner cookie into websockets", async () => {
    const y = yjsSocket(server.url, avatarId, {
      host: "studio.example",
      origin: "https://blog.studio.example",
      cookie,
    });
    expect(await y.opened).toEqual({ ok: false, status: 403 });
    const io = await socketClient(server.url, {
      headers: { host: "studio.example", origin: "https://blog.studio.example", cookie },
    });
    expect("error" in io).toBe(true);
    const own = yjsSocket(server.url, avatarId, { host: "studio.example", origin: PUBLIC, cookie });
    expect(await own.opened).toEqual({ ok: true });
    own.ws.close();
  });

  it("builds share URLs on PUBLIC_URL whatever Host the proxy forwards", async () => {
    const res = await request(server.url, "/api/trpc/shareLinks.create", {
      method: "POST",
      headers: { host: `127.0.0.1:${server.port}`, origin: PUBLIC, cookie, "content-type": "application/json" },
      body: JSON.stringify({ avatarId, role: "edit" }),
    });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body).result.data.url).toMatch(/^https:\/\/studio\.example\/s\//);
  });

  it("treats a malformed owner cookie as no cookie (403 page, not 500)", async () => {
    const res = await request(server.url, "/", { headers: { host: "studio.example", cookie: "perse_owner=%E0%A4%A" } });
    expect(res.status).toBe(403);
  });
});

// The presence codec the server re-encodes kept entries with must match y-protocols' own encoding.
it("encodes awareness entries the way y-protocols does", () => {
  const doc = new Y.Doc();
  const a = new awarenessProtocol.Awareness(doc);
  a.setLocalState({ user: { name: "A", color: "#123456" } });
  const ours = encodeAwarenessEntries([
    {
      clientId: doc.clientID,
      clock: a.meta.get(doc.clientID)!.clock,
      json: JSON.stringify({ user: { name: "A", color: "#123456" } }),
    },
  ]);
  expect(Buffer.from(ours)).toEqual(Buffer.from(awarenessProtocol.encodeAwarenessUpdate(a, [doc.clientID])));
  a.destroy();
});
