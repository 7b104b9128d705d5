import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import sharp from "sharp";
import { startTestServer, tempDataDir, waitFor, type TestServer } from "../testing/harness";
import { connectYClient } from "../testing/yjs-client";
import { hashToken, newShareToken } from "../auth/access";
import { createHeadModel } from "../../render-core/head";
import { proceduralIdentity } from "../pipeline/synthesise/identity";
import { portraitFile, renderPortrait } from "../pipeline/synthesise/portrait";
import type { PortraitUploaded } from "../portraits/upload";
import { fakePortrait, ONE_PIXEL_PNG, startServerWithStages, steppingStages, writeFakeBundle } from "../jobs/testing";
import type { StageDef } from "../pipeline/create/stage";
import { createDb } from "../db/client";

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

  it("serves the drive page's face models by name only: the front-camera detector takes a 128 px picture", async () => {
    const res = await fetch(`${server.url}/models/human-models/blazeface-front.json`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/json");
    const model = (await res.json()) as { modelTopology: { node: Array<{ op: string; attr?: unknown }> } };
    const input = model.modelTopology.node.find((n) => n.op === "Placeholder");
    expect(JSON.stringify(input?.attr)).toContain('"size":"128"');
    expect((await fetch(`${server.url}/models/human-models/blazeface-front.bin`)).status).toBe(200);
    // Only the files named: the package's other models stay unserved.
    expect((await fetch(`${server.url}/models/human-models/selfie.json`)).status).toBe(404);
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
    for (const page of ["/new", "/jobs/some-job", "/avatars/x"])
      expect((await fetch(`${server.url}${page}`, { redirect: "manual" })).status, page).toBe(403);
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
      env: {
        ...process.env,
        DATA_DIR: dataDir,
        PORT: String(port),
        HOST: "127.0.0.1",
        NODE_ENV: "production",
        SEED_DEMO: "true",
      },
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
      const list = (await (await fetch(`${url}/api/trpc/avatars.list`)).json()) as {
        result: { data: Array<{ id: string }> };
      };
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

describe("portrait uploads and job artifacts", () => {
  const OWNER_KEY = "upload-owner-key";
  let server: TestServer;
  let cookie: string;
  let portraitJpeg: Buffer;

  const portraitFolders = () =>
    fs.existsSync(path.join(server.dataDir, "portraits")) ? fs.readdirSync(path.join(server.dataDir, "portraits")) : [];
  const upload = (body: BodyInit, type: string, headers: Record<string, string> = { cookie }) =>
    fetch(`${server.url}/api/portraits`, { method: "POST", body, headers: { "content-type": type, ...headers } });

  beforeAll(async () => {
    server = await startServerWithStages(steppingStages({ steps: 2, stepMs: 10 }), {
      ownerKey: OWNER_KEY,
      maxUploadBytes: 256 * 1024,
    });
    const ok = await fetch(`${server.url}/?owner_key=${OWNER_KEY}`, { redirect: "manual" });
    cookie = ok.headers.get("set-cookie")!.split(";")[0]!;
    const head = createHeadModel();
    portraitJpeg = await portraitFile(await renderPortrait({ head, identity: proceduralIdentity(7, head) }), "jpeg");
  });
  afterAll(async () => {
    await server?.close();
  });

  it("stores an accepted portrait's files and answers with its analysis", async () => {
    const res = await upload(new Uint8Array(portraitJpeg), "image/jpeg");
    expect(res.status).toBe(201);
    const body = (await res.json()) as PortraitUploaded;
    expect(body.id).toMatch(/^[A-Za-z0-9_-]{16}$/);
    expect([body.width, body.height]).toEqual([512, 512]);
    expect(body.analysis.faces).toBe(1);
    expect(body.analysis.landmarks).toHaveLength(136);
    // The rendered head fills the middle of the frame: its box is there, not at an edge.
    const { box } = body.analysis;
    expect(box.x).toBeGreaterThan(50);
    expect(box.x + box.width).toBeLessThan(462);
    expect(box.width).toBeGreaterThan(120);
    expect(Math.abs(body.analysis.rotation.yawDeg)).toBeLessThan(10);
    expect(body.imageUrl).toBe(`/api/portraits/${body.id}/portrait.png`);
    expect(body.overlayUrl).toBe(`/api/portraits/${body.id}/overlay.png`);

    const dir = path.join(server.dataDir, "portraits", body.id);
    expect(fs.readdirSync(dir).sort()).toEqual([
      "analysis.json",
      "original.jpg",
      "overlay.png",
      "portrait.png",
      "thumbnail.jpg",
    ]);
    expect(fs.readFileSync(path.join(dir, "original.jpg")).equals(portraitJpeg)).toBe(true);
    const stored = JSON.parse(fs.readFileSync(path.join(dir, "analysis.json"), "utf8")) as {
      descriptor: number[];
      landmarks: number[];
      matte?: unknown;
    };
    expect(stored.descriptor).toHaveLength(128);
    expect(stored.landmarks).toHaveLength(136);
    expect(stored.matte).toBeUndefined();
    expect(await sizeOf(fs.readFileSync(path.join(dir, "portrait.png")))).toEqual([512, 512, "png"]);
    expect(await sizeOf(fs.readFileSync(path.join(dir, "thumbnail.jpg")))).toEqual([256, 256, "jpeg"]);

    const overlay = await fetch(`${server.url}${body.overlayUrl}`, { headers: { cookie } });
    expect(overlay.status).toBe(200);
    expect(overlay.headers.get("content-type")).toBe("image/png");
    expect(await sizeOf(Buffer.from(await overlay.arrayBuffer()))).toEqual([512, 512, "png"]);
    expect((await fetch(`${server.url}/api/portraits/${body.id}/thumbnail.jpg`, { headers: { cookie } })).status).toBe(
      200,
    );
    expect((await fetch(`${server.url}/api/portraits/${body.id}/original.jpg`, { headers: { cookie } })).status).toBe(
      404,
    );
  });

  it('accepts the photo as the multipart field "portrait"', async () => {
    const form = new FormData();
    form.append("note", "ignored");
    form.append("portrait", new Blob([new Uint8Array(portraitJpeg)], { type: "image/jpeg" }), "me.jpg");
    const res = await fetch(`${server.url}/api/portraits`, { method: "POST", body: form, headers: { cookie } });
    expect(res.status).toBe(201);
    const body = (await res.json()) as PortraitUploaded;
    expect(fs.readFileSync(path.join(server.dataDir, "portraits", body.id, "original.jpg")).equals(portraitJpeg)).toBe(
      true,
    );
    const wrongField = new FormData();
    wrongField.append("photo", new Blob([new Uint8Array(portraitJpeg)], { type: "image/jpeg" }), "me.jpg");
    const refused = await fetch(`${server.url}/api/portraits`, {
      method: "POST",
      body: wrongField,
      headers: { cookie },
    });
    expect(refused.status).toBe(400);
    expect(await refused.json()).toEqual({
      error: { code: "bad-request", message: 'The multipart upload has no file field named "portrait".' },
    });
  });

  it("refuses a photo without a face with 422, the code and an overlay, and keeps nothing", async () => {
    const before = portraitFolders();
    const plain = await sharp({ create: { width: 400, height: 300, channels: 3, background: "#8899aa" } })
      .png()
      .toBuffer();
    const res = await upload(new Uint8Array(plain), "image/png");
    expect(res.status).toBe(422);
    const body = (await res.json()) as { error: { code: string; message: string }; overlayUrl: string };
    expect(body.error.code).toBe("no-face");
    expect(body.error.message).toMatch(/could not find a face/);
    expect(body.overlayUrl).toMatch(/^data:image\/jpeg;base64,/);
    expect(await sizeOf(Buffer.from(body.overlayUrl.split(",")[1]!, "base64"))).toEqual([400, 300, "jpeg"]);
    expect(portraitFolders()).toEqual(before);
  });

  it("refuses bytes that are no image as bad-image and keeps nothing", async () => {
    const before = portraitFolders();
    const res = await upload(
      new Uint8Array(Buffer.from("this is not a photo at all, just some text".repeat(20))),
      "image/jpeg",
    );
    expect(res.status).toBe(422);
    const body = (await res.json()) as { error: { code: string; message: string }; overlayUrl?: string };
    expect(body.error.code).toBe("bad-image");
    expect(body.overlayUrl).toBeUndefined();
    const truncated = await upload(new Uint8Array(portraitJpeg.subarray(0, 3000)), "image/jpeg");
    expect(truncated.status).toBe(422);
    expect(((await truncated.json()) as { error: { code: string } }).error.code).toBe("bad-image");
    expect(portraitFolders()).toEqual(before);
    const text = await upload("hello", "text/plain");
    expect(text.status).toBe(415);
  });

  it("answers an upload over MAX_UPLOAD_BYTES with 413, declared or streamed, and closes the connection", async () => {
    const big = new Uint8Array(300 * 1024).fill(7);
    const declared = await upload(big, "image/jpeg");
    expect(declared.status).toBe(413);
    expect(declared.headers.get("connection")).toBe("close");
    expect(((await declared.json()) as { error: { code: string } }).error.code).toBe("too-large");
    // Chunked: no length up front, so the limit is counted while the body streams.
    const status = await new Promise<number>((resolve, reject) => {
      const req = http.request(
        `${server.url}/api/portraits`,
        { method: "POST", headers: { "content-type": "image/jpeg", cookie } },
        (res) => {
          res.resume();
          res.on("end", () => resolve(res.statusCode!));
        },
      );
      req.on("error", reject);
      for (let i = 0; i < 40; i++) req.write(Buffer.alloc(16 * 1024, 1));
      req.end();
    });
    expect(status).toBe(413);
  });

  it("refuses anonymous callers and share links on uploads, portrait files and artifacts", async () => {
    const avatarId = (await server.db.avatar.create({ data: { name: "Linked" } })).id;
    const token = newShareToken();
    await server.db.shareLink.create({ data: { avatarId, role: "edit", tokenHash: hashToken(token) } });
    const anonymous = await upload(new Uint8Array(portraitJpeg), "image/jpeg", {});
    expect(anonymous.status).toBe(401);
    expect(((await anonymous.json()) as { error: { code: string } }).error.code).toBe("private");
    const linked = await upload(new Uint8Array(portraitJpeg), "image/jpeg", { "x-share-token": token });
    expect(linked.status).toBe(403);
    expect(((await linked.json()) as { error: { code: string } }).error.code).toBe("owner-only");
    const id = portraitFolders()[0]!;
    expect((await fetch(`${server.url}/api/portraits/${id}/portrait.png`)).status).toBe(401);
    expect((await fetch(`${server.url}/api/portraits/${id}/portrait.png?token=${token}`)).status).toBe(403);
    expect(
      (await fetch(`${server.url}/api/jobs/x/artifacts/overlay`, { headers: { "x-share-token": token } })).status,
    ).toBe(403);
  });

  it("serves a job's published artifact to the owner, and nothing outside the job's folder", async () => {
    const { jobId } = await server.jobs.createAvatarJob({
      portraitId: await fakePortrait(server.dataDir),
      name: "Artifacts",
      config: "tiny",
    });
    await server.jobs.idle();
    expect((await server.jobs.view(jobId))!.artifacts).toEqual({ overlay: `/api/jobs/${jobId}/artifacts/overlay` });
    const res = await fetch(`${server.url}/api/jobs/${jobId}/artifacts/overlay`, { headers: { cookie } });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("image/png");
    expect(Buffer.from(await res.arrayBuffer()).equals(ONE_PIXEL_PNG)).toBe(true);
    expect((await fetch(`${server.url}/api/jobs/${jobId}/artifacts/fit`, { headers: { cookie } })).status).toBe(404);
    expect(
      (await fetch(`${server.url}/api/jobs/${jobId}/artifacts/..%2F..%2Fperse.db`, { headers: { cookie } })).status,
    ).toBe(404);
    expect((await fetch(`${server.url}/api/jobs/..%2F..%2F/artifacts/overlay`, { headers: { cookie } })).status).toBe(
      404,
    );
    // Even a row that says otherwise cannot lead out of the folder.
    await server.db.job.update({
      where: { id: jobId },
      data: { artifacts: JSON.stringify({ overlay: "../../perse.db" }) },
    });
    expect((await fetch(`${server.url}/api/jobs/${jobId}/artifacts/overlay`, { headers: { cookie } })).status).toBe(
      404,
    );
  });
});

async function sizeOf(image: Buffer): Promise<[number, number, string]> {
  const m = await sharp(image).metadata();
  return [m.width!, m.height!, m.format!];
}

describe("creation jobs across a server restart", () => {
  it("stops a running stage on close without failing it, and the next start finishes the job from there", async () => {
    const ran: string[] = [];
    let holdSecond = true;
    const stages: StageDef[] = [
      { name: "first", label: "First", weight: 1, run: async () => void ran.push("first") },
      {
        name: "second",
        label: "Second",
        weight: 5,
        run: (ctx) => {
          ran.push("second");
          if (!holdSecond) return Promise.resolve();
          return new Promise((_, reject) =>
            ctx.signal.addEventListener("abort", () => reject(new Error("aborted")), { once: true }),
          );
        },
      },
      { name: "bundle", label: "Bundle", weight: 1, run: writeFakeBundle },
    ];
    const dataDir = tempDataDir();
    const before = await startServerWithStages(stages, { dataDir });
    const { jobId, avatarId } = await before.jobs.createAvatarJob({
      portraitId: await fakePortrait(dataDir),
      name: "Restarted",
      config: "tiny",
    });
    await waitFor(() => ran.includes("second"), 5000, "the second stage to start");
    await before.close();
    const db = createDb(before.config.databaseUrl);
    const left = await db.job.findUniqueOrThrow({ where: { id: jobId } });
    await db.$disconnect();
    expect(left).toMatchObject({ status: "running", error: null, stage: "second" });

    holdSecond = false;
    const after = await startServerWithStages(stages, { dataDir });
    try {
      await after.jobs.idle();
      expect(ran).toEqual(["first", "second", "second"]);
      expect((await after.jobs.view(jobId))!).toMatchObject({ status: "done", error: null });
      expect(await after.db.avatar.findUniqueOrThrow({ where: { id: avatarId } })).toMatchObject({
        status: "ready",
        bundlePath: `avatars/${avatarId}/bundle`,
      });
    } finally {
      await after.close();
    }
  });
});
