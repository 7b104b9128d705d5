/**
 * The avatar bundle (docs/avatar-bundle.md): one folder holding manifest.json,
 * the Gaussians, the network weights (raw and as ONNX) and anchor thumbnails.
 * Pure: files are passed as bytes, so the same code reads a bundle from disk,
 * an upload or the browser. The reader trusts nothing: sizes are checked
 * against the manifest before anything big is read, every file against its
 * SHA-256, every number for finiteness and range.
 */
import { z } from "zod";
import { parseAvatarModelConfig, type AvatarModelConfig } from "../avatar/config";
import { avatarSpecs, type Avatar, type AvatarAnchor, type AvatarWeights } from "../avatar/avatar";
import { mlpParamCount } from "../avatar/mlp";
import { writeOnnxMlp } from "./write-onnx";

export const AVATAR_BUNDLE_FORMAT = "perse-avatar";
export const AVATAR_BUNDLE_VERSION = 1;
export const HEAD_MODEL_ID = "perse-head-v1";
const MANIFEST = "manifest.json";
const MANIFEST_MAX_BYTES = 4 * 1024 * 1024;
const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const NETWORKS = ["geometry", "deformer", "gaussian"] as const;

export type AvatarBundleErrorCode = "manifest" | "version" | "missing-file" | "size" | "checksum" | "tensor" | "config" | "anchor" | "non-finite" | "path" | "head";

export class AvatarBundleError extends Error {
  constructor(
    readonly code: AvatarBundleErrorCode,
    message: string,
  ) {
    super(`avatar bundle: ${message}`);
  }
}

/** File names a bundle may hold: lower-case words with dots, optionally under thumbs/. */
const FILE_NAME = /^(thumbs\/)?[a-z0-9_-]+(\.[a-z0-9]+)*$/;

const tensorSchema = z.object({
  file: z.string(),
  offset: z.number().int().min(0),
  byteLength: z.number().int().min(0),
  dtype: z.enum(["f32", "u32"]),
  shape: z.array(z.number().int().min(0)).min(1).max(4),
});

const manifestSchema = z.object({
  format: z.literal(AVATAR_BUNDLE_FORMAT),
  version: z.number().int(),
  name: z.string().max(200),
  createdAt: z.string().max(64),
  config: z.unknown(),
  head: z.object({ model: z.string(), shape: z.array(z.number()) }),
  count: z.number().int().min(1),
  tensors: z.record(z.string(), tensorSchema),
  networks: z.object({ geometry: z.object({ tensor: z.string(), onnx: z.string() }), deformer: z.object({ tensor: z.string(), onnx: z.string() }), gaussian: z.object({ tensor: z.string(), onnx: z.string() }) }),
  neutralLatents: z.array(z.array(z.number())),
  anchors: z.array(z.object({ category: z.string(), label: z.string().max(200), latent: z.array(z.number()), thumbnail: z.string().optional() })).max(10_000),
  files: z.record(z.string(), z.object({ bytes: z.number().int().min(0), sha256: z.string().regex(/^[0-9a-f]{64}$/) })),
});

export type AvatarBundleManifest = z.infer<typeof manifestSchema>;

async function sha256(bytes: Uint8Array): Promise<string> {
  const digest = await globalThis.crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
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
    const setter = p instanceof Float32Array ? (o: number, v: number) => view.setFloat32(o, v, true) : (o: number, v: number) => view.setUint32(o, v, true);
    for (let i = 0; i < p.length; i++) setter(offsets[k]! + i * 4, p[i]!);
  });
  return { bytes, offsets };
}

function checkAvatarArrays(a: Avatar): void {
  const specs = avatarSpecs(a.config);
  const C = a.config.categories.length, L = a.config.latentDim;
  const want: Array<[string, ArrayLike<number>, number]> = [
    ["points", a.points, a.count * 3],
    ["anchorFace", a.anchorFace, a.count],
    ["anchorBary", a.anchorBary, a.count * 3],
    ["neutralLatents", a.neutralLatents, C * L],
    ...NETWORKS.map((n): [string, ArrayLike<number>, number] => [`weights.${n}`, a.weights[n], mlpParamCount(specs[n])]),
  ];
  for (const [name, arr, n] of want) if (arr.length !== n) throw new Error(`writeAvatarBundle: ${name} holds ${arr.length} numbers, the avatar needs ${n}`);
}

/** The bundle's files, by name (write them into one folder). */
export async function writeAvatarBundle(avatar: Avatar, options: { name?: string; createdAt?: string } = {}): Promise<Map<string, Uint8Array>> {
  checkAvatarArrays(avatar);
  const { config } = avatar;
  const files = new Map<string, Uint8Array>();
  const tensors: AvatarBundleManifest["tensors"] = {};
  const addBin = (file: string, entries: Array<[string, Float32Array | Uint32Array, number[]]>) => {
    const { bytes, offsets } = pack(entries.map((e) => e[1]));
    files.set(file, bytes);
    entries.forEach(([name, arr, shape], k) => (tensors[name] = { file, offset: offsets[k]!, byteLength: arr.byteLength, dtype: arr instanceof Float32Array ? "f32" : "u32", shape }));
  };
  const N = avatar.count;
  addBin("gaussians.bin", [["points", avatar.points, [N, 3]], ["anchorFace", avatar.anchorFace, [N]], ["anchorBary", avatar.anchorBary, [N, 3]]]);
  addBin("weights.bin", NETWORKS.map((n) => [n, avatar.weights[n], [avatar.weights[n].length]]));
  const specs = avatarSpecs(config);
  for (const n of NETWORKS) files.set(`${n}.onnx`, writeOnnxMlp(specs[n], avatar.weights[n], n));
  const L = config.latentDim;
  const counters = new Map<string, number>();
  const anchors = avatar.anchors.map((a) => {
    const k = counters.get(a.category) ?? 0;
    counters.set(a.category, k + 1);
    const entry: AvatarBundleManifest["anchors"][number] = { category: a.category, label: a.label, latent: Array.from(a.latent) };
    if (a.thumbnail) {
      entry.thumbnail = `thumbs/${a.category}-${k}.png`;
      files.set(entry.thumbnail, a.thumbnail);
    }
    return entry;
  });
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
    networks: { geometry: { tensor: "geometry", onnx: "geometry.onnx" }, deformer: { tensor: "deformer", onnx: "deformer.onnx" }, gaussian: { tensor: "gaussian", onnx: "gaussian.onnx" } },
    neutralLatents: config.categories.map((_, c) => Array.from(avatar.neutralLatents.subarray(c * L, (c + 1) * L))),
    anchors,
    files: fileTable,
  };
  files.set(MANIFEST, new TextEncoder().encode(JSON.stringify(manifest, null, 1)));
  return files;
}

export interface ReadAvatarBundleOptions {
  /** Faces of the head model the bundle is loaded for (anchor faces must be below it). */
  headFaceCount?: number;
  /** Shape coefficients of that head model. */
  headShapeCount?: number;
  /** Refuse bundles with more Gaussians (default 2,000,000). */
  maxGaussians?: number;
  /** Refuse bundles whose files add up to more bytes (default 1 GiB). */
  maxBytes?: number;
}

/**
 * Reads and validates a bundle. `read(name)` returns a file's bytes (or
 * throws); `size(name)`, when given, returns its size without reading it, so
 * an oversized file is refused before it is loaded.
 */
export async function readAvatarBundle(read: (name: string) => Promise<Uint8Array>, options: ReadAvatarBundleOptions & { size?: (name: string) => Promise<number> } = {}): Promise<Avatar> {
  const maxGaussians = options.maxGaussians ?? 2_000_000;
  const maxBytes = options.maxBytes ?? 2 ** 30;
  const fetchFile = async (name: string, bytes?: number): Promise<Uint8Array> => {
    if (options.size) {
      let size: number;
      try {
        size = await options.size(name);
      } catch {
        throw new AvatarBundleError("missing-file", `${name} is missing`);
      }
      if (bytes !== undefined && size !== bytes) throw new AvatarBundleError("size", `${name} holds ${size} bytes, the manifest says ${bytes} (truncated or replaced?)`);
    }
    try {
      return await read(name);
    } catch {
      throw new AvatarBundleError("missing-file", `${name} is missing or unreadable`);
    }
  };

  if (options.size && (await options.size(MANIFEST).catch(() => 0)) > MANIFEST_MAX_BYTES) throw new AvatarBundleError("size", `${MANIFEST} is over ${MANIFEST_MAX_BYTES / 1024 / 1024} MB`);
  const manifestBytes = await fetchFile(MANIFEST);
  if (manifestBytes.byteLength > MANIFEST_MAX_BYTES) throw new AvatarBundleError("size", `${MANIFEST} is over ${MANIFEST_MAX_BYTES / 1024 / 1024} MB`);
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(manifestBytes));
  } catch (err) {
    throw new AvatarBundleError("manifest", `${MANIFEST} is not JSON (${(err as Error).message})`);
  }
  const r = raw as Record<string, unknown>;
  if (!r || typeof r !== "object" || r.format !== AVATAR_BUNDLE_FORMAT) throw new AvatarBundleError("manifest", `not an avatar bundle: ${MANIFEST} must say "format": "${AVATAR_BUNDLE_FORMAT}"`);
  if (typeof r.version === "number" && r.version > AVATAR_BUNDLE_VERSION) throw new AvatarBundleError("version", `format version ${r.version} needs a newer PERSE Studio (this one reads version ${AVATAR_BUNDLE_VERSION})`);
  if (r.version !== AVATAR_BUNDLE_VERSION) throw new AvatarBundleError("version", `format version ${JSON.stringify(r.version)} is not supported (this one reads version ${AVATAR_BUNDLE_VERSION})`);
  const parsed = manifestSchema.safeParse(raw);
  if (!parsed.success) throw new AvatarBundleError("manifest", `${MANIFEST}: ${parsed.error.issues.slice(0, 3).map((i) => `${i.path.join(".") || "manifest"}: ${i.message}`).join("; ")}`);
  const m = parsed.data;
  let config: AvatarModelConfig;
  try {
    config = parseAvatarModelConfig(m.config);
  } catch (err) {
    throw new AvatarBundleError("config", (err as Error).message);
  }
  if (m.head.model !== HEAD_MODEL_ID) throw new AvatarBundleError("head", `made for head model "${m.head.model}", this build has "${HEAD_MODEL_ID}"`);
  if (options.headShapeCount !== undefined && m.head.shape.length !== options.headShapeCount) throw new AvatarBundleError("head", `head.shape holds ${m.head.shape.length} coefficients, the head model has ${options.headShapeCount}`);
  if (m.count > maxGaussians) throw new AvatarBundleError("size", `${m.count.toLocaleString("en-US")} Gaussians is over the limit of ${maxGaussians.toLocaleString("en-US")}`);

  // Every file: a safe name, and sizes that add up within the limit, before any is read.
  let total = 0;
  for (const [name, f] of Object.entries(m.files)) {
    if (!FILE_NAME.test(name) || name === MANIFEST) throw new AvatarBundleError("path", `file name "${name}" is not allowed (lower-case names inside the bundle only)`);
    total += f.bytes;
  }
  if (total > maxBytes) throw new AvatarBundleError("size", `the bundle's files add up to ${total} bytes, over the limit of ${maxBytes}`);
  const specs = avatarSpecs(config);
  const N = m.count;
  const wantShapes: Record<string, { dtype: "f32" | "u32"; shape: number[] }> = {
    points: { dtype: "f32", shape: [N, 3] },
    anchorFace: { dtype: "u32", shape: [N] },
    anchorBary: { dtype: "f32", shape: [N, 3] },
  };
  for (const n of NETWORKS) wantShapes[m.networks[n].tensor] = { dtype: "f32", shape: [mlpParamCount(specs[n])] };
  for (const [name, want] of Object.entries(wantShapes)) {
    const t = m.tensors[name];
    if (!t) throw new AvatarBundleError("tensor", `tensor "${name}" is missing from the manifest`);
    if (t.dtype !== want.dtype || t.shape.join("x") !== want.shape.join("x")) throw new AvatarBundleError("tensor", `tensor "${name}" is ${t.dtype} [${t.shape}], the config needs ${want.dtype} [${want.shape}]`);
    const bytes = want.shape.reduce((a, b) => a * b, 4);
    if (t.byteLength !== bytes) throw new AvatarBundleError("tensor", `tensor "${name}" declares ${t.byteLength} bytes, its shape needs ${bytes}`);
    const file = m.files[t.file];
    if (!file) throw new AvatarBundleError("tensor", `tensor "${name}" is in "${t.file}", which the manifest does not list`);
    if (t.offset % 4 !== 0 || t.offset + t.byteLength > file.bytes) throw new AvatarBundleError("tensor", `tensor "${name}" (offset ${t.offset}, ${t.byteLength} bytes) does not lie inside ${t.file} (${file.bytes} bytes)`);
  }

  const loaded = new Map<string, Uint8Array>();
  const load = async (name: string): Promise<Uint8Array> => {
    const cached = loaded.get(name);
    if (cached) return cached;
    const entry = m.files[name];
    if (!entry) throw new AvatarBundleError("missing-file", `${name} is not listed in the manifest`);
    const bytes = await fetchFile(name, entry.bytes);
    if (bytes.byteLength !== entry.bytes) throw new AvatarBundleError("size", `${name} holds ${bytes.byteLength} bytes, the manifest says ${entry.bytes} (truncated or replaced?)`);
    if ((await sha256(bytes)) !== entry.sha256) throw new AvatarBundleError("checksum", `${name} does not match its SHA-256 in the manifest (damaged or edited)`);
    loaded.set(name, bytes);
    return bytes;
  };
  const tensor = async (name: string): Promise<Float32Array | Uint32Array> => {
    const t = m.tensors[name]!;
    const bytes = await load(t.file);
    const view = new DataView(bytes.buffer, bytes.byteOffset + t.offset, t.byteLength);
    const n = t.byteLength / 4;
    if (t.dtype === "u32") return Uint32Array.from({ length: n }, (_, i) => view.getUint32(i * 4, true));
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const v = view.getFloat32(i * 4, true);
      if (!Number.isFinite(v)) throw new AvatarBundleError("non-finite", `tensor "${name}" holds ${v} at index ${i}`);
      out[i] = v;
    }
    return out;
  };
  const points = (await tensor("points")) as Float32Array;
  const anchorFace = (await tensor("anchorFace")) as Uint32Array;
  const anchorBary = (await tensor("anchorBary")) as Float32Array;
  const faceLimit = options.headFaceCount ?? Infinity;
  for (let i = 0; i < N; i++) {
    if (anchorFace[i]! >= faceLimit) throw new AvatarBundleError("tensor", `Gaussian ${i} hangs on face ${anchorFace[i]}, the head model has ${faceLimit}`);
    const b = [anchorBary[i * 3]!, anchorBary[i * 3 + 1]!, anchorBary[i * 3 + 2]!];
    if (b.some((x) => x < -1e-4 || x > 1 + 1e-4) || Math.abs(b[0]! + b[1]! + b[2]! - 1) > 1e-3) throw new AvatarBundleError("tensor", `Gaussian ${i}'s barycentric weights ${b.map((x) => x.toFixed(4)).join(", ")} do not lie on its face`);
  }
  const weights = {} as AvatarWeights;
  for (const n of NETWORKS) weights[n] = (await tensor(m.networks[n].tensor)) as Float32Array;
  for (const n of NETWORKS) await load(m.networks[n].onnx); // checked, not parsed: they are for other runtimes

  const C = config.categories.length, L = config.latentDim;
  const latent = (values: number[], where: string): Float32Array => {
    if (values.length !== L) throw new AvatarBundleError("anchor", `${where} holds ${values.length} numbers, the latent size is ${L}`);
    if (!values.every(Number.isFinite)) throw new AvatarBundleError("non-finite", `${where} holds a number that is not finite`);
    return Float32Array.from(values);
  };
  if (m.neutralLatents.length !== C) throw new AvatarBundleError("anchor", `neutralLatents has ${m.neutralLatents.length} rows, the config has ${C} categories`);
  const neutralLatents = new Float32Array(C * L);
  m.neutralLatents.forEach((row, c) => neutralLatents.set(latent(row, `neutralLatents[${c}]`), c * L));
  const anchors: AvatarAnchor[] = [];
  for (const [k, a] of m.anchors.entries()) {
    if (!config.categories.includes(a.category)) throw new AvatarBundleError("anchor", `anchor ${k} ("${a.label}") is for category "${a.category}", which the config does not have (${config.categories.join(", ")})`);
    const anchor: AvatarAnchor = { category: a.category, label: a.label, latent: latent(a.latent, `anchor ${k} ("${a.label}")`) };
    if (a.thumbnail) {
      const png = await load(a.thumbnail);
      if (!PNG_SIGNATURE.every((b, i) => png[i] === b)) throw new AvatarBundleError("anchor", `${a.thumbnail} is not a PNG`);
      anchor.thumbnail = png;
    }
    anchors.push(anchor);
  }
  if (!m.head.shape.every(Number.isFinite)) throw new AvatarBundleError("non-finite", "head.shape holds a number that is not finite");
  return { config, count: N, points, anchorFace, anchorBary, weights, shape: Float32Array.from(m.head.shape), neutralLatents, anchors };
}
