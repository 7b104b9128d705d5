import { describe, expect, it } from "vitest";
import { Adam } from "./adam";
import { l1Loss, dssimLoss } from "./losses";
import { projectBackward, projectTrain } from "./project-grad";
import { rasterizeBackward, rasterizeTrain } from "./raster-grad";
import { orbitCamera } from "../math/camera";
import { mulberry32 } from "../math/prng";
import { psnr } from "../math/image-metrics";

const W = 32,
  H = 32;
const bg: [number, number, number] = [0, 0, 0];
const camera = orbitCamera({ width: W, height: H, distance: 1.6 });
const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/** Splats from raw parameters: exp scales, sigmoid opacities and colours (the reference's activations). */
function render(
  raw: {
    pos: Float64Array;
    logScale: Float64Array;
    rot: Float64Array;
    logitOpacity: Float64Array;
    logitColour: Float64Array;
  },
  n: number,
) {
  const scales = raw.logScale.map(Math.exp),
    opacities = raw.logitOpacity.map(sigmoid),
    colors = raw.logitColour.map(sigmoid);
  const g = { count: n, positions: raw.pos, scales, rotations: raw.rot };
  const proj = projectTrain(g, camera);
  const radii = Int32Array.from({ length: n }, () => 64);
  const splats = {
    count: n,
    means2d: proj.means2d,
    conics: proj.conics,
    colors,
    opacities,
    depths: proj.depths,
    radii,
  };
  return { g, splats, scales, opacities, colors, ...rasterizeTrain(splats, W, H, bg) };
}

describe("fitting splats to a picture with the CPU twins", () => {
  it("lowers the loss and raises PSNR well above where it started", () => {
    const rand = mulberry32(11);
    const n = 12;
    const make = (spread: number) => ({
      pos: Float64Array.from({ length: n * 3 }, (_, k) => (k % 3 === 2 ? 0 : (rand() - 0.5) * spread)),
      logScale: Float64Array.from({ length: n * 3 }, () => Math.log(0.04 + 0.06 * rand())),
      rot: Float64Array.from({ length: n * 4 }, (_, k) => (k % 4 === 0 ? 1 : 0.3 * (rand() - 0.5))),
      logitOpacity: Float64Array.from({ length: n }, () => 1 + rand()),
      logitColour: Float64Array.from({ length: n * 3 }, () => 3 * (rand() - 0.5)),
    });
    const target = render(make(0.6), n).rgb;
    const raw = make(0.6);
    const adam = new Adam([
      { name: "pos", params: raw.pos, lr: 0.005 },
      { name: "logScale", params: raw.logScale, lr: 0.02 },
      { name: "rot", params: raw.rot, lr: 0.01 },
      { name: "logitOpacity", params: raw.logitOpacity, lr: 0.05 },
      { name: "logitColour", params: raw.logitColour, lr: 0.05 },
    ]);
    const shape = { width: W, height: H, channels: 3 };
    const losses: number[] = [];
    const start = psnr(render(raw, n).rgb, target);
    for (let it = 0; it < 120; it++) {
      const f = render(raw, n);
      const l1 = l1Loss(f.rgb, target, shape),
        ds = dssimLoss(f.rgb, target, shape);
      losses.push(0.8 * l1.value + 0.2 * ds.value);
      const dRgb = l1.grad.map((v, i) => 0.8 * v + 0.2 * ds.grad[i]!);
      const gs = rasterizeBackward(f.splats, bg, f.tape, dRgb);
      const gg = projectBackward(f.g, camera, gs.means2d, gs.conics);
      adam.update({
        pos: gg.positions,
        logScale: gg.scales.map((v, i) => v * f.scales[i]!),
        rot: gg.rotations,
        logitOpacity: gs.opacities.map((v, i) => v * f.opacities[i]! * (1 - f.opacities[i]!)),
        logitColour: gs.colors.map((v, i) => v * f.colors[i]! * (1 - f.colors[i]!)),
      });
    }
    const end = psnr(render(raw, n).rgb, target);
    console.log(
      `fit: loss ${losses[0]!.toFixed(4)} -> ${losses.at(-1)!.toFixed(4)}, PSNR ${start.toFixed(1)} -> ${end.toFixed(1)} dB in 120 Adam steps`,
    );
    expect(losses.at(-1)!).toBeLessThan(0.5 * losses[0]!);
    expect(end).toBeGreaterThan(start + 6);
  }, 60_000);
});
