import { afterAll, describe, expect, it } from "vitest";
import { CpuAvatarRenderer } from "../../render-core/avatar/avatar-renderer";
import { createRandomAvatar, sliceAvatar } from "../../render-core/avatar/avatar";
import { COMPACT } from "../../render-core/avatar/config";
import { createHeadModel } from "../../render-core/head";
import { orbitCamera } from "../../render-core/math/camera";
import { packRgb8Cpu } from "../../render-core/raster/rasterize.cpu";
import { poseFromControls } from "../../render-core/animation";
import { ThreadAvatarRenderer } from "./avatar-thread";

const head = createHeadModel();
const avatar = createRandomAvatar(COMPACT, head, { count: 3001, seed: 4 }); // odd: the halves differ in size
const pair = new ThreadAvatarRenderer(avatar, 2);
afterAll(() => pair.destroy());
const cameras = [
  orbitCamera({ width: 96, height: 80, distance: 0.7, yawDeg: 15, target: [0, 0.02, 0] }),
  orbitCamera({ width: 64, height: 64, distance: 0.8, yawDeg: -30, target: [0, 0.02, 0] }),
  orbitCamera({ width: 50, height: 70, distance: 0.6, yawDeg: 60, target: [0, 0.02, 0] }),
];
const bg: [number, number, number] = [0.2, 0.3, 0.4];

describe("ThreadAvatarRenderer", () => {
  it("bakes and deforms half the Gaussians per thread and renders what the reference CPU renderer renders", async () => {
    const ref = new CpuAvatarRenderer(avatar, head);
    const latents = avatar.neutralLatents.slice();
    latents[3] += 0.7;
    expect(pair.threads).toBe(2);
    expect(await ref.setLatents(latents)).toBe(true);
    expect(await pair.setLatents(latents)).toBe(true);
    expect(await pair.setLatents(latents.slice())).toBe(false); // the same latents bake nothing
    for (const pose of [poseFromControls({ jawOpen: 0.5, turn: 10 }), poseFromControls({ smile: 1, nod: -10 })]) {
      const got = await pair.renderRgb8(pose, cameras, { background: bg });
      expect(got.map((d) => [d.width, d.height])).toEqual(cameras.map((c) => [c.width, c.height]));
      for (let k = 0; k < cameras.length; k++) {
        const want = await ref.render(pose, cameras[k]!, { background: bg });
        const packed = packRgb8Cpu(want.rgb);
        let off = 0;
        for (let i = 0; i < packed.length; i++) off += Math.abs(packed[i]! - got[k]!.rgb[i]!) > 1 ? 1 : 0;
        expect(off).toBe(0);
        expect(want.alpha.filter((a) => a > 0.5).length).toBeGreaterThan(300); // a head, not the background
      }
      // One camera alone: a band of rows on each thread, the same picture.
      const lone = cameras[2]!;
      const [one] = await pair.renderRgb8(pose, [lone], { background: bg });
      expect([one!.width, one!.height]).toEqual([lone.width, lone.height]);
      const loneWant = packRgb8Cpu((await ref.render(pose, lone, { background: bg })).rgb);
      let loneOff = 0;
      for (let i = 0; i < loneWant.length; i++) loneOff += Math.abs(loneWant[i]! - one!.rgb[i]!) > 1 ? 1 : 0;
      expect(loneOff).toBe(0);
      // The float path: the reference renderer's image of the same posed cloud.
      const float = await pair.render(pose, cameras[1]!, { background: bg });
      const want = await ref.render(pose, cameras[1]!, { background: bg });
      let max = 0;
      for (let i = 0; i < want.rgb.length; i++) max = Math.max(max, Math.abs(want.rgb[i]! - float.rgb[i]!));
      expect(max).toBeLessThan(1e-4);
    }
  });

  it("slices an avatar into Gaussians that bake to the whole avatar's", async () => {
    const whole = new CpuAvatarRenderer(avatar, head);
    const part = new CpuAvatarRenderer(sliceAvatar(avatar, 1000, 1500), head);
    await whole.setLatents(avatar.neutralLatents);
    await part.setLatents(avatar.neutralLatents);
    const pose = poseFromControls({ jawOpen: 0.3 });
    const a = whole.deform(pose),
      b = part.deform(pose);
    expect(b.count).toBe(500);
    expect(Array.from(b.positions)).toEqual(Array.from(a.positions.subarray(3000, 4500)));
    expect(Array.from(b.colors)).toEqual(Array.from(a.colors.subarray(3000, 4500)));
    expect(() => sliceAvatar(avatar, 10, 5)).toThrow(/^sliceAvatar: \[10, 5\) is not a range of the avatar's 3001/);
  });

  it("answers a bad request with its reason and keeps rendering", async () => {
    await expect(pair.setLatents(new Float32Array(3))).rejects.toThrow(
      /^ThreadAvatarRenderer: CpuAvatarRenderer.setLatents: latents must hold \d+ numbers/,
    );
    const [img] = await pair.renderRgb8(poseFromControls({}), [cameras[0]!], { background: bg });
    expect(img!.rgb.length).toBe(96 * 80 * 3);
  });

  it("bakes without stalling the server's thread", async () => {
    const big = new ThreadAvatarRenderer(createRandomAvatar(COMPACT, head, { count: 12_000, seed: 5 }), 1);
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
    const t = new ThreadAvatarRenderer(avatar, 1);
    t.destroy();
    await expect(t.setLatents(avatar.neutralLatents)).rejects.toThrow(/the renderer was destroyed/);
    expect(() => new ThreadAvatarRenderer(avatar, 3)).toThrow(/^ThreadAvatarRenderer: threads must be 1 or 2, got 3/);
  });
});
