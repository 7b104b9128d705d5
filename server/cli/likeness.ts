/**
 * npm run likeness -- --portrait photo.jpg --creation DIR [--same a.jpg b.jpg] [--others x.jpg y.jpg]
 *                     [--bundle DIR] [--out DIR] [--backend cpu|webgpu]
 * npm run likeness -- --calibrate [--photos DIR] [--out FILE]
 *
 * The likeness ladder of a creation (server/pipeline/likeness/ladder.ts,
 * docs/likeness.md): prints the table, writes likeness.json and
 * likeness-sheet.png to --out (default the creation's evaluate/ folder).
 * --calibrate embeds every photo of --photos (default
 * ../shared/testdata/portraits), prints both recognisers' same-person and
 * different-person distributions and the thresholds they give, and writes
 * the pairs to --out (default data/likeness/calibration.json).
 */
import fs from "node:fs";
import path from "node:path";
import { CpuAvatarRenderer, WebGpuAvatarRenderer, type AvatarRenderer } from "../../render-core/avatar/avatar-renderer";
import type { Avatar } from "../../render-core/avatar/avatar";
import type { HeadModel } from "../../render-core/head";
import { createNodeGpu, type NodeGpu } from "../gpu/node-device";
import { calibrate, calibrationMarkdown } from "../pipeline/likeness/calibrate";
import { runLadder } from "../pipeline/likeness/ladder";
import { formatLadder, ladderSheet } from "../pipeline/likeness/ladder-report";
import { UsageError, isMainModule, runCli } from "./run-cli";
import { progressBar } from "./progress";

export const USAGE = `usage: npm run likeness -- --portrait FILE --creation DIR [options]
       npm run likeness -- --calibrate [--photos DIR] [--out FILE]
  --portrait photo.jpg     the photo the creation was made from
  --creation DIR           npm run create's --out folder (or a job folder)
  --same a.jpg b.jpg ...   the person's OTHER photos (verification)
  --others x.jpg ...       other people's photos (verification)
  --bundle DIR             a trained bundle other than the creation's own
  --out DIR                where likeness.json and likeness-sheet.png go (default: the creation's evaluate/)
  --backend cpu|webgpu     avatar renderer (default: webgpu when an adapter exists)
  --calibrate              measure both recognisers on real photo pairs instead
  --photos DIR             the calibration photos (default ../shared/testdata/portraits)`;

const SINGLE = ["portrait", "creation", "bundle", "out", "backend", "photos"] as const;
const LISTS = ["same", "others"] as const;
const BOOLEANS = ["calibrate"] as const;

export interface LikenessArgs {
  single: Partial<Record<(typeof SINGLE)[number], string>>;
  lists: Record<(typeof LISTS)[number], string[]>;
  calibrate: boolean;
}

/** `--name VALUE`, `--same A B ...` (values up to the next option) and `--calibrate`; anything else is a UsageError. */
export function parseLikenessArgs(argv: string[]): LikenessArgs {
  const out: LikenessArgs = { single: {}, lists: { same: [], others: [] }, calibrate: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith("--")) throw new UsageError(`unexpected argument "${a}"`);
    const name = a.slice(2);
    if ((BOOLEANS as readonly string[]).includes(name)) out.calibrate = true;
    else if ((LISTS as readonly string[]).includes(name)) {
      const list = out.lists[name as (typeof LISTS)[number]];
      while (i + 1 < argv.length && !argv[i + 1]!.startsWith("--")) list.push(argv[++i]!);
      if (list.length === 0) throw new UsageError(`--${name} needs at least one photo`);
    } else if ((SINGLE as readonly string[]).includes(name)) {
      const v = argv[i + 1];
      if (v === undefined || v.startsWith("--")) throw new UsageError(`--${name} needs a value`);
      out.single[name as (typeof SINGLE)[number]] = v;
      i++;
    } else throw new UsageError(`unknown option --${name}`);
  }
  return out;
}

async function runCalibration(args: LikenessArgs): Promise<void> {
  const dir = args.single.photos ?? "../shared/testdata/portraits";
  const out = args.single.out ?? "data/likeness/calibration.json";
  const bar = progressBar();
  const report = await calibrate(dir, (file, k, n) => bar.update(k, n, `embedding ${file}`));
  bar.end();
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, JSON.stringify(report, null, 1));
  console.log(`${calibrationMarkdown(report)}\n\n${report.seconds.toFixed(0)} s -> ${out}`);
}

export async function main(argv: string[]): Promise<void> {
  const args = parseLikenessArgs(argv);
  if (args.calibrate) return runCalibration(args);
  const { portrait, creation, bundle, backend } = args.single;
  if (!portrait) throw new UsageError("--portrait FILE is required (the photo the creation was made from)");
  if (!fs.existsSync(portrait)) throw new UsageError(`--portrait: no file ${portrait}`);
  if (!creation) throw new UsageError("--creation DIR is required (npm run create's --out folder)");
  if (!fs.existsSync(creation)) throw new UsageError(`--creation: no folder ${creation}`);
  for (const f of [...args.lists.same, ...args.lists.others])
    if (!fs.existsSync(f)) throw new UsageError(`no photo ${f}`);
  if (backend !== undefined && backend !== "cpu" && backend !== "webgpu")
    throw new UsageError(`--backend takes cpu or webgpu, got "${backend}"`);

  let gpu: NodeGpu | null = null;
  if (backend !== "cpu") {
    gpu = await createNodeGpu({ log: { info: () => {}, warn: () => {}, error: console.error } });
    if (!gpu && backend === "webgpu")
      throw new UsageError("--backend webgpu: no WebGPU adapter on this machine (try --backend cpu)");
  }
  const makeRenderer = (a: Avatar, h: HeadModel): AvatarRenderer =>
    gpu ? new WebGpuAvatarRenderer(gpu.device, a, h) : new CpuAvatarRenderer(a, h);
  try {
    const result = await runLadder({
      portrait,
      creation,
      ...(bundle ? { bundle } : {}),
      same: args.lists.same,
      others: args.lists.others,
      makeRenderer,
      onProgress: (what) => process.stderr.write(`likeness: ${what}\n`),
    });
    const out = args.single.out ?? result.creationPaths.evaluate;
    fs.mkdirSync(out, { recursive: true });
    fs.writeFileSync(path.join(out, "likeness.json"), JSON.stringify(result.report, null, 1));
    fs.writeFileSync(path.join(out, "likeness-sheet.png"), await ladderSheet(result));
    console.log(
      `${formatLadder(result.report)}\n-> ${path.join(out, "likeness.json")}, ${path.join(out, "likeness-sheet.png")}`,
    );
  } finally {
    gpu?.destroy();
  }
}

if (isMainModule(import.meta.url))
  runCli("likeness", USAGE, main, (err) =>
    /^(likeness|calibrate|dataset|readAvatarBundleDir|avatar bundle)/.test(err.message),
  );
