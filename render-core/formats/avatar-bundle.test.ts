import { beforeAll, describe, expect, it } from "vitest";
import { AvatarBundleError, readAvatarBundle, writeAvatarBundle } from "./avatar-bundle";
import { COMPACT } from "../avatar/config";
import { createRandomAvatar, type Avatar } from "../avatar/avatar";
import { createHeadModel, type HeadModel } from "../head";

let head: HeadModel;
let avatar: Avatar;
beforeAll(() => {
  head = createHeadModel();
  avatar = createRandomAvatar(COMPACT, head, { count: 200, seed: 3 });
  avatar.anchors[0]!.thumbnail = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3]);
});

const reader = (files: Map<string, Uint8Array>) => ({
  read: async (name: string) => {
    const f = files.get(name);
    if (!f) throw new Error("ENOENT");
    return f;
  },
  size: async (name: string) => {
    const f = files.get(name);
    if (!f) throw new Error("ENOENT");
    return f.byteLength;
  },
});

async function load(files: Map<string, Uint8Array>) {
  const { read, size } = reader(files);
  return readAvatarBundle(read, { size, headFaceCount: head.faceCount, headShapeCount: head.shapeNames.length });
}

async function sha256(bytes: Uint8Array): Promise<string> {
  const d = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(d), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** A bundle with its manifest edited (and, optionally, a file replaced with its checksum updated). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests edit the manifest freely
async function edited(edit: (m: Record<string, any>) => void, replace?: [string, Uint8Array]): Promise<Map<string, Uint8Array>> {
  const files = await writeAvatarBundle(avatar, { createdAt: "2026-11-24T00:00:00Z" });
  const m = JSON.parse(new TextDecoder().decode(files.get("manifest.json")));
  if (replace) {
    files.set(replace[0], replace[1]);
    m.files[replace[0]] = { bytes: replace[1].byteLength, sha256: await sha256(replace[1]) };
  }
  edit(m);
  files.set("manifest.json", new TextEncoder().encode(JSON.stringify(m)));
  return files;
}

async function expectRefused(files: Map<string, Uint8Array>, code: string, message: RegExp) {
  const err = await load(files).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AvatarBundleError);
  expect((err as AvatarBundleError).code).toBe(code);
  expect((err as Error).message).toMatch(message);
}

describe("avatar bundle", () => {
  it("round-trips an avatar bit for bit, with ONNX files and thumbnails", async () => {
    const files = await writeAvatarBundle(avatar);
    expect([...files.keys()].sort()).toEqual(["deformer.onnx", "gaussian.onnx", "gaussians.bin", "geometry.onnx", "manifest.json", "thumbs/source-0.png", "weights.bin"]);
    const back = await load(files);
    expect(back).toEqual(avatar);
  });

  it("refuses a truncated file before parsing it", async () => {
    const files = await writeAvatarBundle(avatar);
    files.set("gaussians.bin", files.get("gaussians.bin")!.subarray(0, 100));
    await expectRefused(files, "size", /gaussians.bin holds 100 bytes, the manifest says 5600/);
  });

  it("refuses a file that does not match its checksum", async () => {
    const files = await writeAvatarBundle(avatar);
    const w = files.get("weights.bin")!.slice();
    w[10]! ^= 1;
    files.set("weights.bin", w);
    await expectRefused(files, "checksum", /weights.bin does not match its SHA-256/);
  });

  it("refuses a huge declared count before allocating anything", async () => {
    await expectRefused(await edited((m) => (m.count = 1e9)), "size", /1,000,000,000 Gaussians is over the limit/);
    await expectRefused(await edited((m) => (m.files["gaussians.bin"].bytes = 2 ** 31)), "size", /add up to .* bytes, over the limit/);
  });

  it("refuses file names that leave the bundle", async () => {
    await expectRefused(await edited((m) => (m.files["../etc/passwd"] = { bytes: 1, sha256: "0".repeat(64) })), "path", /"..\/etc\/passwd" is not allowed/);
    await expectRefused(await edited((m) => (m.files["/abs"] = { bytes: 1, sha256: "0".repeat(64) })), "path", /not allowed/);
  });

  it("refuses NaN in the weights", async () => {
    const files = await writeAvatarBundle(avatar);
    const w = files.get("weights.bin")!.slice();
    new DataView(w.buffer).setFloat32(8, NaN, true);
    await expectRefused(await edited(() => {}, ["weights.bin", w]), "non-finite", /tensor "geometry" holds NaN at index 2/);
  });

  it("refuses anchors, versions, configs and shapes that do not fit", async () => {
    await expectRefused(await edited((m) => (m.anchors[1].category = "wings")), "anchor", /category "wings", which the config does not have/);
    await expectRefused(await edited((m) => (m.anchors[1].latent = [1, 2])), "anchor", /holds 2 numbers, the latent size is 32/);
    await expectRefused(await edited((m) => (m.version = 2)), "version", /version 2 needs a newer PERSE Studio/);
    await expectRefused(await edited((m) => (m.config.latentDim = 0)), "config", /latentDim/);
    await expectRefused(await edited((m) => (m.config.geometry.width = 65)), "tensor", /tensor "geometry" is f32 \[\d+\], the config needs f32 \[\d+\]/);
    await expectRefused(await edited((m) => (m.tensors.points.offset = 2)), "tensor", /does not lie inside/);
    await expectRefused(await edited((m) => (m.head.shape = [1, 2])), "head", /head.shape holds 2 coefficients/);
    await expectRefused(await edited((m) => (m.anchors[0].thumbnail = "weights.bin")), "anchor", /weights.bin is not a PNG/);
  });

  it("refuses what is not a bundle at all", async () => {
    const files = new Map([["manifest.json", new TextEncoder().encode("{ nope")]]);
    await expectRefused(files, "manifest", /manifest.json is not JSON/);
    await expectRefused(new Map([["manifest.json", new TextEncoder().encode("[]")]]), "manifest", /not an avatar bundle/);
    await expectRefused(new Map(), "missing-file", /manifest.json is missing/);
    const files2 = await writeAvatarBundle(avatar);
    files2.delete("geometry.onnx");
    await expectRefused(files2, "missing-file", /geometry.onnx is missing/);
  });

  it("refuses anchor faces the head model does not have", async () => {
    const files = await writeAvatarBundle(avatar);
    const g = files.get("gaussians.bin")!.slice();
    new DataView(g.buffer).setUint32(200 * 12, head.faceCount + 5, true);
    await expectRefused(await edited(() => {}, ["gaussians.bin", g]), "tensor", /Gaussian 0 hangs on face \d+, the head model has/);
  });
});
