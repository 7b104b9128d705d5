import { afterAll, describe, expect, it } from "vitest";
import { CpuAvatarRenderer } from "../../render-core/avatar/avatar-renderer";
import { createRandomAvatar } from "../../render-core/avatar/avatar";
import { COMPACT } from "../../render-core/avatar/config";
import { createHeadModel } from "../../render-core/head";
import { orbitCamera } from "../../render-core/math/camera";
import { packRgb8Cpu } from "../../render-core/raster/rasterize.cpu";
import { poseFromControls } from "../../render-core/animation";
import { ThreadAvatarRenderer } from "./avatar-thread";

const head = createHeadModel();
const avatar = createRandomAvatar(COMPACT, head, { count: 3000, seed: 4 });
const thread = new ThreadAvatarRenderer(avatar);
afterAll(() => thread.destroy());
const camera = orbitCamera({ width: 96, height: 80, distance: 0.7, yawDeg: 15, target: [0, 0.02, 0] });
const bg: [number, number, number] = [0.2, 0.3, 0.4];

describe("ThreadAvatarRenderer", () => {
  it("renders what the reference CPU renderer renders, on its own thread with the fast networks", async () => {
    const ref = new CpuAvatarRenderer(avatar, head);
    const latents = avatar.neutralLatents.slice();
    latents[3] += 0.7;
    const pose = poseFromControls({ jawOpen: 0.5, turn: 10 });
    expect(await ref.setLatents(latents)).toBe(true);
    expect(await thread.setLatents(latents)).toBe(true);
    expect(await thread.setLatents(latents.slice())).toBe(false); // the same latents bake nothing
    const want = await ref.render(pose, camera, { background: bg });
    const got = await thread.render(pose, camera, { background: bg });
    let max = 0;
    for (let i = 0; i < want.rgb.length; i++) max = Math.max(max, Math.abs(want.rgb[i]! - got.rgb[i]!));
    expect(max).toBeLessThan(1e-4);
    expect(got.alpha.filter((a) => a > 0.5).length).toBeGreaterThan(500); // a head, not the background
    const display = await thread.renderRgb8(pose, camera, { background: bg });
    expect([display.width, display.height]).toEqual([96, 80]);
    const packed = packRgb8Cpu(want.rgb);
    let off = 0;
    for (let i = 0; i < packed.length; i++) off += Math.abs(packed[i]! - display.rgb[i]!) > 1 ? 1 : 0;
    expect(off).toBe(0);
  });

  it("answers a bad request with its reason and keeps rendering", async () => {
    await expect(thread.setLatents(new Float32Array(3))).rejects.toThrow(
      /^ThreadAvatarRenderer: CpuAvatarRenderer.setLatents: latents must hold \d+ numbers/,
    );
    const img = await thread.renderRgb8(poseFromControls({}), camera, { background: bg });
    expect(img.rgb.length).toBe(96 * 80 * 3);
  });

  it("bakes without stalling the server's thread", async () => {
    const big = new ThreadAvatarRenderer(createRandomAvatar(COMPACT, head, { count: 12_000, seed: 5 }));
    try {
      await big.ready;
      let ticks = 0;
      const timer = setInterval(() => ticks++, 5);
      const t0 = performance.now();
      await big.setLatents(avatar.neutralLatents);
      const ms = performance.now() - t0;
      clearInterval(timer);
      // On this thread the bake would allow no tick at all until it ended.
      expect(ms).toBeGreaterThan(30);
      expect(ticks).toBeGreaterThanOrEqual(Math.floor(ms / 5 / 4));
    } finally {
      big.destroy();
    }
  });

  it("rejects requests after destroy, naming why", async () => {
    const t = new ThreadAvatarRenderer(avatar);
    t.destroy();
    await expect(t.setLatents(avatar.neutralLatents)).rejects.toThrow(/the renderer was destroyed/);
  });
});
