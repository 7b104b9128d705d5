/**
 * Writes a splat cloud as binary glTF 2.0 (.glb) with KHR_gaussian_splatting.
 * Spec: KhronosGroup/glTF extensions/2.0/Khronos/KHR_gaussian_splatting,
 * Release Candidate as of commit 63770cc (2026-04-15). It forces: one POINTS
 * primitive; namespaced attributes KHR_gaussian_splatting:ROTATION (unit
 * quaternion, glTF x y z w), :SCALE (LINEAR, non-negative; older drafts said
 * log), :OPACITY (linear 0..1), :SH_DEGREE_0_COEF_0 (the 3DGS f_dc) and
 * :SH_DEGREE_l_COEF_n for n = 0..2l (order m = n - l); required kernel and
 * colorSpace ("ellipse", "srgb_rec709_display": 3DGS colours are sRGB,
 * display-referred).
 * Our choices: float accessors, one tightly packed bufferView each; a COLOR_0
 * (linear RGB, opacity in A) so that viewers without the extension still show
 * a coloured point cloud, which is also why the extension is in
 * extensionsUsed but not extensionsRequired.
 * Axes: glTF is right-handed, +Y up, metres, and its front faces +Z; head
 * space (render-core/head/head-model.ts) is the same (+x subject's left, +y
 * up, +z where the face looks), so nothing is converted.
 */
import { checkSplatCloud, shRestCount, type SplatCloud } from "../splats/splat-cloud";
import {
  GL_FLOAT,
  GL_UNSIGNED_BYTE,
  GLB_CHUNK_BIN,
  GLB_CHUNK_JSON,
  GLB_MAGIC,
  GS_EXTENSION,
  GS_OPACITY,
  GS_ROTATION,
  GS_SCALE,
  gsShSemantic,
} from "./read-glb";
import { SH_C0 } from "./sh-constants";

export interface WriteGlbOptions {
  /** asset.generator. Default "PERSE Studio". */
  generator?: string;
}

/** GL_ARRAY_BUFFER: the bufferViews hold vertex attributes. */
const ARRAY_BUFFER = 34962;

interface Attribute {
  semantic: string;
  type: "SCALAR" | "VEC3" | "VEC4";
  componentType: number;
  normalized?: boolean;
  data: Uint8Array;
  min?: number[];
  max?: number[];
}

export function writeGlb(cloud: SplatCloud, options: WriteGlbOptions = {}): Uint8Array {
  const owner = "writeGlb";
  checkSplatCloud(cloud, owner);
  const n = cloud.count;
  // glTF accessors hold at least one element.
  if (n === 0) throw new Error(`${owner}: the cloud is empty; a glTF accessor needs at least one splat`);
  for (const [name, arr] of [
    ["positions", cloud.positions],
    ["scales", cloud.scales],
    ["rotations", cloud.rotations],
    ["opacities", cloud.opacities],
    ["colors", cloud.colors],
    ["shRest", cloud.shRest],
  ] as const) {
    const bad = arr.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) throw new Error(`${owner}: ${name}[${bad}] is not finite (${arr[bad]})`);
  }

  const rotations = new Float32Array(n * 4);
  const scales = new Float32Array(n * 3);
  const opacities = new Float32Array(n);
  const dc = new Float32Array(n * 3);
  const color0 = new Uint8Array(n * 4);
  const min = [Infinity, Infinity, Infinity];
  const max = [-Infinity, -Infinity, -Infinity];
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < 3; c++) {
      const p = cloud.positions[i * 3 + c]!;
      min[c] = Math.min(min[c]!, p);
      max[c] = Math.max(max[c]!, p);
      const s = cloud.scales[i * 3 + c]!;
      if (s < 0) throw new Error(`${owner}: splat ${i} has a negative scale (${s}); the spec forbids them`);
      scales[i * 3 + c] = s;
      const rgb = cloud.colors[i * 3 + c]!;
      dc[i * 3 + c] = (rgb - 0.5) / SH_C0;
      // COLOR_0 is linear by glTF's rules; the splat colour is sRGB-encoded.
      color0[i * 4 + c] = Math.round(srgbToLinear(Math.min(1, Math.max(0, rgb))) * 255);
    }
    // Out-of-range opacities make the file invalid; SplatCloud promises [0, 1] anyway.
    const o = Math.min(1, Math.max(0, cloud.opacities[i]!));
    opacities[i] = o;
    color0[i * 4 + 3] = Math.round(o * 255);
    const [w, x, y, z] = [0, 1, 2, 3].map((k) => cloud.rotations[i * 4 + k]!) as [number, number, number, number];
    const l = Math.hypot(w, x, y, z);
    if (!(l > 0)) throw new Error(`${owner}: splat ${i} has a zero rotation quaternion`);
    // The spec promises unit quaternions (renderers need not renormalise), in glTF's x y z w order.
    rotations.set([x / l, y / l, z / l, w / l], i * 4);
  }

  const bytesOf = (a: Float32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const attributes: Attribute[] = [
    {
      semantic: "POSITION",
      type: "VEC3",
      componentType: GL_FLOAT,
      data: bytesOf(cloud.positions),
      // Math.fround: the bounds must be the float32 values actually stored.
      min: min.map(Math.fround),
      max: max.map(Math.fround),
    },
    { semantic: "COLOR_0", type: "VEC4", componentType: GL_UNSIGNED_BYTE, normalized: true, data: color0 },
    { semantic: GS_ROTATION, type: "VEC4", componentType: GL_FLOAT, data: bytesOf(rotations) },
    { semantic: GS_SCALE, type: "VEC3", componentType: GL_FLOAT, data: bytesOf(scales) },
    { semantic: GS_OPACITY, type: "SCALAR", componentType: GL_FLOAT, data: bytesOf(opacities) },
    { semantic: gsShSemantic(0, 0), type: "VEC3", componentType: GL_FLOAT, data: bytesOf(dc) },
  ];
  const K = shRestCount(cloud.shDegree);
  for (let l = 1; l <= cloud.shDegree; l++) {
    for (let m = 0; m < 2 * l + 1; m++) {
      // shRest's coefficient order (3DGS f_rest) is the spec's: degree by degree, m = -l .. l.
      const k = l * l - 1 + m;
      const coef = new Float32Array(n * 3);
      for (let i = 0; i < n; i++) {
        for (let c = 0; c < 3; c++) coef[i * 3 + c] = cloud.shRest[(i * K + k) * 3 + c]!;
      }
      attributes.push({ semantic: gsShSemantic(l, m), type: "VEC3", componentType: GL_FLOAT, data: bytesOf(coef) });
    }
  }

  // One bufferView per attribute, each starting on a 4-byte boundary.
  let binLength = 0;
  const offsets = attributes.map((a) => {
    const at = binLength;
    binLength = pad4(binLength + a.data.length);
    return at;
  });
  const bin = new Uint8Array(binLength);
  attributes.forEach((a, i) => bin.set(a.data, offsets[i]));

  const gltf = {
    asset: { version: "2.0", generator: options.generator ?? "PERSE Studio" },
    extensionsUsed: [GS_EXTENSION],
    scene: 0,
    scenes: [{ nodes: [0] }],
    nodes: [{ name: "splats", mesh: 0 }],
    meshes: [
      {
        name: "splats",
        primitives: [
          {
            mode: 0,
            attributes: Object.fromEntries(attributes.map((a, i) => [a.semantic, i])),
            extensions: {
              [GS_EXTENSION]: {
                kernel: "ellipse",
                colorSpace: "srgb_rec709_display",
                projection: "perspective",
                sortingMethod: "cameraDistance",
              },
            },
          },
        ],
      },
    ],
    buffers: [{ byteLength: binLength }],
    bufferViews: attributes.map((a, i) => ({
      buffer: 0,
      byteOffset: offsets[i],
      byteLength: a.data.length,
      target: ARRAY_BUFFER,
    })),
    accessors: attributes.map((a, i) => ({
      bufferView: i,
      componentType: a.componentType,
      ...(a.normalized ? { normalized: true } : {}),
      count: n,
      type: a.type,
      ...(a.min ? { min: a.min, max: a.max } : {}),
    })),
  };
  return packGlb(gltf, bin);
}

/** GLB container: 12-byte header, JSON chunk padded with spaces, BIN chunk padded with zeros. */
function packGlb(gltf: object, bin: Uint8Array): Uint8Array {
  const text = new TextEncoder().encode(JSON.stringify(gltf));
  const jsonLength = pad4(text.length);
  const binLength = pad4(bin.length);
  const total = 12 + 8 + jsonLength + 8 + binLength;
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  view.setUint32(0, GLB_MAGIC, true);
  view.setUint32(4, 2, true);
  view.setUint32(8, total, true);
  view.setUint32(12, jsonLength, true);
  view.setUint32(16, GLB_CHUNK_JSON, true);
  out.set(text, 20);
  out.fill(0x20, 20 + text.length, 20 + jsonLength);
  const binAt = 20 + jsonLength;
  view.setUint32(binAt, binLength, true);
  view.setUint32(binAt + 4, GLB_CHUNK_BIN, true);
  out.set(bin, binAt + 8);
  return out;
}

const pad4 = (x: number) => (x + 3) & ~3;

/** The sRGB transfer function's inverse (IEC 61966-2-1). */
function srgbToLinear(c: number): number {
  return c <= 0.04045 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4);
}
