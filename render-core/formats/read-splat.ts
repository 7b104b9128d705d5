/**
 * Reads the 32-byte-per-splat .splat layout: position 3 x f32, linear scale
 * 3 x f32, colour RGBA u8 (opacity in A), rotation 4 x u8 = round(q * 128 + 128)
 * in w x y z order. No header: the byte length must be a multiple of 32.
 */
import { createSplatCloud, type SplatCloud } from "../splats/splat-cloud";

export const SPLAT_RECORD_BYTES = 32;

export interface ReadSplatOptions {
  /** Refuse files with more splats than this. Default 10,000,000. */
  maxSplats?: number;
}

export function readSplat(bytes: Uint8Array, options: ReadSplatOptions = {}): SplatCloud {
  const owner = "readSplat";
  if (bytes.length === 0) throw new Error(`${owner}: the file is empty`);
  if (bytes.length % SPLAT_RECORD_BYTES !== 0) {
    throw new Error(
      `${owner}: ${bytes.length} bytes is not a whole number of 32-byte splats: truncated or not a .splat file`,
    );
  }
  const n = bytes.length / SPLAT_RECORD_BYTES;
  const maxSplats = options.maxSplats ?? 10_000_000;
  if (n > maxSplats) throw new Error(`${owner}: ${n} splats is more than the limit of ${maxSplats}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const cloud = createSplatCloud(n);
  for (let i = 0; i < n; i++) {
    const o = i * SPLAT_RECORD_BYTES;
    for (let c = 0; c < 3; c++) {
      const p = view.getFloat32(o + c * 4, true);
      const s = view.getFloat32(o + 12 + c * 4, true);
      if (!Number.isFinite(p) || !Number.isFinite(s))
        throw new Error(`${owner}: splat ${i} has a non-finite ${Number.isFinite(p) ? "scale" : "position"}`);
      if (s < 0) throw new Error(`${owner}: splat ${i} has a negative scale (${s})`);
      cloud.positions[i * 3 + c] = p;
      cloud.scales[i * 3 + c] = s;
      cloud.colors[i * 3 + c] = bytes[o + 24 + c]! / 255;
    }
    cloud.opacities[i] = bytes[o + 27]! / 255;
    const q = [0, 1, 2, 3].map((k) => (bytes[o + 28 + k]! - 128) / 128);
    const l = Math.hypot(q[0]!, q[1]!, q[2]!, q[3]!);
    if (!(l > 0)) throw new Error(`${owner}: splat ${i} has a zero rotation`);
    for (let k = 0; k < 4; k++) cloud.rotations[i * 4 + k] = q[k]! / l;
  }
  return cloud;
}
