import { describe, expect, it } from "vitest";
import { GLTFLoader } from "three/examples/jsm/loaders/GLTFLoader.js";
import { GLTFGaussianSplatLoaderExtension } from "three/examples/jsm/loaders/GLTFGaussianSplatLoaderExtension.js";
import type { GaussianSplat } from "three/examples/jsm/objects/GaussianSplat.js";
import { randomCloud } from "../scenes/random-cloud";
import { shRestCount, type SplatCloud } from "../splats/splat-cloud";
import { readGlb } from "./read-glb";
import { writeGlb } from "./write-glb";
import { readPly } from "./read-ply";
import { writePly } from "./write-ply";
import { SH_C0 } from "./sh-constants";
import { readSplatFile, sniffSplatFormat } from "./index";

/** Largest absolute difference, for tolerance checks with a named field. */
function worst(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let w = 0;
  for (let i = 0; i < a.length; i++) w = Math.max(w, Math.abs(a[i]! - b[i]!));
  return w;
}

// Only the parts of glTF JSON the tests look at.
interface Json {
  asset: { version: string; generator?: string };
  extensionsUsed?: string[];
  extensionsRequired?: string[];
  scene?: number;
  scenes: Array<{ nodes: number[] }>;
  nodes: Array<{ mesh?: number; translation?: number[] }>;
  meshes: Array<{
    primitives: Array<{
      mode?: number;
      attributes: Record<string, number>;
      extensions?: Record<string, Record<string, unknown>>;
    }>;
  }>;
  buffers: Array<{ byteLength: number }>;
  bufferViews: Array<{ buffer: number; byteOffset?: number; byteLength: number; byteStride?: number }>;
  accessors: Array<{
    bufferView?: number;
    byteOffset?: number;
    componentType: number;
    normalized?: boolean;
    count: number;
    type: string;
    min?: number[];
    max?: number[];
  }>;
}

interface Chunk {
  type: number;
  start: number;
  length: number;
}

/** Parses a GLB by hand, without readGlb: header fields, chunk table, JSON and BIN. */
function parseGlb(bytes: Uint8Array) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const header = {
    magic: new TextDecoder().decode(bytes.subarray(0, 4)),
    version: view.getUint32(4, true),
    length: view.getUint32(8, true),
  };
  const chunks: Chunk[] = [];
  for (let at = 12; at < bytes.length;) {
    const length = view.getUint32(at, true);
    chunks.push({ type: view.getUint32(at + 4, true), start: at + 8, length });
    at += 8 + length;
  }
  const jsonText = new TextDecoder().decode(bytes.subarray(chunks[0]!.start, chunks[0]!.start + chunks[0]!.length));
  const bin = chunks[1] ? bytes.subarray(chunks[1].start, chunks[1].start + chunks[1].length) : new Uint8Array(0);
  return { header, chunks, jsonText, json: JSON.parse(jsonText) as Json, bin };
}

/** Packs JSON and an optional BIN chunk into a GLB by hand, to make files writeGlb never writes. */
function packGlb(json: unknown, bin: Uint8Array | null, version = 2): Uint8Array {
  let text = JSON.stringify(json);
  while (text.length % 4) text += " ";
  const jsonBytes = new TextEncoder().encode(text);
  const binLength = bin ? (bin.length + 3) & ~3 : 0;
  const total = 12 + 8 + jsonBytes.length + (bin ? 8 + binLength : 0);
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  out.set(new TextEncoder().encode("glTF"), 0);
  view.setUint32(4, version, true);
  view.setUint32(8, total, true);
  view.setUint32(12, jsonBytes.length, true);
  out.set(new TextEncoder().encode("JSON"), 16);
  out.set(jsonBytes, 20);
  if (bin) {
    const at = 20 + jsonBytes.length;
    view.setUint32(at, binLength, true);
    out.set([0x42, 0x49, 0x4e, 0], at + 4);
    out.set(bin, at + 8);
  }
  return out;
}

/** writeGlb's output with its JSON (and optionally its BIN) edited. */
function edited(cloud: SplatCloud, edit: (json: Json, bin: Uint8Array) => void): Uint8Array {
  const { json, bin } = parseGlb(writeGlb(cloud));
  const copy = bin.slice();
  edit(json, copy);
  return packGlb(json, copy);
}

/** The float32 values of an accessor, read by hand (tightly packed float accessors only). */
function floats(json: Json, bin: Uint8Array, semantic: string): Float32Array {
  const a = json.accessors[json.meshes[0]!.primitives[0]!.attributes[semantic]!]!;
  const v = json.bufferViews[a.bufferView!]!;
  const n = a.count * { SCALAR: 1, VEC3: 3, VEC4: 4 }[a.type as "SCALAR"];
  return new Float32Array(bin.slice((v.byteOffset ?? 0) + (a.byteOffset ?? 0)).buffer, 0, n);
}

const GS = "KHR_gaussian_splatting";
const JSON_CHUNK = 0x4e4f534a;
const BIN_CHUNK = 0x004e4942;

describe("writeGlb and readGlb", () => {
  for (const shDegree of [0, 1, 2, 3] as const) {
    it(`round-trip a cloud with SH degree ${shDegree} within float32 precision`, () => {
      const c = randomCloud(17 + shDegree, 50, { shDegree });
      const back = readGlb(writeGlb(c));
      expect(back.count).toBe(50);
      expect(back.shDegree).toBe(shDegree);
      // Stored as float32 unchanged (scales linear, opacities linear): bit-exact.
      expect(worst(back.positions, c.positions)).toBe(0);
      expect(worst(back.scales, c.scales)).toBe(0);
      expect(worst(back.opacities, c.opacities)).toBe(0);
      expect(worst(back.shRest, c.shRest)).toBe(0);
      // Colour goes through f_dc = (c - 0.5) / SH_C0 in float32; rotations are
      // renormalised on both sides: a few ulps of values <= 1.
      expect(worst(back.colors, c.colors)).toBeLessThan(1e-6);
      expect(worst(back.rotations, c.rotations)).toBeLessThan(1e-6);
    });
  }

  it("normalise rotations and keep their w x y z order", () => {
    const c = randomCloud(3, 2);
    c.rotations.set([2, 0, 0, 0, 0, 0, 0, -3]);
    const back = readGlb(writeGlb(c));
    expect(Array.from(back.rotations)).toEqual([1, 0, 0, 0, 0, 0, 0, -1]);
  });

  it("write the container, the JSON and the attributes as the spec lays them out", () => {
    const c = randomCloud(5, 7, { shDegree: 1 });
    c.colors[0] = 0.02; // below the sRGB curve's linear toe
    const bytes = writeGlb(c, { generator: "glb test" });
    const { header, chunks, jsonText, json, bin } = parseGlb(bytes);

    expect(header).toEqual({ magic: "glTF", version: 2, length: bytes.length });
    expect(bytes.length % 4).toBe(0);
    expect(chunks.map((k) => k.type)).toEqual([JSON_CHUNK, BIN_CHUNK]);
    for (const k of chunks) {
      expect(k.start % 4).toBe(0);
      expect(k.length % 4).toBe(0);
    }
    // JSON is padded with spaces, BIN with zeros.
    expect(jsonText.trimEnd()).toBe(JSON.stringify(json));
    expect(/^ *$/.test(jsonText.slice(JSON.stringify(json).length))).toBe(true);
    expect(bin.length).toBeGreaterThanOrEqual(json.buffers[0]!.byteLength);
    expect(bin.length - json.buffers[0]!.byteLength).toBeLessThan(4);
    expect(bin.subarray(json.buffers[0]!.byteLength).every((b) => b === 0)).toBe(true);

    expect(json.asset).toEqual({ version: "2.0", generator: "glb test" });
    expect(parseGlb(writeGlb(c)).json.asset.generator).toBe("PERSE Studio");
    expect(json.extensionsUsed).toEqual([GS]);
    // Viewers without splat support should still show the points.
    expect(json.extensionsRequired).toBeUndefined();
    expect(json.scene).toBe(0);
    expect(json.scenes[0]!.nodes).toEqual([0]);
    expect(json.nodes[0]!.mesh).toBe(0);
    const primitive = json.meshes[0]!.primitives[0]!;
    expect(primitive.mode).toBe(0);
    expect(primitive.extensions![GS]).toEqual({
      kernel: "ellipse",
      colorSpace: "srgb_rec709_display",
      projection: "perspective",
      sortingMethod: "cameraDistance",
    });
    expect(Object.keys(primitive.attributes).sort()).toEqual(
      [
        "POSITION",
        "COLOR_0",
        `${GS}:ROTATION`,
        `${GS}:SCALE`,
        `${GS}:OPACITY`,
        `${GS}:SH_DEGREE_0_COEF_0`,
        `${GS}:SH_DEGREE_1_COEF_0`,
        `${GS}:SH_DEGREE_1_COEF_1`,
        `${GS}:SH_DEGREE_1_COEF_2`,
      ].sort(),
    );
    const accessor = (semantic: string) => json.accessors[primitive.attributes[semantic]!]!;
    expect(accessor("POSITION")).toMatchObject({ type: "VEC3", componentType: 5126, count: 7 });
    expect(accessor("COLOR_0")).toMatchObject({ type: "VEC4", componentType: 5121, normalized: true });
    expect(accessor(`${GS}:ROTATION`)).toMatchObject({ type: "VEC4", componentType: 5126 });
    expect(accessor(`${GS}:SCALE`)).toMatchObject({ type: "VEC3", componentType: 5126 });
    expect(accessor(`${GS}:OPACITY`)).toMatchObject({ type: "SCALAR", componentType: 5126 });
    expect(accessor(`${GS}:SH_DEGREE_1_COEF_2`)).toMatchObject({ type: "VEC3", componentType: 5126 });

    // POSITION's min and max (required by glTF) are the true bounds.
    const lo = [0, 1, 2].map((k) => Math.min(...c.positions.filter((_, i) => i % 3 === k)));
    const hi = [0, 1, 2].map((k) => Math.max(...c.positions.filter((_, i) => i % 3 === k)));
    expect(accessor("POSITION").min).toEqual(lo);
    expect(accessor("POSITION").max).toEqual(hi);

    // Every view is 4-byte aligned inside the buffer, every accessor inside its view.
    const sizes: Record<string, number> = { SCALAR: 1, VEC3: 3, VEC4: 4 };
    const bytesPer: Record<number, number> = { 5121: 1, 5126: 4 };
    for (const v of json.bufferViews) {
      expect(v.buffer).toBe(0);
      expect((v.byteOffset ?? 0) % 4).toBe(0);
      expect((v.byteOffset ?? 0) + v.byteLength).toBeLessThanOrEqual(json.buffers[0]!.byteLength);
    }
    for (const a of json.accessors) {
      const elem = sizes[a.type]! * bytesPer[a.componentType]!;
      const view = json.bufferViews[a.bufferView!]!;
      const stride = view.byteStride ?? elem;
      expect(elem % 4).toBe(0);
      expect((a.byteOffset ?? 0) + (a.count - 1) * stride + elem).toBeLessThanOrEqual(view.byteLength);
    }

    // The values: quaternions x y z w, scales linear (not log), opacity linear,
    // SH degree 0 the 3DGS f_dc, degree 1 in m = -1, 0, 1 order.
    const i = 4;
    const rot = floats(json, bin, `${GS}:ROTATION`);
    const [w, x, y, z] = Array.from(c.rotations.subarray(i * 4, i * 4 + 4));
    [x, y, z, w].forEach((v, k) => expect(Math.abs(rot[i * 4 + k]! - v!)).toBeLessThan(1e-6));
    expect(floats(json, bin, `${GS}:SCALE`)).toEqual(c.scales);
    expect(floats(json, bin, `${GS}:OPACITY`)).toEqual(c.opacities);
    const dc = floats(json, bin, `${GS}:SH_DEGREE_0_COEF_0`);
    for (let k = 0; k < 21; k++) expect(dc[k]!).toBeCloseTo((c.colors[k]! - 0.5) / SH_C0, 5);
    const K = shRestCount(1);
    for (let m = 0; m < 3; m++) {
      const coef = floats(json, bin, `${GS}:SH_DEGREE_1_COEF_${m}`);
      expect(Array.from(coef.subarray(i * 3, i * 3 + 3))).toEqual(
        Array.from(c.shRest.subarray((i * K + m) * 3, (i * K + m) * 3 + 3)),
      );
    }
    // COLOR_0: linear (sRGB-decoded) colour, opacity in alpha, as the spec's fallback asks.
    const color0 = bin.subarray(json.bufferViews[accessor("COLOR_0").bufferView!]!.byteOffset!);
    const linear = (v: number) => (v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
    expect(color0[0]).toBe(Math.round((0.02 / 12.92) * 255));
    for (let k = 1; k < 3; k++) expect(color0[k]).toBe(Math.round(linear(c.colors[k]!) * 255));
    expect(color0[3]).toBe(Math.round(c.opacities[0]! * 255));
  });

  it("put degree-3 SH coefficients in the spec's m order", () => {
    const c = randomCloud(9, 3, { shDegree: 3 });
    const { json, bin } = parseGlb(writeGlb(c));
    const K = shRestCount(3);
    // Degree 3, m = +3 is the last of the 15 f_rest coefficients.
    const last = floats(json, bin, `${GS}:SH_DEGREE_3_COEF_6`);
    expect(Array.from(last.subarray(3, 6))).toEqual(Array.from(c.shRest.subarray((K + 14) * 3, (K + 15) * 3)));
    // Degree 2, m = -2 follows degree 1's three.
    const first2 = floats(json, bin, `${GS}:SH_DEGREE_2_COEF_0`);
    expect(Array.from(first2.subarray(0, 3))).toEqual(Array.from(c.shRest.subarray(9, 12)));
  });

  it("describe the same avatar as the PLY export", () => {
    for (const shDegree of [0, 3] as const) {
      const c = randomCloud(31, 40, { shDegree });
      const viaPly = readPly(writePly(c));
      const viaGlb = readGlb(writeGlb(c));
      expect(viaGlb.count).toBe(viaPly.count);
      expect(viaGlb.shDegree).toBe(viaPly.shDegree);
      expect(worst(viaGlb.positions, viaPly.positions)).toBe(0);
      expect(worst(viaGlb.shRest, viaPly.shRest)).toBe(0);
      expect(worst(viaGlb.colors, viaPly.colors)).toBeLessThan(1e-6);
      expect(worst(viaGlb.rotations, viaPly.rotations)).toBeLessThan(1e-6);
      expect(worst(viaGlb.opacities, viaPly.opacities)).toBeLessThan(1e-6);
      // PLY scales go through log/exp: relative float32 error of scales <= 0.05.
      expect(worst(viaGlb.scales, viaPly.scales)).toBeLessThan(1e-8);
    }
  });

  it("read a conforming file laid out differently: interleaved, quantised, padded, with an offset", () => {
    // Two splats. View 0 interleaves POSITION (f32 x3), ROTATION (normalised
    // i16 x4), SCALE (f32 x3) and OPACITY (normalised u8 + 3 pad) in 36-byte
    // records; view 1 holds SH degree 0 after 4 unused bytes.
    const stride = 36;
    const bin = new Uint8Array(2 * stride + 4 + 24 + 2);
    const view = new DataView(bin.buffer);
    const rows = [
      { p: [0.1, -0.2, 0.3], q: [0, 0.6, 0, 0.8], s: [0.01, 0.02, 0.03], o: 255, dc: [1, 0, -1] },
      { p: [-1, 2, -3], q: [0, 0, -1, 0], s: [0.5, 0.25, 0.125], o: 128, dc: [0, 0.5, 2] },
    ];
    rows.forEach((r, i) => {
      const at = i * stride;
      r.p.forEach((v, k) => view.setFloat32(at + k * 4, v, true));
      r.q.forEach((v, k) => view.setInt16(at + 12 + k * 2, Math.round(v * 32767), true));
      r.s.forEach((v, k) => view.setFloat32(at + 20 + k * 4, v, true));
      view.setUint8(at + 32, r.o);
      r.dc.forEach((v, k) => view.setFloat32(2 * stride + 4 + i * 12 + k * 4, v, true));
    });
    const json = {
      asset: { version: "2.0" },
      extensionsUsed: [GS],
      scenes: [{ nodes: [0] }],
      nodes: [
        { children: [1], translation: [0, 0, 0] },
        { mesh: 0, rotation: [0, 0, 0, 1], scale: [1, 1, 1] },
      ],
      meshes: [
        {
          primitives: [
            {
              mode: 0,
              attributes: {
                POSITION: 0,
                [`${GS}:ROTATION`]: 1,
                [`${GS}:SCALE`]: 2,
                [`${GS}:OPACITY`]: 3,
                [`${GS}:SH_DEGREE_0_COEF_0`]: 4,
              },
              extensions: { [GS]: { kernel: "ellipse", colorSpace: "srgb_rec709_display" } },
            },
          ],
        },
      ],
      buffers: [{ byteLength: bin.length }],
      bufferViews: [
        { buffer: 0, byteOffset: 0, byteLength: 2 * stride, byteStride: stride },
        { buffer: 0, byteOffset: 2 * stride, byteLength: 28 },
      ],
      accessors: [
        {
          bufferView: 0,
          byteOffset: 0,
          componentType: 5126,
          count: 2,
          type: "VEC3",
          min: [-1, -0.2, -3],
          max: [0.1, 2, 0.3],
        },
        { bufferView: 0, byteOffset: 12, componentType: 5122, normalized: true, count: 2, type: "VEC4" },
        { bufferView: 0, byteOffset: 20, componentType: 5126, count: 2, type: "VEC3" },
        { bufferView: 0, byteOffset: 32, componentType: 5121, normalized: true, count: 2, type: "SCALAR" },
        { bufferView: 1, byteOffset: 4, componentType: 5126, count: 2, type: "VEC3" },
      ],
    };
    const c = readGlb(packGlb(json, bin));
    expect(c.count).toBe(2);
    expect(c.shDegree).toBe(0);
    expect(Array.from(c.positions)).toEqual(rows.flatMap((r) => r.p.map(Math.fround)));
    expect(Array.from(c.scales)).toEqual(rows.flatMap((r) => r.s.map(Math.fround)));
    expect(Array.from(c.opacities)).toEqual([1, Math.fround(128 / 255)]);
    // x y z w in the file, w x y z in the cloud; 16-bit quantisation.
    const want = [0.8, 0, 0.6, 0, 0, 0, 0, -1];
    for (let k = 0; k < 8; k++) expect(c.rotations[k]!).toBeCloseTo(want[k]!, 4);
    const colors = rows.flatMap((r) => r.dc.map((v) => 0.5 + SH_C0 * v));
    for (let k = 0; k < 6; k++) expect(c.colors[k]!).toBeCloseTo(colors[k]!, 6);
  });

  it("concatenate several splat primitives at their lowest SH degree", () => {
    const c = randomCloud(8, 5, { shDegree: 1 });
    const bytes = edited(c, (json) => {
      const p = json.meshes[0]!.primitives[0]!;
      const attributes = Object.fromEntries(Object.entries(p.attributes).filter(([k]) => !k.includes("DEGREE_1")));
      json.meshes[0]!.primitives.push({ ...p, attributes });
    });
    const back = readGlb(bytes);
    expect(back.count).toBe(10);
    expect(back.shDegree).toBe(0);
    expect(Array.from(back.positions.subarray(15))).toEqual(Array.from(c.positions));
    expect(() => readGlb(bytes, { maxSplats: 9 })).toThrow(/^readGlb: 10 splats is more than the limit of 9$/);
  });
});

describe("a third-party reader", () => {
  it("three.js's KHR_gaussian_splatting loader reads writeGlb's file as we mean it", async () => {
    const c = randomCloud(42, 20, { shDegree: 3 });
    const bytes = writeGlb(c);
    const loader = new GLTFLoader();
    loader.register((parser) => new GLTFGaussianSplatLoaderExtension(parser));
    const gltf = await loader.parseAsync(bytes.slice().buffer, "");
    const splats: GaussianSplat[] = [];
    gltf.scene.traverse((o) => {
      if ((o as Partial<GaussianSplat>).isGaussianSplat) splats.push(o as GaussianSplat);
    });
    expect(splats.length).toBe(1);
    const g = splats[0]!.splatGeometry;
    const centres = g.getAttribute("position").array;
    const covariance = g.getAttribute("covariance").array;
    const colors = g.getAttribute("color").array;
    expect(Array.from(centres)).toEqual(Array.from(c.positions));
    for (let i = 0; i < c.count; i++) {
      // Sigma = R S S^T R^T from linear scales and a w x y z quaternion: a
      // reader that took the scales as logs or the quaternion as w first differs.
      const [w, x, y, z] = Array.from(c.rotations.subarray(i * 4, i * 4 + 4)) as [number, number, number, number];
      const R = [
        [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
        [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
        [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)],
      ];
      const s2 = Array.from(c.scales.subarray(i * 3, i * 3 + 3), (v) => v * v);
      const sigma = (a: number, b: number) =>
        R[a]![0]! * R[b]![0]! * s2[0]! + R[a]![1]! * R[b]![1]! * s2[1]! + R[a]![2]! * R[b]![2]! * s2[2]!;
      const want = [sigma(0, 0), sigma(0, 1), sigma(0, 2), sigma(1, 1), sigma(1, 2), sigma(2, 2)];
      const size = s2[0]! + s2[1]! + s2[2]!;
      want.forEach((v, k) => expect(Math.abs(covariance[i * 6 + k]! - v) / size).toBeLessThan(1e-6));
      for (let k = 0; k < 3; k++)
        expect(colors[i * 4 + k]).toBe(Math.round(Math.min(1, Math.max(0, c.colors[i * 3 + k]!)) * 255));
      expect(colors[i * 4 + 3]).toBe(Math.round(c.opacities[i]! * 255));
    }
    // three packs each SH coefficient as a byte, v * 128 + 128, in the file's coefficient order.
    const K = shRestCount(3);
    for (let l = 1; l <= 3; l++) {
      const band = new Uint8Array((g.getAttribute(`sphericalHarmonics${l}`).array as Uint32Array).buffer);
      const stride = [0, 12, 16, 24][l]!;
      for (let i = 0; i < c.count; i++) {
        for (let m = 0; m < 2 * l + 1; m++) {
          for (let ch = 0; ch < 3; ch++) {
            const v = c.shRest[(i * K + l * l - 1 + m) * 3 + ch]! * 128 + 128;
            expect(Math.abs(band[i * stride + m * 3 + ch]! - v)).toBeLessThanOrEqual(0.5 + 1e-4);
          }
        }
      }
    }
  });
});

describe("readGlb refuses bad input with a message that says what is wrong", () => {
  const c = randomCloud(4, 6, { shDegree: 1 });
  const good = writeGlb(c);
  const semantic = (name: string) => (json: Json) => json.meshes[0]!.primitives[0]!.attributes[name]!;

  it("not a GLB, wrong version, truncated", () => {
    expect(() => readGlb(good.subarray(0, 8))).toThrow(/^readGlb: not a GLB file: 8 bytes is shorter than its header$/);
    const ply = writePly(c);
    expect(() => readGlb(ply)).toThrow(/^readGlb: not a GLB file: it does not start with "glTF"$/);
    const v1 = good.slice();
    v1[4] = 1;
    expect(() => readGlb(v1)).toThrow(/^readGlb: GLB container version 1 is not supported \(only 2\)$/);
    expect(() => readGlb(good.subarray(0, good.length - 10))).toThrow(
      new RegExp(`^readGlb: truncated: the header says ${good.length} bytes but the file has ${good.length - 10}$`),
    );
    // A header that agrees with a cut file still cannot hide the cut BIN chunk.
    const cut = good.slice(0, good.length - 8);
    new DataView(cut.buffer).setUint32(8, cut.length, true);
    expect(() => readGlb(cut)).toThrow(/^readGlb: truncated: chunk 1 claims \d+ bytes but only \d+ remain$/);
  });

  it("a JSON chunk that is not JSON, or a glTF without splats", () => {
    const garbage = good.slice();
    garbage[20] = 0x7b; // "{"
    garbage[21] = 0x7b;
    expect(() => readGlb(garbage)).toThrow(/^readGlb: the JSON chunk is not valid UTF-8 JSON: /);
    const plain = edited(c, (json) => {
      delete json.meshes[0]!.primitives[0]!.extensions;
      delete json.extensionsUsed;
    });
    expect(() => readGlb(plain)).toThrow(
      /^readGlb: no mesh primitive has the KHR_gaussian_splatting extension: this glTF holds no Gaussian splats$/,
    );
    const json = parseGlb(good).json;
    expect(() => readGlb(packGlb(json, null))).toThrow(/POSITION: the file has no BIN chunk to hold its data$/);
    const v1 = edited(c, (j) => (j.asset.version = "1.0"));
    expect(() => readGlb(v1)).toThrow(/^readGlb: asset.version is "1.0", not a glTF 2.x version$/);
  });

  it("what the extension forbids or this reader cannot honour", () => {
    const mode = edited(c, (j) => delete j.meshes[0]!.primitives[0]!.mode);
    expect(() => readGlb(mode)).toThrow(
      /^readGlb: mesh 0 primitive 0: mode must be POINTS \(0\) for KHR_gaussian_splatting, got 4$/,
    );
    const lin = edited(c, (j) => (j.meshes[0]!.primitives[0]!.extensions![GS]!.colorSpace = "lin_rec709_display"));
    expect(() => readGlb(lin)).toThrow(
      /colorSpace "lin_rec709_display" is not supported \(only "srgb_rec709_display"\)$/,
    );
    const noKernel = edited(c, (j) => delete j.meshes[0]!.primitives[0]!.extensions![GS]!.kernel);
    expect(() => readGlb(noKernel)).toThrow(/^readGlb: mesh 0 primitive 0: kernel undefined is not supported/);
    const spz = edited(c, (j) => (j.extensionsRequired = [GS, "KHR_gaussian_splatting_compression_spz_2"]));
    expect(() => readGlb(spz)).toThrow(
      /^readGlb: the file requires the extension KHR_gaussian_splatting_compression_spz_2, which readGlb does not support$/,
    );
    const moved = edited(c, (j) => (j.nodes[0]!.translation = [0, 1, 0]));
    expect(() => readGlb(moved)).toThrow(
      /^readGlb: node 0 \("splats"\) transforms the splats of mesh 0; only splats under untransformed nodes are supported$/,
    );
    const partial = edited(c, (j) => delete j.meshes[0]!.primitives[0]!.attributes[`${GS}:SH_DEGREE_1_COEF_2`]);
    expect(() => readGlb(partial)).toThrow(/^readGlb: mesh 0 primitive 0: SH degree 1 is incomplete/);
    const noScale = edited(c, (j) => delete j.meshes[0]!.primitives[0]!.attributes[`${GS}:SCALE`]);
    expect(() => readGlb(noScale)).toThrow(
      /^readGlb: mesh 0 primitive 0 has no KHR_gaussian_splatting:SCALE attribute$/,
    );
  });

  it("accessors out of range, of the wrong kind, or holding invalid values", () => {
    const rotation = semantic(`${GS}:ROTATION`);
    const past = edited(c, (j) => (j.accessors[rotation(j)]!.byteOffset = 4));
    expect(() => readGlb(past)).toThrow(
      /^readGlb: mesh 0 primitive 0 KHR_gaussian_splatting:ROTATION: accessor 2 is out of range: 6 elements of 16 bytes every 16 from 4 need 100 bytes, bufferView 2 has 96$/,
    );
    const outside = edited(c, (j) => (j.bufferViews[0]!.byteLength = 1 << 20));
    expect(() => readGlb(outside)).toThrow(
      /POSITION: bufferView 0 \(bytes 0\.\.1048576\) lies outside the \d+-byte BIN buffer$/,
    );
    const sh = semantic(`${GS}:SH_DEGREE_0_COEF_0`);
    const u8 = edited(c, (j) => (j.accessors[sh(j)]!.componentType = 5121));
    expect(() => readGlb(u8)).toThrow(
      /SH_DEGREE_0_COEF_0: componentType 5121 \(UNSIGNED_BYTE\) is not supported; the spec allows FLOAT$/,
    );
    const int = edited(c, (j) => (j.accessors[rotation(j)]!.componentType = 5125));
    expect(() => readGlb(int)).toThrow(
      /ROTATION: componentType 5125 \(UNSIGNED_INT\) is not supported; the spec allows FLOAT, normalized BYTE, normalized SHORT$/,
    );
    const short = edited(c, (j) => (j.accessors[semantic(`${GS}:OPACITY`)(j)]!.count = 5));
    expect(() => readGlb(short)).toThrow(/OPACITY: accessor 4 has 5 elements but POSITION has 6$/);
    // Log-space scales (an earlier draft) are negative for splats under a metre.
    const logScales = edited(c, (j, bin) => {
      const v = j.bufferViews[j.accessors[semantic(`${GS}:SCALE`)(j)]!.bufferView!]!;
      new DataView(bin.buffer).setFloat32(v.byteOffset! + 4, -4.5, true);
    });
    expect(() => readGlb(logScales)).toThrow(
      /^readGlb: splat 0 has a negative KHR_gaussian_splatting:SCALE \(-4\.5\); scales must be linear and non-negative/,
    );
    const nan = edited(c, (j, bin) => {
      const v = j.bufferViews[j.accessors[semantic(`${GS}:OPACITY`)(j)]!.bufferView!]!;
      new DataView(bin.buffer).setFloat32(v.byteOffset! + 8, NaN, true);
    });
    expect(() => readGlb(nan)).toThrow(/OPACITY: element 2 is not finite \(NaN\)$/);
    const opaque = edited(c, (j, bin) => {
      const v = j.bufferViews[j.accessors[semantic(`${GS}:OPACITY`)(j)]!.bufferView!]!;
      new DataView(bin.buffer).setFloat32(v.byteOffset! + 8, 1.5, true);
    });
    expect(() => readGlb(opaque)).toThrow(
      /^readGlb: splat 2 has KHR_gaussian_splatting:OPACITY 1.5, outside \[0, 1\]$/,
    );
  });
});

describe("writeGlb refuses what glTF or the spec cannot hold", () => {
  it("an empty cloud, a non-finite value, a negative scale, a zero quaternion", () => {
    expect(() => writeGlb(randomCloud(1, 0))).toThrow(/^writeGlb: the cloud is empty/);
    const c = randomCloud(1, 3);
    c.positions[4] = NaN;
    expect(() => writeGlb(c)).toThrow(/^writeGlb: positions\[4\] is not finite \(NaN\)$/);
    const s = randomCloud(1, 3);
    s.scales[7] = -0.5;
    expect(() => writeGlb(s)).toThrow(/^writeGlb: splat 2 has a negative scale \(-0.5\)/);
    const q = randomCloud(1, 3);
    q.rotations.fill(0, 4, 8);
    expect(() => writeGlb(q)).toThrow(/^writeGlb: splat 1 has a zero rotation quaternion$/);
  });
});

describe("sniffSplatFormat and readSplatFile with .glb", () => {
  const c = randomCloud(6, 8);
  const glb = writeGlb(c);

  it("recognise a GLB by its magic whatever its name, and by a .glb name", () => {
    expect(sniffSplatFormat(glb)).toBe("glb");
    expect(sniffSplatFormat(glb, "avatar.bin")).toBe("glb");
    expect(sniffSplatFormat(new Uint8Array(64), "Avatar.GLB")).toBe("glb");
    // Nameless bytes a multiple of 32 long are a .splat, unless they start with "glTF".
    expect(sniffSplatFormat(glb.subarray(0, 64))).toBe("glb");
    expect(readSplatFile(glb, "avatar.glb").count).toBe(8);
    expect(readSplatFile(glb).count).toBe(8);
  });

  it("let readGlb explain a damaged .glb, and pass the splat limit on", () => {
    expect(() => readSplatFile(new Uint8Array(40), "avatar.glb")).toThrow(/^readGlb: not a GLB file/);
    expect(() => readSplatFile(glb, "", { maxSplats: 7 })).toThrow(/^readGlb: 8 splats is more than the limit of 7$/);
  });
});
