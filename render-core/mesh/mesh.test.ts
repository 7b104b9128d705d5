import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getTestGpu } from "../../server/gpu/test-gpu";
import { createHeadModel, createHeadParams, poseVertices, type HeadModel } from "../head";
import { orbitCamera } from "../math/camera";
import { renderMeshCpu, sampleTexture } from "./render.cpu";
import { GpuMeshRenderer } from "./renderer";
import { STUDIO_LIGHTS, type MeshDraw, type MeshFrame, type MeshLights } from "./scene";
import { psnr } from "../math/image-metrics";
import { shAmbient, shDirectional, shShading } from "../light/sh";

const { gpu, skipReason } = await getTestGpu();
afterAll(() => gpu?.destroy());

let head: HeadModel;
beforeAll(() => {
  head = createHeadModel();
});

/** Area-weighted vertex normals. */
function normals(positions: Float32Array, indices: Uint32Array): Float32Array {
  const n = new Float32Array(positions.length);
  for (let t = 0; t < indices.length; t += 3) {
    const [a, b, c] = [indices[t]! * 3, indices[t + 1]! * 3, indices[t + 2]! * 3];
    const e1 = [0, 1, 2].map((k) => positions[b + k]! - positions[a + k]!),
      e2 = [0, 1, 2].map((k) => positions[c + k]! - positions[a + k]!);
    const f = [e1[1]! * e2[2]! - e1[2]! * e2[1]!, e1[2]! * e2[0]! - e1[0]! * e2[2]!, e1[0]! * e2[1]! - e1[1]! * e2[0]!];
    for (const v of [a, b, c]) for (let k = 0; k < 3; k++) n[v + k]! += f[k]!;
  }
  return n;
}

/** A quad in the plane z = zPlane, centred at (cx, cy), half-size s. */
function quad(
  cx: number,
  cy: number,
  zPlane: number,
  s: number,
): Pick<MeshDraw, "positions" | "normals" | "indices" | "uvs"> {
  return {
    positions: new Float32Array([
      cx - s,
      cy - s,
      zPlane,
      cx + s,
      cy - s,
      zPlane,
      cx + s,
      cy + s,
      zPlane,
      cx - s,
      cy + s,
      zPlane,
    ]),
    normals: new Float32Array([0, 0, 1, 0, 0, 1, 0, 0, 1, 0, 0, 1]),
    indices: new Uint32Array([0, 1, 2, 0, 2, 3]),
    uvs: new Float32Array([0, 1, 1, 1, 1, 0, 0, 0]),
  };
}

function scene(): MeshDraw[] {
  const positions = poseVertices(
    head,
    createHeadParams(head, { pose: [0, 0.3, 0, 0, 0, 0, 0.2, 0, 0, 0, 0, 0, 0, 0, 0] }),
  );
  const colors = new Float32Array(head.vertexCount * 3);
  for (let v = 0; v < head.vertexCount; v++)
    colors.set([0.55 + 0.05 * (head.vertexRegion[v]! % 4), 0.42, 0.35 + 0.04 * (head.vertexRegion[v]! % 5)], v * 3);
  // A striped hair card whose texture alpha fades left to right, and a tinted lens.
  const tw = 8,
    th = 8,
    texel = new Uint8Array(tw * th * 4);
  for (let y = 0; y < th; y++)
    for (let x = 0; x < tw; x++)
      texel.set([60 + 20 * (y % 2), 40, 25, Math.round((255 * x) / (tw - 1))], (y * tw + x) * 4);
  return [
    {
      positions,
      normals: normals(positions, head.faces),
      indices: head.faces,
      colors,
      material: { specular: 0.15, shininess: 24, opacity: 1 },
      classId: 1,
    },
    {
      ...quad(0.0, 0.1, 0.13, 0.05),
      texture: { width: tw, height: th, data: texel },
      material: { specular: 0, shininess: 1, opacity: 1, blend: true },
      classId: 8,
    },
    {
      ...quad(0.03, 0.03, 0.12, 0.02),
      colors: new Float32Array(12).fill(0.2),
      material: { specular: 0.6, shininess: 60, opacity: 0.35 },
      classId: 11,
    },
  ];
}

const camera = () =>
  orbitCamera({ width: 96, height: 96, yawDeg: 10, pitchDeg: 5, distance: 0.6, target: [0, 0.02, 0] });

/** PSNR of the displayable images: lit colours above 1 clip, as on screen. */
const displayPsnr = (a: Float32Array, b: Float32Array) =>
  psnr(
    a.map((v) => Math.min(1, v)),
    b.map((v) => Math.min(1, v)),
  );

/** A photo-like SH light: warm key from the upper right, cool fill, a little of every band. */
const SH_LIGHTS: MeshLights = {
  ...STUDIO_LIGHTS,
  sh: (() => {
    const L = shDirectional([0.5, 0.4, 0.75], [0.75, 0.65, 0.55], shAmbient([0.25, 0.27, 0.32]));
    for (let k = 4; k < 27; k++) L[k] += 0.02 * Math.sin(k * 1.7);
    return L;
  })(),
};

/** The head textured with a 16 x 16 checker and tinted by per-vertex colours, plus a textured quad without colours. */
function tintedScene(): MeshDraw[] {
  const [head, quadDraw] = [scene()[0]!, scene()[1]!];
  const tw = 16,
    th = 16,
    texel = new Uint8Array(tw * th * 4);
  for (let y = 0; y < th; y++)
    for (let x = 0; x < tw; x++) texel.set((x + y) % 2 ? [230, 200, 180, 255] : [150, 110, 90, 255], (y * tw + x) * 4);
  // UVs from the posed positions: a smooth map over the visible face.
  const uvs = new Float32Array((head.positions.length / 3) * 2);
  for (let v = 0; v < uvs.length / 2; v++)
    uvs.set([0.5 + head.positions[v * 3]! * 4, 0.5 - head.positions[v * 3 + 1]! * 4], v * 2);
  const texture = { width: tw, height: th, data: texel };
  return [
    { ...head, uvs, texture },
    { ...quadDraw, texture, material: { specular: 0, shininess: 1, opacity: 1 } },
  ];
}

describe("mesh renderer", () => {
  let cpu: MeshFrame;
  beforeAll(() => {
    cpu = renderMeshCpu(scene(), camera(), { background: [0.1, 0.1, 0.1] });
  });

  it("writes each mesh's class where its geometry is and coverage where anything is", () => {
    const at = (x: number, y: number) => cpu.parse[y * 96 + x];
    expect(at(2, 2)).toBe(0); // background corner
    expect(cpu.mask[2 * 96 + 2]).toBe(0);
    const counts = new Map<number, number>();
    cpu.parse.forEach((c) => counts.set(c, (counts.get(c) ?? 0) + 1));
    expect(counts.get(1)).toBeGreaterThan(1500); // the head
    expect(counts.get(8)).toBeGreaterThan(20); // the opaque-enough half of the hair card
    expect(counts.get(11) ?? 0).toBe(0); // a lens of opacity 0.35 never claims the class
    // Where the lens covers the head, colour is the blend: darker than the head alone.
    const alone = renderMeshCpu(scene().slice(0, 1), camera(), { background: [0.1, 0.1, 0.1] });
    let darker = 0;
    for (let p = 0; p < 96 * 96; p++) if (cpu.rgb[p * 3]! < alone.rgb[p * 3]! - 0.05) darker++;
    expect(darker).toBeGreaterThan(10);
    for (const v of cpu.mask) expect(v >= 0 && v <= 1).toBe(true);
  });

  it("shades with an SH light as albedo * max(0, s(n)) and multiplies a texture by the vertex colours", () => {
    const draws = tintedScene();
    const lit = renderMeshCpu(draws.slice(0, 1), camera(), { lights: SH_LIGHTS });
    // The formula on one pixel of a face-on quad, where the normal and the texture coordinate are known.
    const q = draws[1]!;
    const tint = new Float32Array(12);
    for (let i = 0; i < 4; i++) tint.set([0.5, 1, 0.8], i * 3);
    const flat = (colors?: Float32Array): MeshDraw[] => [
      { ...q, material: { specular: 0, shininess: 1, opacity: 1 }, ...(colors ? { colors } : {}) },
    ];
    const cam = orbitCamera({ width: 32, height: 32, distance: 0.3, target: [0, 0.1, 0.13] });
    const plain = renderMeshCpu(flat(), cam, { lights: SH_LIGHTS });
    const tinted = renderMeshCpu(flat(tint), cam, { lights: SH_LIGHTS });
    const s = [0, 0, 0];
    shShading(SH_LIGHTS.sh!, 0, 0, 1, s);
    const p = 16 * 32 + 16;
    // The quad (centre (0, 0.1), half-size 0.05, z = 0.13, u along +x, v along -y) seen face-on: pixel (16, 16)'s centre
    // is half a pixel right of and below the axis, at distance 0.3.
    const off = (0.5 / cam.fx) * 0.3;
    const texel = sampleTexture(q.texture!, (off + 0.05) / 0.1, 1 - (-off + 0.05) / 0.1, new Float64Array(4));
    for (let c = 0; c < 3; c++) {
      // The quad faces +z, so every pixel has the shading s(0, 0, 1).
      expect(plain.rgb[p * 3 + c]!).toBeCloseTo(texel[c]! * s[c]!, 4);
      expect(tinted.rgb[p * 3 + c]!).toBeCloseTo(texel[c]! * s[c]! * [0.5, 1, 0.8][c]!, 4);
    }
    // The SH light's warm key from the subject's left (+x) makes the head's +x half brighter and redder than under the studio lights' key from -x.
    const studio = renderMeshCpu(draws.slice(0, 1), camera(), { lights: STUDIO_LIGHTS });
    const halves = (f: MeshFrame) => {
      let left = 0,
        right = 0;
      for (let y = 0; y < 96; y++)
        for (let x = 0; x < 96; x++)
          if (f.mask[y * 96 + x]! > 0) {
            if (x < 48) left += f.rgb[(y * 96 + x) * 3]!;
            else right += f.rgb[(y * 96 + x) * 3]!;
          }
      return right / left;
    };
    // Camera x is world x here (orbit camera at yaw 10): image right = the subject's left.
    expect(halves(lit)).toBeGreaterThan(halves(studio) * 1.1);
    expect(() => renderMeshCpu(draws, camera(), { lights: { ...STUDIO_LIGHTS, sh: new Float32Array(9) } })).toThrow(
      /renderMeshCpu: lights.sh must hold 27 numbers .* got 9/,
    );
  });

  it("refuses indices past the vertices", () => {
    const bad = scene().slice(0, 1);
    bad[0] = { ...bad[0]!, indices: new Uint32Array([0, 1, 999999]) };
    expect(() => renderMeshCpu(bad, camera())).toThrow(/index 999999 at 2 is past the 7634 vertices/);
  });

  it("agrees with the WebGPU render pipeline (PSNR >= 40 dB on colour and mask, classes on 99% of pixels)", async (ctx) => {
    if (!gpu) return ctx.skip(skipReason!);
    const r = new GpuMeshRenderer(gpu.device);
    const g = await r.render(scene(), camera(), { background: [0.1, 0.1, 0.1] });
    r.destroy();
    const colour = displayPsnr(g.rgb, cpu.rgb),
      mask = displayPsnr(g.mask, cpu.mask);
    let same = 0;
    for (let p = 0; p < g.parse.length; p++) same += g.parse[p] === cpu.parse[p] ? 1 : 0;
    console.log(
      `mesh CPU vs WebGPU: colour ${colour.toFixed(1)} dB, mask ${mask.toFixed(1)} dB, classes ${((100 * same) / g.parse.length).toFixed(2)}%`,
    );
    expect(colour).toBeGreaterThanOrEqual(40);
    expect(mask).toBeGreaterThanOrEqual(40);
    expect(same / g.parse.length).toBeGreaterThanOrEqual(0.99);
  });

  it("agrees with the WebGPU render pipeline under an SH light and on a colour-tinted texture (PSNR >= 40 dB)", async (ctx) => {
    if (!gpu) return ctx.skip(skipReason!);
    const r = new GpuMeshRenderer(gpu.device);
    const rows: string[] = [];
    for (const [name, draws, lights] of [
      ["SH light", scene(), SH_LIGHTS],
      ["texture x colours, SH light", tintedScene(), SH_LIGHTS],
      ["texture x colours, studio", tintedScene(), STUDIO_LIGHTS],
    ] as const) {
      const opts = { background: [0.1, 0.1, 0.1] as [number, number, number], lights };
      const c = renderMeshCpu(draws, camera(), opts);
      const g = await r.render(draws, camera(), opts);
      const colour = displayPsnr(g.rgb, c.rgb),
        mask = displayPsnr(g.mask, c.mask);
      rows.push(`${name}: colour ${colour.toFixed(1)} dB, mask ${mask.toFixed(1)} dB`);
      expect(colour).toBeGreaterThanOrEqual(40);
      expect(mask).toBeGreaterThanOrEqual(40);
    }
    r.destroy();
    console.log(`mesh CPU vs WebGPU:\n  ${rows.join("\n  ")}`);
  });
});
