/**
 * PLY header parsing shared by the 3DGS reader: the vertex element's
 * properties with their types and byte offsets. Only what splat files use:
 * one "vertex" element first, scalar properties, ascii or little-endian.
 */
export type PlyScalar = "char" | "uchar" | "short" | "ushort" | "int" | "uint" | "float" | "double";

export const PLY_SIZES: Record<PlyScalar, number> = {
  char: 1,
  uchar: 1,
  short: 2,
  ushort: 2,
  int: 4,
  uint: 4,
  float: 4,
  double: 8,
};

const ALIASES: Record<string, PlyScalar> = {
  char: "char",
  int8: "char",
  uchar: "uchar",
  uint8: "uchar",
  short: "short",
  int16: "short",
  ushort: "ushort",
  uint16: "ushort",
  int: "int",
  int32: "int",
  uint: "uint",
  uint32: "uint",
  float: "float",
  float32: "float",
  double: "double",
  float64: "double",
};

export interface PlyProperty {
  name: string;
  type: PlyScalar;
  /** Byte offset inside one binary vertex record. */
  offset: number;
}

export interface PlyHeader {
  format: "ascii" | "binary_little_endian";
  vertexCount: number;
  properties: PlyProperty[];
  /** Bytes of one binary vertex record. */
  stride: number;
  /** Byte offset where the body starts. */
  bodyOffset: number;
}

const MAX_HEADER_BYTES = 64 * 1024;

export function parsePlyHeader(bytes: Uint8Array): PlyHeader {
  const owner = "readPly";
  if (
    bytes.length < 4 ||
    bytes[0] !== 0x70 ||
    bytes[1] !== 0x6c ||
    bytes[2] !== 0x79 ||
    (bytes[3] !== 0x0a && bytes[3] !== 0x0d)
  ) {
    throw new Error(`${owner}: not a PLY file (it does not start with "ply")`);
  }
  const limit = Math.min(bytes.length, MAX_HEADER_BYTES);
  let end = -1;
  const marker = "end_header";
  const head = new TextDecoder("latin1").decode(bytes.subarray(0, limit));
  const at = head.indexOf(marker);
  if (at >= 0) {
    end = at + marker.length;
    if (head[end] === "\r") end++;
    if (head[end] !== "\n") throw new Error(`${owner}: "end_header" must end its line`);
    end++;
  }
  if (end < 0) throw new Error(`${owner}: no "end_header" in the first ${limit} bytes: truncated or not a PLY file`);
  const lines = head
    .slice(0, end)
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter(Boolean);
  let format: PlyHeader["format"] | null = null;
  let vertexCount = -1;
  let inVertex = false;
  let sawElement = false;
  const properties: PlyProperty[] = [];
  let stride = 0;
  for (const line of lines.slice(1)) {
    const words = line.split(/\s+/);
    switch (words[0]) {
      case "format":
        if (words[1] === "binary_big_endian")
          throw new Error(`${owner}: binary_big_endian PLY is not supported; convert it to little-endian`);
        if (words[1] !== "ascii" && words[1] !== "binary_little_endian")
          throw new Error(`${owner}: unknown PLY format "${words[1]}"`);
        format = words[1];
        break;
      case "element":
        if (!sawElement) {
          if (words[1] !== "vertex") throw new Error(`${owner}: the first element must be "vertex", got "${words[1]}"`);
          const n = Number(words[2]);
          if (!Number.isInteger(n) || n < 0) throw new Error(`${owner}: bad vertex count "${words[2]}"`);
          vertexCount = n;
          inVertex = true;
          sawElement = true;
        } else {
          inVertex = false; // later elements (faces...) are ignored; they follow the vertices
        }
        break;
      case "property": {
        if (!inVertex) break;
        if (words[1] === "list")
          throw new Error(`${owner}: list properties in the vertex element are not supported ("${line}")`);
        const type = ALIASES[words[1] ?? ""];
        if (!type || !words[2]) throw new Error(`${owner}: bad property line "${line}"`);
        properties.push({ name: words[2], type, offset: stride });
        stride += PLY_SIZES[type];
        break;
      }
      case "comment":
      case "obj_info":
      case "end_header":
        break;
      default:
        throw new Error(`${owner}: unexpected header line "${line}"`);
    }
  }
  if (!format) throw new Error(`${owner}: the header has no "format" line`);
  if (vertexCount < 0) throw new Error(`${owner}: the header has no "element vertex" line`);
  return { format, vertexCount, properties, stride, bodyOffset: end };
}
