/**
 * A picture of the synthetic dataset's attribute categories on one identity
 * (docs/images/synth-categories.png): the person, then one variant per
 * category, all at the same pose. `npx tsx scripts/synth-preview.ts [out.png] [seed]`.
 */
import fs from "node:fs";
import { createHeadModel } from "../render-core/head";
import { orbitCamera } from "../render-core/math/camera";
import { renderMeshCpu } from "../render-core/mesh/render.cpu";
import { mulberry32 } from "../render-core/math/prng";
import { builtinClip, sampleClip } from "../render-core/animation";
import { CATEGORIES } from "../server/pipeline/synthesise/attributes";
import { identityColours, proceduralIdentity } from "../server/pipeline/synthesise/identity";
import { buildScene, regionFaces } from "../server/pipeline/synthesise/scene";
import { contactSheet, imageToPng, labelledPanel } from "../server/images/png";

const out = process.argv[2] ?? "docs/images/synth-categories.png";
const seed = Number(process.argv[3] ?? 7);
const head = createHeadModel();
const identity = proceduralIdentity(seed, head);
const base = identityColours(identity, head);
const regions = regionFaces(head);
const camera = orbitCamera({ width: 256, height: 256, yawDeg: 25, pitchDeg: 5, distance: 0.62, target: [0, 0.01, 0] });
const frame = sampleClip(builtinClip("smile"), 1.2);
const panels: Buffer[] = [];
const variants: Array<[string, Record<string, Record<string, number>>]> = [["the person", {}]];
for (const c of CATEGORIES) {
  const v = c.variant(mulberry32(seed * 31 + c.name.length));
  variants.push([`${c.name}: ${v.label}`, { [c.name]: v.params }]);
}
for (const [label, attributes] of variants) {
  const f = renderMeshCpu(buildScene({ head, identity, baseColours: base, regions, attributes, frame }), camera, {
    background: [0.16, 0.17, 0.2],
  });
  panels.push(
    await labelledPanel(
      await imageToPng({ width: f.width, height: f.height, rgb: f.rgb, alpha: f.mask, depth: new Float32Array(0) }),
      256,
      label,
    ),
  );
}
fs.writeFileSync(out, await contactSheet(panels, 3, 256));
console.log(`wrote ${out}`);
