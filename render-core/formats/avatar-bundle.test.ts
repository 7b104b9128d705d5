import { beforeAll, describe, expect, it } from "vitest";
import {
  AvatarBundleError,
  readAvatarBundle,
  writeAvatarBundle,
  type AvatarBundleManifest,
  type ReadAvatarBundleOptions,
} from "./avatar-bundle";
import { COMPACT } from "../avatar/config";
import { avatarSpecs, createRandomAvatar, type Avatar } from "../avatar/avatar";
import { mlpParamCount } from "../avatar/mlp";
import { createHeadModel, type HeadModel } from "../head";
import { mulberry32 } from "../math/prng";

const N = 200;
const CREATED = "2026-11-24T00:00:00.000Z";
let head: HeadModel;
let avatar: Avatar;
/** The bundle of `avatar`, written once; tests copy the map and replace entries, never edit bytes in place. */
let base: Map<string, Uint8Array>;

beforeAll(async () => {
  head = createHeadModel();
  avatar = createRandomAvatar(COMPACT, head, { count: N, seed: 3 });
  avatar.anchors[0]!.thumbnail = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3]);
  avatar.anchors[3]!.thumbnail = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 4, 5]);
  base = await writeAvatarBundle(avatar, { name: "test", createdAt: CREATED, headFaceCount: head.faceCount });
});

/** In-memory files that record which names were read. */
function source(files: Map<string, Uint8Array>) {
  const reads: string[] = [];
  const get = (name: string) => {
    const f = files.get(name);
    if (!f) throw Object.assign(new Error(`no ${name}`), { code: "ENOENT" });
    return f;
  };
  return {
    reads,
    read: async (name: string) => (reads.push(name), get(name)),
    size: async (name: string) => get(name).byteLength,
  };
}

function load(files: Map<string, Uint8Array>, options: ReadAvatarBundleOptions = {}) {
  const { read, size } = source(files);
  return readAvatarBundle(read, {
    size,
    headFaceCount: head.faceCount,
    headShapeCount: head.shapeNames.length,
    ...options,
  });
}

async function sha256(bytes: Uint8Array): Promise<string> {
  const d = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(d), (b) => b.toString(16).padStart(2, "0")).join("");
}

const manifestOf = (files: Map<string, Uint8Array>): AvatarBundleManifest =>
  JSON.parse(new TextDecoder().decode(files.get("manifest.json")));

/** A bundle (default the base) with its manifest edited and, optionally, a file replaced (its size and checksum updated to match). */
async function edited(
  edit: (m: any) => void, // eslint-disable-line @typescript-eslint/no-explicit-any -- hostile manifests break the manifest's type on purpose
  replace?: [string, Uint8Array],
  from = base,
): Promise<Map<string, Uint8Array>> {
  const files = new Map(from);
  const m = manifestOf(files);
  if (replace) {
    files.set(replace[0], replace[1]);
    m.files[replace[0]] = { bytes: replace[1].byteLength, sha256: await sha256(replace[1]) };
  }
  edit(m);
  files.set("manifest.json", new TextEncoder().encode(JSON.stringify(m)));
  return files;
}

/** A copy of a base file with `write` applied through a little-endian DataView. */
function patched(name: string, write: (v: DataView) => void): [string, Uint8Array] {
  const bytes = base.get(name)!.slice();
  write(new DataView(bytes.buffer));
  return [name, bytes];
}

async function refusal(
  files: Map<string, Uint8Array>,
  options: ReadAvatarBundleOptions = {},
): Promise<AvatarBundleError> {
  const err = await load(files, options).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AvatarBundleError);
  return err as AvatarBundleError;
}

async function expectRefused(files: Map<string, Uint8Array>, code: string, message: RegExp) {
  const err = await refusal(files);
  expect(err.code).toBe(code);
  expect(err.message).toMatch(message);
}

/** The first byte where a and b differ, or -1 (their lengths differing counts as a difference at the shorter length); vitest's deep equality is too slow for megabytes. */
function firstDifference(a: ArrayBufferView, b: ArrayBufferView): number {
  const x = new Uint8Array(a.buffer, a.byteOffset, a.byteLength),
    y = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return i;
  return x.length === y.length ? -1 : Math.min(x.length, y.length);
}

describe("avatar bundle", () => {
  it("round-trips an avatar bit for bit, with ONNX files and thumbnails", async () => {
    expect([...base.keys()].sort()).toEqual([
      "deformer.onnx",
      "gaussian.onnx",
      "gaussians.bin",
      "geometry.onnx",
      "manifest.json",
      "thumbs/hair-1.png",
      "thumbs/source-0.png",
      "weights.bin",
    ]);
    const back = await load(base);
    // Bit-identical floats first (cheap, and stricter than deep equality on -0 or NaN), then everything else.
    for (const [a, b] of [
      [back.points, avatar.points],
      [back.anchorBary, avatar.anchorBary],
      [back.weights.geometry, avatar.weights.geometry],
      [back.weights.deformer, avatar.weights.deformer],
      [back.weights.gaussian, avatar.weights.gaussian],
      [back.neutralLatents, avatar.neutralLatents],
      [back.anchors[5]!.latent, avatar.anchors[5]!.latent],
    ] as const) {
      expect(firstDifference(a, b)).toBe(-1);
    }
    expect(firstDifference(back.anchorFace, avatar.anchorFace)).toBe(-1);
    expect(back).toEqual(avatar);
  });

  it("carries the portrait thumbnail of an avatar made from a photo", async () => {
    const portrait = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 9, 8, 7]);
    const files = await writeAvatarBundle({ ...avatar, portrait }, { name: "test", createdAt: CREATED });
    expect(manifestOf(files).portrait).toBe("portrait.png");
    expect(firstDifference((await load(files)).portrait!, portrait)).toBe(-1);
    expect((await load(base)).portrait).toBeUndefined();
    await expect(writeAvatarBundle({ ...avatar, portrait: Uint8Array.from([1, 2, 3]) })).rejects.toThrow(
      /portrait thumbnail is not a PNG/,
    );
  });

  it("carries the per-Gaussian appearance in appearance.bin, and loads a bundle without it as none", async () => {
    const rand = mulberry32(4);
    const appearance = new Float32Array(N * 3).map(() => 4 * rand() - 2);
    const files = await writeAvatarBundle({ ...avatar, appearance }, { name: "test", createdAt: CREATED });
    const m = manifestOf(files);
    expect(m.tensors.appearance).toEqual({
      file: "appearance.bin",
      offset: 0,
      byteLength: N * 12,
      dtype: "f32",
      shape: [N, 3],
    });
    expect(m.files["appearance.bin"]!.bytes).toBe(N * 12);
    const back = await load(files);
    expect(firstDifference(back.appearance!, appearance)).toBe(-1);
    expect(back).toEqual({ ...avatar, appearance });
    // Bundles written before the residual existed: no file, no tensor, nothing to add.
    expect(base.has("appearance.bin")).toBe(false);
    expect((await load(base)).appearance).toBeUndefined();
    // Checked like every other tensor.
    await expectRefused(
      await edited((x) => (x.tensors.appearance.shape = [N, 11]), undefined, files),
      "tensor",
      /tensor "appearance" is f32 \[200, 11\], the config and count need f32 \[200, 3\]/,
    );
    const nan = files.get("appearance.bin")!.slice();
    new DataView(nan.buffer).setFloat32(4 * 17, NaN, true);
    await expectRefused(
      await edited(() => {}, ["appearance.bin", nan], files),
      "non-finite",
      /tensor "appearance" holds NaN at index 17/,
    );
    await expect(writeAvatarBundle({ ...avatar, appearance: new Float32Array(5) })).rejects.toThrow(
      /writeAvatarBundle: appearance holds 5 numbers, the avatar needs 600/,
    );
  });

  it("lays out tensors tightly and lists every file but the manifest with its checksum", async () => {
    const m = manifestOf(base);
    expect(m.tensors.points).toEqual({
      file: "gaussians.bin",
      offset: 0,
      byteLength: N * 12,
      dtype: "f32",
      shape: [N, 3],
    });
    expect(m.tensors.anchorFace).toEqual({
      file: "gaussians.bin",
      offset: N * 12,
      byteLength: N * 4,
      dtype: "u32",
      shape: [N],
    });
    expect(m.tensors.anchorBary).toEqual({
      file: "gaussians.bin",
      offset: N * 16,
      byteLength: N * 12,
      dtype: "f32",
      shape: [N, 3],
    });
    const P = avatarSpecs(COMPACT);
    expect(m.tensors.deformer!.offset).toBe(mlpParamCount(P.geometry) * 4);
    expect(m.tensors.gaussian!.byteLength).toBe(mlpParamCount(P.gaussian) * 4);
    expect(base.get("gaussians.bin")!.byteLength).toBe(N * 28);
    expect(new DataView(base.get("gaussians.bin")!.buffer).getUint32(N * 12 + 4 * 7, true)).toBe(avatar.anchorFace[7]);
    expect(Object.keys(m.files).sort()).toEqual([...base.keys()].filter((k) => k !== "manifest.json").sort());
    expect(m.files["weights.bin"]!.sha256).toBe(await sha256(base.get("weights.bin")!));
    expect(m.anchors[3]).toMatchObject({ category: "hair", label: "random B", thumbnail: "thumbs/hair-1.png" });
    expect(m.neutralLatents.length).toBe(COMPACT.categories.length);
    expect(m.head).toEqual({ model: "perse-head-v1", shape: new Array(head.shapeNames.length).fill(0) });
    // Same avatar, same time stamp: the same bytes, so bundles can be compared by hash.
    const again = await writeAvatarBundle(avatar, { name: "test", createdAt: CREATED });
    expect([...again.keys()]).toEqual([...base.keys()]);
    for (const [k, v] of again) expect(firstDifference(v, base.get(k)!), k).toBe(-1);
  });

  it("refuses a truncated file by its size before reading it", async () => {
    const files = new Map(base).set("gaussians.bin", base.get("gaussians.bin")!.subarray(0, 100));
    const src = source(files);
    const err = await readAvatarBundle(src.read, { size: src.size }).catch((e: AvatarBundleError) => e);
    expect(err).toMatchObject({
      code: "size",
      message: expect.stringMatching(/gaussians.bin holds 100 bytes, the manifest says 5600/),
    });
    expect(src.reads).toEqual(["manifest.json"]);
    // Without a size() (a browser fetch) it is caught once read.
    const err2 = await readAvatarBundle(src.read).catch((e: AvatarBundleError) => e);
    expect(err2).toMatchObject({ code: "size", message: expect.stringMatching(/gaussians.bin holds 100 bytes/) });
  });

  it("refuses a file that does not match its checksum", async () => {
    const w = base.get("weights.bin")!.slice();
    w[10]! ^= 1;
    await expectRefused(new Map(base).set("weights.bin", w), "checksum", /weights.bin does not match its SHA-256/);
  });

  it("refuses a count of a billion with tiny files from the manifest alone", async () => {
    const files = await edited((m) => (m.count = 1e9));
    const src = source(files);
    const err = await readAvatarBundle(src.read, { size: src.size }).catch((e: AvatarBundleError) => e);
    expect(err).toMatchObject({
      code: "size",
      message: expect.stringMatching(/1,000,000,000 Gaussians is over the limit of 2,000,000/),
    });
    expect(src.reads).toEqual(["manifest.json"]);
    // Under a raised limit the tensors' declared shapes no longer fit their tiny files, still before any read.
    const src2 = source(
      await edited((m) => ((m.count = 1e9), (m.tensors.points.shape = [1e9, 3]), (m.tensors.points.byteLength = 12e9))),
    );
    const err2 = await readAvatarBundle(src2.read, { size: src2.size, maxGaussians: 2e9 }).catch(
      (e: AvatarBundleError) => e,
    );
    expect(err2).toMatchObject({
      code: "tensor",
      message: expect.stringMatching(/tensor "points" .* does not lie inside gaussians.bin \(5600 bytes\)/),
    });
    expect(src2.reads).toEqual(["manifest.json"]);
  });

  it("refuses files that add up to more than the byte limit", async () => {
    await expectRefused(
      await edited((m) => (m.files["gaussians.bin"].bytes = 2 ** 31)),
      "size",
      /add up to 2,1\d\d,\d{3},\d{3} bytes, over the limit of 1,073,741,824/,
    );
    const err = await refusal(base, { maxBytes: 1000 });
    expect(err.code).toBe("size");
  });

  it("refuses a manifest over 4 MB without parsing it", async () => {
    const text = new TextDecoder().decode(base.get("manifest.json")) + " ".repeat(4 * 1024 * 1024);
    await expectRefused(
      new Map(base).set("manifest.json", new TextEncoder().encode(text)),
      "size",
      /manifest.json is over 4 MB/,
    );
  });

  it.each(["../x", "/etc/passwd", "thumbs/../x", "thumbs\\x.png", "a/b.bin", "Weights.bin", "x..bin", "manifest.json"])(
    "refuses the file name %j",
    async (name) => {
      await expectRefused(
        await edited((m) => (m.files[name] = { bytes: 1, sha256: "0".repeat(64) })),
        "path",
        new RegExp(`file name "${name.replace(/[.\\/]/g, "\\$&")}" is not allowed`),
      );
    },
  );

  it("refuses NaN in the weights even with a matching checksum", async () => {
    await expectRefused(
      await edited(
        () => {},
        patched("weights.bin", (v) => v.setFloat32(8, NaN, true)),
      ),
      "non-finite",
      /tensor "geometry" holds NaN at index 2/,
    );
  });

  it("refuses infinity in the Gaussians", async () => {
    await expectRefused(
      await edited(
        () => {},
        patched("gaussians.bin", (v) => v.setFloat32(4 * 31, -Infinity, true)),
      ),
      "non-finite",
      /tensor "points" holds -Infinity at index 31/,
    );
  });

  it("refuses an anchor for a category the config does not have", async () => {
    await expectRefused(
      await edited((m) => (m.anchors[1].category = "wings")),
      "anchor",
      /anchor 1 \("random B"\) is for category "wings", which the config does not have \(source, hair/,
    );
  });

  it("refuses a newer format version and says which one is needed", async () => {
    await expectRefused(
      await edited((m) => (m.version = 2)),
      "version",
      /format version 2; this PERSE Studio reads version 1, so update it to one that reads version 2/,
    );
    await expectRefused(await edited((m) => (m.version = "1")), "version", /format version "1" is not supported/);
  });

  it("refuses a manifest that is not JSON or not a bundle's", async () => {
    await expectRefused(
      new Map([["manifest.json", new TextEncoder().encode("{ nope")]]),
      "manifest",
      /manifest.json is not JSON/,
    );
    await expectRefused(
      new Map([["manifest.json", Uint8Array.of(0xff, 0xfe, 0x7b)]]),
      "manifest",
      /manifest.json is not JSON/,
    );
    await expectRefused(
      new Map([["manifest.json", new TextEncoder().encode("[]")]]),
      "manifest",
      /not an avatar bundle: manifest.json must say "format": "perse-avatar"/,
    );
    await expectRefused(await edited((m) => delete m.networks), "manifest", /networks/);
  });

  it("refuses weights of the wrong length for the config", async () => {
    const P = mlpParamCount(avatarSpecs(COMPACT).deformer);
    await expectRefused(
      await edited((m) => ((m.tensors.deformer.shape = [P - 1]), (m.tensors.deformer.byteLength = 4 * (P - 1)))),
      "tensor",
      new RegExp(`tensor "deformer" is f32 \\[${P - 1}\\], the config and count need f32 \\[${P}\\]`),
    );
    // A config edited to a wider trunk no longer matches the stored weights.
    await expectRefused(
      await edited((m) => (m.config.geometry.width = 65)),
      "tensor",
      /tensor "geometry" is f32 \[65750\], the config and count need f32 \[\d+\]/,
    );
  });

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  it.each<[string, (m: any) => void, string, RegExp]>([
    ["an invalid config", (m) => (m.config.latentDim = 0), "config", /parseAvatarModelConfig: latentDim/],
    [
      "another head model",
      (m) => (m.head.model = "flame-2023"),
      "head",
      /made for head model "flame-2023", this build has "perse-head-v1"/,
    ],
    [
      "a head shape of the wrong length",
      (m) => (m.head.shape = [1, 2]),
      "head",
      /head.shape holds 2 coefficients, the head model has 24/,
    ],
    [
      "a misaligned tensor",
      (m) => (m.tensors.anchorBary.offset += 2),
      "tensor",
      /starts at byte 3202 of gaussians.bin, which is not a multiple of 4/,
    ],
    [
      "a tensor past the end of its file",
      (m) => (m.tensors.anchorBary.offset += 4),
      "tensor",
      /tensor "anchorBary" \(offset 3204, 2400 bytes\) does not lie inside gaussians.bin \(5600 bytes\)/,
    ],
    [
      "a tensor in an unlisted file",
      (m) => (m.tensors.points.file = "constructor"),
      "tensor",
      /in "constructor", which the manifest's files do not list/,
    ],
    [
      "a missing tensor",
      (m) => delete m.tensors.anchorFace,
      "tensor",
      /tensor "anchorFace" is missing from the manifest/,
    ],
    [
      "a network reusing the Gaussians' tensor",
      (m) => (m.networks.gaussian.tensor = "points"),
      "tensor",
      /network "gaussian" uses tensor "points"/,
    ],
    [
      "a latent of the wrong size",
      (m) => (m.anchors[1].latent = [1, 2]),
      "anchor",
      /anchor 1 \("random B"\)'s latent holds 2 numbers, the latent size is 32/,
    ],
    [
      "a latent beyond float32",
      (m) => (m.neutralLatents[2][5] = 1e39),
      "non-finite",
      /neutralLatents\[2\] \(beard\) holds 1e\+39 at index 5/,
    ],
    [
      "a missing neutral latent row",
      (m) => m.neutralLatents.pop(),
      "anchor",
      /neutralLatents has 8 rows, the config has 9 categories/,
    ],
    [
      "a thumbnail that is not a PNG",
      (m) => (m.anchors[0].thumbnail = "weights.bin"),
      "anchor",
      /weights.bin, the thumbnail of anchor 0, is not a PNG/,
    ],
    [
      "a portrait that is not a PNG",
      (m) => (m.portrait = "weights.bin"),
      "anchor",
      /weights.bin, the portrait thumbnail, is not a PNG/,
    ],
    [
      "a thumbnail that is not listed",
      (m) => (m.anchors[2].thumbnail = "thumbs/x.png"),
      "missing-file",
      /thumbs\/x.png is not listed/,
    ],
  ])("refuses %s", async (_what, edit, code, message) => {
    await expectRefused(await edited(edit), code, message);
  });

  it("refuses anchor faces the head model does not have", async () => {
    const files = await edited(
      () => {},
      patched("gaussians.bin", (v) => v.setUint32(N * 12 + 4 * 9, head.faceCount + 5, true)),
    );
    await expectRefused(
      files,
      "tensor",
      new RegExp(`Gaussian 9 hangs on face ${head.faceCount + 5}, the head model has ${head.faceCount} faces`),
    );
    // Without a head model to check against, the same bundle loads.
    const src = source(files);
    expect((await readAvatarBundle(src.read)).anchorFace[9]).toBe(head.faceCount + 5);
  });

  it("refuses barycentric weights that do not lie on the face", async () => {
    const files = await edited(
      () => {},
      patched("gaussians.bin", (v) =>
        [0.5, 0.5, 0.5].forEach((x, k) => v.setFloat32(N * 16 + 12 * 4 + 4 * k, x, true)),
      ),
    );
    await expectRefused(files, "tensor", /Gaussian 4's barycentric weights \(0.5, 0.5, 0.5\) do not lie on its face/);
  });

  it("names the file that is missing", async () => {
    await expectRefused(new Map(), "missing-file", /manifest.json is missing or unreadable \(ENOENT\)/);
    const files = new Map(base);
    files.delete("geometry.onnx");
    await expectRefused(files, "missing-file", /geometry.onnx is missing or unreadable/);
  });

  it("refuses to write an avatar it could not read back", async () => {
    const bad = (patch: Partial<Avatar>, opts = {}) => writeAvatarBundle({ ...avatar, ...patch }, opts);
    await expect(bad({ anchors: [{ category: "Hair", label: "x", latent: new Float32Array(32) }] })).rejects.toThrow(
      /writeAvatarBundle: anchor 0 is for category "Hair"/,
    );
    await expect(bad({ points: avatar.points.map((v, i) => (i === 7 ? NaN : v)) })).rejects.toThrow(
      /writeAvatarBundle: points holds NaN at index 7/,
    );
    await expect(bad({ weights: { ...avatar.weights, gaussian: new Float32Array(3) } })).rejects.toThrow(
      /weights.gaussian holds 3 numbers, the avatar needs 13430/,
    );
    await expect(
      bad({ anchorFace: avatar.anchorFace.map((f, i) => (i === 0 ? 1e6 : f)) }, { headFaceCount: head.faceCount }),
    ).rejects.toThrow(/Gaussian 0 hangs on face 1000000/);
    await expect(bad({ anchors: [{ ...avatar.anchors[0]!, thumbnail: Uint8Array.of(1, 2, 3) }] })).rejects.toThrow(
      /anchor 0's thumbnail is not a PNG/,
    );
  });
});
