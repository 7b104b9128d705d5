import { beforeAll, describe, expect, it } from "vitest";
import { createHeadModel, type HeadModel } from "../../../render-core/head";
import { renderMeshCpu } from "../../../render-core/mesh/render.cpu";
import { CATEGORIES, type Params } from "../synthesise/attributes";
import { identityColours, proceduralIdentity } from "../synthesise/identity";
import { renderPortrait, type Portrait } from "../synthesise/portrait";
import { buildScene, regionFaces } from "../synthesise/scene";
import { fitHead, type HeadFit } from "./fit-head";
import { HAIR_CLASS, MIN_HAIR_SHARE, estimateHairFromPhoto, renderHairMask, windowIou } from "./hair-fit";
import { hairCrop, type HairCrop } from "./hair-region";
import { posedHead } from "./mesh-view";
import { textureFromPhoto } from "./texture";

let head: HeadModel;
beforeAll(() => {
  head = createHeadModel();
});

const hairNone = CATEGORIES.find((c) => c.name === "hair")!.none;
const hair = (p: Params): Params => ({ ...hairNone, curl: 0.1, ...p });
const DARK_LONG = hair({ coverage: 1, length: 0.9, volume: 0.6, colourR: 0.18, colourG: 0.1, colourB: 0.06 });
const BLOND_SHORT = hair({ coverage: 0.8, length: 0.1, volume: 0.3, colourR: 0.75, colourG: 0.6, colourB: 0.35 });
const AUBURN = hair({ coverage: 0.95, length: 0.55, volume: 0.5, colourR: 0.42, colourG: 0.17, colourB: 0.08 });
const BLACK_THIN = hair({ coverage: 0.7, length: 0.3, volume: 0.1, colourR: 0.05, colourG: 0.04, colourB: 0.035 });

interface Rendered {
  portrait: Portrait;
  /** [H, W] u8 the renderer's parsing classes for the same frame. */
  parse: Uint8Array;
}

/** A rendered portrait with known hair, and the renderer's parsing map of the same frame (renderPortrait returns no parse). */
async function render(seed: number, yawDeg: number, attributes: Record<string, Params>): Promise<Rendered> {
  const identity = proceduralIdentity(seed, head);
  const portrait = await renderPortrait({ head, identity, yawDeg, pitchDeg: 3, size: 512, attributes });
  const draws = buildScene({
    head,
    identity,
    baseColours: identityColours(identity, head),
    regions: regionFaces(head),
    attributes,
    frame: { expression: portrait.expression, pose: portrait.pose },
  });
  return { portrait, parse: renderMeshCpu(draws, portrait.camera).parse };
}

/** The truth's hair on the crop: a crop pixel is hair when at least half the image pixels in it are. */
function truthOnCrop(r: Rendered, crop: HairCrop): Uint8Array {
  const S = crop.side,
    { width: W, height: H } = r.portrait;
  const hairCount = new Float32Array(S * S),
    count = new Float32Array(S * S);
  for (let j = 0; j < H; j++)
    for (let i = 0; i < W; i++) {
      const x = Math.floor((i + 0.5 - crop.x0) * crop.scale),
        y = Math.floor((j + 0.5 - crop.y0) * crop.scale);
      if (x < 0 || y < 0 || x >= S || y >= S) continue;
      count[y * S + x]++;
      if (r.parse[j * W + i] === HAIR_CLASS) hairCount[y * S + x]++;
    }
  return Uint8Array.from(hairCount, (h, q) => (count[q] > 0 && h >= 0.5 * count[q] ? 1 : 0));
}

describe("hair from the photo", () => {
  it("renders the generator's hair onto the crop where the renderer put it (the crop camera is the photo's)", async () => {
    const r = await render(9, 15, { hair: DARK_LONG });
    const identity = proceduralIdentity(9, head);
    // The true head and camera as a fit: the crop's render must then match the truth's parse.
    const truthFit = {
      shape: Float32Array.from(identity.shape),
      expression: r.portrait.expression,
      pose: r.portrait.pose,
      camera: r.portrait.camera,
    } as unknown as HeadFit;
    const view = posedHead(head, truthFit);
    const crop = hairCrop(head, truthFit, view);
    const ours = renderHairMask(head, view, crop, DARK_LONG);
    const all = new Uint8Array(ours.length).fill(1);
    const iou = windowIou(ours, truthOnCrop(r, crop), all);
    console.log("true hair rendered on the crop vs the truth's parse: IoU", iou.toFixed(3));
    // Measured 0.97: the strands' gaps (alpha < 0.5) fall elsewhere at 160 px than at 512 px.
    expect(iou).toBeGreaterThan(0.85);
    expect(windowIou(renderHairMask(head, view, crop, BLACK_THIN), truthOnCrop(r, crop), all)).toBeLessThan(iou - 0.2);
  });

  it("recovers the hair's region, colour, coverage, length and volume of rendered heads with known hair", async () => {
    const cases: Array<[number, number, Params]> = [
      [9, 15, DARK_LONG],
      [12, -20, BLOND_SHORT],
      [4, 15, AUBURN],
      [9, -20, BLACK_THIN],
    ];
    for (const [seed, yaw, truth] of cases) {
      const r = await render(seed, yaw, { hair: truth });
      const p = r.portrait;
      const fit = fitHead(head, p.landmarks, p);
      const texture = textureFromPhoto(head, fit, p, p.mask);
      const view = posedHead(head, fit);
      const t0 = performance.now();
      const est = estimateHairFromPhoto(head, fit, view, p, p.mask, texture.skinTone, texture.exposure);
      const ms = performance.now() - t0;
      const all = new Uint8Array(est.region.mask.length).fill(1);
      const regionIou = windowIou(est.region.mask, truthOnCrop(r, est.crop), all);
      const colourError = Math.hypot(
        est.colour![0] - truth.colourR,
        est.colour![1] - truth.colourG,
        est.colour![2] - truth.colourB,
      );
      const got = est.params!;
      console.log(
        `seed ${seed} yaw ${yaw}: region IoU ${regionIou.toFixed(3)}, colour error ${colourError.toFixed(3)},`,
        `coverage ${got.coverage.toFixed(2)}/${truth.coverage} length ${got.length.toFixed(2)}/${truth.length}`,
        `volume ${got.volume.toFixed(2)}/${truth.volume}, fit IoU ${est.evidence.hairIoU.toFixed(3)},`,
        `${est.evidence.hairRenders} renders, ${ms.toFixed(0)} ms`,
      );
      // Measured over 3 heads x 3 yaws x 5 hairs: region IoU 0.69-0.85 (the truth's strand gaps, alpha < 0.5,
      // count as not hair; the region keeps them), colour error (RGB distance) 0.008-0.098, median 0.034.
      expect(regionIou).toBeGreaterThan(0.65);
      expect(colourError).toBeLessThan(0.12);
      // Measured: coverage within 0.02, volume within 0.23, length within 0.35 (the back hairline shows only
      // beside the neck of a turned head; a frontal view keeps a middle length).
      expect(Math.abs(got.coverage - truth.coverage)).toBeLessThan(0.1);
      expect(Math.abs(got.volume - truth.volume)).toBeLessThan(0.3);
      expect(Math.abs(got.length - truth.length)).toBeLessThan(0.4);
      expect(got.colourR).toBeCloseTo(est.colour![0], 6);
    }
  });

  it("finds no hair on bald rendered heads", async () => {
    for (const [seed, yaw] of [
      [12, 0],
      [4, -20],
    ]) {
      const { portrait: p } = await render(seed, yaw, {});
      const fit = fitHead(head, p.landmarks, p);
      const texture = textureFromPhoto(head, fit, p, p.mask);
      const est = estimateHairFromPhoto(head, fit, posedHead(head, fit), p, p.mask, texture.skinTone, texture.exposure);
      console.log(`bald seed ${seed} yaw ${yaw}: hair share ${est.evidence.hairShare.toFixed(3)}`);
      expect(est.params).toBeNull();
      expect(est.colour).toBeNull();
      // Measured 0.011-0.019 on bald heads (the outline where the matte blends skin and background), >= 0.127 with hair.
      expect(est.evidence.hairShare).toBeLessThan(MIN_HAIR_SHARE / 2);
    }
  });
});
