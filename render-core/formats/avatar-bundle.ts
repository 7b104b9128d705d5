/**
 * The avatar bundle (docs/avatar-bundle.md): one folder holding manifest.json,
 * the Gaussians, the network weights (raw and as ONNX) and anchor thumbnails.
 * Pure: files are passed as bytes, so the same code reads a bundle from disk,
 * an upload or the browser (server/avatar/bundle-files.ts does folders).
 *
 * The reader trusts nothing: every size is checked against the manifest
 * before anything big is read, every file against its SHA-256, every number
 * for finiteness and range. The writer refuses avatars the reader would
 * refuse, so a bundle it writes always loads.
 *
 * gaussians.bin (N Gaussians, little-endian, no padding):
 *   points     [N, 3] f32  at 0
 *   anchorFace [N]    u32  at 12 N
 *   anchorBary [N, 3] f32  at 16 N
 * weights.bin: geometry | deformer | gaussian flat parameters, f32 each
 * (render-core/avatar/mlp.ts layout).
 * appearance.bin (optional): appearance [N, 3] f32, the per-Gaussian colour
 * residual; a bundle without it renders as if it were zeros.
 * The manifest records every offset.
 */
import { z } from "zod";
import { parseAvatarModelConfig, type AvatarModelConfig } from "../avatar/config";
import { avatarSpecs, type Avatar, type AvatarAnchor, type AvatarWeights } from "../avatar/avatar";
import { APPEARANCE_CHANNELS } from "../avatar/networks";
import { mlpParamCount } from "../avatar/mlp";
import { writeOnnxMlp } from "./write-onnx";

export const AVATAR_BUNDLE_FORMAT = "perse-avatar";
export const AVATAR_BUNDLE_VERSION = 1;
export const HEAD_MODEL_ID = "perse-head-v1";
export const AVATAR_BUNDLE_MANIFEST = "manifest.json";
const MANIFEST_MAX_BYTES = 4 * 1024 * 1024;
const NAME_MAX = 200;
const ANCHORS_MAX = 10_000;
const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const NETWORKS = ["geometry", "deformer", "gaussian"] as const;
/** Barycentrics are float32 sums of a bake, so allow rounding, not a different face. */
const BARY_SLACK = 1e-4;
const BARY_SUM_SLACK = 1e-3;

export type AvatarBundleErrorCode =
  | "manifest"
  | "version"
  | "missing-file"
  | "size"
  | "checksum"
  | "tensor"
  | "config"
  | "anchor"
  | "non-finite"
  | "path"
  | "head";

/** A bundle that cannot be loaded; `code` says which rule it broke (docs/avatar-bundle.md lists them). */
export class AvatarBundleError extends Error {
  constructor(
    readonly code: AvatarBundleErrorCode,
    message: string,
  ) {
    super(message);
    this.name = "AvatarBundleError";
  }
}

function fail(code: AvatarBundleErrorCode, message: string): never {
  throw new AvatarBundleError(code, `readAvatarBundle: ${message}`);
}

/** File names a bundle may hold: lower-case words with dots, optionally under thumbs/ (no "..", "/" or "\"). */
const FILE_NAME = /^(thumbs\/)?[a-z0-9_-]+(\.[a-z0-9]+)*$/;

const tensorSchema = z.object({
  file: z.string(),
  offset: z.number().int().min(0),
  byteLength: z.number().int().min(0),
  dtype: z.enum(["f32", "u32"]),
  shape: z.array(z.number().int().min(0)).min(1).max(4),
});
const networkSchema = z.object({ tensor: z.string(), onnx: z.string() });

const manifestSchema = z.object({
  format: z.literal(AVATAR_BUNDLE_FORMAT),
  version: z.literal(AVATAR_BUNDLE_VERSION),
  name: z.string().max(NAME_MAX),
  createdAt: z.string().max(64),
  config: z.unknown(),
  head: z.object({ model: z.string(), shape: z.array(z.number()) }),
  count: z.number().int().min(1),
  tensors: z.record(z.string(), tensorSchema),
  networks: z.object({ geometry: networkSchema, deformer: networkSchema, gaussian: networkSchema }),
  neutralLatents: z.array(z.array(z.number())),
  anchors: z
    .array(
      z.object({
        category: z.string(),
        label: z.string().max(NAME_MAX),
        latent: z.array(z.number()),
        thumbnail: z.string().optional(),
      }),
    )
    .max(ANCHORS_MAX),
  /** A PNG of the portrait the avatar was made from (avatars from the portrait pipeline). */
  portrait: z.string().optional(),
  files: z.record(z.string(), z.object({ bytes: z.number().int().min(0), sha256: z.string().regex(/^[0-9a-f]{64}$/) })),
});

export type AvatarBundleManifest = z.infer<typeof manifestSchema>;
type TensorEntry = AvatarBundleManifest["tensors"][string];

async function sha256(bytes: Uint8Array): Promise<string> {
  // Web Crypto, so the browser and Node share it; the cast only narrows ArrayBufferLike for lib.dom's BufferSource.
  const digest = await globalThis.crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

const isPng = (bytes: Uint8Array) =>
  bytes.byteLength >= PNG_SIGNATURE.length && PNG_SIGNATURE.every((b, i) => bytes[i] === b);

/** Whether (a, b, c) are barycentric weights on a triangle, up to float32 rounding. */
function onFace(a: number, b: number, c: number): boolean {
  const lo = -BARY_SLACK,
    hi = 1 + BARY_SLACK;
  return a >= lo && a <= hi && b >= lo && b <= hi && c >= lo && c <= hi && Math.abs(a + b + c - 1) <= BARY_SUM_SLACK;
}

/** Little-endian bytes of typed arrays laid end to end; returns the offsets. */
function pack(parts: Array<Float32Array | Uint32Array>): { bytes: Uint8Array; offsets: number[] } {
  const offsets: number[] = [];
  let size = 0;
  for (const p of parts) {
    offsets.push(size);
    size += p.byteLength;
  }
  const bytes = new Uint8Array(size);
  const view = new DataView(bytes.buffer);
  parts.forEach((p, k) => {
    const o = offsets[k]!;
    if (p instanceof Float32Array) for (let i = 0; i < p.length; i++) view.setFloat32(o + i * 4, p[i]!, true);
    else for (let i = 0; i < p.length; i++) view.setUint32(o + i * 4, p[i]!, true);
  });
  return { bytes, offsets };
}

export interface WriteAvatarBundleOptions {
  /** Display name stored in the manifest (at most 200 characters; default "avatar"). */
  name?: string;
  /** Faces of the head model the avatar hangs on; when given, anchor faces are checked against it. */
  headFaceCount?: number;
  /** ISO 8601 time stamp stored in the manifest (default: now). */
  createdAt?: string;
}

/** Throws if the reader would refuse this avatar, so bad data fails where it was made. */
function checkAvatar(a: Avatar, options: WriteAvatarBundleOptions): void {
  const bad = (message: string): never => {
    throw new Error(`writeAvatarBundle: ${message}`);
  };
  const config = parseAvatarModelConfig(a.config);
  const N = a.count;
  if (!Number.isInteger(N) || N < 1) bad(`count must be a positive integer, got ${N}`);
  const specs = avatarSpecs(config);
  const C = config.categories.length,
    L = config.latentDim;
  const floats: Array<[string, Float32Array, number]> = [
    ["points", a.points, N * 3],
    ["anchorBary", a.anchorBary, N * 3],
    ["neutralLatents", a.neutralLatents, C * L],
    ...NETWORKS.map((n): [string, Float32Array, number] => [`weights.${n}`, a.weights[n], mlpParamCount(specs[n])]),
    ...a.anchors.map((x, k): [string, Float32Array, number] => [`anchor ${k} ("${x.label}") latent`, x.latent, L]),
    ...(a.appearance ? [["appearance", a.appearance, N * APPEARANCE_CHANNELS] as [string, Float32Array, number]] : []),
  ];
  for (const [name, arr, n] of floats) {
    if (!(arr instanceof Float32Array)) bad(`${name} must be a Float32Array`);
    if (arr.length !== n) bad(`${name} holds ${arr.length} numbers, the avatar needs ${n}`);
    const i = arr.findIndex((v) => !Number.isFinite(v));
    if (i >= 0) bad(`${name} holds ${arr[i]} at index ${i}`);
  }
  if (!(a.anchorFace instanceof Uint32Array) || a.anchorFace.length !== N)
    bad(`anchorFace must be a Uint32Array of ${N} faces, got ${a.anchorFace.length}`);
  if (!(a.shape instanceof Float32Array) || !a.shape.every(Number.isFinite))
    bad("shape must be a Float32Array of finite numbers");
  const faces = options.headFaceCount ?? Infinity;
  for (let i = 0; i < N; i++) {
    if (a.anchorFace[i]! >= faces) bad(`Gaussian ${i} hangs on face ${a.anchorFace[i]}, the head model has ${faces}`);
    if (!onFace(a.anchorBary[i * 3]!, a.anchorBary[i * 3 + 1]!, a.anchorBary[i * 3 + 2]!))
      bad(`Gaussian ${i}'s barycentric weights do not lie on its face`);
  }
  if (a.anchors.length > ANCHORS_MAX) bad(`${a.anchors.length} anchors is over the limit of ${ANCHORS_MAX}`);
  for (const [k, x] of a.anchors.entries()) {
    if (!config.categories.includes(x.category))
      bad(`anchor ${k} is for category "${x.category}", which the config does not have`);
    if (x.label.length > NAME_MAX) bad(`anchor ${k}'s label is over ${NAME_MAX} characters`);
    if (x.thumbnail && !isPng(x.thumbnail)) bad(`anchor ${k}'s thumbnail is not a PNG`);
  }
  if ((options.name?.length ?? 0) > NAME_MAX) bad(`name is over ${NAME_MAX} characters`);
}

/** The bundle's files by name (names may hold one "thumbs/" folder); write them into one folder. */
export async function writeAvatarBundle(
  avatar: Avatar,
  options: WriteAvatarBundleOptions = {},
): Promise<Map<string, Uint8Array>> {
  checkAvatar(avatar, options);
  const { config } = avatar;
  const files = new Map<string, Uint8Array>();
  const tensors: Record<string, TensorEntry> = {};
  const addBin = (file: string, entries: Array<[string, Float32Array | Uint32Array, number[]]>) => {
    const { bytes, offsets } = pack(entries.map((e) => e[1]));
    files.set(file, bytes);
    entries.forEach(
      ([name, arr, shape], k) =>
        (tensors[name] = {
          file,
          offset: offsets[k]!,
          byteLength: arr.byteLength,
          dtype: arr instanceof Float32Array ? "f32" : "u32",
          shape,
        }),
    );
  };
  const N = avatar.count;
  addBin("gaussians.bin", [
    ["points", avatar.points, [N, 3]],
    ["anchorFace", avatar.anchorFace, [N]],
    ["anchorBary", avatar.anchorBary, [N, 3]],
  ]);
  addBin(
    "weights.bin",
    NETWORKS.map((n) => [n, avatar.weights[n], [avatar.weights[n].length]]),
  );
  if (avatar.appearance) addBin("appearance.bin", [["appearance", avatar.appearance, [N, APPEARANCE_CHANNELS]]]);
  const specs = avatarSpecs(config);
  for (const n of NETWORKS) files.set(`${n}.onnx`, writeOnnxMlp(specs[n], avatar.weights[n], n));
  const L = config.latentDim;
  const perCategory = new Map<string, number>();
  const anchors = avatar.anchors.map((a) => {
    const k = perCategory.get(a.category) ?? 0;
    perCategory.set(a.category, k + 1);
    const entry: AvatarBundleManifest["anchors"][number] = {
      category: a.category,
      label: a.label,
      latent: Array.from(a.latent),
    };
    if (a.thumbnail) {
      entry.thumbnail = `thumbs/${a.category}-${k}.png`;
      files.set(entry.thumbnail, a.thumbnail);
    }
    return entry;
  });
  if (avatar.portrait) {
    if (!isPng(avatar.portrait)) throw new Error("writeAvatarBundle: the portrait thumbnail is not a PNG");
    files.set("portrait.png", avatar.portrait);
  }
  const fileTable: AvatarBundleManifest["files"] = {};
  for (const [name, bytes] of files) fileTable[name] = { bytes: bytes.byteLength, sha256: await sha256(bytes) };
  const manifest: AvatarBundleManifest = {
    format: AVATAR_BUNDLE_FORMAT,
    version: AVATAR_BUNDLE_VERSION,
    name: options.name ?? "avatar",
    createdAt: options.createdAt ?? new Date().toISOString(),
    config,
    head: { model: HEAD_MODEL_ID, shape: Array.from(avatar.shape) },
    count: N,
    tensors,
    networks: {
      geometry: { tensor: "geometry", onnx: "geometry.onnx" },
      deformer: { tensor: "deformer", onnx: "deformer.onnx" },
      gaussian: { tensor: "gaussian", onnx: "gaussian.onnx" },
    },
    neutralLatents: config.categories.map((_, c) => Array.from(avatar.neutralLatents.subarray(c * L, (c + 1) * L))),
    anchors,
    ...(avatar.portrait ? { portrait: "portrait.png" } : {}),
    files: fileTable,
  };
  files.set(AVATAR_BUNDLE_MANIFEST, new TextEncoder().encode(JSON.stringify(manifest, null, 1)));
  return files;
}

export interface ReadAvatarBundleOptions {
  /** Faces of the head model the bundle is loaded for; anchor faces must be below it (default: unchecked). */
  headFaceCount?: number;
  /** Shape coefficients of that head model; head.shape must hold this many (default: unchecked). */
  headShapeCount?: number;
  /** Refuse bundles with more Gaussians (default 2,000,000). */
  maxGaussians?: number;
  /** Refuse bundles whose files, as the manifest lists them, add up to more bytes (default 1 GiB). */
  maxBytes?: number;
  /**
   * A file's size in bytes without reading it (throws if it is missing). When
   * given, a file whose size differs from the manifest's is refused before it is read.
   */
  size?: (name: string) => Promise<number>;
}

/** The manifest's header: JSON, format, version, schema, config, head and count, before any other file is read. */
async function readManifest(
  fetchFile: (name: string) => Promise<Uint8Array>,
  options: ReadAvatarBundleOptions,
): Promise<{ m: AvatarBundleManifest; config: AvatarModelConfig }> {
  const tooBig = `${AVATAR_BUNDLE_MANIFEST} is over ${MANIFEST_MAX_BYTES / 1024 / 1024} MB`;
  if (options.size && (await options.size(AVATAR_BUNDLE_MANIFEST).catch(() => 0)) > MANIFEST_MAX_BYTES)
    fail("size", tooBig);
  const bytes = await fetchFile(AVATAR_BUNDLE_MANIFEST);
  if (bytes.byteLength > MANIFEST_MAX_BYTES) fail("size", tooBig);
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch (err) {
    fail("manifest", `${AVATAR_BUNDLE_MANIFEST} is not JSON (${(err as Error).message})`);
  }
  const head = raw !== null && typeof raw === "object" && !Array.isArray(raw) ? (raw as Record<string, unknown>) : {};
  if (head.format !== AVATAR_BUNDLE_FORMAT)
    fail("manifest", `not an avatar bundle: ${AVATAR_BUNDLE_MANIFEST} must say "format": "${AVATAR_BUNDLE_FORMAT}"`);
  if (typeof head.version === "number" && head.version > AVATAR_BUNDLE_VERSION) {
    fail(
      "version",
      `the bundle is format version ${head.version}; this PERSE Studio reads version ${AVATAR_BUNDLE_VERSION}, so update it to one that reads version ${head.version}`,
    );
  }
  if (head.version !== AVATAR_BUNDLE_VERSION)
    fail(
      "version",
      `format version ${JSON.stringify(head.version)} is not supported (this PERSE Studio reads version ${AVATAR_BUNDLE_VERSION})`,
    );
  const parsed = manifestSchema.safeParse(raw);
  if (!parsed.success)
    fail(
      "manifest",
      `${AVATAR_BUNDLE_MANIFEST}: ${parsed.error.issues
        .slice(0, 3)
        .map((i) => `${i.path.join(".") || "manifest"}: ${i.message}`)
        .join("; ")}`,
    );
  const m = parsed.data;
  let config: AvatarModelConfig;
  try {
    config = parseAvatarModelConfig(m.config);
  } catch (err) {
    fail("config", (err as Error).message);
  }
  if (m.head.model !== HEAD_MODEL_ID)
    fail("head", `the bundle was made for head model "${m.head.model}", this build has "${HEAD_MODEL_ID}"`);
  if (options.headShapeCount !== undefined && m.head.shape.length !== options.headShapeCount)
    fail("head", `head.shape holds ${m.head.shape.length} coefficients, the head model has ${options.headShapeCount}`);
  const maxGaussians = options.maxGaussians ?? 2_000_000;
  if (m.count > maxGaussians)
    fail(
      "size",
      `${m.count.toLocaleString("en-US")} Gaussians is over the limit of ${maxGaussians.toLocaleString("en-US")}`,
    );
  return { m, config };
}

/**
 * Checks names, total size and every tensor's type, shape and place against
 * the config from the manifest alone, so a hostile count or length is refused
 * before anything is allocated for it. Returns own-key maps (no prototype lookups).
 */
function planTensors(
  m: AvatarBundleManifest,
  config: AvatarModelConfig,
  maxBytes: number,
): { files: Map<string, AvatarBundleManifest["files"][string]>; tensors: Map<string, TensorEntry> } {
  const files = new Map(Object.entries(m.files));
  const tensors = new Map(Object.entries(m.tensors));
  let total = 0;
  for (const [name, f] of files) {
    if (!FILE_NAME.test(name) || name === AVATAR_BUNDLE_MANIFEST)
      fail(
        "path",
        `file name "${name}" is not allowed (lower-case names inside the bundle, at most one "thumbs/" folder)`,
      );
    total += f.bytes;
  }
  if (total > maxBytes)
    fail(
      "size",
      `the bundle's files add up to ${total.toLocaleString("en-US")} bytes, over the limit of ${maxBytes.toLocaleString("en-US")}`,
    );
  const N = m.count;
  const specs = avatarSpecs(config);
  const want = new Map<string, { dtype: "f32" | "u32"; shape: number[] }>([
    ["points", { dtype: "f32", shape: [N, 3] }],
    ["anchorFace", { dtype: "u32", shape: [N] }],
    ["anchorBary", { dtype: "f32", shape: [N, 3] }],
  ]);
  // Optional (bundles written before it existed have none); when present it is checked like the others.
  if (tensors.has("appearance")) want.set("appearance", { dtype: "f32", shape: [N, APPEARANCE_CHANNELS] });
  for (const n of NETWORKS) {
    const name = m.networks[n].tensor;
    // Aliasing would hand one array to two roles with the second one's length unchecked.
    if (want.has(name))
      fail("tensor", `network "${n}" uses tensor "${name}", which is already used by another part of the avatar`);
    want.set(name, { dtype: "f32", shape: [mlpParamCount(specs[n])] });
  }
  for (const [name, w] of want) {
    const t = tensors.get(name);
    if (!t) fail("tensor", `tensor "${name}" is missing from the manifest`);
    if (t.dtype !== w.dtype || t.shape.join(",") !== w.shape.join(","))
      fail(
        "tensor",
        `tensor "${name}" is ${t.dtype} [${t.shape.join(", ")}], the config and count need ${w.dtype} [${w.shape.join(", ")}]`,
      );
    const bytes = w.shape.reduce((a, b) => a * b, 4);
    if (t.byteLength !== bytes)
      fail("tensor", `tensor "${name}" declares ${t.byteLength} bytes, its shape needs ${bytes}`);
    const file = files.get(t.file);
    if (!file) fail("tensor", `tensor "${name}" is in "${t.file}", which the manifest's files do not list`);
    if (t.offset % 4 !== 0)
      fail("tensor", `tensor "${name}" starts at byte ${t.offset} of ${t.file}, which is not a multiple of 4`);
    if (t.offset + t.byteLength > file.bytes)
      fail(
        "tensor",
        `tensor "${name}" (offset ${t.offset}, ${t.byteLength} bytes) does not lie inside ${t.file} (${file.bytes} bytes)`,
      );
  }
  return { files, tensors };
}

/**
 * Reads and validates a bundle; throws AvatarBundleError naming the rule and
 * the file it broke. `read(name)` returns a file's bytes (throwing if it is
 * missing); it is called only for names that passed the name check.
 */
export async function readAvatarBundle(
  read: (name: string) => Promise<Uint8Array>,
  options: ReadAvatarBundleOptions = {},
): Promise<Avatar> {
  const missing = (name: string, err: unknown): never => {
    if (err instanceof AvatarBundleError) throw err;
    const why = (err as { code?: unknown })?.code;
    return fail("missing-file", `${name} is missing or unreadable${typeof why === "string" ? ` (${why})` : ""}`);
  };
  const fetchFile = async (name: string, bytes?: number): Promise<Uint8Array> => {
    if (options.size && bytes !== undefined) {
      const size = await Promise.resolve(name)
        .then(options.size)
        .catch((err: unknown) => missing(name, err));
      if (size !== bytes)
        fail("size", `${name} holds ${size} bytes, the manifest says ${bytes} (truncated or replaced?)`);
    }
    // Through a promise, so a read() that throws instead of rejecting is caught too.
    return Promise.resolve(name)
      .then(read)
      .catch((err: unknown) => missing(name, err));
  };

  const { m, config } = await readManifest(fetchFile, options);
  const { files, tensors } = planTensors(m, config, options.maxBytes ?? 2 ** 30);

  const loaded = new Map<string, Uint8Array>();
  const load = async (name: string): Promise<Uint8Array> => {
    const cached = loaded.get(name);
    if (cached) return cached;
    const entry = files.get(name);
    if (!entry) fail("missing-file", `${name} is not listed in the manifest's files`);
    const bytes = await fetchFile(name, entry.bytes);
    if (bytes.byteLength !== entry.bytes)
      fail(
        "size",
        `${name} holds ${bytes.byteLength} bytes, the manifest says ${entry.bytes} (truncated or replaced?)`,
      );
    if ((await sha256(bytes)) !== entry.sha256)
      fail("checksum", `${name} does not match its SHA-256 in the manifest (damaged or edited)`);
    loaded.set(name, bytes);
    return bytes;
  };
  const view = async (name: string): Promise<DataView> => {
    const t = tensors.get(name)!;
    const bytes = await load(t.file);
    return new DataView(bytes.buffer, bytes.byteOffset + t.offset, t.byteLength);
  };
  const f32 = async (name: string): Promise<Float32Array> => {
    const v = await view(name);
    const out = new Float32Array(v.byteLength / 4);
    for (let i = 0; i < out.length; i++) {
      out[i] = v.getFloat32(i * 4, true);
      if (!Number.isFinite(out[i]!)) fail("non-finite", `tensor "${name}" holds ${out[i]} at index ${i}`);
    }
    return out;
  };

  const N = m.count;
  const points = await f32("points");
  const anchorBary = await f32("anchorBary");
  const faceView = await view("anchorFace");
  const anchorFace = new Uint32Array(N);
  const faceLimit = options.headFaceCount ?? Infinity;
  for (let i = 0; i < N; i++) {
    const f = (anchorFace[i] = faceView.getUint32(i * 4, true));
    if (f >= faceLimit)
      fail(
        "tensor",
        `Gaussian ${i} hangs on face ${f}, the head model has ${faceLimit} faces (a bundle for another head model?)`,
      );
    const a = anchorBary[i * 3]!,
      b = anchorBary[i * 3 + 1]!,
      c = anchorBary[i * 3 + 2]!;
    if (!onFace(a, b, c))
      fail("tensor", `Gaussian ${i}'s barycentric weights (${a}, ${b}, ${c}) do not lie on its face`);
  }
  const weights = {} as AvatarWeights;
  for (const n of NETWORKS) weights[n] = await f32(m.networks[n].tensor);
  for (const n of NETWORKS) await load(m.networks[n].onnx); // checksummed, not parsed: they are for other runtimes

  const C = config.categories.length,
    L = config.latentDim;
  const toF32 = (values: number[], where: string, length: number): Float32Array => {
    if (values.length !== length)
      fail("anchor", `${where} holds ${values.length} numbers, the latent size is ${length}`);
    const out = Float32Array.from(values);
    // After the conversion, so numbers beyond float32's range (which become Infinity) are caught too.
    const i = out.findIndex((v) => !Number.isFinite(v));
    if (i >= 0) fail("non-finite", `${where} holds ${values[i]} at index ${i}, which is not a finite float32`);
    return out;
  };
  if (m.neutralLatents.length !== C)
    fail("anchor", `neutralLatents has ${m.neutralLatents.length} rows, the config has ${C} categories`);
  const neutralLatents = new Float32Array(C * L);
  m.neutralLatents.forEach((row, c) =>
    neutralLatents.set(toF32(row, `neutralLatents[${c}] (${config.categories[c]})`, L), c * L),
  );
  const anchors: AvatarAnchor[] = [];
  for (const [k, a] of m.anchors.entries()) {
    if (!config.categories.includes(a.category))
      fail(
        "anchor",
        `anchor ${k} ("${a.label}") is for category "${a.category}", which the config does not have (${config.categories.join(", ")})`,
      );
    const anchor: AvatarAnchor = {
      category: a.category,
      label: a.label,
      latent: toF32(a.latent, `anchor ${k} ("${a.label}")'s latent`, L),
    };
    if (a.thumbnail !== undefined) {
      const png = await load(a.thumbnail);
      if (!isPng(png)) fail("anchor", `${a.thumbnail}, the thumbnail of anchor ${k}, is not a PNG`);
      anchor.thumbnail = png;
    }
    anchors.push(anchor);
  }
  const shape = toF32(m.head.shape, "head.shape", m.head.shape.length);
  const avatar: Avatar = { config, count: N, points, anchorFace, anchorBary, weights, shape, neutralLatents, anchors };
  if (tensors.has("appearance")) avatar.appearance = await f32("appearance");
  if (m.portrait !== undefined) {
    const png = await load(m.portrait);
    if (!isPng(png)) fail("anchor", `${m.portrait}, the portrait thumbnail, is not a PNG`);
    avatar.portrait = png;
  }
  return avatar;
}
