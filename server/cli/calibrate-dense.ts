/**
 * Measures where Human's 478 mesh points sit on the head model (rendered
 * heads with known shape, expression and pose; dense-calibrate.ts), writes
 * render-core/head/human-mesh-binding.json (the table the dense fit and the
 * browser's camera drive share), then compares the 68-point and the
 * dense fit on other rendered heads. --photo fits a photo (read in place)
 * both ways and prints the dense fit's held-out error and time.
 *
 *   npx tsx server/cli/calibrate-dense.ts [portraits=80] [held-out=12] [--photo P ...] [--no-write]
 *   (about 1.3 s per portrait plus 1 s per portrait to measure)
 */
import fs from "node:fs";
import { fileURLToPath } from "node:url";
import { createHeadModel, type HeadModel } from "../../render-core/head";
import { UsageError, intOption, isMainModule, runCli } from "./run-cli";
import { analysePortrait } from "../pipeline/analyse/analyse";
import { decodePortrait } from "../pipeline/analyse/decode";
import {
  HUMAN_MESH_BINDING,
  denseBinding,
  faceRegionVertices,
  type DenseBindingTable,
} from "../pipeline/fit/dense-binding";
import { measureBinding } from "../pipeline/fit/dense-calibrate";
import { denseSamples, meshPointError, shapeError, type DenseSample } from "../pipeline/fit/dense-samples";
import { fitHead } from "../pipeline/fit/fit-head";
import { FACE_API_CONVENTION } from "../pipeline/fit/landmark-convention";

const USAGE = "usage: npx tsx server/cli/calibrate-dense.ts [portraits=80] [held-out=12] [--photo P ...] [--no-write]";
const TRAIN_SEED = 2000,
  TEST_SEED = 3000;

const med = (xs: number[]) => xs.slice().sort((a, b) => a - b)[xs.length >> 1];
const rms = (xs: number[]) => Math.sqrt(xs.reduce((s, x) => s + x * x, 0) / xs.length);
const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;

/** 68-point and dense fits on rendered heads: the rows of docs/portrait-fitting.md's "Dense shape" table. */
function compare(head: HeadModel, set: DenseSample[], table: DenseBindingTable): void {
  const binding = denseBinding(head, table);
  const region = faceRegionVertices(head, binding);
  const rows = { l68: [] as number[][], dense: [] as number[][] };
  for (const s of set) {
    const lm = s.landmarks,
      size = s.portrait;
    const t0 = performance.now();
    const f68 = fitHead(head, lm, size, { convention: FACE_API_CONVENTION });
    const t1 = performance.now();
    const fd = fitHead(head, lm, size, { convention: FACE_API_CONVENTION, mesh: s.mesh, dense: { binding: table } });
    const t2 = performance.now();
    for (const [key, fit, ms] of [
      ["l68", f68, t1 - t0],
      ["dense", fd, t2 - t1],
    ] as const) {
      const e = shapeError(head, fit.shape, s.identity.shape, region);
      const io = fit.interocularPx;
      const meshErr = meshPointError(head, fit, s.mesh, binding);
      rows[key].push([e.coefRms, e.vertexRmsMm, meshErr, (100 * meshErr) / io, fit.heldOutErrorPx ?? NaN, ms, io]);
    }
  }
  const truth = rms(set.flatMap((s) => s.identity.shape));
  console.log(
    `\n${set.length} held-out rendered heads (truth shape RMS ${truth.toFixed(2)}; guessing 0 scores that); mean over heads:\n`,
  );
  console.log(
    "| fit | shape coefficient RMS error | face vertex RMS error, mm | mesh-point error, px (% inter-ocular) | held-out mesh-point error, px (% inter-ocular) | time, ms (median) |",
  );
  console.log("|---|---|---|---|---|---|");
  for (const [key, label] of [
    ["l68", "68 points (face-api + convention)"],
    ["dense", "dense (Human's 478 points)"],
  ] as const) {
    const r = rows[key];
    const col = (k: number) => mean(r.map((x) => x[k]));
    const held =
      key === "dense" ? `${col(4).toFixed(2)} (${mean(r.map((x) => (100 * x[4]) / x[6])).toFixed(2)} %)` : "-";
    console.log(
      `| ${label} | ${col(0).toFixed(3)} | ${col(1).toFixed(2)} | ${col(2).toFixed(2)} (${col(3).toFixed(2)} %) | ${held} | ${med(r.map((x) => x[5])).toFixed(0)} |`,
    );
  }
  const ratio = (k: number) => mean(rows.dense.map((x) => x[k])) / mean(rows.l68.map((x) => x[k]));
  console.log(`\ndense / 68: coefficient RMS x${ratio(0).toFixed(2)}, vertex RMS x${ratio(1).toFixed(2)}`);
}

async function photo(head: HeadModel, file: string, table: DenseBindingTable): Promise<void> {
  if (!fs.existsSync(file)) throw new UsageError(`no such file: ${file}`);
  const a = await analysePortrait(await decodePortrait(fs.readFileSync(file)));
  if (!a.mesh) {
    console.log(`${file}: Human found no mesh; the fit stays 68-point`);
    return;
  }
  const t0 = performance.now();
  const f68 = fitHead(head, a.landmarks, a, { convention: FACE_API_CONVENTION });
  const t1 = performance.now();
  const fd = fitHead(head, a.landmarks, a, {
    convention: FACE_API_CONVENTION,
    mesh: a.mesh,
    dense: { binding: table },
  });
  const t2 = performance.now();
  const binding = denseBinding(head, table);
  const io = fd.interocularPx;
  const pct = (v: number) => `${v.toFixed(2)} px (${((100 * v) / io).toFixed(2)} %)`;
  console.log(
    `\n${file} (${a.width} x ${a.height}, inter-ocular ${io.toFixed(0)} px): dense fit held-out error ${pct(fd.heldOutErrorPx!)} over ${fd.dense!.heldOutPoints} points, mesh-point error ${pct(fd.dense!.pointErrorPx)}, ${(t2 - t1).toFixed(0)} ms; the 68-point fit's mesh-point error ${pct(meshPointError(head, f68, a.mesh, binding))}, ${(t1 - t0).toFixed(0)} ms`,
  );
}

async function main(argv: string[]): Promise<void> {
  const photos: string[] = [];
  const pos: string[] = [];
  let write = true;
  for (let k = 0; k < argv.length; k++) {
    if (argv[k] === "--photo") {
      if (!argv[k + 1]) throw new UsageError("--photo needs a file");
      photos.push(argv[++k]);
    } else if (argv[k] === "--no-write") write = false;
    else if (argv[k].startsWith("--")) throw new UsageError(`unknown option ${argv[k]}`);
    else pos.push(argv[k]);
  }
  const count = intOption(pos[0], "portraits", 80, 0, 400);
  const heldOut = intOption(pos[1], "held-out", 12, 0, 200);
  if (count > 0 && count < 8) throw new UsageError("--portraits must be 0 (use the stored table) or at least 8");
  const head = createHeadModel();
  let table = HUMAN_MESH_BINDING;
  if (count > 0) {
    const t0 = performance.now();
    const train = await denseSamples(head, count, TRAIN_SEED, {
      onProgress: (n) => n % 10 === 0 && console.error(`rendered and analysed ${n} / ${count}`),
    });
    const t1 = performance.now();
    table = measureBinding(
      head,
      train,
      `Human 3.3.6 478-point mesh (analyse stage faceMesh) on ${train.length} rendered heads (seeds ${TRAIN_SEED}+, yaw +-25, pitch +-12, random looks and expressions)`,
    );
    const t2 = performance.now();
    const usable = denseBinding(head, table).usable.reduce((s, u) => s + u, 0);
    console.log(
      `${train.length} portraits rendered and analysed in ${((t1 - t0) / 1000).toFixed(0)} s, binding measured in ${((t2 - t1) / 1000).toFixed(0)} s; ${usable} of 478 points usable; residual (inter-ocular) median ${med(table.residual).toFixed(3)}, scatter median ${med(table.scatterMm).toFixed(2)} mm`,
    );
    if (write) {
      const file = fileURLToPath(new URL("../../render-core/head/human-mesh-binding.json", import.meta.url));
      fs.writeFileSync(file, JSON.stringify(table) + "\n");
      console.log(`wrote ${file}`);
    }
  }
  if (heldOut > 0) compare(head, await denseSamples(head, heldOut, TEST_SEED), table);
  for (const f of photos) await photo(head, f, table);
}

if (isMainModule(import.meta.url)) runCli("calibrate-dense", USAGE, main);
