/**
 * Measures how the analyse stage's detector (face-api) places the 68
 * landmarks relative to the head model's own, on the project's rendered
 * portraits (the model's landmarks are known exactly there), and writes the
 * table landmark-convention.ts reads; then checks the fit on other portraits
 * with and without it.
 *
 *   npx tsx server/cli/calibrate-landmarks.ts [portraits=40] [held-out=12]   (about 1.5 s per portrait)
 */
import fs from "node:fs";
import { fileURLToPath } from "node:url";
import { createHeadModel, type HeadModel } from "../../render-core/head";
import { mulberry32 } from "../../render-core/math/prng";
import { intOption, isMainModule, runCli } from "./run-cli";
import { analysePortrait } from "../pipeline/analyse/analyse";
import { CATEGORIES, type Params } from "../pipeline/synthesise/attributes";
import { proceduralIdentity, type Identity } from "../pipeline/synthesise/identity";
import { renderPortrait, type Portrait } from "../pipeline/synthesise/portrait";
import { IDENTIFIABLE_SHAPES, fitHead } from "../pipeline/fit/fit-head";
import { eyeLineFrame, type LandmarkConvention } from "../pipeline/fit/landmark-convention";

interface Sample {
  identity: Identity;
  portrait: Portrait;
  detected: Float32Array;
  yaw: number;
  pitch: number;
  roll: number;
}

/** Rendered portraits over poses, fields of view and looks, with the detector's landmarks. */
async function samples(head: HeadModel, count: number, seed0: number): Promise<Sample[]> {
  const rand = mulberry32(seed0);
  const looks = ["hair", "beard", "eyewear", "eyebrows"].map((n) => CATEGORIES.find((c) => c.name === n)!);
  const out: Sample[] = [];
  for (let n = 0; n < count; n++) {
    const identity = proceduralIdentity(seed0 + n, head);
    const yaw = (rand() * 2 - 1) * 25,
      pitch = (rand() * 2 - 1) * 12,
      roll = (rand() * 2 - 1) * 5,
      fov = 20 + 25 * rand();
    const attributes: Record<string, Params> = {};
    for (const c of looks)
      if (rand() < 0.4)
        attributes[c.name] = { ...c.variant(rand).params, ...(c.name === "eyewear" ? { tint: 0 } : {}) };
    const portrait = await renderPortrait({
      head,
      identity,
      yawDeg: yaw,
      pitchDeg: pitch,
      rollDeg: roll,
      fovYDeg: fov,
      size: 512,
      attributes,
    });
    try {
      const a = await analysePortrait(portrait);
      out.push({ identity, portrait, detected: a.landmarks, yaw, pitch, roll });
    } catch (err) {
      console.error(`portrait ${seed0 + n} refused: ${(err as Error).message}`);
    }
  }
  return out;
}

/** Per landmark and axis, least squares offset = a + b * yaw in the detector's eye-line frame. */
function calibrate(set: Sample[]): LandmarkConvention {
  const L = 68,
    offset: number[] = [],
    perYawDeg: number[] = [];
  const d: number[][] = Array.from({ length: L * 2 }, () => []);
  for (const s of set) {
    const { cos, sin, io } = eyeLineFrame(s.detected);
    for (let i = 0; i < L; i++) {
      const dx = s.detected[i * 2] - s.portrait.landmarks[i * 2],
        dy = s.detected[i * 2 + 1] - s.portrait.landmarks[i * 2 + 1];
      d[i * 2].push((cos * dx + sin * dy) / io);
      d[i * 2 + 1].push((-sin * dx + cos * dy) / io);
    }
  }
  const ys = set.map((s) => s.yaw),
    my = ys.reduce((a, b) => a + b) / ys.length;
  const vy = ys.reduce((a, y) => a + (y - my) ** 2, 0);
  let sq = 0;
  for (let k = 0; k < L * 2; k++) {
    const m = d[k].reduce((a, b) => a + b) / d[k].length;
    const b = d[k].reduce((a, v, j) => a + (v - m) * (ys[j] - my), 0) / vy;
    const a = m - b * my;
    offset.push(Number(a.toFixed(4)));
    perYawDeg.push(Number(b.toFixed(5)));
    sq += d[k].reduce((s, v, j) => s + (v - a - b * ys[j]) ** 2, 0);
  }
  return {
    name: "face-api 1.7.15 68-point landmarks (analyse stage), on rendered portraits",
    portraits: set.length,
    offset,
    perYawDeg,
    residual: Number(Math.sqrt(sq / (set.length * L)).toFixed(4)),
  };
}

function evaluate(
  head: HeadModel,
  set: Sample[],
  convention: LandmarkConvention | undefined,
  landmarkSigma?: number,
): string {
  const err: number[] = [],
    rot: number[] = [],
    focal: number[] = [],
    idErr: number[] = [];
  for (const s of set) {
    const fit = fitHead(head, s.detected, s.portrait, {
      ...(convention ? { convention } : {}),
      ...(landmarkSigma ? { landmarkSigma } : {}),
    });
    err.push((100 * fit.landmarkErrorPx) / fit.interocularPx);
    rot.push(
      Math.max(
        Math.abs(fit.rotation.yawDeg - s.yaw),
        Math.abs(fit.rotation.pitchDeg - s.pitch),
        Math.abs(fit.rotation.rollDeg - s.roll),
      ),
    );
    focal.push(Math.abs(fit.camera.fx / s.portrait.camera.fx - 1) * 100);
    for (const name of IDENTIFIABLE_SHAPES) {
      const k = head.shapeNames.indexOf(name);
      idErr.push(fit.shape[k] - s.identity.shape[k]);
    }
  }
  const med = (xs: number[]) => xs.slice().sort((a, b) => a - b)[xs.length >> 1];
  const max = (xs: number[]) => Math.max(...xs);
  const rms = Math.sqrt(idErr.reduce((a, x) => a + x * x, 0) / idErr.length);
  return `| ${convention ? "with the table" : "raw detector points"}${landmarkSigma ? `, landmark sigma ${landmarkSigma}` : ""} | ${med(err).toFixed(2)} / ${max(err).toFixed(2)} | ${med(rot).toFixed(1)} / ${max(rot).toFixed(1)} | ${med(focal).toFixed(0)} / ${max(focal).toFixed(0)} | ${rms.toFixed(2)} |`;
}

async function main(argv: string[]): Promise<void> {
  const count = intOption(argv[0], "portraits", 40, 8, 400);
  const heldOut = intOption(argv[1], "held-out", 12, 0, 200);
  const head = createHeadModel();
  const train = await samples(head, count, 300);
  const table = calibrate(train);
  const file = fileURLToPath(new URL("../pipeline/fit/face-api-convention.json", import.meta.url));
  fs.writeFileSync(file, JSON.stringify(table) + "\n");
  const before = Math.sqrt(
    train.reduce((s, x) => {
      const io = eyeLineFrame(x.detected).io;
      let q = 0;
      for (let i = 0; i < 136; i++) q += ((x.detected[i] - x.portrait.landmarks[i]) / io) ** 2;
      return s + q / 68;
    }, 0) / train.length,
  );
  console.log(
    `${file}: ${table.portraits} portraits; detector - model offset RMS ${(100 * before).toFixed(1)} % of the inter-ocular distance, ${(100 * table.residual).toFixed(1)} % left after the table`,
  );
  if (heldOut > 0) {
    const test = await samples(head, heldOut, 900);
    console.log(`\nHeld-out ${test.length} portraits, fitHead on the detector's landmarks (median / max):\n`);
    console.log(
      "| landmarks | fit error, % inter-ocular | worst angle error, degrees | focal error, % | identifiable shape RMS error |",
    );
    console.log("|---|---|---|---|---|");
    console.log(evaluate(head, test, undefined));
    console.log(evaluate(head, test, table));
  }
}

if (isMainModule(import.meta.url))
  runCli("calibrate-landmarks", "usage: npx tsx server/cli/calibrate-landmarks.ts [portraits] [held-out]", main);
