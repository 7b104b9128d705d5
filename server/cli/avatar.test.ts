import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { main } from "./avatar";
import { writeAvatarBundleDir } from "../avatar/bundle-files";
import { COMPACT } from "../../render-core/avatar/config";
import { createRandomAvatar } from "../../render-core/avatar/avatar";
import { createHeadModel } from "../../render-core/head";

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), "avatar-cli-"));

describe("npm run avatar -- render", () => {
  it("renders a bundle playing a clip file to a PNG sequence and a contact sheet", async () => {
    const dir = tmp();
    const head = createHeadModel();
    await writeAvatarBundleDir(path.join(dir, "bundle"), createRandomAvatar(COMPACT, head, { count: 1500, seed: 2 }));
    fs.writeFileSync(path.join(dir, "open.csv"), "time,jaw.x\n0,0\n0.2,0.3\n");
    const out = path.join(dir, "out");
    await main([
      "render",
      "--bundle",
      path.join(dir, "bundle"),
      "--clip",
      path.join(dir, "open.csv"),
      "--fps",
      "10",
      "--size",
      "48",
      "--backend",
      "cpu",
      "--sheet",
      "3",
      "--out",
      out,
    ]);
    expect(fs.readdirSync(out).sort()).toEqual(["contact-sheet.png", "frame-0000.png", "frame-0001.png"]);
    const first = await sharp(path.join(out, "frame-0000.png")).raw().toBuffer({ resolveWithObject: true });
    expect(first.info.width).toBe(48);
    // The head covers the middle of the picture: it differs from the background there.
    const mid = (24 * 48 + 24) * first.info.channels;
    expect(
      Math.abs(first.data[mid]! - 41) + Math.abs(first.data[mid + 1]! - 43) + Math.abs(first.data[mid + 2]! - 51),
    ).toBeGreaterThan(10);
    const a = fs.readFileSync(path.join(out, "frame-0000.png")),
      b = fs.readFileSync(path.join(out, "frame-0001.png"));
    expect(a.equals(b)).toBe(false); // the jaw moved
  }, 60_000);

  it("explains bad arguments and bad bundles in one line", async () => {
    const dir = tmp();
    await expect(main(["render", "--random", "compact"])).rejects.toThrow(/--out DIR is required/);
    await expect(main(["render", "--random", "huge", "--out", dir])).rejects.toThrow(/--random takes compact or paper/);
    await expect(main(["render", "--random", "compact", "--bundle", dir, "--out", dir])).rejects.toThrow(
      /exactly one of --bundle/,
    );
    await expect(main(["render", "--random", "compact", "--clip", "dance", "--out", dir])).rejects.toThrow(
      /no built-in clip "dance" \(have talk, smile, blink, turn, nod, showcase\)/,
    );
    await expect(
      main(["render", "--random", "compact", "--anchor", "hair=7", "--out", dir, "--count", "10"]),
    ).rejects.toThrow(/hair has 2 anchors \(0 to 1\), got 7/);
    await expect(main(["render", "--bundle", dir, "--out", dir])).rejects.toThrow(/manifest.json is missing/);
    await expect(main(["paint"])).rejects.toThrow(/unknown command "paint"/);
  }, 60_000);
});
