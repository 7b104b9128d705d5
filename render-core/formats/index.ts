/** Splat file formats: sniff and read any supported file. */
import type { SplatCloud } from "../splats/splat-cloud";
import { GLB_MAGIC, readGlb } from "./read-glb";
import { readPly, type ReadPlyOptions } from "./read-ply";
import { readSplat, SPLAT_RECORD_BYTES } from "./read-splat";

export { readPly, type ReadPlyOptions } from "./read-ply";
export { writePly } from "./write-ply";
export { readSplat, type ReadSplatOptions } from "./read-splat";
export { writeSplat } from "./write-splat";
export { readGlb, type ReadGlbOptions } from "./read-glb";
export { writeGlb, type WriteGlbOptions } from "./write-glb";

export type SplatFileFormat = "ply" | "splat" | "glb";

/**
 * Which reader a file needs: "ply" by its magic; "glb" (binary glTF) by its
 * magic "glTF" or a .glb name; "splat" (which has no header) by a .splat
 * name, or, with no name at all, by a length that is a whole number of
 * 32-byte records. A .ply or .glb name without the magic goes to its reader
 * so that the message says what is wrong. Null when it cannot tell.
 */
export function sniffSplatFormat(bytes: Uint8Array, nameHint = ""): SplatFileFormat | null {
  const magic =
    bytes.length >= 4 &&
    bytes[0] === 0x70 &&
    bytes[1] === 0x6c &&
    bytes[2] === 0x79 &&
    (bytes[3] === 0x0a || bytes[3] === 0x0d);
  if (magic || /\.ply$/i.test(nameHint)) return "ply";
  const glbMagic =
    bytes.length >= 4 && new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0, true) === GLB_MAGIC;
  if (glbMagic || /\.glb$/i.test(nameHint)) return "glb";
  if (/\.splat$/i.test(nameHint)) return "splat";
  if (nameHint === "" && bytes.length > 0 && bytes.length % SPLAT_RECORD_BYTES === 0) return "splat";
  return null;
}

/** Reads a .ply, .glb or .splat file (see sniffSplatFormat); `nameHint` is the file's name, if known. */
export function readSplatFile(bytes: Uint8Array, nameHint = "", options: ReadPlyOptions = {}): SplatCloud {
  const format = sniffSplatFormat(bytes, nameHint);
  if (format === "ply") return readPly(bytes, options);
  if (format === "splat") return readSplat(bytes, options);
  if (format === "glb") return readGlb(bytes, options);
  const what = nameHint ? `"${nameHint}"` : `${bytes.length} bytes`;
  throw new Error(
    `readSplatFile: cannot tell the format of ${what}: it is neither a PLY (no "ply" header) nor a GLB (no "glTF" header) nor named *.splat${nameHint ? "" : " nor a multiple of 32 bytes"}`,
  );
}
