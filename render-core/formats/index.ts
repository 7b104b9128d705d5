/** Splat file formats: sniff and read any supported file. */
import type { SplatCloud } from "../splats/splat-cloud";
import { readPly, type ReadPlyOptions } from "./read-ply";
import { readSplat } from "./read-splat";

export { readPly } from "./read-ply";
export { writePly } from "./write-ply";
export { readSplat } from "./read-splat";
export { writeSplat } from "./write-splat";

/** Reads a .ply (by its "ply" magic) or a .splat (by its name); clear error otherwise. */
export function readSplatFile(bytes: Uint8Array, nameHint = "", options: ReadPlyOptions = {}): SplatCloud {
  if (bytes.length >= 4 && bytes[0] === 0x70 && bytes[1] === 0x6c && bytes[2] === 0x79) return readPly(bytes, options);
  if (/\.splat$/i.test(nameHint)) return readSplat(bytes, options);
  throw new Error(`readSplatFile: ${nameHint ? `"${nameHint}" ` : ""}is neither a PLY (no "ply" header) nor named *.splat`);
}
