/**
 * The analyse stage on portraits the project renders itself (true landmarks
 * and person mask known), with the real models. Models load once for the
 * file (a few seconds); each analysis takes about a second on two cores.
 */
import sharp, { type Sharp } from "sharp";
import { beforeAll, describe, expect, it } from "vitest";
import { createHeadModel, type HeadModel } from "../../../render-core/head";
import { mulberry32 } from "../../../render-core/math/prng";
import { categoryByName } from "../synthesise/attributes";
import { proceduralIdentity } from "../synthesise/identity";
import { renderPortrait, type Portrait } from "../synthesise/portrait";
import {
  ANALYSE_THRESHOLDS,
  analysePortrait,
  analysisOverlayPng,
  descriptorDistance,
  faceDescriptor,
  loadAnalyseModels,
  refusalOverlayPng,
  type PortraitAnalysis,
} from "./analyse";
import { decodePortrait, type RgbImage } from "./decode";
import { getModels } from "./models";
import { PortraitRefusal } from "./refusal";

const BACKGROUND: [number, number, number] = [0.55, 0.6, 0.66];
let head: HeadModel;
let front: Portrait; // seed 7, frontal, with hair and eyebrows
let frontAnalysis: PortraitAnalysis;
let frontWallMs: number; // the wall time of the analysePortrait call that made frontAnalysis

const portrait = (seed: number, yawDeg = 0) => {
  const rand = mulberry32(seed);
  return renderPortrait({
    head,
    identity: proceduralIdentity(seed, head),
    attributes: {
      hair: categoryByName("hair").variant(rand).params,
      eyebrows: categoryByName("eyebrows").variant(rand).params,
    },
    yawDeg,
  });
};
const raw = (img: RgbImage) =>
  sharp(Buffer.from(img.rgb), { raw: { width: img.width, height: img.height, channels: 3 } });
const fromSharp = async (s: Sharp): Promise<RgbImage> => {
  const { data, info } = await s.removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, rgb: new Uint8Array(data) };
};
const bg = {
  r: Math.round(BACKGROUND[0] * 255),
  g: Math.round(BACKGROUND[1] * 255),
  b: Math.round(BACKGROUND[2] * 255),
};

async function refusalOf(image: RgbImage, o?: Parameters<typeof analysePortrait>[1]): Promise<PortraitRefusal> {
  const err = await analysePortrait(image, o).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err, "expected a PortraitRefusal").toBeInstanceOf(PortraitRefusal);
  return err as PortraitRefusal;
}

/** Mean landmark error (pixels) overall and per group. */
function landmarkErrors(got: Float32Array, truth: Float32Array) {
  const err = (ks: number[]) =>
    ks.reduce((s, k) => s + Math.hypot(got[k * 2]! - truth[k * 2]!, got[k * 2 + 1]! - truth[k * 2 + 1]!), 0) /
    ks.length;
  const range = (a: number, b: number) => Array.from({ length: b - a }, (_, i) => a + i);
  return {
    all: err(range(0, 68)),
    jaw: err(range(0, 17)),
    eyes: err(range(36, 48)),
    nose: err(range(27, 36)),
    mouth: err(range(48, 68)),
    eyeCorners: err([36, 39, 42, 45]),
  };
}

beforeAll(async () => {
  head = createHeadModel();
  const load = await loadAnalyseModels();
  console.log("model load ms", load);
  front = await portrait(7);
  const t = performance.now();
  frontAnalysis = await analysePortrait(front);
  frontWallMs = performance.now() - t;
}, 120_000);

describe("analysePortrait on a rendered frontal portrait", () => {
  it("finds the one face with landmarks near the truth and a descriptor, mesh and rotation", () => {
    const a = frontAnalysis;
    const e = landmarkErrors(a.landmarks, front.landmarks);
    console.log(
      "landmark error px",
      Object.fromEntries(Object.entries(e).map(([k, v]) => [k, v.toFixed(1)])),
      "timings",
      a.timings,
    );
    expect([a.width, a.height, a.faces]).toEqual([512, 512, 1]);
    expect(a.score).toBeGreaterThan(0.9);
    const trueIo = Math.hypot(front.landmarks[72]! - front.landmarks[90]!, front.landmarks[73]! - front.landmarks[91]!);
    // Measured 10.9 px mean at an inter-ocular distance of ~125 px; most of it is a convention
    // difference (face-api puts the jaw contour and brows elsewhere than the head model does).
    expect(e.all).toBeLessThan(0.12 * trueIo);
    expect(e.eyeCorners).toBeLessThan(0.08 * trueIo);
    // face-api puts the outer eye corners ~8 px inside the head model's (measured 123 vs 138 px).
    expect(Math.abs(a.interocularPx - trueIo)).toBeLessThan(0.15 * trueIo);
    // The box holds every inner landmark.
    for (let k = 17; k < 68; k++) {
      expect(front.landmarks[k * 2]!).toBeGreaterThan(a.box.x);
      expect(front.landmarks[k * 2]!).toBeLessThan(a.box.x + a.box.width);
    }
    expect(a.descriptor).toHaveLength(128);
    expect(Math.hypot(...a.descriptor)).toBeGreaterThan(0.5);
    // Frontal: small angles (face-api's landmarks read the head model as nodding down a few degrees).
    expect(Math.abs(a.rotation.yawDeg)).toBeLessThan(6);
    expect(Math.abs(a.rotation.rollDeg)).toBeLessThan(4);
    expect(Math.abs(a.rotation.pitchDeg)).toBeLessThan(12);
    expect(a.sharpness).toBeGreaterThan(ANALYSE_THRESHOLDS.minSharpness);
    // Human's mesh: 478 points, its eye corners (33, 263) on face-api's (36, 45), the nose tip (1) nearest the camera.
    expect(a.mesh).not.toBeNull();
    const m = a.mesh!;
    expect(m).toHaveLength(478 * 3);
    expect(Math.hypot(m[33 * 3]! - a.landmarks[72]!, m[33 * 3 + 1]! - a.landmarks[73]!)).toBeLessThan(0.12 * trueIo);
    expect(Math.hypot(m[263 * 3]! - a.landmarks[90]!, m[263 * 3 + 1]! - a.landmarks[91]!)).toBeLessThan(0.12 * trueIo);
    expect(m[1 * 3 + 2]!).toBeLessThan(m[33 * 3 + 2]! - 10);
    // Timings: whole milliseconds of this call's steps, no more and no fewer.
    const steps = ["models", "detect", "sharpness", "rotation", "mesh", "matte"];
    expect(Object.keys(a.timings).sort()).toEqual([...steps, "total"].sort());
    // The three network steps take real time here (measured 1409, 116 and 764 ms): at least 1 ms each,
    // where a figure in seconds (rounded to whole units) reads 0 for the mesh.
    for (const k of ["detect", "mesh", "matte"]) expect(a.timings[k], k).toBeGreaterThanOrEqual(1);
    // total spans the steps and lies inside the wall time measured around the call; each figure is rounded to
    // the millisecond, so the sum of six steps may exceed the true total by up to 3 ms and total its own by 0.5.
    // A timestamp instead of a duration, or a total that misses steps, falls outside.
    const sum = steps.reduce((t, k) => t + a.timings[k]!, 0);
    expect(a.timings.total).toBeGreaterThanOrEqual(sum - 3.5);
    expect(a.timings.total).toBeLessThanOrEqual(frontWallMs + 0.5);
  });

  it("mattes the whole person, hair included: covered inside the true mask, clear far outside", () => {
    const { matte } = frontAnalysis;
    const mask = front.mask,
      W = front.width,
      H = front.height;
    expect(matte).toHaveLength(W * H);
    const any = (r: number, x: number, y: number, test: (v: number) => boolean) => {
      for (let dy = -r; dy <= r; dy += 2)
        for (let dx = -r; dx <= r; dx += 2) {
          const [xx, yy] = [x + dx, y + dy];
          if (xx >= 0 && yy >= 0 && xx < W && yy < H && test(mask[yy * W + xx]!)) return true;
        }
      return false;
    };
    let inN = 0,
      inCovered = 0,
      outN = 0,
      outClear = 0,
      hairN = 0,
      hairCovered = 0;
    const browY = Math.min(front.landmarks[19 * 2 + 1]!, front.landmarks[24 * 2 + 1]!);
    for (let y = 0; y < H; y += 2)
      for (let x = 0; x < W; x += 2) {
        const v = mask[y * W + x]!,
          c = matte![y * W + x]!;
        // Interior: 6 px inside the true edge; far outside: 24 px away from it.
        if (v > 0.99 && !any(6, x, y, (q) => q < 0.99)) {
          inN++;
          if (c > 0.9) inCovered++;
          if (y < browY - 20) [hairN, hairCovered] = [hairN + 1, hairCovered + (c > 0.9 ? 1 : 0)];
        } else if (v < 0.01 && !any(24, x, y, (q) => q > 0.01))
          [outN, outClear] = [outN + 1, outClear + (c < 0.1 ? 1 : 0)];
      }
    console.log(
      "matte: interior covered",
      (inCovered / inN).toFixed(4),
      "of",
      inN,
      "hair covered",
      (hairCovered / hairN).toFixed(4),
      "of",
      hairN,
      "far outside clear",
      (outClear / outN).toFixed(4),
      "of",
      outN,
    );
    expect(inN).toBeGreaterThan(5000);
    expect(hairN).toBeGreaterThan(500);
    // Measured 1.000 / 1.000 / 0.998-1.000 on three renders.
    expect(inCovered / inN).toBeGreaterThan(0.98);
    expect(hairCovered / hairN).toBeGreaterThan(0.98);
    expect(outClear / outN).toBeGreaterThan(0.98);
  });

  it("draws an overlay: the matte tinted, the box and landmarks on top", async () => {
    const png = await analysisOverlayPng(front, frontAnalysis);
    const o = await fromSharp(sharp(png));
    expect([o.width, o.height]).toEqual([512, 512]);
    // A corner (background) keeps its colour; the cheek (person) turns toward the tint's blue.
    const px = (img: RgbImage, x: number, y: number) =>
      Array.from(img.rgb.subarray((y * img.width + x) * 3, (y * img.width + x) * 3 + 3));
    expect(px(o, 5, 500)).toEqual(px(front, 5, 500));
    const cheek = [
      Math.round((front.landmarks[2]! + front.landmarks[31 * 2]!) / 2),
      Math.round(front.landmarks[31 * 2 + 1]!),
    ] as const;
    expect(px(o, ...cheek)[2]! - px(front, ...cheek)[2]!).toBeGreaterThan(30);
    // A landmark dot is red.
    const [lx, ly] = [Math.round(frontAnalysis.landmarks[30 * 2]!), Math.round(frontAnalysis.landmarks[30 * 2 + 1]!)];
    const dot = px(o, lx, ly);
    expect(dot[0]! - dot[2]!).toBeGreaterThan(100);
  });

  it("reads the yaw sign: +20 turns toward the subject's left (image right), -20 the other way", async () => {
    for (const yaw of [20, -20]) {
      const a = await analysePortrait(await portrait(7, yaw));
      console.log("yaw", yaw, "->", a.rotation);
      // Measured 15.6 and -20.3 (face-api's landmarks on this head); sign and rough size matter here.
      expect(Math.sign(a.rotation.yawDeg)).toBe(Math.sign(yaw));
      expect(Math.abs(a.rotation.yawDeg)).toBeGreaterThan(10);
      expect(Math.abs(a.rotation.yawDeg)).toBeLessThan(30);
    }
  });

  it("gives the same landmarks for a sideways JPEG tagged with EXIF orientation 6", async () => {
    // A non-square picture so that a missed rotation cannot go unnoticed.
    const tall = await fromSharp(raw(front).extend({ bottom: 128, background: bg }));
    const uprightJpeg = await raw(tall).jpeg({ quality: 92 }).toBuffer();
    const sideways = await sharp(await raw(tall).rotate(270).jpeg({ quality: 92 }).toBuffer())
      .withMetadata({ orientation: 6 })
      .jpeg({ quality: 92 })
      .toBuffer();
    const [a, b] = [await decodePortrait(uprightJpeg), await decodePortrait(sideways)];
    expect([b.width, b.height]).toEqual([512, 640]);
    const [ra, rb] = [await analysePortrait(a), await analysePortrait(b)];
    let worst = 0;
    for (let k = 0; k < 68; k++)
      worst = Math.max(
        worst,
        Math.hypot(ra.landmarks[k * 2]! - rb.landmarks[k * 2]!, ra.landmarks[k * 2 + 1]! - rb.landmarks[k * 2 + 1]!),
      );
    console.log("EXIF 6 vs upright: largest landmark difference", worst.toFixed(2), "px");
    // Two JPEG generations apart (the sideways file is encoded twice): a couple of pixels.
    expect(worst).toBeLessThan(4);
  });
});

describe("analysePortrait refusals", () => {
  it("refuses an empty background and a landscape-like gradient as no-face", async () => {
    const empty = await fromSharp(sharp({ create: { width: 512, height: 384, channels: 3, background: bg } }));
    const land = new Uint8Array(640 * 480 * 3);
    const rand = mulberry32(4);
    for (let y = 0; y < 480; y++)
      for (let x = 0; x < 640; x++) {
        const ground = y > 300 + 30 * Math.sin(x / 90);
        const n = (rand() - 0.5) * 16;
        const c = ground ? [60 + y / 8, 110 + y / 10, 40] : [120 + y / 4, 170 + y / 5, 235];
        land.set(
          c.map((v) => Math.max(0, Math.min(255, v + n))),
          (y * 640 + x) * 3,
        );
      }
    for (const image of [empty, { width: 640, height: 480, rgb: land }]) {
      const r = await refusalOf(image);
      expect(r.code).toBe("no-face");
      expect(r.boxes).toEqual([]);
      expect(r.message).toBe(
        "We could not find a face in this photo. Use a photo where your whole face is visible and looking at the camera, in good light, with nothing covering it.",
      );
    }
  });

  it("refuses two people side by side as many-faces, with both boxes", async () => {
    const other = await portrait(3);
    const both = await fromSharp(
      raw(front)
        .extend({ right: 512, background: bg })
        .composite([
          { input: Buffer.from(other.rgb), raw: { width: 512, height: 512, channels: 3 }, left: 512, top: 0 },
        ]),
    );
    const r = await refusalOf(both);
    expect(r.code).toBe("many-faces");
    expect(r.message).toBe("We found 2 faces. Upload a portrait with only you in it (or crop it).");
    expect(r.boxes).toHaveLength(2);
    const centres = r.boxes.map((b) => b.x + b.width / 2).sort((p, q) => p - q);
    expect(centres[0]!).toBeLessThan(512);
    expect(centres[1]!).toBeGreaterThan(512);
    // A face far behind (a quarter of the size) does not count: the main face is analysed.
    const crowd = await fromSharp(
      raw(both)
        .composite([
          {
            input: await raw(other).resize(128, 128).raw().toBuffer(),
            raw: { width: 128, height: 128, channels: 3 },
            left: 0,
            top: 0,
          },
        ])
        .extract({ left: 0, top: 0, width: 512, height: 512 }),
    );
    const ok = await analysePortrait(crowd);
    expect(ok.faces).toBe(1);
    expect(ok.box.width).toBeGreaterThan(150);
    const png = await refusalOverlayPng(both, r);
    expect((await sharp(png).metadata()).width).toBe(1024);
  });

  it("refuses a portrait shrunk into a large canvas as too-small, with the measured distance", async () => {
    const small = await fromSharp(
      sharp({ create: { width: 768, height: 768, channels: 3, background: bg } }).composite([
        {
          input: await raw(front).resize(150, 150).raw().toBuffer(),
          raw: { width: 150, height: 150, channels: 3 },
          left: 300,
          top: 240,
        },
      ]),
    );
    const r = await refusalOf(small);
    console.log("too-small:", r.message);
    expect(r.code).toBe("too-small");
    expect(r.message).toMatch(
      /^The face is too small \(inter-ocular \d+ px, need 40\): use a closer or larger photo\.$/,
    );
    // 150/512 of the full-size render: measured 36.
    expect(r.details.interocularPx).toBeGreaterThan(28);
    expect(r.details.interocularPx).toBeLessThan(40);
    expect(r.boxes).toHaveLength(1);
    expect(r.boxes[0]!.x).toBeGreaterThan(300);
  });

  it("refuses a strongly blurred face as blurred", async () => {
    // Gaussian sigma 6 px here is 3 px at the measure's 64 px between the eyes: still detected, clearly soft.
    const blurred = await fromSharp(raw(front).blur(6));
    const r = await refusalOf(blurred);
    console.log("blurred:", r.message);
    expect(r.code).toBe("blurred");
    expect(r.message).toMatch(/^The face is blurred \(sharpness 0\.\d\d, need 0\.35\): use a sharp photo\./);
    expect(r.details.sharpness).toBeLessThan(0.35);
    expect(r.boxes).toHaveLength(1);
  });

  it("refuses a face turned 65 degrees as turned, whichever way", async () => {
    for (const yaw of [65, -65]) {
      const r = await refusalOf(await portrait(7, yaw));
      console.log("yaw", yaw, ":", r.code, r.message);
      expect(r.code).toBe("turned");
      expect(r.message).toMatch(
        /^The face is turned too far \(yaw \d\d degrees, at most 35\): use a photo looking at the camera\.$/,
      );
      expect(Math.sign(r.details.yawDeg!)).toBe(Math.sign(yaw));
      expect(Math.abs(r.details.yawDeg!)).toBeGreaterThan(45);
    }
  });

  it("lets the caller move a threshold, and rejects nonsense thresholds", async () => {
    const r = await refusalOf(front, { minInterocularPx: 200 });
    expect(r.code).toBe("too-small");
    expect(r.message).toMatch(/need 200/);
    await expect(analysePortrait(front, { maxYawDeg: Number.NaN })).rejects.toThrow(
      /analysePortrait: threshold maxYawDeg must be a number >= 0, got NaN/,
    );
    await expect(analysePortrait({ width: 4, height: 4, rgb: new Uint8Array(5) })).rejects.toThrow(
      /analysePortrait: rgb must be a Uint8Array of 4 x 4 x 3 = 48 bytes, got 5/,
    );
  });
});

describe("faceDescriptor", () => {
  it("finds the face in small tight renders and tells identities apart less than photos do", async () => {
    const tight = await fromSharp(raw(front).extract({ left: 96, top: 110, width: 320, height: 320 }).resize(128, 128));
    const d = await faceDescriptor(tight);
    expect(d).not.toBeNull();
    expect(d!.score).toBeGreaterThan(0.5);
    const same = descriptorDistance(d!.descriptor, frontAnalysis.descriptor);
    const other = await faceDescriptor(await portrait(11));
    const diff = descriptorDistance(frontAnalysis.descriptor, other!.descriptor);
    console.log("descriptor distance: same render at 128 px", same.toFixed(3), "other identity", diff.toFixed(3));
    expect(same).toBeLessThan(0.3);
    expect(diff).toBeGreaterThan(same);
    expect(await faceDescriptor({ width: 64, height: 64, rgb: new Uint8Array(64 * 64 * 3).fill(128) })).toBeNull();
    expect(() => descriptorDistance(new Float32Array(128), new Float32Array(3))).toThrow(
      /same non-zero length, got 128 and 3/,
    );
  });

  it("leaves no tensors behind", async () => {
    const { tf } = await getModels();
    await analysePortrait(front);
    const before = tf.memory().numTensors;
    await analysePortrait(front);
    await faceDescriptor(front);
    await analysePortrait(front, { maxYawDeg: 0 }).catch(() => undefined);
    expect(tf.memory().numTensors).toBe(before);
  });
});
