import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import sharp from "sharp";

const run = (args: string[]) =>
  spawnSync(process.execPath, ["--import", "tsx", "server/cli/render.ts", ...args], {
    encoding: "utf8",
    env: { ...process.env, XDG_RUNTIME_DIR: "/tmp" },
  });

describe("render command", () => {
  it("writes a PNG of a generated head whose centre is not the background", async () => {
    const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "render-")), "head.png");
    const r = run([
      "--scene",
      "head:5000",
      "--backend",
      "cpu",
      "--width",
      "96",
      "--height",
      "80",
      "--out",
      out,
      "--background",
      "0,0,1",
    ]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/rendered 5,000 splats at 96x80 with cpu/);
    const { data, info } = await sharp(out).raw().toBuffer({ resolveWithObject: true });
    expect([info.width, info.height]).toEqual([96, 80]);
    const centre = (40 * 96 + 48) * info.channels;
    // Background is pure blue; the head's skin is mostly red.
    expect(data[centre]!).toBeGreaterThan(100);
    expect(data[0 + 2]!).toBe(255);
  });

  it("renders exactly the view of a camera file", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "render-"));
    const cam = path.join(dir, "cam.json");
    // A camera 0.6 m in front of the face looking back along -z (what lookAt gives): OpenCV x = world x, y = -world y.
    fs.writeFileSync(
      cam,
      JSON.stringify({
        width: 40,
        height: 30,
        fx: 50,
        fy: 50,
        cx: 20,
        cy: 15,
        worldToCamera: [1, 0, 0, 0, 0, -1, 0, 0, 0, 0, -1, 0.6, 0, 0, 0, 1],
      }),
    );
    const out = path.join(dir, "cam.png");
    const r = run(["--scene", "head:3000", "--backend", "cpu", "--camera", cam, "--out", out, "--background", "0,0,1"]);
    expect(r.status, r.stderr).toBe(0);
    const { data, info } = await sharp(out).raw().toBuffer({ resolveWithObject: true });
    expect([info.width, info.height]).toEqual([40, 30]);
    // The world origin (between the eyes and the mouth) projects to the centre: skin, not blue.
    const centre = (15 * 40 + 20) * info.channels;
    expect(data[centre]!).toBeGreaterThan(100);
    expect(data[centre + 2]!).toBeLessThan(200);
  });

  it("explains bad arguments with one line, the usage and exit code 2", () => {
    const unknown = run(["--scene", "head:10", "--out", "/tmp/x.png", "--frobnicate"]);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toMatch(/render: Unknown option '--frobnicate'/);
    expect(unknown.stderr).toMatch(/usage: npm run render/);
    const clash = run(["--scene", "head:10", "--out", "/tmp/x.png", "--camera", "cam.json", "--yaw", "30"]);
    expect(clash.stderr).toMatch(/--camera fixes the view and size; drop --yaw/);
    const width = run(["--scene", "head:10", "--out", "/tmp/x.png", "--width", "12.5"]);
    expect(width.stderr).toMatch(/--width must be a whole number, got "12.5"/);
    const scene = run(["--scene", "cube:10", "--out", "/tmp/x.png"]);
    expect(scene.stderr).toMatch(/--scene must be head:N or random:N, got "cube:10"/);
    for (const r of [clash, width, scene]) expect(r.status).toBe(2);
  });

  it("explains missing and damaged files without a stack trace", () => {
    const missing = run(["no-such.ply", "--out", "/tmp/x.png"]);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/render: no such file: no-such\.ply/);
    const backend = run(["head:10", "--out", "/tmp/x.png", "--backend", "vulkan"]);
    expect(backend.stderr).toMatch(/--backend must be cpu or webgpu/);
    const bad = path.join(os.tmpdir(), "bad-scene.ply");
    fs.writeFileSync(bad, "ply\nformat ascii 1.0\nelement vertex 1\nproperty float x\nend_header\n1\n");
    const garbage = run([bad, "--out", "/tmp/x.png"]);
    expect(garbage.status).toBe(1);
    expect(garbage.stderr).toMatch(/render: readPly: not a Gaussian-splat PLY: missing y/);
    expect(garbage.stderr).not.toMatch(/\s+at /);
    const badGlb = path.join(os.tmpdir(), "bad-scene.glb");
    fs.writeFileSync(badGlb, "glTF\x02\x00\x00\x00");
    const glb = run([badGlb, "--out", "/tmp/x.png"]);
    expect(glb.stderr).toMatch(/render: readGlb: /);
    expect(glb.stderr).not.toMatch(/\s+at /);
  });
});
