import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { createSplatCloud, type SplatCloud } from "../splats/splat-cloud";
import { mulberry32 } from "../math/prng";
import { readPly } from "./read-ply";
import { writePly } from "./write-ply";
import { readSplat } from "./read-splat";
import { writeSplat } from "./write-splat";
import { readSplatFile } from "./index";
import { SH_C0 } from "./sh-constants";

function randomCloud(n: number, degree: 0 | 1 | 2 | 3, seed = 1): SplatCloud {
  const r = mulberry32(seed);
  const c = createSplatCloud(n, degree);
  for (let i = 0; i < n; i++) {
    c.positions.set([r() - 0.5, r() - 0.5, r() - 0.5], i * 3);
    c.scales.set([0.01 + r() * 0.1, 0.01 + r() * 0.1, 0.01 + r() * 0.1], i * 3);
    const q = [r() - 0.5, r() - 0.5, r() - 0.5, r() - 0.5];
    const l = Math.hypot(...q);
    c.rotations.set(q.map((v) => v / l), i * 4);
    c.opacities[i] = 0.05 + 0.9 * r();
    c.colors.set([r(), r(), r()], i * 3);
  }
  for (let k = 0; k < c.shRest.length; k++) c.shRest[k] = r() - 0.5;
  return c;
}

function expectClose(a: Float32Array, b: Float32Array, tol: number, what: string) {
  expect(a.length, what).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  expect(worst, what).toBeLessThanOrEqual(tol);
}

const enc = (s: string) => new TextEncoder().encode(s);

describe("3DGS .ply", () => {
  for (const degree of [0, 3] as const) {
    it(`round-trips a binary file with SH degree ${degree}`, () => {
      const c = randomCloud(50, degree);
      const back = readPly(writePly(c));
      expect(back.count).toBe(50);
      expect(back.shDegree).toBe(degree);
      // Positions, rotations and SH go through float32 unchanged; colour, scale and
      // opacity through an affine map, exp/log and logit/sigmoid: a few float32 ulps.
      expectClose(back.positions, c.positions, 0, "positions");
      expectClose(back.shRest, c.shRest, 0, "shRest");
      expectClose(back.rotations, c.rotations, 1e-6, "rotations");
      expectClose(back.colors, c.colors, 1e-6, "colors");
      expectClose(back.scales, c.scales, 1e-7, "scales");
      expectClose(back.opacities, c.opacities, 1e-6, "opacities");
    });
  }

  it("reads a tiny hand-written ASCII file with exact values and ignores extra properties", () => {
    const c = readPly(new Uint8Array(readFileSync(new URL("./fixtures/tiny-ascii.ply", import.meta.url))));
    expect(c.count).toBe(3);
    expect(c.shDegree).toBe(0);
    expect(Array.from(c.positions.subarray(3, 6))).toEqual([1.5, -2, 3.25]);
    expect(c.colors[3]).toBeCloseTo(0.5 + SH_C0 * 1, 6);
    expect(c.colors[4]).toBeCloseTo(0.5 - SH_C0, 6);
    expect(c.opacities[0]).toBeCloseTo(0.5, 7);
    expect(c.opacities[1]).toBeCloseTo(1 / (1 + Math.exp(-2)), 6);
    expect(c.scales[3]).toBeCloseTo(Math.exp(-1), 6);
    // Rotation (0, 0, 0, 2) normalises to (0, 0, 0, 1); (1, 1, 1, 1) to halves.
    expect(Array.from(c.rotations.subarray(4, 8))).toEqual([0, 0, 0, 1]);
    expect(Array.from(c.rotations.subarray(8, 12))).toEqual([0.5, 0.5, 0.5, 0.5]);
  });

  const header = (body: string, count = 1, format = "binary_little_endian") =>
    `ply\nformat ${format} 1.0\nelement vertex ${count}\n${body}end_header\n`;
  const fullProps = ["x", "y", "z", "f_dc_0", "f_dc_1", "f_dc_2", "opacity", "scale_0", "scale_1", "scale_2", "rot_0", "rot_1", "rot_2", "rot_3"]
    .map((p) => `property float ${p}\n`)
    .join("");

  it("refuses malformed files with a message that names the problem", () => {
    expect(() => readPly(enc("hello"))).toThrow(/not a PLY/);
    expect(() => readPly(enc("ply\nformat binary_little_endian 1.0\nelement vertex 1\n"))).toThrow(/end_header/);
    expect(() => readPly(enc(header(fullProps, 1, "binary_big_endian")))).toThrow(/big_endian/);
    expect(() => readPly(enc(header("property float x\n")))).toThrow(/missing y, z, f_dc_0/);
    // Header promises 1000 splats, body has none: refused before any allocation.
    expect(() => readPly(enc(header(fullProps, 1000)))).toThrow(/truncated: the header promises 1000 splats/);
    expect(() => readPly(enc(header(fullProps, 20_000_001)))).toThrow(/more than the limit/);
    expect(() => readPly(enc(header(fullProps + "property float f_rest_0\n")))).toThrow(/fit no SH degree/);
    expect(() => readPly(enc(header(fullProps).replace("property float x", "property list uchar int x")))).toThrow(/list properties/);
    const nan = writePly(randomCloud(3, 0));
    const body = new Float32Array(nan.buffer.slice(nan.length - 3 * 17 * 4));
    body[17 + 1] = NaN; // splat 1, y
    const broken = new Uint8Array(nan.length);
    broken.set(nan.subarray(0, nan.length - body.byteLength));
    broken.set(new Uint8Array(body.buffer), nan.length - body.byteLength);
    expect(() => readPly(broken)).toThrow(/splat 1 has a non-finite y/);
  });
});

describe(".splat", () => {
  it("round-trips within the format's 8-bit colour and rotation quantisation", () => {
    const c = randomCloud(40, 0, 2);
    const back = readSplat(writeSplat(c));
    expectClose(back.positions, c.positions, 0, "positions");
    expectClose(back.scales, c.scales, 0, "scales");
    // 8-bit colour and opacity: half a step is 1/510.
    expectClose(back.colors, c.colors, 1 / 510 + 1e-7, "colors");
    expectClose(back.opacities, c.opacities, 1 / 510 + 1e-7, "opacities");
    // Rotation components quantised to 1/128, then renormalised: within ~1/128.
    expectClose(back.rotations, c.rotations, 1 / 100, "rotations");
  });

  it("refuses truncated, empty and non-finite files", () => {
    expect(() => readSplat(new Uint8Array(0))).toThrow(/empty/);
    expect(() => readSplat(new Uint8Array(33))).toThrow(/not a whole number of 32-byte splats/);
    const bytes = writeSplat(randomCloud(2, 0));
    new DataView(bytes.buffer).setFloat32(32 + 4, Infinity, true);
    expect(() => readSplat(bytes)).toThrow(/splat 1 has a non-finite position/);
  });

  it("sniffs the format from the magic or the name", () => {
    const c = randomCloud(5, 0);
    expect(readSplatFile(writePly(c)).count).toBe(5);
    expect(readSplatFile(writeSplat(c), "scene.splat").count).toBe(5);
    expect(() => readSplatFile(writeSplat(c), "scene.bin")).toThrow(/neither a PLY/);
  });
});
