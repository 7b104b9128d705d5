import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { readAvatarBundleDir, writeAvatarBundleDir } from "./bundle-files";
import { COMPACT } from "../../render-core/avatar/config";
import { createRandomAvatar, type Avatar } from "../../render-core/avatar/avatar";
import { createHeadModel } from "../../render-core/head";

let avatar: Avatar;
let faces = 0;
beforeAll(() => {
  const head = createHeadModel();
  faces = head.faceCount;
  avatar = createRandomAvatar(COMPACT, head, { count: 100, seed: 9 });
});

describe("avatar bundles on disk", () => {
  it("writes a folder and reads it back unchanged", async () => {
    const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "bundle-")), "demo");
    await writeAvatarBundleDir(dir, avatar, { name: "demo" });
    expect(fs.readdirSync(dir).sort()).toEqual(["deformer.onnx", "gaussian.onnx", "gaussians.bin", "geometry.onnx", "manifest.json", "weights.bin"]);
    expect(await readAvatarBundleDir(dir, { headFaceCount: faces })).toEqual(avatar);
    // Overwriting replaces the folder whole.
    await writeAvatarBundleDir(dir, { ...avatar, anchors: [] });
    expect((await readAvatarBundleDir(dir)).anchors).toEqual([]);
  });

  it("says which folder or file is missing", async () => {
    await expect(readAvatarBundleDir("/nonexistent/bundle")).rejects.toThrow(/\/nonexistent\/bundle is not a folder/);
    const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "bundle-")), "b");
    await writeAvatarBundleDir(dir, avatar);
    fs.rmSync(path.join(dir, "weights.bin"));
    await expect(readAvatarBundleDir(dir)).rejects.toThrow(/weights.bin is missing/);
  });

  it("leaves nothing behind when writing fails", async () => {
    const parent = fs.mkdtempSync(path.join(os.tmpdir(), "bundle-"));
    await expect(writeAvatarBundleDir(path.join(parent, "x"), { ...avatar, points: new Float32Array(5) })).rejects.toThrow(/points holds 5 numbers/);
    expect(fs.readdirSync(parent)).toEqual([]);
  });
});
