import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getTestGpu } from "../../server/gpu/test-gpu";
import { createHeadModel, createHeadParams, poseVertices, type HeadModel } from "../head";
import { orbitCamera } from "../math/camera";
import { renderMeshCpu } from "./render.cpu";
import { GpuMeshRenderer } from "./renderer";
import type { MeshDraw, MeshFrame } from "./scene";
import { psnr } from "../math/image-metrics";

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
});
