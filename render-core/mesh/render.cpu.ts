/**
 * CPU twin of the WebGPU mesh renderer (./renderer.ts, shaders/mesh/mesh.wgsl.ts):
 * a z-buffer rasteriser with the same projection, depth mapping, perspective-
 * correct interpolation, shading (./scene.ts) and blending. Pixel centres at
 * (i + 0.5, j + 0.5); a pixel is covered when its centre is inside the
 * triangle or on its edge.
 */
import type { Camera } from "../math/camera";
import { cameraCenter } from "../math/camera";
import {
  STUDIO_LIGHTS,
  checkMeshDraws,
  checkMeshLights,
  drawOrder,
  isBlended,
  meshDiffuse,
  type MeshDraw,
  type MeshFrame,
  type MeshLights,
  type MeshTexture,
} from "./scene";

export interface MeshRenderOptions {
  background?: [number, number, number];
  lights?: MeshLights;
}

/** Depth in [0, 1] as the GPU pipeline writes it: far * (z - near) / (z * (far - near)). */
export function ndcDepth(z: number, near: number, far: number): number {
  return (far * (z - near)) / (z * (far - near));
}

/** Bilinear texture lookup, texel centres at (i + 0.5) / W, clamped at the edges. RGBA in [0, 1]. */
export function sampleTexture(t: MeshTexture, u: number, v: number, out: Float64Array): Float64Array {
  const x = Math.min(Math.max(u * t.width - 0.5, 0), t.width - 1);
  const y = Math.min(Math.max(v * t.height - 0.5, 0), t.height - 1);
  const x0 = Math.floor(x),
    y0 = Math.floor(y);
  const x1 = Math.min(x0 + 1, t.width - 1),
    y1 = Math.min(y0 + 1, t.height - 1);
  const fx = x - x0,
    fy = y - y0;
  for (let k = 0; k < 4; k++) {
    const a = t.data[(y0 * t.width + x0) * 4 + k]!,
      b = t.data[(y0 * t.width + x1) * 4 + k]!;
    const c = t.data[(y1 * t.width + x0) * 4 + k]!,
      d = t.data[(y1 * t.width + x1) * 4 + k]!;
    out[k] = ((a * (1 - fx) + b * fx) * (1 - fy) + (c * (1 - fx) + d * fx) * fy) / 255;
  }
  return out;
}

export function renderMeshCpu(draws: readonly MeshDraw[], camera: Camera, options: MeshRenderOptions = {}): MeshFrame {
  checkMeshDraws(draws, "renderMeshCpu");
  const { width: W, height: H, fx, fy, cx, cy, near, far } = camera;
  const m = camera.worldToCamera;
  const L = options.lights ?? STUDIO_LIGHTS;
  checkMeshLights(L, "renderMeshCpu");
  const bg = options.background ?? [0, 0, 0];
  const eye = cameraCenter(m);
  const rgb = new Float32Array(W * H * 3);
  for (let i = 0; i < W * H; i++) rgb.set(bg, i * 3);
  const mask = new Float32Array(W * H);
  const parse = new Uint8Array(W * H);
  const depth = new Float32Array(W * H).fill(1);
  const tex = new Float64Array(4);
  const halfKey = [0, 0, 0];
  const diffuse = [0, 0, 0];

  for (const k of drawOrder(draws)) {
    const d = draws[k]!;
    const blended = isBlended(d);
    const V = d.positions.length / 3;
    // Per vertex: screen u, v, view depth z, NDC depth.
    const su = new Float64Array(V),
      sv = new Float64Array(V),
      sz = new Float64Array(V),
      nd = new Float64Array(V);
    for (let i = 0; i < V; i++) {
      const [x, y, z] = [0, 1, 2].map(
        (r) =>
          m[r * 4]! * d.positions[i * 3]! +
          m[r * 4 + 1]! * d.positions[i * 3 + 1]! +
          m[r * 4 + 2]! * d.positions[i * 3 + 2]! +
          m[r * 4 + 3]!,
      ) as [number, number, number];
      sz[i] = z;
      su[i] = (fx * x) / z + cx;
      sv[i] = (fy * y) / z + cy;
      nd[i] = ndcDepth(z, near, far);
    }
    for (let t = 0; t < d.indices.length; t += 3) {
      const ia = d.indices[t]!,
        ib = d.indices[t + 1]!,
        ic = d.indices[t + 2]!;
      // Whole triangles outside [near, far] are dropped; the scenes keep their geometry in front of the camera.
      if (sz[ia]! <= near || sz[ib]! <= near || sz[ic]! <= near || sz[ia]! >= far || sz[ib]! >= far || sz[ic]! >= far)
        continue;
      const area = (su[ib]! - su[ia]!) * (sv[ic]! - sv[ia]!) - (sv[ib]! - sv[ia]!) * (su[ic]! - su[ia]!);
      if (area === 0) continue;
      const x0 = Math.max(0, Math.floor(Math.min(su[ia]!, su[ib]!, su[ic]!))),
        x1 = Math.min(W - 1, Math.ceil(Math.max(su[ia]!, su[ib]!, su[ic]!)));
      const y0 = Math.max(0, Math.floor(Math.min(sv[ia]!, sv[ib]!, sv[ic]!))),
        y1 = Math.min(H - 1, Math.ceil(Math.max(sv[ia]!, sv[ib]!, sv[ic]!)));
      for (let py = y0; py <= y1; py++) {
        for (let px = x0; px <= x1; px++) {
          const u = px + 0.5,
            v = py + 0.5;
          // Barycentrics in screen space (any winding: thin geometry is two-sided).
          const wa = ((su[ib]! - u) * (sv[ic]! - v) - (sv[ib]! - v) * (su[ic]! - u)) / area;
          const wb = ((su[ic]! - u) * (sv[ia]! - v) - (sv[ic]! - v) * (su[ia]! - u)) / area;
          const wc = 1 - wa - wb;
          if (wa < 0 || wb < 0 || wc < 0) continue;
          const p = py * W + px;
          const z = wa * nd[ia]! + wb * nd[ib]! + wc * nd[ic]!;
          if (!(z < depth[p]!)) continue;
          // Perspective-correct weights for the attributes.
          const pa = wa / sz[ia]!,
            pb = wb / sz[ib]!,
            pc = wc / sz[ic]!;
          const s = pa + pb + pc;
          const ba = pa / s,
            bb = pb / s,
            bc = pc / s;
          const lerp = (arr: Float32Array, n: number, c: number) =>
            ba * arr[ia * n + c]! + bb * arr[ib * n + c]! + bc * arr[ic * n + c]!;
          let alpha = d.material.opacity;
          // Colours alone, the texture tinted by them, or the texture alone (tint 1); grey without either.
          const grey = d.texture ? 1 : 0.6;
          let [r, g, b] = d.colors
            ? [lerp(d.colors, 3, 0), lerp(d.colors, 3, 1), lerp(d.colors, 3, 2)]
            : [grey, grey, grey];
          if (d.texture) {
            sampleTexture(d.texture, lerp(d.uvs!, 2, 0), lerp(d.uvs!, 2, 1), tex);
            [r, g, b] = [r * tex[0]!, g * tex[1]!, b * tex[2]!];
            if (d.material.blend) alpha *= tex[3]!;
          }
          const wx = lerp(d.positions, 3, 0),
            wy = lerp(d.positions, 3, 1),
            wz = lerp(d.positions, 3, 2);
          let nx = lerp(d.normals, 3, 0),
            ny = lerp(d.normals, 3, 1),
            nz = lerp(d.normals, 3, 2);
          const nl = Math.hypot(nx, ny, nz) || 1;
          let vx = eye[0] - wx,
            vy = eye[1] - wy,
            vz = eye[2] - wz;
          const vl = Math.hypot(vx, vy, vz) || 1;
          [vx, vy, vz] = [vx / vl, vy / vl, vz / vl];
          const flip = nx * vx + ny * vy + nz * vz < 0 ? -1 : 1;
          [nx, ny, nz] = [(flip * nx) / nl, (flip * ny) / nl, (flip * nz) / nl];
          meshDiffuse(L, nx, ny, nz, diffuse);
          halfKey[0] = L.keyDir[0] + vx;
          halfKey[1] = L.keyDir[1] + vy;
          halfKey[2] = L.keyDir[2] + vz;
          const hl = Math.hypot(halfKey[0]!, halfKey[1]!, halfKey[2]!) || 1;
          const spec =
            d.material.specular *
            L.key *
            Math.max(0, (nx * halfKey[0]! + ny * halfKey[1]! + nz * halfKey[2]!) / hl) ** d.material.shininess;
          const c = [r * diffuse[0]! + spec, g * diffuse[1]! + spec, b * diffuse[2]! + spec];
          if (!blended) {
            for (let q = 0; q < 3; q++) rgb[p * 3 + q] = c[q]!;
            mask[p] = 1;
            parse[p] = d.classId;
            depth[p] = z;
          } else {
            for (let q = 0; q < 3; q++) rgb[p * 3 + q] = c[q]! * alpha + rgb[p * 3 + q]! * (1 - alpha);
            mask[p] = alpha + mask[p]! * (1 - alpha);
            if (alpha >= 0.5) parse[p] = d.classId;
          }
        }
      }
    }
  }
  return { width: W, height: H, rgb, mask, parse };
}
