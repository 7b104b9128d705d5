/**
 * npm run analyse -- <photo.jpg|png|webp> [overlay.png] [--json analysis.json]
 * Runs the analyse stage on one photo: prints the analysis (or the reason it
 * is refused, exit code 1) and writes the overlay picture (the refusal's
 * picture when refused). The JSON holds everything but the matte.
 */
import fs from "node:fs";
import { parseArgs } from "node:util";
import { UsageError, isMainModule, runCli } from "./run-cli";
import {
  analysePortrait,
  analysisOverlayPng,
  loadAnalyseModels,
  refusalOverlayPng,
  type PortraitAnalysis,
} from "../pipeline/analyse/analyse";
import { decodePortrait } from "../pipeline/analyse/decode";
import { PortraitRefusal } from "../pipeline/analyse/refusal";

const USAGE = `usage: npm run analyse -- <photo.jpg|png|webp> [overlay.png] [--json analysis.json]`;

/** The analysis as plain JSON: arrays as lists, the matte summarised by its mean coverage. */
export function analysisJson(a: PortraitAnalysis): Record<string, unknown> {
  const round = (v: number) => Number(v.toFixed(2));
  return {
    width: a.width,
    height: a.height,
    box: { x: round(a.box.x), y: round(a.box.y), width: round(a.box.width), height: round(a.box.height) },
    score: round(a.score),
    faces: a.faces,
    rotation: a.rotation,
    interocularPx: round(a.interocularPx),
    sharpness: Number(a.sharpness.toFixed(3)),
    matteCoverage: a.matte ? Number((a.matte.reduce((s, v) => s + v, 0) / a.matte.length).toFixed(3)) : null,
    timings: a.timings,
    landmarks: Array.from(a.landmarks, round),
    descriptor: Array.from(a.descriptor, (v) => Number(v.toFixed(5))),
    mesh: a.mesh ? Array.from(a.mesh, round) : null,
  };
}

export async function main(argv: string[]): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, options: { json: { type: "string" } } });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const [input, out, ...extra] = parsed.positionals;
  if (!input) throw new UsageError("give the photo to analyse");
  if (extra.length) throw new UsageError(`unexpected arguments: ${extra.join(" ")}`);
  if (!fs.existsSync(input)) throw new UsageError(`no such file: ${input}`);
  try {
    const image = await decodePortrait(fs.readFileSync(input)); // before the models: a bad file fails at once
    const load = await loadAnalyseModels();
    console.log(
      `models loaded in ${load.total} ms (${Object.entries(load)
        .filter(([k]) => k !== "total")
        .map(([k, v]) => `${k} ${v}`)
        .join(", ")})`,
    );
    try {
      const a = await analysePortrait(image);
      const j = analysisJson(a);
      console.log(`${input}: accepted, ${a.width}x${a.height}`);
      for (const k of ["box", "score", "rotation", "interocularPx", "sharpness", "matteCoverage", "timings"])
        console.log(`  ${k}: ${JSON.stringify(j[k])}`);
      if (out) fs.writeFileSync(out, await analysisOverlayPng(image, a));
      if (parsed.values.json) fs.writeFileSync(parsed.values.json, JSON.stringify(j));
    } catch (err) {
      if (err instanceof PortraitRefusal && out) fs.writeFileSync(out, await refusalOverlayPng(image, err));
      throw err;
    }
  } catch (err) {
    if (err instanceof PortraitRefusal && parsed.values.json)
      fs.writeFileSync(
        parsed.values.json,
        JSON.stringify({ refused: err.code, message: err.message, boxes: err.boxes, details: err.details }),
      );
    throw err;
  }
  if (out) console.log(`wrote ${out}`);
}

if (isMainModule(import.meta.url)) runCli("analyse", USAGE, main, (err) => err instanceof PortraitRefusal);
