/**
 * The e2e test photographs (e2e/fixtures/): a portrait rendered by the
 * project's own generator (the project ships no photographs of people) and a
 * plain picture with no face in it. `npx tsx scripts/make-test-portraits.ts [outDir]`.
 */
import fs from "node:fs";
import path from "node:path";
import sharp from "sharp";
import { createHeadModel } from "../render-core/head";
import { proceduralIdentity } from "../server/pipeline/synthesise/identity";
import { portraitFile, renderPortrait } from "../server/pipeline/synthesise/portrait";

const outDir = process.argv[2] ?? "e2e/fixtures";
fs.mkdirSync(outDir, { recursive: true });

const head = createHeadModel();
// Short dark hair and a slight turn: an ordinary, clearly frontal passport-like photo.
const portrait = await renderPortrait({
  head,
  identity: proceduralIdentity(7, head),
  attributes: {
    hair: { coverage: 0.9, length: 0.25, volume: 0.4, curl: 0.1, colourR: 0.16, colourG: 0.1, colourB: 0.06 },
  },
  size: 512,
  yawDeg: 8,
  pitchDeg: 2,
});
const portraitPath = path.join(outDir, "portrait.jpg");
fs.writeFileSync(portraitPath, await portraitFile(portrait, "jpeg"));

// No face: a sky-to-ground gradient with a few blocks, like a photo of a wall or a landscape.
const W = 512,
  H = 384;
const rgb = Buffer.alloc(W * H * 3);
for (let y = 0; y < H; y++) {
  for (let x = 0; x < W; x++) {
    const t = y / (H - 1),
      block = (Math.floor(x / 96) + Math.floor(y / 80)) % 3 === 0 && y > H * 0.55;
    const o = (y * W + x) * 3;
    rgb[o] = block ? 150 : Math.round(90 + 80 * t);
    rgb[o + 1] = block ? 120 : Math.round(140 + 30 * t);
    rgb[o + 2] = block ? 90 : Math.round(210 - 120 * t);
  }
}
const noFacePath = path.join(outDir, "no-face.jpg");
fs.writeFileSync(
  noFacePath,
  await sharp(rgb, { raw: { width: W, height: H, channels: 3 } })
    .jpeg({ quality: 90 })
    .toBuffer(),
);

for (const file of [portraitPath, noFacePath]) console.log(`wrote ${file} (${fs.statSync(file).size} bytes)`);
