/**
 * The fit stage measured on the project's own rendered portraits (known
 * truth), and its pictures for docs/portrait-fitting.md:
 *
 *   npx tsx server/cli/fit-sheet.ts [outDir]   (default docs/images; about a minute)
 *
 * Prints the figures the doc quotes (markdown) and writes
 * portrait-fit-overlay.png (photos with the fitted mesh and landmarks),
 * portrait-fit-rerender.png (photo | the fitted head re-rendered with the
 * photo's texture and the estimated attributes through the fitted camera)
 * and portrait-fit-texture.png (the texture in the UV layout and its sources).
 */
import fs from "node:fs";
import path from "node:path";
import sharp from "sharp";
import { createHeadModel, Region, type HeadModel } from "../../render-core/head";
import { gaussian, mulberry32 } from "../../render-core/math/prng";
import { renderMeshCpu } from "../../render-core/mesh/render.cpu";
import { contactSheet, labelledPanel } from "../images/png";
import { isMainModule, runCli } from "./run-cli";
import { CATEGORIES, type Params } from "../pipeline/synthesise/attributes";
import { identityColours, proceduralIdentity, type Identity } from "../pipeline/synthesise/identity";
import { portraitFile, renderPortrait, type Portrait } from "../pipeline/synthesise/portrait";
import { buildScene, regionFaces } from "../pipeline/synthesise/scene";
import { IDENTIFIABLE_SHAPES, fitHead, type HeadFit } from "../pipeline/fit/fit-head";
import { fitOverlayPng, texturePng } from "../pipeline/fit/pictures";
import { estimateSourceAttributes, type SourceAttributes } from "../pipeline/fit/source-attributes";
import { TextureSource, textureFromPhoto, type PhotoTexture } from "../pipeline/fit/texture";

const quantile = (xs: number[], q: number) => xs.slice().sort((a, b) => a - b)[Math.floor(q * (xs.length - 1))];
const rms = (xs: number[]) => Math.sqrt(xs.reduce((s, x) => s + x * x, 0) / xs.length);
const f = (x: number, d = 2) => x.toFixed(d);

/** Landmark fit over random people and poses (yaw +-25, pitch +-15, roll +-5, field of view 20-45 degrees), true landmarks + 1 px noise. */
async function measureFit(head: HeadModel, count: number): Promise<string[]> {
  const rand = mulberry32(2024);
  const err: number[] = [],
    rot: number[] = [],
    focal: number[] = [],
    depth: number[] = [],
    ms: number[] = [],
    its: number[] = [];
  const shapeErr: number[][] = head.shapeNames.map(() => []),
    shapeStd: number[][] = head.shapeNames.map(() => []);
  const idErr: number[] = [],
    idTruth: number[] = [];
  const robustErr: number[] = [],
    robustRot: number[] = [];
  for (let n = 0; n < count; n++) {
    const identity = proceduralIdentity(100 + n, head);
    const yaw = (rand() * 2 - 1) * 25,
      pitch = (rand() * 2 - 1) * 15,
      roll = (rand() * 2 - 1) * 5,
      fov = 20 + 25 * rand();
    const p = await renderPortrait({
      head,
      identity,
      yawDeg: yaw,
      pitchDeg: pitch,
      rollDeg: roll,
      fovYDeg: fov,
      size: 512,
    });
    const noise = gaussian(mulberry32(n + 1));
    const lm = Float32Array.from(p.landmarks, (v) => v + noise());
    if (n === 0) fitHead(head, lm, p); // warm-up
    const t0 = performance.now();
    const fit = fitHead(head, lm, p);
    ms.push(performance.now() - t0);
    its.push(fit.iterations);
    err.push((100 * fit.landmarkErrorPx) / fit.interocularPx);
    rot.push(
      Math.max(
        Math.abs(fit.rotation.yawDeg - yaw),
        Math.abs(fit.rotation.pitchDeg - pitch),
        Math.abs(fit.rotation.rollDeg - roll),
      ),
    );
    focal.push(Math.abs(fit.camera.fx / p.camera.fx - 1) * 100);
    depth.push(Math.abs(fit.camera.worldToCamera[11] / p.camera.worldToCamera[11] - 1) * 100);
    // Detector-like landmarks: the jaw 4 px outward (silhouette), brows 3 px up, eye corners 2 px in, one 40 px outlier; error against the shifted input.
    const cx = lm.reduce((s, v, i) => s + (i % 2 === 0 ? v : 0), 0) / 68;
    const off = Float32Array.from(lm);
    for (let i = 0; i <= 16; i++) off[i * 2] += 4 * Math.sign(off[i * 2] - cx);
    for (let i = 17; i <= 26; i++) off[i * 2 + 1] -= 3;
    off[36 * 2] += 2;
    off[45 * 2] -= 2;
    off[33 * 2 + 1] += 40;
    const rf = fitHead(head, off, p);
    robustErr.push((100 * quantile(Array.from(rf.perLandmarkErrorPx), 0.5)) / rf.interocularPx);
    robustRot.push(
      Math.max(
        Math.abs(rf.rotation.yawDeg - yaw),
        Math.abs(rf.rotation.pitchDeg - pitch),
        Math.abs(rf.rotation.rollDeg - roll),
      ),
    );
    head.shapeNames.forEach((name, k) => {
      shapeErr[k].push(fit.shape[k] - identity.shape[k]);
      shapeStd[k].push(fit.shapeStd[k]);
      if ((IDENTIFIABLE_SHAPES as readonly string[]).includes(name)) {
        idErr.push(fit.shape[k] - identity.shape[k]);
        idTruth.push(identity.shape[k]);
      }
    });
  }
  const lines = [
    `### Landmark fit: ${count} rendered portraits, true landmarks + 1 px Gaussian noise`,
    "",
    "| figure | median | max |",
    "|---|---|---|",
    `| mean landmark error, % of inter-ocular distance | ${f(quantile(err, 0.5))} | ${f(Math.max(...err))} |`,
    `| worst of yaw / pitch / roll error, degrees | ${f(quantile(rot, 0.5))} | ${f(Math.max(...rot))} |`,
    `| focal length error, % | ${f(quantile(focal, 0.5), 1)} | ${f(Math.max(...focal), 1)} |`,
    `| camera distance error, % | ${f(quantile(depth, 0.5), 1)} | ${f(Math.max(...depth), 1)} |`,
    `| fit time, ms (2-core machine, after warm-up) | ${f(quantile(ms, 0.5), 0)} | ${f(Math.max(...ms), 0)} |`,
    `| LM iterations (both stages) | ${quantile(its, 0.5)} | ${Math.max(...its)} |`,
    `| detector-like offsets: median landmark error, % of inter-ocular | ${f(quantile(robustErr, 0.5))} | ${f(Math.max(...robustErr))} |`,
    `| detector-like offsets: worst angle error, degrees | ${f(quantile(robustRot, 0.5))} | ${f(Math.max(...robustRot))} |`,
    "",
    `Identifiable shape coefficients (${IDENTIFIABLE_SHAPES.join(", ")}): RMS error ${f(rms(idErr))} against an RMS truth of ${f(rms(idTruth))} (guessing 0 scores the latter).`,
    "",
    "| shape coefficient | RMS error | mean posterior std |",
    "|---|---|---|",
    ...head.shapeNames.map(
      (name, k) =>
        `| ${name}${(IDENTIFIABLE_SHAPES as readonly string[]).includes(name) ? " (identifiable)" : ""} | ${f(rms(shapeErr[k]))} | ${f(shapeStd[k].reduce((a, b) => a + b) / count)} |`,
    ),
  ];
  return lines;
}

interface Shot {
  name: string;
  identity: Identity;
  portrait: Portrait;
  fit: HeadFit;
  texture: PhotoTexture;
  own: SourceAttributes;
}

async function shoot(
  head: HeadModel,
  name: string,
  seed: number,
  yaw: number,
  pitch: number,
  attributes: Record<string, Params>,
): Promise<Shot> {
  const identity = proceduralIdentity(seed, head);
  const portrait = await renderPortrait({ head, identity, yawDeg: yaw, pitchDeg: pitch, size: 512, attributes });
  const fit = fitHead(head, portrait.landmarks, portrait);
  const texture = textureFromPhoto(head, fit, portrait, portrait.mask);
  return {
    name,
    identity,
    portrait,
    fit,
    texture,
    own: estimateSourceAttributes(head, fit, portrait, portrait.mask, texture),
  };
}

/** The fitted head re-rendered through the fitted camera with the photo's texture and the estimated attributes. */
function rerender(head: HeadModel, s: Shot): Buffer {
  const identity: Identity = {
    kind: "portrait",
    seed: 0,
    shape: Array.from(s.fit.shape),
    ...s.own.colours,
    freckles: 0,
  };
  const draws = buildScene({
    head,
    identity,
    baseColours: s.texture.albedo,
    regions: regionFaces(head),
    attributes: s.own.attributes,
    frame: { expression: s.fit.expression, pose: s.fit.pose },
  });
  const img = renderMeshCpu(draws, s.fit.camera, { background: [0.55, 0.6, 0.66] });
  const rgb = Buffer.alloc(img.width * img.height * 3);
  for (let i = 0; i < rgb.length; i++) rgb[i] = Math.round(Math.min(1, Math.max(0, img.rgb[i])) * 255);
  return rgb;
}

const HAIR = { coverage: 0.95, length: 0.6, volume: 0.5, curl: 0.1, colourR: 0.18, colourG: 0.1, colourB: 0.06 };
const GLASSES = { frame: 0.8, size: 0.5, tint: 0, colourR: 0.08, colourG: 0.08, colourB: 0.08 };
const BEARD = { coverage: 0.9, length: 0.6, colourR: 0.15, colourG: 0.09, colourB: 0.05 };

async function main(argv: string[]): Promise<void> {
  const outDir = argv[0] ?? "docs/images";
  fs.mkdirSync(outDir, { recursive: true });
  const t0 = performance.now();
  const head = createHeadModel();
  const out: string[] = [...(await measureFit(head, 16)), ""];

  // Texture: albedo of visible skin against identityColours (shading in the render, de-shading in the texture).
  const texErr: number[] = [],
    mirErr: number[] = [],
    texMs: number[] = [];
  for (const [seed, yaw] of [
    [4, 20],
    [9, -10],
    [12, 0],
    [21, 15],
  ]) {
    const s = await shoot(head, "", seed, yaw, 5, {});
    const t1 = performance.now();
    textureFromPhoto(head, s.fit, s.portrait, s.portrait.mask);
    texMs.push(performance.now() - t1);
    const truth = identityColours(s.identity, head);
    for (let v = 0; v < head.vertexCount; v++) {
      if (head.vertexRegion[v] !== Region.skin) continue;
      const e = Math.max(...[0, 1, 2].map((k) => Math.abs(s.texture.albedo[v * 3 + k] - truth[v * 3 + k])));
      if (s.texture.source[v] === TextureSource.photo) texErr.push(e);
      if (s.texture.source[v] === TextureSource.mirrored) mirErr.push(e);
    }
  }
  out.push(
    "### Texture: skin albedo against the known colours (4 portraits; largest channel difference)",
    "",
    "| vertices | count | median | 90th percentile |",
    "|---|---|---|---|",
    `| photo | ${texErr.length} | ${f(quantile(texErr, 0.5), 3)} | ${f(quantile(texErr, 0.9), 3)} |`,
    `| mirrored | ${mirErr.length} | ${f(quantile(mirErr, 0.5), 3)} | ${f(quantile(mirErr, 0.9), 3)} |`,
    "",
    `textureFromPhoto: ${f(quantile(texMs, 0.5), 0)} ms median (512 px).`,
    "",
  );

  // Attributes: detection over skins and poses.
  const rows: string[] = [];
  const looks: Array<[string, Record<string, Params>, (a: SourceAttributes) => boolean]> = [
    ["bald -> hair none", {}, (a) => a.attributes.hair.coverage === 0],
    ["dark hair -> found", { hair: HAIR }, (a) => a.attributes.hair.coverage > 0.5],
    ["no glasses -> none", {}, (a) => a.attributes.eyewear.frame === 0 && a.attributes.eyewear.tint === 0],
    ["glasses -> found", { eyewear: GLASSES }, (a) => a.attributes.eyewear.frame > 0],
    ["no beard -> none", {}, (a) => a.attributes.beard.coverage === 0],
    ["beard -> found", { beard: BEARD }, (a) => a.attributes.beard.coverage > 0.5],
  ];
  const estMs: number[] = [];
  for (const [label, attributes, ok] of looks) {
    let good = 0,
      n = 0;
    const colourErr: number[] = [];
    for (const seed of [4, 9, 12, 2])
      for (const [yaw, pitch] of [
        [15, 3],
        [-20, -5],
        [0, 10],
      ]) {
        const s = await shoot(head, label, seed, yaw, pitch, attributes);
        const t1 = performance.now();
        estimateSourceAttributes(head, s.fit, s.portrait, s.portrait.mask, s.texture);
        estMs.push(performance.now() - t1);
        n++;
        if (ok(s.own)) good++;
        const cat = Object.keys(attributes)[0];
        if (cat && cat !== "eyewear")
          for (const k of ["colourR", "colourG", "colourB"])
            colourErr.push(Math.abs(s.own.attributes[cat][k] - attributes[cat][k]));
      }
    rows.push(`| ${label} | ${good} / ${n} | ${colourErr.length ? f(Math.max(...colourErr)) : "-"} |`);
  }
  out.push(
    "### Attributes: 4 skins x 3 poses each",
    "",
    "| case | right | largest colour error |",
    "|---|---|---|",
    ...rows,
    "",
    `estimateSourceAttributes: ${f(quantile(estMs, 0.5), 0)} ms median.`,
    "",
  );

  // Pictures.
  const shots = [
    await shoot(head, "bald, yaw 20", 9, 20, 5, {}),
    await shoot(head, "hair, glasses", 12, -15, -5, { hair: HAIR, eyewear: GLASSES }),
    await shoot(head, "beard, grey hair", 4, 5, 10, {
      beard: BEARD,
      hair: { ...HAIR, coverage: 0.7, colourR: 0.6, colourG: 0.6, colourB: 0.6 },
    }),
  ];
  const P = 384;
  // Cropped to the face (the landmarks' box, 1.7 times) so the landmarks can be told apart.
  const faceCrop = async (s: Shot) => {
    const xs = Array.from(s.fit.landmarks).filter((_, i) => i % 2 === 0),
      ys = Array.from(s.fit.landmarks).filter((_, i) => i % 2 === 1);
    const side = Math.round(1.7 * Math.max(Math.max(...xs) - Math.min(...xs), Math.max(...ys) - Math.min(...ys)));
    const left = Math.max(0, Math.min(512 - side, Math.round((Math.max(...xs) + Math.min(...xs) - side) / 2)));
    const top = Math.max(0, Math.min(512 - side, Math.round((Math.max(...ys) + Math.min(...ys) - side) / 2)));
    return sharp(await fitOverlayPng(s.portrait, head, s.fit))
      .extract({ left, top, width: side, height: side })
      .png()
      .toBuffer();
  };
  const overlay = await contactSheet(
    await Promise.all(shots.map(async (s) => labelledPanel(await faceCrop(s), P, s.name))),
    3,
    P,
  );
  // Palette PNGs: a third of the size, no visible loss on these pictures.
  const small = (png: Buffer) => sharp(png).png({ palette: true, effort: 10 }).toBuffer();
  fs.writeFileSync(path.join(outDir, "portrait-fit-overlay.png"), await small(overlay));
  const pairs: Buffer[] = [];
  for (const s of shots) {
    pairs.push(await labelledPanel(await portraitFile(s.portrait), P, `photo (${s.name})`));
    const rgb = rerender(head, s);
    pairs.push(
      await labelledPanel(
        await sharp(rgb, { raw: { width: 512, height: 512, channels: 3 } })
          .png()
          .toBuffer(),
        P,
        "fit + texture + attributes",
      ),
    );
  }
  fs.writeFileSync(path.join(outDir, "portrait-fit-rerender.png"), await small(await contactSheet(pairs, 2, P)));
  fs.writeFileSync(
    path.join(outDir, "portrait-fit-texture.png"),
    await small(await texturePng(head, shots[1].texture.albedo, shots[1].texture.source, 512)),
  );
  const cats = CATEGORIES.map((c) => c.name).filter((n) => n in shots[2].own.attributes);
  out.push(
    `Estimated for "${shots[2].name}": ${cats
      .map(
        (c) =>
          `${c} ${Object.entries(shots[2].own.attributes[c])
            .map(([k, v]) => `${k}=${f(v)}`)
            .join(" ")}`,
      )
      .join("; ")}.`,
    "",
  );
  out.push(`(fit-sheet: ${f((performance.now() - t0) / 1000, 0)} s; pictures in ${outDir})`);
  console.log(out.join("\n"));
}

if (isMainModule(import.meta.url)) runCli("fit-sheet", "usage: npx tsx server/cli/fit-sheet.ts [outDir]", main);
