import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { randomCloud } from "../scenes/random-cloud";
import { readPly } from "./read-ply";
import { writePly } from "./write-ply";
import { SH_C0 } from "./sh-constants";

const enc = (s: string) => new TextEncoder().encode(s);

/** Largest absolute difference, for tolerance checks with a named field. */
function worst(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let w = 0;
  for (let i = 0; i < a.length; i++) w = Math.max(w, Math.abs(a[i]! - b[i]!));
  return w;
}

const REQUIRED = [
  "x",
  "y",
  "z",
  "f_dc_0",
  "f_dc_1",
  "f_dc_2",
  "opacity",
  "scale_0",
  "scale_1",
  "scale_2",
  "rot_0",
  "rot_1",
  "rot_2",
  "rot_3",
];
const props = (names: string[], type = "float") => names.map((p) => `property ${type} ${p}\n`).join("");
const header = (body: string, count = 1, format = "binary_little_endian") =>
  `ply\nformat ${format} 1.0\nelement vertex ${count}\n${body}end_header\n`;
/** One ASCII splat row for REQUIRED: position, dc, opacity logit, log scales, rotation. */
const asciiPly = (rows: string[]) => enc(header(props(REQUIRED), rows.length, "ascii") + rows.join("\n") + "\n");
const GOOD_ROW = "0 0 0 0 0 0 0 -3 -3 -3 1 0 0 0";

describe("readPly and writePly", () => {
  for (const shDegree of [0, 3] as const) {
    it(`round-trip a binary file with SH degree ${shDegree} within float32 precision`, () => {
      const c = randomCloud(11, 60, { shDegree });
      const back = readPly(writePly(c));
      expect(back.count).toBe(60);
      expect(back.shDegree).toBe(shDegree);
      // Stored as float32 unchanged: bit-exact.
      expect(worst(back.positions, c.positions)).toBe(0);
      expect(worst(back.shRest, c.shRest)).toBe(0);
      // Through an affine map, log/exp, logit/sigmoid and renormalisation in
      // float64 with one float32 rounding each way: a few ulps of values <= 1.
      expect(worst(back.rotations, c.rotations)).toBeLessThan(1e-6);
      expect(worst(back.colors, c.colors)).toBeLessThan(1e-6);
      expect(worst(back.opacities, c.opacities)).toBeLessThan(1e-6);
      // Scales are <= 0.05 here: relative error of a few ulps.
      expect(worst(back.scales, c.scales)).toBeLessThan(1e-8);
    });
  }

  it("writes float32 binary little-endian with zero normals and channel-major f_rest", () => {
    const c = randomCloud(2, 1, { shDegree: 1 });
    const bytes = writePly(c);
    const text = new TextDecoder("latin1").decode(bytes.subarray(0, 4000));
    const head = text.slice(0, text.indexOf("end_header\n") + 11);
    expect(head).toContain("format binary_little_endian 1.0");
    expect(head).toContain("property float nx\nproperty float ny\nproperty float nz\n");
    expect(head).toContain("property float f_rest_8\n");
    const body = new Float32Array(bytes.slice(head.length).buffer);
    expect(body.length).toBe(3 + 3 + 3 + 9 + 1 + 3 + 4);
    expect(Array.from(body.subarray(3, 6))).toEqual([0, 0, 0]);
    // f_rest_0..2 are the red channel's three degree-1 coefficients; shRest is [K, 3] channel-minor.
    expect(Array.from(body.subarray(9, 12))).toEqual([c.shRest[0], c.shRest[3], c.shRest[6]]);
  });

  it("read a hand-written ASCII file exactly, without normals and with an extra property", () => {
    const c = readPly(new Uint8Array(readFileSync(new URL("./fixtures/tiny-ascii.ply", import.meta.url))));
    expect(c.count).toBe(3);
    expect(c.shDegree).toBe(0);
    const f = Math.fround;
    expect(Array.from(c.positions)).toEqual([0, 0, 0, 1.5, -2, 3.25, -0.5, 0.25, 10]);
    // Activations as 3DGS defines them, rounded once to float32.
    expect(Array.from(c.colors)).toEqual([
      0.5,
      0.5,
      0.5,
      f(0.5 + SH_C0),
      f(0.5 - SH_C0),
      f(0.5 + SH_C0 * 0.5),
      0.5,
      0.5,
      0.5,
    ]);
    expect(Array.from(c.opacities)).toEqual([0.5, f(1 / (1 + Math.exp(-2))), f(1 / (1 + Math.exp(20)))]);
    expect(Array.from(c.scales)).toEqual([
      1,
      1,
      1,
      f(Math.exp(-1)),
      f(Math.exp(-2)),
      f(Math.exp(-3)),
      f(Math.exp(0.5)),
      f(Math.exp(0.5)),
      f(Math.exp(0.5)),
    ]);
    // Quaternions are normalised: (0, 0, 0, 2) -> (0, 0, 0, 1), (1, 1, 1, 1) -> halves.
    expect(Array.from(c.rotations)).toEqual([1, 0, 0, 0, 0, 0, 0, 1, 0.5, 0.5, 0.5, 0.5]);
  });

  it("read binary files with double, uchar and unknown properties in any order", () => {
    const names = ["extra", ...REQUIRED.slice().reverse()];
    const types = names.map((n) => (n === "extra" ? "uchar" : n === "x" ? "double" : "float"));
    const head = enc(
      `ply\nformat binary_little_endian 1.0\nelement vertex 2\n${names.map((n, k) => `property ${types[k]} ${n}\n`).join("")}element face 0\nproperty list uchar int vertex_indices\nend_header\n`,
    );
    const stride = 1 + 8 + 13 * 4;
    const body = new DataView(new ArrayBuffer(2 * stride));
    for (let i = 0; i < 2; i++) {
      let o = i * stride;
      body.setUint8(o++, 200);
      for (const n of REQUIRED.slice().reverse()) {
        const v = n === "rot_0" ? 1 : n === "x" ? 0.1 * (i + 1) : n.startsWith("scale") ? -2 : 0.25;
        if (n === "x") body.setFloat64(o, v, true);
        else body.setFloat32(o, v, true);
        o += n === "x" ? 8 : 4;
      }
    }
    const bytes = new Uint8Array(head.length + body.byteLength);
    bytes.set(head);
    bytes.set(new Uint8Array(body.buffer), head.length);
    const c = readPly(bytes);
    expect(c.count).toBe(2);
    expect(c.positions[3]).toBe(Math.fround(0.2));
    expect(c.positions[4]).toBe(0.25);
    expect(c.scales[0]).toBe(Math.fround(Math.exp(-2)));
  });
});

describe("readPly refuses", () => {
  const full = props(REQUIRED);
  const cases: Array<[string, Uint8Array, RegExp]> = [
    ["a file that is not a PLY", enc("hello world"), /^readPly: not a PLY file/],
    [
      "a garbage header line",
      enc("ply\nformat ascii 1.0\nelement vertex 1\nwhat is this\nend_header\n"),
      /^readPly: unexpected header line "what is this"/,
    ],
    [
      "a header without end_header",
      enc("ply\nformat binary_little_endian 1.0\nelement vertex 1\n"),
      /^readPly: no "end_header"/,
    ],
    ["big-endian files", enc(header(full, 1, "binary_big_endian")), /^readPly: binary_big_endian PLY is not supported/],
    [
      "unknown formats",
      enc(header(full, 1, "binary_middle_endian")),
      /^readPly: unknown PLY format "binary_middle_endian"/,
    ],
    ["a bad vertex count", enc(header(full, -3)), /^readPly: bad vertex count "-3"/],
    [
      "missing required properties, naming them",
      enc(header(props(["x", "opacity"]))),
      /^readPly: not a Gaussian-splat PLY: missing y, z, f_dc_0, f_dc_1, f_dc_2, scale_0/,
    ],
    [
      "an f_rest count that fits no SH degree",
      enc(header(full + props(["f_rest_0", "f_rest_1"]))),
      /^readPly: 2 f_rest properties fit no SH degree/,
    ],
    [
      "list properties in the vertex element",
      enc(header(full + "property list uchar int idx\n")),
      /^readPly: list properties in the vertex element are not supported/,
    ],
    // The header promises 9 million splats (about 500 MB): refused from the byte length, nothing allocated.
    [
      "a binary body shorter than the header promises",
      enc(header(full, 9_000_000) + "abc"),
      /^readPly: truncated: the header promises 9000000 splats \(\d+ bytes\) but the file has \d+ bytes/,
    ],
    [
      "an ASCII body shorter than the header promises",
      enc(header(full, 5, "ascii") + GOOD_ROW + "\n"),
      /^readPly: truncated: the header promises 5 splats/,
    ],
    [
      "more splats than the default limit of 10 million",
      enc(header(full, 10_000_001)),
      /^readPly: 10000001 splats is more than the limit of 10000000/,
    ],
    [
      "an ASCII value that is not a number, naming the property and splat",
      asciiPly([GOOD_ROW, "0 nan 0 0 0 0 0 -3 -3 -3 1 0 0 0"]),
      /^readPly: splat 1 has a non-finite y \(NaN\)/,
    ],
    [
      "an infinite value",
      asciiPly([GOOD_ROW, GOOD_ROW, "0 0 0 0 0 0 Infinity -3 -3 -3 1 0 0 0"]),
      /^readPly: splat 2 has a non-finite opacity \(Infinity\)/,
    ],
    [
      "a zero rotation quaternion",
      asciiPly(["0 0 0 0 0 0 0 -3 -3 -3 0 0 0 0"]),
      /^readPly: splat 0 has a zero rotation quaternion/,
    ],
  ];
  for (const [what, bytes, message] of cases) {
    it(what, () => {
      expect(() => readPly(bytes)).toThrow(message);
    });
  }

  it("more splats than options.maxSplats", () => {
    expect(() => readPly(asciiPly([GOOD_ROW, GOOD_ROW, GOOD_ROW]), { maxSplats: 2 })).toThrow(
      /^readPly: 3 splats is more than the limit of 2/,
    );
  });

  it("a NaN in a binary body, naming the property and splat", () => {
    const bytes = writePly(randomCloud(3, 3));
    const stride = 17 * 4; // x y z, normals, dc, opacity, 3 scales, 4 rot
    const view = new DataView(bytes.buffer);
    view.setFloat32(bytes.length - 2 * stride + 4 * 7, NaN, true); // splat 1, f_dc_1
    expect(() => readPly(bytes)).toThrow(/^readPly: splat 1 has a non-finite f_dc_1 \(NaN\)/);
  });
});
