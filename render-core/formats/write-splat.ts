/** Writes the 32-byte .splat layout (see read-splat.ts); higher SH bands are dropped, as the format has none. */
import { checkSplatCloud, type SplatCloud } from "../splats/splat-cloud";
import { SPLAT_RECORD_BYTES } from "./read-splat";

export function writeSplat(cloud: SplatCloud): Uint8Array {
  checkSplatCloud(cloud, "writeSplat");
  const out = new Uint8Array(cloud.count * SPLAT_RECORD_BYTES);
  const view = new DataView(out.buffer);
  const u8 = (x: number) => Math.min(255, Math.max(0, Math.round(x)));
  for (let i = 0; i < cloud.count; i++) {
    const o = i * SPLAT_RECORD_BYTES;
    for (let c = 0; c < 3; c++) {
      view.setFloat32(o + c * 4, cloud.positions[i * 3 + c]!, true);
      view.setFloat32(o + 12 + c * 4, cloud.scales[i * 3 + c]!, true);
      out[o + 24 + c] = u8(cloud.colors[i * 3 + c]! * 255);
    }
    out[o + 27] = u8(cloud.opacities[i]! * 255);
    for (let k = 0; k < 4; k++) out[o + 28 + k] = u8(cloud.rotations[i * 4 + k]! * 128 + 128);
  }
  return out;
}
