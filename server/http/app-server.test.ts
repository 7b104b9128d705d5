import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawn, type ChildProcess } from "node:child_process";
import { startTestServer, tempDataDir, waitFor, type TestServer } from "../testing/harness";
import { connectYClient } from "../testing/yjs-client";
import { hashToken, newShareToken } from "../auth/access";

describe("HTTP pages and owner access", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ ownerKey: "correct-horse-battery" });
  });
  afterAll(async () => {
    await server?.close();
  });

  it("serves /healthz", async () => {
    const res = await fetch(`${server.url}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ ok: true });
  });

  it("keeps owner pages private until the owner key is presented, then remembers it", async () => {
    const denied = await fetch(`${server.url}/`, { redirect: "manual" });
    expect(denied.status).toBe(403);
    expect(await denied.text()).toContain("private");
    const wrong = await fetch(`${server.url}/?owner_key=nope`, { redirect: "manual" });
    expect(wrong.status).toBe(403);
    const ok = await fetch(`${server.url}/?owner_key=correct-horse-battery`, { redirect: "manual" });
    expect(ok.status).toBe(303);
    const cookie = ok.headers.get("set-cookie")!.split(";")[0]!;
    const home = await fetch(`${server.url}/`, { headers: { cookie } });
    expect(home.status).toBe(200);
    expect(await home.text()).toContain("Your avatars");
  });

  it("answers unknown, revoked and expired share links with a clear page and status", async () => {
    const avatarId = (await server.db.avatar.create({ data: { name: "Linked" } })).id;
    const make = async (extra: object) => {
      const t = newShareToken();
      await server.db.shareLink.create({ data: { avatarId, role: "view", tokenHash: hashToken(t), ...extra } });
      return t;
    };
    const good = await make({});
    const revoked = await make({ revokedAt: new Date() });
    const expired = await make({ expiresAt: new Date(Date.now() - 5) });
    expect((await fetch(`${server.url}/s/${good}`)).status).toBe(200);
    const r = await fetch(`${server.url}/s/${revoked}`);
    expect(r.status).toBe(410);
    expect(await r.text()).toContain("revoked");
    const e = await fetch(`${server.url}/s/${expired}`);
    expect(e.status).toBe(410);
    expect(await e.text()).toContain("expired");
    expect((await fetch(`${server.url}/s/${newShareToken()}`)).status).toBe(404);
    expect((await fetch(`${server.url}/s/%00%ff`)).status).toBe(404);
  });
});

describe("durability", () => {
  const root = process.cwd();


  function spawnServer(dataDir: string, port: number): Promise<ChildProcess> {
    // node itself, not the tsx wrapper: SIGKILL must hit the process that serves.
    const child = spawn(process.execPath, ["--import", "tsx", "server/main.ts"], {
      cwd: root,
      env: { ...process.env, DATA_DIR: dataDir, PORT: String(port), HOST: "127.0.0.1", NODE_ENV: "production", SEED_DEMO: "true" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    return new Promise((resolve, reject) => {
      let out = "";
      child.stdout!.on("data", (d: Buffer) => {
        out += d.toString();
        if (out.includes("ready on")) resolve(child);
      });
      child.stderr!.on("data", (d: Buffer) => (out += d.toString()));
      child.once("exit", (code) => reject(new Error(`server exited early (${code}): ${out}`)));
    });
  }

  it("loses no acknowledged edit when the server is killed with SIGKILL", async () => {
    const dataDir = tempDataDir();
    const port = 20000 + Math.floor(Math.random() * 20000);
    const url = `http://127.0.0.1:${port}`;
    let child = await spawnServer(dataDir, port);
    const children = [child];
    try {
      const list = (await (await fetch(`${url}/api/trpc/avatars.list`)).json()) as { result: { data: Array<{ id: string }> } };
      const avatarId = list.result.data[0]!.id;
      const writer = await connectYClient(url, avatarId);
      const reader = await connectYClient(url, avatarId);
      for (let i = 1; i <= 20; i++) writer.doc.getMap("attributes").set("hair", i / 20);
      writer.doc.getMap("attributes").set("beard", -0.5);
      // Acknowledged = another client has seen it (the server stores before it broadcasts).
      await waitFor(() => reader.doc.getMap("attributes").get("beard") === -0.5, 5000, "edits to reach the reader");
      child.kill("SIGKILL");
      await new Promise((r) => child.once("exit", r));
      writer.destroy();
      reader.destroy();

      child = await spawnServer(dataDir, port);
      children.push(child);
      const after = await connectYClient(url, avatarId);
      expect(after.doc.getMap("attributes").get("hair")).toBe(1);
      expect(after.doc.getMap("attributes").get("beard")).toBe(-0.5);
      after.destroy();
    } finally {
      // Never leave a server behind, whatever failed above.
      for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
    }
  });
});
