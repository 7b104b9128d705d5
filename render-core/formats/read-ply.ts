/**
 * Reads a 3D Gaussian-splat PLY (the layout 3DGS training writes): x y z,
 * optional nx ny nz, f_dc_0..2, f_rest_* (channel-major), opacity (logit),
 * scale_0..2 (log), rot_0..3 (w x y z). ASCII or binary little-endian; extra
 * properties are ignored. Everything is checked before it is trusted: the
 * byte length against the header's count before allocating, every value
 * finite, the splat count under a limit.
 */
import { createSplatCloud, type SplatCloud } from "../splats/splat-cloud";
import { parsePlyHeader, type PlyHeader, type PlyProperty } from "./ply-header";
import { SH_C0 } from "./sh-constants";

export interface ReadPlyOptions {
  /** Refuse files with more splats than this. Default 10,000,000. */
  maxSplats?: number;
}

const REQUIRED = [
  "x",
  "y",
  "z",
  "f_dc_0",
  "f_dc_1",
  "f_dc_2",
  "opacity",
  "scale_0",
  "scale_1",
  "scale_2",
  "rot_0",
  "rot_1",
  "rot_2",
  "rot_3",
];
const REST_COUNTS: Record<number, 0 | 1 | 2 | 3> = { 0: 0, 9: 1, 24: 2, 45: 3 };

export function readPly(bytes: Uint8Array, options: ReadPlyOptions = {}): SplatCloud {
  const owner = "readPly";
  const header = parsePlyHeader(bytes);
  const maxSplats = options.maxSplats ?? 10_000_000;
  if (header.vertexCount > maxSplats)
    throw new Error(`${owner}: ${header.vertexCount} splats is more than the limit of ${maxSplats}`);
  const byName = new Map(header.properties.map((p) => [p.name, p]));
  const missing = REQUIRED.filter((n) => !byName.has(n));
  if (missing.length) throw new Error(`${owner}: not a Gaussian-splat PLY: missing ${missing.join(", ")}`);
  const restCount = header.properties.filter((p) => /^f_rest_\d+$/.test(p.name)).length;
  const degree = REST_COUNTS[restCount];
  if (degree === undefined)
    throw new Error(`${owner}: ${restCount} f_rest properties fit no SH degree (expected 0, 9, 24 or 45)`);
  for (let k = 0; k < restCount; k++) {
    if (!byName.has(`f_rest_${k}`)) throw new Error(`${owner}: f_rest_${k} is missing`);
  }
  const n = header.vertexCount;
  if (header.format === "binary_little_endian") {
    const need = header.bodyOffset + n * header.stride;
    if (bytes.length < need)
      throw new Error(
        `${owner}: truncated: the header promises ${n} splats (${need} bytes) but the file has ${bytes.length} bytes`,
      );
  } else if (bytes.length - header.bodyOffset < n * (header.properties.length * 2 - 1)) {
    // Every ASCII value takes at least one character and one separator.
    throw new Error(`${owner}: truncated: the header promises ${n} splats but the ASCII body is too short`);
  }
  const values = header.format === "binary_little_endian" ? binaryReader(bytes, header) : asciiReader(bytes, header);
  const cloud = createSplatCloud(n, degree);
  const perChannel = restCount / 3;
  const prop = (name: string) => byName.get(name)!;
  const get = (p: PlyProperty, i: number): number => {
    const v = values(p, i);
    if (!Number.isFinite(v)) throw new Error(`${owner}: splat ${i} has a non-finite ${p.name} (${v})`);
    return v;
  };
  const [px, py, pz, o] = [prop("x"), prop("y"), prop("z"), prop("opacity")];
  const dc = [0, 1, 2].map((c) => prop(`f_dc_${c}`));
  const sc = [0, 1, 2].map((c) => prop(`scale_${c}`));
  const rot = [0, 1, 2, 3].map((c) => prop(`rot_${c}`));
  const rest = Array.from({ length: restCount }, (_, k) => prop(`f_rest_${k}`));
  for (let i = 0; i < n; i++) {
    cloud.positions[i * 3] = get(px, i);
    cloud.positions[i * 3 + 1] = get(py, i);
    cloud.positions[i * 3 + 2] = get(pz, i);
    for (let c = 0; c < 3; c++) {
      cloud.colors[i * 3 + c] = 0.5 + SH_C0 * get(dc[c]!, i);
      cloud.scales[i * 3 + c] = Math.exp(get(sc[c]!, i));
    }
    cloud.opacities[i] = 1 / (1 + Math.exp(-get(o, i)));
    const w = get(rot[0]!, i),
      x = get(rot[1]!, i),
      y = get(rot[2]!, i),
      z = get(rot[3]!, i);
    const l = Math.hypot(w, x, y, z);
    if (!(l > 0)) throw new Error(`${owner}: splat ${i} has a zero rotation quaternion`);
    cloud.rotations[i * 4] = w / l;
    cloud.rotations[i * 4 + 1] = x / l;
    cloud.rotations[i * 4 + 2] = y / l;
    cloud.rotations[i * 4 + 3] = z / l;
    // 3DGS stores f_rest channel-major (all red coefficients, then green, then blue).
    for (let k = 0; k < perChannel; k++) {
      for (let c = 0; c < 3; c++) cloud.shRest[(i * perChannel + k) * 3 + c] = get(rest[c * perChannel + k]!, i);
    }
  }
  return cloud;
}

type ValueReader = (p: PlyProperty, i: number) => number;

function binaryReader(bytes: Uint8Array, h: PlyHeader): ValueReader {
  const view = new DataView(bytes.buffer, bytes.byteOffset + h.bodyOffset, h.vertexCount * h.stride);
  return (p, i) => {
    const o = i * h.stride + p.offset;
    switch (p.type) {
      case "float":
        return view.getFloat32(o, true);
      case "double":
        return view.getFloat64(o, true);
      case "uchar":
        return view.getUint8(o);
      case "char":
        return view.getInt8(o);
      case "ushort":
        return view.getUint16(o, true);
      case "short":
        return view.getInt16(o, true);
      case "uint":
        return view.getUint32(o, true);
      case "int":
        return view.getInt32(o, true);
    }
  };
}

function asciiReader(bytes: Uint8Array, h: PlyHeader): ValueReader {
  const text = new TextDecoder("latin1").decode(bytes.subarray(h.bodyOffset));
  const tokens = text.split(/\s+/).filter(Boolean);
  const per = h.properties.length;
  if (tokens.length < h.vertexCount * per) {
    throw new Error(
      `readPly: truncated: the header promises ${h.vertexCount} splats of ${per} values, the body has ${tokens.length} values`,
    );
  }
  const index = new Map(h.properties.map((p, k) => [p, k]));
  return (p, i) => Number(tokens[i * per + index.get(p)!]);
}
