/**
 * Writes the standard 3DGS binary little-endian PLY (float32): x y z, nx ny
 * nz (zero), f_dc_0..2, f_rest_* (channel-major), opacity (logit), scale
 * (log), rot (w x y z). The inverse of readPly.
 */
import { checkSplatCloud, shRestCount, type SplatCloud } from "../splats/splat-cloud";
import { SH_C0 } from "./sh-constants";

export function writePly(cloud: SplatCloud): Uint8Array {
  checkSplatCloud(cloud, "writePly");
  const n = cloud.count;
  const K = shRestCount(cloud.shDegree);
  const names = ["x", "y", "z", "nx", "ny", "nz", "f_dc_0", "f_dc_1", "f_dc_2"];
  for (let k = 0; k < K * 3; k++) names.push(`f_rest_${k}`);
  names.push("opacity", "scale_0", "scale_1", "scale_2", "rot_0", "rot_1", "rot_2", "rot_3");
  const header = `ply\nformat binary_little_endian 1.0\ncomment written by PERSE Studio\nelement vertex ${n}\n${names.map((p) => `property float ${p}`).join("\n")}\nend_header\n`;
  const head = new TextEncoder().encode(header);
  const per = names.length;
  const body = new Float32Array(n * per);
  const logit = (p: number) => {
    const q = Math.min(Math.max(p, 1e-7), 1 - 1e-7);
    return Math.log(q / (1 - q));
  };
  for (let i = 0; i < n; i++) {
    const o = i * per;
    body[o] = cloud.positions[i * 3]!;
    body[o + 1] = cloud.positions[i * 3 + 1]!;
    body[o + 2] = cloud.positions[i * 3 + 2]!;
    for (let c = 0; c < 3; c++) body[o + 6 + c] = (cloud.colors[i * 3 + c]! - 0.5) / SH_C0;
    for (let k = 0; k < K; k++) {
      for (let c = 0; c < 3; c++) body[o + 9 + c * K + k] = cloud.shRest[(i * K + k) * 3 + c]!;
    }
    const r = o + 9 + K * 3;
    body[r] = logit(cloud.opacities[i]!);
    for (let c = 0; c < 3; c++) body[r + 1 + c] = Math.log(Math.max(cloud.scales[i * 3 + c]!, 1e-30));
    for (let c = 0; c < 4; c++) body[r + 4 + c] = cloud.rotations[i * 4 + c]!;
  }
  const out = new Uint8Array(head.length + body.byteLength);
  out.set(head);
  out.set(new Uint8Array(body.buffer), head.length);
  return out;
}
