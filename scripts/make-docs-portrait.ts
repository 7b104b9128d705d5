/**
 * The rendered portrait of docs/portrait-pipeline.md's example (seed 21's
 * head, auburn hair, a skin chosen here, turned 12 degrees, 768 px):
 *   npx tsx scripts/make-docs-portrait.ts [out.jpg]   (default data/portraits/rendered-21.jpg)
 * then `npm run create -- --portrait data/portraits/rendered-21.jpg --out data/creations/docs-compact --config compact`.
 */
import fs from "node:fs";
import path from "node:path";
import { createHeadModel } from "../render-core/head";
import { categoryByName } from "../server/pipeline/synthesise/attributes";
import { proceduralIdentity } from "../server/pipeline/synthesise/identity";
import { portraitFile, renderPortrait } from "../server/pipeline/synthesise/portrait";

const out = process.argv[2] ?? "data/portraits/rendered-21.jpg";
const head = createHeadModel();
const identity = { ...proceduralIdentity(21, head), skin: [0.62, 0.45, 0.34] as [number, number, number] };
const hair = {
  ...categoryByName("hair").none,
  coverage: 0.95,
  length: 0.55,
  volume: 0.5,
  curl: 0.3,
  colourR: 0.42,
  colourG: 0.17,
  colourB: 0.08,
};
const portrait = await renderPortrait({ head, identity, attributes: { hair }, size: 768, yawDeg: 12, pitchDeg: -3 });
fs.mkdirSync(path.dirname(out), { recursive: true });
fs.writeFileSync(out, await portraitFile(portrait, "jpeg"));
console.log(`wrote ${out}`);
