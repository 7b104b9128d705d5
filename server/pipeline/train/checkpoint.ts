/**
 * Training checkpoints: one file, "PERSECKP" + u32 header length + a JSON
 * header (everything small, and where each array lies) + the arrays' bytes.
 * Written under a temporary name and renamed, so a killed run leaves the
 * previous checkpoint whole.
 */
import fs from "node:fs";
import { writeFileAtomicSync } from "../../storage/atomic";

const MAGIC = "PERSECKP";

type NumericArray = Float64Array | Float32Array | Uint32Array;
const TYPES = { f64: Float64Array, f32: Float32Array, u32: Uint32Array } as const;
type TypeName = keyof typeof TYPES;

function typeName(a: NumericArray): TypeName {
  return a instanceof Float64Array ? "f64" : a instanceof Float32Array ? "f32" : "u32";
}

export function writeCheckpoint(file: string, header: object, arrays: Record<string, NumericArray>): void {
  const entries: Array<{ name: string; type: TypeName; offset: number; length: number }> = [];
  let offset = 0;
  for (const [name, a] of Object.entries(arrays)) {
    offset = Math.ceil(offset / 8) * 8;
    entries.push({ name, type: typeName(a), offset, length: a.length });
    offset += a.byteLength;
  }
  const json = Buffer.from(JSON.stringify({ ...header, arrays: entries }));
  const start = Math.ceil((MAGIC.length + 4 + json.length) / 8) * 8;
  const buf = Buffer.alloc(start + offset);
  buf.write(MAGIC, 0, "latin1");
  buf.writeUInt32LE(json.length, MAGIC.length);
  json.copy(buf, MAGIC.length + 4);
  for (const e of entries) {
    const a = arrays[e.name]!;
    Buffer.from(a.buffer, a.byteOffset, a.byteLength).copy(buf, start + e.offset);
  }
  writeFileAtomicSync(file, buf);
}

export function readCheckpoint<H>(file: string): { header: H; arrays: Record<string, NumericArray> } {
  const buf = fs.readFileSync(file);
  const bad = (why: string) => new Error(`checkpoint ${file}: ${why}; delete it (or pass --restart) to start over`);
  if (buf.length < MAGIC.length + 4 || buf.toString("latin1", 0, MAGIC.length) !== MAGIC)
    throw bad("not a training checkpoint");
  const len = buf.readUInt32LE(MAGIC.length);
  if (MAGIC.length + 4 + len > buf.length) throw bad("truncated header");
  let header: H & { arrays: Array<{ name: string; type: TypeName; offset: number; length: number }> };
  try {
    header = JSON.parse(buf.toString("utf8", MAGIC.length + 4, MAGIC.length + 4 + len));
  } catch {
    throw bad("header is not JSON");
  }
  const start = Math.ceil((MAGIC.length + 4 + len) / 8) * 8;
  const arrays: Record<string, NumericArray> = {};
  for (const e of header.arrays ?? []) {
    const T = TYPES[e.type];
    if (!T) throw bad(`array ${e.name} has an unknown type`);
    const bytes = e.length * T.BYTES_PER_ELEMENT;
    if (start + e.offset + bytes > buf.length) throw bad(`array ${e.name} runs past the end (truncated file)`);
    const copy = new Uint8Array(bytes);
    copy.set(buf.subarray(start + e.offset, start + e.offset + bytes));
    arrays[e.name] = new T(copy.buffer);
  }
  return { header, arrays };
}
