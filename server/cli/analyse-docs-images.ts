/**
 * npx tsx server/cli/analyse-docs-images.ts [outDir=docs/images]
 * Writes the pictures of docs/portrait-analysis.md from portraits the
 * project renders itself (never from the real test photos, which may not be
 * redistributed): portrait-analysis-accepted.png (render, overlay, matte)
 * and portrait-analysis-refusals.png (one refused portrait per reason).
 */
import fs from "node:fs";
import path from "node:path";
import sharp, { type Sharp } from "sharp";
import { createHeadModel, type HeadModel } from "../../render-core/head";
import { mulberry32 } from "../../render-core/math/prng";
import { contactSheet, labelledPanel } from "../images/png";
import { isMainModule, runCli } from "./run-cli";
import { categoryByName } from "../pipeline/synthesise/attributes";
import { proceduralIdentity } from "../pipeline/synthesise/identity";
import { renderPortrait } from "../pipeline/synthesise/portrait";
import { analysePortrait, analysisOverlayPng, refusalOverlayPng } from "../pipeline/analyse/analyse";
import type { RgbImage } from "../pipeline/analyse/decode";
import { PortraitRefusal } from "../pipeline/analyse/refusal";

const PANEL = 320;

async function portrait(head: HeadModel, seed: number, o: { yawDeg?: number; size?: number } = {}): Promise<RgbImage> {
  const rand = mulberry32(seed);
  const attributes = {
    hair: categoryByName("hair").variant(rand).params,
    eyebrows: categoryByName("eyebrows").variant(rand).params,
  };
  return renderPortrait({
    head,
    identity: proceduralIdentity(seed, head),
    attributes,
    size: o.size ?? 512,
    yawDeg: o.yawDeg ?? 0,
  });
}

const png = (img: RgbImage) =>
  sharp(Buffer.from(img.rgb), { raw: { width: img.width, height: img.height, channels: 3 } })
    .png()
    .toBuffer();
const rawOf = async (s: Sharp): Promise<RgbImage> => {
  const { data, info } = await s.removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, rgb: new Uint8Array(data) };
};
const BG = { r: 140, g: 153, b: 168 }; // the renderer's default background

export async function main(argv: string[]): Promise<void> {
  const out = argv[0] ?? "docs/images";
  fs.mkdirSync(out, { recursive: true });
  const head = createHeadModel();
  const front = await portrait(head, 7);
  const a = await analysePortrait(front);
  const matte = await sharp(Buffer.from(Uint8Array.from(a.matte!, (v) => Math.round(v * 255))), {
    raw: { width: a.width, height: a.height, channels: 1 },
  })
    .png()
    .toBuffer();
  const accepted = await contactSheet(
    [
      await labelledPanel(await png(front), PANEL, "rendered portrait"),
      await labelledPanel(await analysisOverlayPng(front, a), PANEL, ""),
      await labelledPanel(matte, PANEL, "person matte (selfie)"),
    ],
    3,
    PANEL,
  );
  fs.writeFileSync(path.join(out, "portrait-analysis-accepted.png"), accepted);

  const small = async (img: RgbImage, side: number) =>
    sharp(await png(img))
      .resize(side, side)
      .png()
      .toBuffer();
  const other = await portrait(head, 3);
  const cases: Array<[string, RgbImage]> = [
    ["no face", await rawOf(sharp({ create: { width: 512, height: 512, channels: 3, background: BG } }))],
    [
      "two faces",
      await rawOf(
        sharp({ create: { width: 512, height: 512, channels: 3, background: BG } }).composite([
          { input: await small(front, 256), left: 0, top: 96 },
          { input: await small(other, 256), left: 256, top: 96 },
        ]),
      ),
    ],
    [
      "too small",
      await rawOf(
        sharp({ create: { width: 768, height: 768, channels: 3, background: BG } }).composite([
          { input: await small(front, 150), left: 300, top: 240 },
        ]),
      ),
    ],
    ["blurred", await rawOf(sharp(await png(front)).blur(6))],
    ["turned", await portrait(head, 7, { yawDeg: 65 })],
  ];
  const panels: Buffer[] = [];
  for (const [label, img] of cases) {
    const err = await analysePortrait(img).then(
      () => null,
      (e: unknown) => e,
    );
    if (!(err instanceof PortraitRefusal))
      throw new Error(`docs-images: the "${label}" picture was not refused (${String(err)})`);
    console.log(`${label}: ${err.code}: ${err.message}`);
    panels.push(await labelledPanel(await refusalOverlayPng(img, err), PANEL, ""));
  }
  fs.writeFileSync(path.join(out, "portrait-analysis-refusals.png"), await contactSheet(panels, 3, PANEL));
  console.log(
    `wrote ${out}/portrait-analysis-accepted.png and portrait-analysis-refusals.png; accepted portrait timings ${JSON.stringify(a.timings)}`,
  );
}

if (isMainModule(import.meta.url))
  runCli("docs-images", "usage: npx tsx server/cli/analyse-docs-images.ts [outDir]", main);
