import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readAvatarBundleDir, writeAvatarBundleDir } from "./bundle-files";
import { AvatarBundleError } from "../../render-core/formats/avatar-bundle";
import { COMPACT } from "../../render-core/avatar/config";
import { createRandomAvatar, type Avatar } from "../../render-core/avatar/avatar";
import { createHeadModel } from "../../render-core/head";

let avatar: Avatar;
let faces = 0;
beforeAll(() => {
  const head = createHeadModel();
  faces = head.faceCount;
  avatar = createRandomAvatar(COMPACT, head, { count: 100, seed: 9 });
  avatar.anchors[1]!.thumbnail = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 7]);
});

const scratches: string[] = [];
const scratch = () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bundle-"));
  scratches.push(dir);
  return dir;
};
afterAll(() => scratches.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

async function refusal(p: Promise<unknown>): Promise<AvatarBundleError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AvatarBundleError);
  return err as AvatarBundleError;
}

describe("avatar bundles on disk", () => {
  it("writes a folder and reads it back unchanged", async () => {
    const parent = scratch();
    const dir = path.join(parent, "avatars", "demo");
    await writeAvatarBundleDir(dir, avatar, { name: "demo", headFaceCount: faces });
    expect(fs.readdirSync(dir).sort()).toEqual([
      "deformer.onnx",
      "gaussian.onnx",
      "gaussians.bin",
      "geometry.onnx",
      "manifest.json",
      "thumbs",
      "weights.bin",
    ]);
    expect(fs.readdirSync(path.join(dir, "thumbs"))).toEqual(["source-1.png"]);
    expect(await readAvatarBundleDir(dir, { headFaceCount: faces })).toEqual(avatar);
    // Overwriting replaces the folder whole: the old thumbnail goes with it, and no temporary folder stays.
    await writeAvatarBundleDir(dir, { ...avatar, anchors: [] });
    expect((await readAvatarBundleDir(dir)).anchors).toEqual([]);
    expect(fs.existsSync(path.join(dir, "thumbs"))).toBe(false);
    expect(fs.readdirSync(path.join(parent, "avatars"))).toEqual(["demo"]);
  });

  it("says which folder or file is missing", async () => {
    const gone = await refusal(readAvatarBundleDir("/nonexistent/bundle"));
    expect(gone.code).toBe("missing-file");
    expect(gone.message).toMatch(/readAvatarBundleDir: \/nonexistent\/bundle is not a folder/);
    const dir = path.join(scratch(), "b");
    await writeAvatarBundleDir(dir, avatar);
    fs.rmSync(path.join(dir, "weights.bin"));
    const err = await refusal(readAvatarBundleDir(dir));
    expect(err.code).toBe("missing-file");
    expect(err.message).toMatch(/weights.bin is missing or unreadable \(ENOENT\)/);
  });

  it("checks sizes on disk before reading, and refuses a folder where a file should be", async () => {
    const dir = path.join(scratch(), "b");
    await writeAvatarBundleDir(dir, avatar);
    fs.appendFileSync(path.join(dir, "gaussians.bin"), Uint8Array.of(0));
    const err = await refusal(readAvatarBundleDir(dir));
    expect([err.code, err.message]).toEqual([
      "size",
      "readAvatarBundle: gaussians.bin holds 2801 bytes, the manifest says 2800 (truncated or replaced?)",
    ]);
    fs.rmSync(path.join(dir, "gaussians.bin"));
    fs.mkdirSync(path.join(dir, "gaussians.bin"));
    const err2 = await refusal(readAvatarBundleDir(dir));
    expect(err2.message).toMatch(/gaussians.bin in .* is not a file/);
  });

  it("leaves nothing behind when writing fails, and keeps the bundle it was replacing", async () => {
    const parent = scratch();
    await expect(
      writeAvatarBundleDir(path.join(parent, "x"), { ...avatar, points: new Float32Array(5) }),
    ).rejects.toThrow(/writeAvatarBundle: points holds 5 numbers, the avatar needs 300/);
    expect(fs.readdirSync(parent)).toEqual([]);
    const dir = path.join(parent, "kept");
    await writeAvatarBundleDir(dir, avatar, { name: "kept" });
    await expect(writeAvatarBundleDir(dir, { ...avatar, anchorBary: new Float32Array(300) })).rejects.toThrow(
      /barycentric weights do not lie on its face/,
    );
    expect(fs.readdirSync(parent)).toEqual(["kept"]);
    expect(await readAvatarBundleDir(dir)).toEqual(avatar);
  });

  it("refuses to replace something that is not a folder", async () => {
    const parent = scratch();
    fs.writeFileSync(path.join(parent, "taken"), "not a bundle");
    await expect(writeAvatarBundleDir(path.join(parent, "taken"), avatar)).rejects.toThrow(
      /writeAvatarBundleDir: .*taken exists and is not a folder/,
    );
    expect(fs.readdirSync(parent)).toEqual(["taken"]);
    expect(fs.readFileSync(path.join(parent, "taken"), "utf8")).toBe("not a bundle");
  });
});
