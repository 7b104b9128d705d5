import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { createHeadModel, SHAPE_NAMES, SHAPE_PRIOR_BOUND } from "../../../render-core/head";
import { renderMeshCpu } from "../../../render-core/mesh/render.cpu";
import type { MeshTexture } from "../../../render-core/mesh/scene";
import { categoryByName, lerpParams } from "./attributes";
import { BACKGROUND, frameCameraIndex, generateDataset, planDataset, sourceAttributes } from "./dataset";
import {
  AGE_ANCHORS,
  NO_STYLE,
  OLDER_SHAPE,
  ageLook,
  detailTexture,
  greyHair,
  lookShape,
  lookTexture,
  styleLook,
} from "./face-looks";
import { identityColours, identityLights, proceduralIdentity } from "./identity";
import { drivingMotion } from "./motion";
import { buildScene, regionFaces } from "./scene";
import { orbitCamera } from "../../../render-core/math/camera";
import { Region } from "../../../render-core/head";
import { uvLayout } from "../../../render-core/head/uv-layout";

const head = createHeadModel();
const identity = proceduralIdentity(7, head);
const neutralFrame = { expression: new Float32Array(head.expressionNames.length), pose: new Float32Array(15) };
const camera = orbitCamera({ width: 96, height: 96, yawDeg: 15, pitchDeg: 0, distance: 0.55, target: [0, 0, 0] });

function render(attributes: Record<string, Record<string, number>>) {
  const draws = buildScene({
    head,
    identity,
    baseColours: identityColours(identity, head),
    regions: regionFaces(head),
    attributes: { ...sourceAttributes(identity), ...attributes },
    frame: neutralFrame,
  });
  return renderMeshCpu(draws, camera, { background: BACKGROUND, lights: identityLights(identity) });
}

const luma = (r: number, g: number, b: number) => 0.299 * r + 0.587 * g + 0.114 * b;

describe("age and style looks", () => {
  it("turns years into parts that move one way: greying, wrinkles and spots older, smoothing younger", () => {
    expect(ageLook(0)).toMatchObject({ older: 0, younger: 0, grey: 0, wrinkles: 0, spots: 0, smoothing: 0 });
    let last = ageLook(0);
    for (let y = 2; y <= 40; y += 2) {
      const a = ageLook(y);
      for (const k of ["older", "grey", "wrinkles", "spots"] as const) expect(a[k]).toBeGreaterThanOrEqual(last[k]);
      expect(a.smoothing).toBe(0);
      last = a;
    }
    expect(last.grey).toBeGreaterThan(0.8);
    last = ageLook(0);
    for (let y = -1; y >= -15; y--) {
      const a = ageLook(y);
      expect(a.smoothing).toBeGreaterThan(last.smoothing);
      expect(a.wrinkles).toBe(0);
      last = a;
    }
    // Out-of-range years clamp to the category's range.
    expect(ageLook(90).years).toBe(40);
    expect(ageLook(-90).years).toBe(-15);
  });

  it("greys hair from the person's own colour towards silver as the years go up, in the rendered frame", () => {
    // greyHair: a dark brown moves steadily to light and unsaturated.
    const brown: [number, number, number] = [0.18, 0.1, 0.06];
    let previous = brown;
    for (const g of [0.25, 0.5, 0.75, 0.9]) {
      const c = greyHair(brown, g);
      expect(luma(...c)).toBeGreaterThan(luma(...previous));
      expect(Math.max(...c) - Math.min(...c)).toBeLessThan(Math.max(...previous) - Math.min(...previous));
      previous = c;
    }
    // A younger look darkens hair that has greyed, and leaves dark hair as it is.
    expect(luma(...greyHair([0.6, 0.6, 0.6], -1))).toBeLessThan(0.3);
    expect(greyHair(brown, -1)).toEqual(brown);
    // In the frame: the hair's pixels (class 13) get lighter with every step.
    const hairLuma = (years: number) => {
      const f = render({ age: { years } });
      let s = 0,
        n = 0;
      for (let i = 0; i < f.parse.length; i++)
        if (f.parse[i] === 13) {
          s += luma(f.rgb[i * 3]!, f.rgb[i * 3 + 1]!, f.rgb[i * 3 + 2]!);
          n++;
        }
      expect(n).toBeGreaterThan(200);
      return s / n;
    };
    const steps = [0, 10, 20, 30, 40].map(hairLuma);
    console.log(`hair luma at +0/10/20/30/40 years: ${steps.map((x) => x.toFixed(3)).join(" ")}`);
    for (let i = 1; i < steps.length; i++) expect(steps[i]!).toBeGreaterThan(steps[i - 1]!);
    expect(steps.at(-1)! - steps[0]!).toBeGreaterThan(0.2);
  });

  it("deepens wrinkles and folds in the UV texture with age; a younger skin gets none", () => {
    const S = 256;
    const grey: MeshTexture = { width: S, height: S, data: new Uint8Array(S * S * 4).fill(160) };
    const layout = uvLayout(head, S);
    const darkening = (years: number) => {
      const t = lookTexture(head, grey, ageLook(years), NO_STYLE);
      let s = 0,
        n = 0;
      for (let i = 0; i < S * S; i++) {
        const f = layout.face[i]!;
        if (f < 0 || head.faceRegion[f] !== Region.skin) continue;
        s += 1 - t.data[i * 4]! / 160;
        n++;
      }
      return s / n;
    };
    expect(lookTexture(head, grey, ageLook(0), NO_STYLE)).toBe(grey);
    const d = [10, 20, 30, 40].map(darkening);
    console.log(`mean skin darkening at +10/20/30/40 years: ${d.map((x) => x.toFixed(4)).join(" ")}`);
    expect(d[0]!).toBeGreaterThan(0.003);
    for (let i = 1; i < d.length; i++) expect(d[i]!).toBeGreaterThan(d[i - 1]!);
    // Younger: no wrinkles (a flat texture stays flat under smoothing).
    expect(Math.abs(darkening(-15))).toBeLessThan(1e-3);
    // Cached: the same look is the same texture object (the GPU keeps one upload per video).
    expect(lookTexture(head, grey, ageLook(20), NO_STYLE)).toBe(lookTexture(head, grey, ageLook(20), NO_STYLE));
  });

  it("changes the shape through the named shape space inside the fit's prior bound", () => {
    const older = lookShape(new Float32Array(SHAPE_NAMES.length), ageLook(40), NO_STYLE);
    SHAPE_NAMES.forEach((name, c) => expect(older[c]).toBeCloseTo(OLDER_SHAPE[name] ?? 0, 6));
    for (const start of [SHAPE_PRIOR_BOUND, -SHAPE_PRIOR_BOUND, 2.5, -2.5]) {
      const shape = new Float32Array(SHAPE_NAMES.length).fill(start);
      for (const years of [-15, 40])
        for (const style of [NO_STYLE, styleLook({ exaggerate: 1 })]) {
          const out = lookShape(shape, ageLook(years), style);
          for (const v of out) expect(Math.abs(v)).toBeLessThanOrEqual(SHAPE_PRIOR_BOUND + 1e-6);
        }
    }
    // Half the years, half the offset (where nothing clamps).
    const half = lookShape(new Float32Array(SHAPE_NAMES.length), ageLook(20), NO_STYLE);
    SHAPE_NAMES.forEach((name, c) => expect(half[c]).toBeCloseTo(0.5 * (OLDER_SHAPE[name] ?? 0), 6));
  });

  it("leaves the background, and everything but the head, where it was: an age edit changes only the person", () => {
    const young = render({ age: { years: 0 } }),
      old = render({ age: { years: 40 } });
    let changedOutside = 0,
      changedInside = 0;
    for (let i = 0; i < young.parse.length; i++) {
      const diff =
        Math.abs(young.rgb[i * 3]! - old.rgb[i * 3]!) + Math.abs(young.rgb[i * 3 + 1]! - old.rgb[i * 3 + 1]!);
      // Background: no coverage in either frame (parse 0 alone still holds antialiased edges).
      if (young.mask[i] === 0 && old.mask[i] === 0) changedOutside += diff > 0 ? 1 : 0;
      else changedInside += diff > 0.02 ? 1 : 0;
    }
    expect(changedOutside).toBe(0);
    expect(changedInside).toBeGreaterThan(500);
  });

  it("flattens the skin's colours and inks the features' outlines in the cartoon look", () => {
    const S = 256;
    // A texture with noise: flat colour takes its variation away.
    const data = new Uint8Array(S * S * 4);
    for (let i = 0; i < S * S; i++) {
      const n = (Math.sin(i * 12.9898) * 43758.5453) % 1;
      data.set([150 + 60 * n, 110 + 40 * n, 90 + 30 * n, 255], i * 4);
    }
    const noisy: MeshTexture = { width: S, height: S, data };
    const layout = uvLayout(head, S);
    const spread = (t: MeshTexture) => {
      const xs: number[] = [];
      for (let i = 0; i < S * S; i++) {
        const f = layout.face[i]!;
        if (f >= 0 && head.faceRegion[f] === Region.skin) xs.push(t.data[i * 4]!);
      }
      const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
      return Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length);
    };
    const flat = lookTexture(head, noisy, ageLook(0), styleLook({ flat: 1 }));
    expect(spread(flat)).toBeLessThan(0.25 * spread(noisy));
    // Outlines: a white detail texture gets dark ink along the lips and eyes, nowhere else in the middle of the cheek.
    const ink = detailTexture(head, ageLook(0), styleLook({ outline: 1 }))!;
    let darkest = 255;
    for (let i = 0; i < ink.width * ink.height; i++) darkest = Math.min(darkest, ink.data[i * 4]!);
    expect(darkest).toBeLessThan(60);
    expect(detailTexture(head, ageLook(0), NO_STYLE)).toBeNull();
  });

  it("makes the dataset's anchors a ladder (younger, then older at the slider's ends) and its in-between exact", async () => {
    const options = {
      identity: "seed:7",
      perCategory: 2,
      frames: 2,
      size: 48,
      fps: 30,
      categories: ["age"],
      inbetweenPairs: 1,
      alphas: [0.5],
      extraCameras: 0,
    };
    const plan = planDataset(options, head);
    const ages = plan.videos.filter((v) => v.category === "age");
    expect(ages.map((v) => v.label)).toEqual([AGE_ANCHORS[0]!.label, AGE_ANCHORS[1]!.label]);
    expect(ages.map((v) => v.attributes.age!.years)).toEqual([-15, 40]);

    const out = fs.mkdtempSync(path.join(os.tmpdir(), "age-dataset-"));
    try {
      await generateDataset(options, { out, gpu: null, head });
      const pair = plan.inbetween[0]!;
      const mid = lerpParams(ages[0]!.attributes.age!, ages[1]!.attributes.age!, 0.5);
      expect(mid.years).toBe(12.5);
      // The in-between frame is the scene at the lerped years, bit for bit.
      const f = 1;
      const cam = plan.cameras[frameCameraIndex(plan, f)]!.camera;
      const draws = buildScene({
        head,
        identity: plan.identity,
        baseColours: identityColours(plan.identity, head),
        regions: regionFaces(head),
        attributes: { ...ages[0]!.attributes, age: checkAge(mid) },
        frame: drivingMotion(options.frames, options.fps)[f]!,
      });
      const frame = renderMeshCpu(
        draws,
        { ...cam, worldToCamera: Float32Array.from(cam.worldToCamera) },
        { background: BACKGROUND, lights: identityLights(plan.identity) },
      );
      const expected = Uint8Array.from(frame.rgb, (v) => Math.round(Math.min(1, Math.max(0, v)) * 255));
      const stored = await sharp(path.join(out, pair.dir, "0.50", "0001.png"))
        .raw()
        .toBuffer();
      expect(Buffer.from(expected).equals(stored)).toBe(true);
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  }, 120_000);
});

const checkAge = (p: Record<string, number>) => ({ ...categoryByName("age").none, ...p });
