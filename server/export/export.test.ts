import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, waitFor, type TestServer } from "../testing/harness";
import { connectYClient } from "../testing/yjs-client";
import { hashToken, newShareToken } from "../auth/access";
import { AvatarStore } from "../avatar/avatar-store";
import { CpuAvatarRenderer } from "../../render-core/avatar/avatar-renderer";
import { sliderLatents } from "../../render-core/avatar/latent";
import { poseFromControls } from "../../render-core/animation";
import { readGlb, readPly, readSplat } from "../../render-core/formats";
import type { SplatCloud } from "../../render-core/splats/splat-cloud";
import { attributesMap, endsMap, poseMap } from "../../protocol/shared-state";

/** The largest difference between two arrays of equal length. */
function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

describe("export of the avatar as it looks now", () => {
  let server: TestServer;
  let avatarId: string;
  let expected: SplatCloud;
  let neutral: SplatCloud;

  beforeAll(async () => {
    server = await startTestServer();
    avatarId = (await server.db.avatar.create({ data: { name: "Ex port / test" } })).id;
    // The shared state an editor left: hair toward its second anchor, beard toward its first, the jaw open.
    const editor = await connectYClient(server.url, avatarId);
    editor.doc.transact(() => {
      attributesMap(editor.doc).set("hair", 0.8);
      attributesMap(editor.doc).set("beard", -0.6);
      endsMap(editor.doc).set("beard", [1, 0]);
      poseMap(editor.doc).set("jawOpen", 0.7);
    });
    const reader = await connectYClient(server.url, avatarId);
    await waitFor(() => poseMap(reader.doc).get("jawOpen") === 0.7, 5000, "the edit to be stored");
    editor.destroy();
    reader.destroy();
    // The reference: the same bundle (made by the server at first load), posed by the reference CPU twins.
    const store = new AvatarStore(server.db, server.dataDir);
    await fetch(`${server.url}/api/avatars/${avatarId}/bundle/manifest.json`);
    const avatar = await store.load(avatarId);
    const renderer = new CpuAvatarRenderer(avatar, store.head);
    await renderer.setLatents(sliderLatents(avatar.config, avatar.neutralLatents, avatar.anchors, {}));
    neutral = renderer.deform(poseFromControls({}));
    await renderer.setLatents(
      sliderLatents(
        avatar.config,
        avatar.neutralLatents,
        avatar.anchors,
        { hair: 0.8, beard: -0.6 },
        { beard: [1, 0] },
      ),
    );
    expected = renderer.deform(poseFromControls({ jawOpen: 0.7 }));
  }, 60_000);
  afterAll(async () => {
    await server?.close();
  });

  const download = async (format: string, headers: Record<string, string> = {}) => {
    const res = await fetch(`${server.url}/api/avatars/${avatarId}/export.${format}`, { headers });
    return { res, bytes: new Uint8Array(await res.arrayBuffer()) };
  };

  it("writes the posed, edited Gaussians as a 3DGS .ply, a .glb and a .splat", async () => {
    const ply = await download("ply");
    expect(ply.res.status).toBe(200);
    expect(ply.res.headers.get("content-disposition")).toBe('attachment; filename="Ex-port-test.ply"');
    const glb = await download("glb");
    expect(glb.res.headers.get("content-type")).toBe("model/gltf-binary");
    const splat = await download("splat");
    for (const cloud of [readPly(ply.bytes), readGlb(glb.bytes)]) {
      expect(cloud.count).toBe(expected.count);
      // The export thread's fast network pass agrees with the reference to float rounding.
      expect(maxDiff(cloud.positions, expected.positions)).toBeLessThan(1e-5);
      expect(maxDiff(cloud.scales, expected.scales)).toBeLessThan(1e-5);
      expect(maxDiff(cloud.colors, expected.colors)).toBeLessThan(1e-4);
      expect(maxDiff(cloud.opacities, expected.opacities)).toBeLessThan(1e-4);
    }
    // The state is in the file: the jaw and hair moved Gaussians away from the neutral avatar's.
    expect(maxDiff(readPly(ply.bytes).positions, neutral.positions)).toBeGreaterThan(1e-3);
    const s = readSplat(splat.bytes);
    expect(s.count).toBe(expected.count);
    expect(maxDiff(s.positions, expected.positions)).toBeLessThan(1e-5);
    // Eight bits a colour channel.
    expect(
      maxDiff(
        s.colors,
        expected.colors.map((c) => Math.min(1, Math.max(0, c))),
      ),
    ).toBeLessThanOrEqual(0.5 / 255 + 1e-6);
  }, 60_000);

  it("follows the shared state: a later edit is in the next export", async () => {
    const before = readPly((await download("ply")).bytes);
    const editor = await connectYClient(server.url, avatarId);
    poseMap(editor.doc).set("jawOpen", 0);
    const reader = await connectYClient(server.url, avatarId);
    await waitFor(() => poseMap(reader.doc).get("jawOpen") === 0, 5000, "the edit to be stored");
    editor.destroy();
    reader.destroy();
    const after = readPly((await download("ply")).bytes);
    expect(maxDiff(before.positions, after.positions)).toBeGreaterThan(1e-3);
  }, 60_000);

  it("answers a view link, and answers other avatars' links and strangers as if there were no avatar (404), unknown formats with the list", async () => {
    const link = async (forAvatar: string) => {
      const token = newShareToken();
      await server.db.shareLink.create({ data: { avatarId: forAvatar, role: "view", tokenHash: hashToken(token) } });
      return token;
    };
    const other = (await server.db.avatar.create({ data: { name: "Other" } })).id;
    expect((await download("glb", { "x-share-token": await link(avatarId) })).res.status).toBe(200);
    const wrong = await download("glb", { "x-share-token": await link(other) });
    expect(wrong.res.status).toBe(404);
    const stranger = await download("glb", { "x-share-token": "not-a-token" });
    expect(stranger.res.status).toBe(404);
    const format = await download("obj");
    expect(format.res.status).toBe(404);
    expect(JSON.parse(new TextDecoder().decode(format.bytes)).error.message).toBe(
      'No export format "obj": ply, splat, glb are.',
    );
    const missing = await fetch(`${server.url}/api/avatars/nope/export.ply`);
    expect(missing.status).toBe(404);
  }, 60_000);
});
