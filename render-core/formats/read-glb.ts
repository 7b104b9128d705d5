/**
 * Reads Gaussian splats from binary glTF 2.0 (.glb) with the Khronos
 * KHR_gaussian_splatting extension (see write-glb.ts for the spec version and
 * the encodings). Every mesh primitive that carries the extension is read and
 * the primitives are concatenated. Accepts what the spec allows for the
 * ellipse kernel: float, or the listed normalised integer types, tightly
 * packed or interleaved. Everything is checked before it is trusted: chunk
 * and accessor ranges against the bytes there are, counts under a limit
 * before allocating, every value finite and in its range.
 */
import { createSplatCloud, shRestCount, type SplatCloud } from "../splats/splat-cloud";
import { SH_C0 } from "./sh-constants";

/** "glTF" read as a little-endian uint32. */
export const GLB_MAGIC = 0x46546c67;
export const GLB_CHUNK_JSON = 0x4e4f534a;
export const GLB_CHUNK_BIN = 0x004e4942;
export const GS_EXTENSION = "KHR_gaussian_splatting";
/** Attribute semantics of the ellipse kernel; the extension's own are namespaced by its name. */
export const GS_ROTATION = `${GS_EXTENSION}:ROTATION`;
export const GS_SCALE = `${GS_EXTENSION}:SCALE`;
export const GS_OPACITY = `${GS_EXTENSION}:OPACITY`;
/** Semantic of SH degree `l`, coefficient `n` (n = 0 is order m = -l). */
export const gsShSemantic = (l: number, n: number) => `${GS_EXTENSION}:SH_DEGREE_${l}_COEF_${n}`;

export const GL_FLOAT = 5126;
export const GL_BYTE = 5120;
export const GL_UNSIGNED_BYTE = 5121;
export const GL_SHORT = 5122;
export const GL_UNSIGNED_SHORT = 5123;
const COMPONENT_NAMES: Record<number, string> = {
  5120: "BYTE",
  5121: "UNSIGNED_BYTE",
  5122: "SHORT",
  5123: "UNSIGNED_SHORT",
  5125: "UNSIGNED_INT",
  5126: "FLOAT",
};
const COMPONENT_BYTES: Record<number, number> = { 5120: 1, 5121: 1, 5122: 2, 5123: 2, 5125: 4, 5126: 4 };
const TYPE_SIZES: Record<string, number> = { SCALAR: 1, VEC2: 2, VEC3: 3, VEC4: 4, MAT2: 4, MAT3: 9, MAT4: 16 };

/** A component type the spec allows for a semantic, with whether it must be normalised. */
type Allowed = Array<[componentType: number, normalized: boolean]>;
const ONLY_FLOAT: Allowed = [[GL_FLOAT, false]];
// The ellipse kernel's attribute table.
const ROTATION_TYPES: Allowed = [
  [GL_FLOAT, false],
  [GL_BYTE, true],
  [GL_SHORT, true],
];
const SCALE_TYPES: Allowed = [
  [GL_FLOAT, false],
  [GL_UNSIGNED_BYTE, false],
  [GL_UNSIGNED_BYTE, true],
  [GL_UNSIGNED_SHORT, false],
  [GL_UNSIGNED_SHORT, true],
];
const OPACITY_TYPES: Allowed = [
  [GL_FLOAT, false],
  [GL_UNSIGNED_BYTE, true],
  [GL_UNSIGNED_SHORT, true],
];

/** Extensions a file may require and still be read here. */
const UNDERSTOOD_REQUIRED = new Set([GS_EXTENSION]);

export interface ReadGlbOptions {
  /** Refuse files with more splats than this. Default 10,000,000. */
  maxSplats?: number;
}

interface GltfAccessor {
  bufferView?: number;
  byteOffset?: number;
  componentType?: number;
  normalized?: boolean;
  count?: number;
  type?: string;
  sparse?: unknown;
}
interface GltfBufferView {
  buffer?: number;
  byteOffset?: number;
  byteLength?: number;
  byteStride?: number;
}
interface GltfPrimitive {
  attributes?: Record<string, number>;
  mode?: number;
  extensions?: Record<string, unknown>;
}
interface GltfNode {
  mesh?: number;
  children?: number[];
  matrix?: number[];
  translation?: number[];
  rotation?: number[];
  scale?: number[];
  name?: string;
}
interface Gltf {
  asset?: { version?: string };
  extensionsRequired?: string[];
  buffers?: Array<{ byteLength?: number; uri?: string }>;
  bufferViews?: GltfBufferView[];
  accessors?: GltfAccessor[];
  meshes?: Array<{ primitives?: GltfPrimitive[] }>;
  nodes?: GltfNode[];
}

const owner = "readGlb";

export function readGlb(bytes: Uint8Array, options: ReadGlbOptions = {}): SplatCloud {
  const { json, bin } = splitGlb(bytes);
  const gltf = parseJson(json);
  const version = gltf.asset?.version;
  if (typeof version !== "string" || !/^2\.\d+$/.test(version))
    throw new Error(`${owner}: asset.version is ${JSON.stringify(version)}, not a glTF 2.x version`);
  for (const name of gltf.extensionsRequired ?? []) {
    if (!UNDERSTOOD_REQUIRED.has(name))
      throw new Error(`${owner}: the file requires the extension ${name}, which readGlb does not support`);
  }

  const found: Array<{ where: string; primitive: GltfPrimitive; mesh: number }> = [];
  (gltf.meshes ?? []).forEach((mesh, m) =>
    (mesh.primitives ?? []).forEach((primitive, p) => {
      if (primitive.extensions?.[GS_EXTENSION] !== undefined)
        found.push({ where: `mesh ${m} primitive ${p}`, primitive, mesh: m });
    }),
  );
  if (found.length === 0)
    throw new Error(
      `${owner}: no mesh primitive has the ${GS_EXTENSION} extension: this glTF holds no Gaussian splats`,
    );
  refuseTransformedSplatNodes(gltf, new Set(found.map((f) => f.mesh)));

  const maxSplats = options.maxSplats ?? 10_000_000;
  const reader = new AccessorReader(gltf, bin);
  const parts: SplatCloud[] = [];
  let total = 0;
  for (const { where, primitive } of found) {
    const part = readPrimitive(primitive, where, reader, (n) => {
      if (total + n > maxSplats)
        throw new Error(`${owner}: ${total + n} splats is more than the limit of ${maxSplats}`);
    });
    total += part.count;
    parts.push(part);
  }
  return parts.length === 1 ? parts[0]! : concatClouds(parts);
}

/** Splits a GLB into its JSON text and BIN chunk (absent: null), checking the header and every chunk's bounds. */
function splitGlb(bytes: Uint8Array): { json: Uint8Array; bin: Uint8Array | null } {
  if (bytes.length < 12) throw new Error(`${owner}: not a GLB file: ${bytes.length} bytes is shorter than its header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(0, true) !== GLB_MAGIC) throw new Error(`${owner}: not a GLB file: it does not start with "glTF"`);
  const version = view.getUint32(4, true);
  if (version !== 2) throw new Error(`${owner}: GLB container version ${version} is not supported (only 2)`);
  const length = view.getUint32(8, true);
  if (length > bytes.length)
    throw new Error(`${owner}: truncated: the header says ${length} bytes but the file has ${bytes.length}`);
  let json: Uint8Array | null = null;
  let bin: Uint8Array | null = null;
  for (let at = 12, index = 0; at < length; index++) {
    if (at + 8 > length) throw new Error(`${owner}: truncated: chunk ${index} has no room for its 8-byte header`);
    const chunkLength = view.getUint32(at, true);
    const type = view.getUint32(at + 4, true);
    const start = at + 8;
    if (start + chunkLength > length)
      throw new Error(
        `${owner}: truncated: chunk ${index} claims ${chunkLength} bytes but only ${length - start} remain`,
      );
    const body = bytes.subarray(start, start + chunkLength);
    if (index === 0) {
      if (type !== GLB_CHUNK_JSON) throw new Error(`${owner}: the first chunk is not JSON (type 0x${hex(type)})`);
      json = body;
    } else if (index === 1 && type === GLB_CHUNK_BIN) {
      bin = body;
    }
    // Other chunk types are skipped, as glTF asks of readers.
    at = start + chunkLength;
  }
  if (json === null) throw new Error(`${owner}: the file has no JSON chunk`);
  return { json, bin };
}

function parseJson(bytes: Uint8Array): Gltf {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch (e) {
    throw new Error(`${owner}: the JSON chunk is not valid UTF-8 JSON: ${(e as Error).message}`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value))
    throw new Error(`${owner}: the JSON chunk is not a glTF object`);
  return value as Gltf;
}

/**
 * The splats' positions and covariances live in the space of the node that
 * instances their mesh; SH coefficients would need rotating too (Wigner D
 * matrices), which is not done here, so any node that moves a splat mesh is
 * refused rather than silently ignored.
 */
function refuseTransformedSplatNodes(gltf: Gltf, meshes: Set<number>): void {
  const nodes = gltf.nodes ?? [];
  const parent = new Map<number, number>();
  nodes.forEach((node, i) => (node.children ?? []).forEach((c) => parent.set(c, i)));
  const isIdentity = (n: GltfNode) =>
    (n.matrix === undefined || n.matrix.every((v, k) => v === (k % 5 === 0 ? 1 : 0))) &&
    (n.translation === undefined || n.translation.every((v) => v === 0)) &&
    (n.rotation === undefined || (n.rotation[3] === 1 && n.rotation.slice(0, 3).every((v) => v === 0))) &&
    (n.scale === undefined || n.scale.every((v) => v === 1));
  nodes.forEach((node, i) => {
    if (node.mesh === undefined || !meshes.has(node.mesh)) return;
    const seen = new Set<number>();
    for (let at: number | undefined = i; at !== undefined && !seen.has(at); at = parent.get(at)) {
      seen.add(at);
      const n = nodes[at];
      if (n && !isIdentity(n)) {
        const name = n.name ? ` ("${n.name}")` : "";
        throw new Error(
          `${owner}: node ${at}${name} transforms the splats of mesh ${node.mesh}; only splats under untransformed nodes are supported`,
        );
      }
    }
  });
}

/** Reads one splat primitive; `checkCount` may refuse its splat count before anything is allocated. */
function readPrimitive(
  primitive: GltfPrimitive,
  where: string,
  reader: AccessorReader,
  checkCount: (n: number) => void,
): SplatCloud {
  const mode = primitive.mode ?? 4;
  if (mode !== 0) throw new Error(`${owner}: ${where}: mode must be POINTS (0) for ${GS_EXTENSION}, got ${mode}`);
  const ext = primitive.extensions![GS_EXTENSION] as Record<string, unknown> | null;
  // The kernel defines what the attributes mean, the colour space what the
  // SH coefficients encode: refuse what this reader would misread.
  if (ext?.kernel !== "ellipse")
    throw new Error(`${owner}: ${where}: kernel ${JSON.stringify(ext?.kernel)} is not supported (only "ellipse")`);
  if (ext.colorSpace !== "srgb_rec709_display")
    throw new Error(
      `${owner}: ${where}: colorSpace ${JSON.stringify(ext.colorSpace)} is not supported (only "srgb_rec709_display")`,
    );
  const attributes = primitive.attributes ?? {};
  const index = (semantic: string): number => {
    const i = attributes[semantic];
    if (i === undefined) throw new Error(`${owner}: ${where} has no ${semantic} attribute`);
    return i;
  };
  const n = reader.count(index("POSITION"), `${where} POSITION`);
  checkCount(n);
  const get = (semantic: string, type: string, allowed: Allowed) =>
    reader.read(index(semantic), `${where} ${semantic}`, type, allowed, n);

  // Degrees must be complete and contiguous: the highest full degree wins, a partial one is an error.
  let degree = 0;
  for (let l = 1; l <= 3; l++) {
    const present = Array.from({ length: 2 * l + 1 }, (_, k) => attributes[gsShSemantic(l, k)] !== undefined);
    if (present.every(Boolean) && degree === l - 1) degree = l;
    else if (present.some(Boolean))
      throw new Error(
        `${owner}: ${where}: SH degree ${l} is incomplete or follows a missing degree (needs ${gsShSemantic(l, 0)} .. COEF_${2 * l} and every lower degree)`,
      );
  }

  const positions = get("POSITION", "VEC3", ONLY_FLOAT);
  const rotations = get(GS_ROTATION, "VEC4", ROTATION_TYPES);
  const scales = get(GS_SCALE, "VEC3", SCALE_TYPES);
  const opacities = get(GS_OPACITY, "SCALAR", OPACITY_TYPES);
  const dc = get(gsShSemantic(0, 0), "VEC3", ONLY_FLOAT);
  const cloud = createSplatCloud(n, degree as 0 | 1 | 2 | 3);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < 3; c++) {
      cloud.positions[i * 3 + c] = positions[i * 3 + c]!;
      const s = scales[i * 3 + c]!;
      // A negative scale most likely means log-space values from a pre-2026-04 draft of the extension.
      if (s < 0)
        throw new Error(
          `${owner}: splat ${i} has a negative ${GS_SCALE} (${s}); scales must be linear and non-negative (log-space scales are from an old draft of the extension)`,
        );
      cloud.scales[i * 3 + c] = s;
      cloud.colors[i * 3 + c] = 0.5 + SH_C0 * dc[i * 3 + c]!;
    }
    const o = opacities[i]!;
    if (o < 0 || o > 1) throw new Error(`${owner}: splat ${i} has ${GS_OPACITY} ${o}, outside [0, 1]`);
    cloud.opacities[i] = o;
    // glTF quaternions are x y z w; SplatCloud's are w x y z.
    const [x, y, z, w] = [0, 1, 2, 3].map((k) => rotations[i * 4 + k]!) as [number, number, number, number];
    const l = Math.hypot(x, y, z, w);
    if (!(l > 0)) throw new Error(`${owner}: splat ${i} has a zero ${GS_ROTATION} quaternion`);
    cloud.rotations.set([w / l, x / l, y / l, z / l], i * 4);
  }
  const K = shRestCount(degree);
  for (let l = 1; l <= degree; l++) {
    for (let m = 0; m < 2 * l + 1; m++) {
      // SplatCloud's coefficient k is the 3DGS f_rest order, which is the spec's: degree by degree, m = -l .. l.
      const k = l * l - 1 + m;
      const coef = get(gsShSemantic(l, m), "VEC3", ONLY_FLOAT);
      for (let i = 0; i < n; i++) {
        for (let c = 0; c < 3; c++) cloud.shRest[(i * K + k) * 3 + c] = coef[i * 3 + c]!;
      }
    }
  }
  return cloud;
}

/** Decodes accessors out of the BIN chunk, checking each range against its bufferView, buffer and chunk. */
class AccessorReader {
  constructor(
    private readonly gltf: Gltf,
    private readonly bin: Uint8Array | null,
  ) {}

  private accessor(index: number | undefined, what: string): GltfAccessor {
    const accessor = index === undefined ? undefined : this.gltf.accessors?.[index];
    if (!accessor) throw new Error(`${owner}: ${what} names accessor ${index}, which does not exist`);
    return accessor;
  }

  count(index: number | undefined, what: string): number {
    const count = this.accessor(index, what).count;
    if (!Number.isInteger(count) || count! < 1)
      throw new Error(`${owner}: ${what}: accessor ${index} has count ${count}, not a positive integer`);
    return count!;
  }

  read(index: number, what: string, type: string, allowed: Allowed, count: number): Float32Array {
    const a = this.accessor(index, what);
    if (a.type !== type) throw new Error(`${owner}: ${what}: accessor ${index} is ${a.type}, expected ${type}`);
    if (a.count !== count)
      throw new Error(`${owner}: ${what}: accessor ${index} has ${a.count} elements but POSITION has ${count}`);
    const ct = a.componentType ?? -1;
    const normalized = a.normalized === true;
    if (!allowed.some(([t, norm]) => t === ct && norm === normalized)) {
      const list = allowed.map(([t, norm]) => `${norm ? "normalized " : ""}${COMPONENT_NAMES[t]}`).join(", ");
      throw new Error(
        `${owner}: ${what}: componentType ${ct} (${normalized ? "normalized " : ""}${COMPONENT_NAMES[ct] ?? "unknown"}) is not supported; the spec allows ${list}`,
      );
    }
    if (a.sparse !== undefined) throw new Error(`${owner}: ${what}: sparse accessors are not supported`);
    const comps = TYPE_SIZES[type]!;
    const out = new Float32Array(count * comps);
    // Without a bufferView an accessor is all zeros (glTF 2.0 3.6.2).
    if (a.bufferView === undefined) return out;
    const viewDef = this.gltf.bufferViews?.[a.bufferView];
    if (!viewDef) throw new Error(`${owner}: ${what}: bufferView ${a.bufferView} does not exist`);
    const bin = this.bin;
    if (viewDef.buffer !== 0 || this.gltf.buffers?.[0] === undefined || this.gltf.buffers[0].uri !== undefined)
      throw new Error(
        `${owner}: ${what}: bufferView ${a.bufferView} is not in the GLB's own buffer 0 (external buffers are not read)`,
      );
    if (bin === null) throw new Error(`${owner}: ${what}: the file has no BIN chunk to hold its data`);
    const compBytes = COMPONENT_BYTES[ct]!;
    const elemBytes = comps * compBytes;
    const stride = viewDef.byteStride ?? elemBytes;
    const viewStart = viewDef.byteOffset ?? 0;
    const viewLength = viewDef.byteLength ?? 0;
    const bufferLength = Math.min(this.gltf.buffers[0].byteLength ?? 0, bin.length);
    if (viewStart + viewLength > bufferLength)
      throw new Error(
        `${owner}: ${what}: bufferView ${a.bufferView} (bytes ${viewStart}..${viewStart + viewLength}) lies outside the ${bufferLength}-byte BIN buffer`,
      );
    const offset = a.byteOffset ?? 0;
    const end = offset + (count - 1) * stride + elemBytes;
    if (stride < elemBytes || end > viewLength)
      throw new Error(
        `${owner}: ${what}: accessor ${index} is out of range: ${count} elements of ${elemBytes} bytes every ${stride} from ${offset} need ${end} bytes, bufferView ${a.bufferView} has ${viewLength}`,
      );
    const view = new DataView(bin.buffer, bin.byteOffset + viewStart, viewLength);
    const decode = decoder(view, ct, normalized);
    for (let i = 0; i < count; i++) {
      for (let c = 0; c < comps; c++) {
        const v = decode(offset + i * stride + c * compBytes);
        if (!Number.isFinite(v)) throw new Error(`${owner}: ${what}: element ${i} is not finite (${v})`);
        out[i * comps + c] = v;
      }
    }
    return out;
  }
}

/** Reads one component at a byte offset, normalised as glTF 2.0 3.11 defines. */
function decoder(view: DataView, componentType: number, normalized: boolean): (at: number) => number {
  switch (componentType) {
    case GL_BYTE:
      return normalized ? (at) => Math.max(view.getInt8(at) / 127, -1) : (at) => view.getInt8(at);
    case GL_UNSIGNED_BYTE:
      return normalized ? (at) => view.getUint8(at) / 255 : (at) => view.getUint8(at);
    case GL_SHORT:
      return normalized ? (at) => Math.max(view.getInt16(at, true) / 32767, -1) : (at) => view.getInt16(at, true);
    case GL_UNSIGNED_SHORT:
      return normalized ? (at) => view.getUint16(at, true) / 65535 : (at) => view.getUint16(at, true);
    default:
      return (at) => view.getFloat32(at, true);
  }
}

/** Joins clouds end to end at the lowest SH degree among them (higher bands of the others are dropped). */
function concatClouds(parts: SplatCloud[]): SplatCloud {
  const degree = Math.min(...parts.map((p) => p.shDegree)) as 0 | 1 | 2 | 3;
  const K = shRestCount(degree);
  const out = createSplatCloud(
    parts.reduce((s, p) => s + p.count, 0),
    degree,
  );
  let at = 0;
  for (const p of parts) {
    out.positions.set(p.positions, at * 3);
    out.scales.set(p.scales, at * 3);
    out.rotations.set(p.rotations, at * 4);
    out.opacities.set(p.opacities, at);
    out.colors.set(p.colors, at * 3);
    const Kp = shRestCount(p.shDegree);
    for (let i = 0; i < p.count; i++) {
      out.shRest.set(p.shRest.subarray(i * Kp * 3, (i * Kp + K) * 3), (at + i) * K * 3);
    }
    at += p.count;
  }
  return out;
}

const hex = (v: number) => v.toString(16).padStart(8, "0");
