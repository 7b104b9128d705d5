/**
 * npm run avatar -- render (--bundle DIR | --random compact|paper) --out DIR [options]
 * Renders an avatar bundle (or an untrained random avatar) playing an
 * animation clip to a PNG sequence and a contact sheet. Default backend:
 * WebGPU (Dawn) when an adapter exists, else the CPU twins.
 */
import fs from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { UsageError, isMainModule, runCli } from "./run-cli";
import { COMPACT, PAPER } from "../../render-core/avatar/config";
import { createRandomAvatar, type Avatar } from "../../render-core/avatar/avatar";
import { CpuAvatarRenderer, WebGpuAvatarRenderer, type AvatarRenderer } from "../../render-core/avatar/avatar-renderer";
import {
  BUILTIN_CLIPS,
  builtinClip,
  clipDuration,
  parseClipCsv,
  parseClipJson,
  sampleClip,
  type AnimationClip,
} from "../../render-core/animation";
import { createHeadModel, type HeadModel } from "../../render-core/head";
import { orbitCamera } from "../../render-core/math/camera";
import { readAvatarBundleDir } from "../avatar/bundle-files";
import { createNodeGpu, type NodeGpu } from "../gpu/node-device";
import { contactSheet, imageToPng, labelledPanel } from "../images/png";

const USAGE = `usage: npm run avatar -- render (--bundle DIR | --random compact|paper) --out DIR [options]
  --count 20000 --seed 1       Gaussians and seed of a random avatar
  --clip showcase              a built-in clip (${Object.keys(BUILTIN_CLIPS).join(", ")}) or a .json / .csv clip file
                               (ours, or ARKit-52: a Live Link Face CSV at 60 fps, an arkit-52 JSON)
  --seconds S --fps 30         how much of the clip to render (default: all of it) and at what rate
  --size 256                   image size, pixels
  --yaw 20 --pitch 5           camera orbit angles, degrees; --distance 0.8 metres
  --background 0.16,0.17,0.2   RGB in [0, 1]
  --anchor hair=1,beard=0      start from the neutral latents with these categories at an anchor (index per category)
  --sheet 8                    frames in the contact sheet (0: none)
  --backend cpu|webgpu         default: webgpu when an adapter exists, else cpu`;

function num(
  value: string | undefined,
  name: string,
  fallback: number,
  min: number,
  max: number,
  integer = false,
): number {
  if (value === undefined) return fallback;
  const v = Number(value);
  if (value.trim() === "" || !Number.isFinite(v) || v < min || v > max || (integer && !Number.isInteger(v))) {
    throw new UsageError(
      `--${name} must be a ${integer ? "whole number" : "number"} in [${min}, ${max}], got "${value}"`,
    );
  }
  return v;
}

function loadClip(spec: string): AnimationClip {
  if (!/\.(json|csv)$/i.test(spec)) {
    if (!(spec in BUILTIN_CLIPS))
      throw new UsageError(
        `--clip: no built-in clip "${spec}" (have ${Object.keys(BUILTIN_CLIPS).join(", ")}), and not a .json or .csv file`,
      );
    return builtinClip(spec);
  }
  if (!fs.existsSync(spec)) throw new UsageError(`--clip: no such file ${spec}`);
  const text = fs.readFileSync(spec, "utf8");
  const name = path.basename(spec).replace(/\.[^.]+$/, "");
  return /\.json$/i.test(spec) ? parseClipJson(text, name) : parseClipCsv(text, { name });
}

/** Neutral latents with some categories moved to one of their anchors: "hair=1,beard=0". */
function latentsFor(avatar: Avatar, spec: string | undefined): Float32Array {
  const latents = avatar.neutralLatents.slice();
  if (!spec) return latents;
  const L = avatar.config.latentDim;
  for (const part of spec.split(",")) {
    const m = /^([a-z][a-z0-9_-]*)=(\d+)$/.exec(part.trim());
    if (!m) throw new UsageError(`--anchor takes category=index pairs like hair=1,beard=0, got "${part}"`);
    const c = avatar.config.categories.indexOf(m[1]!);
    if (c < 0) throw new UsageError(`--anchor: no category "${m[1]}" (have ${avatar.config.categories.join(", ")})`);
    const anchors = avatar.anchors.filter((a) => a.category === m[1]);
    const anchor = anchors[Number(m[2])];
    if (!anchor)
      throw new UsageError(`--anchor: ${m[1]} has ${anchors.length} anchors (0 to ${anchors.length - 1}), got ${m[2]}`);
    latents.set(anchor.latent, c * L);
  }
  return latents;
}

export async function main(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    allowNegative: false,
    options: Object.fromEntries(
      [
        "bundle",
        "random",
        "out",
        "count",
        "seed",
        "clip",
        "seconds",
        "fps",
        "size",
        "yaw",
        "pitch",
        "distance",
        "anchor",
        "sheet",
        "backend",
        "background",
      ].map((k) => [k, { type: "string" as const }]),
    ),
    strict: false,
  });
  const unknown = Object.keys(values).filter(
    (k) =>
      ![
        "bundle",
        "random",
        "out",
        "count",
        "seed",
        "clip",
        "seconds",
        "fps",
        "size",
        "yaw",
        "pitch",
        "distance",
        "anchor",
        "sheet",
        "backend",
        "background",
      ].includes(k),
  );
  if (unknown.length) throw new UsageError(`unknown option --${unknown[0]}`);
  const v = values as Record<string, string | undefined>;
  if (positionals[0] !== "render" || positionals.length !== 1)
    throw new UsageError(
      positionals.length ? `unknown command "${positionals.join(" ")}" (have: render)` : "say what to do: render",
    );
  if (!v.out) throw new UsageError("--out DIR is required");
  if (!!v.bundle === !!v.random) throw new UsageError("give exactly one of --bundle DIR and --random compact|paper");
  if (v.random && !["compact", "paper"].includes(v.random))
    throw new UsageError(`--random takes compact or paper, got "${v.random}"`);
  if (v.backend && !["cpu", "webgpu"].includes(v.backend))
    throw new UsageError(`--backend takes cpu or webgpu, got "${v.backend}"`);
  const count = num(v.count, "count", 20000, 1, 2_000_000, true);
  const seed = num(v.seed, "seed", 1, 0, 2 ** 32 - 1, true);
  const size = num(v.size, "size", 256, 16, 4096, true);
  const fps = num(v.fps, "fps", 30, 1, 240);
  const sheetFrames = num(v.sheet, "sheet", 8, 0, 64, true);
  const clip = loadClip(v.clip ?? "showcase");
  const clipSeconds = clipDuration(clip);
  const seconds = num(v.seconds, "seconds", clipSeconds, 1 / fps, 600);
  const camera = orbitCamera({
    width: size,
    height: size,
    yawDeg: num(v.yaw, "yaw", 20, -180, 180),
    pitchDeg: num(v.pitch, "pitch", 5, -89, 89),
    distance: num(v.distance, "distance", 0.8, 0.05, 100),
    target: [0, 0.01, 0],
  });
  const background = (v.background ?? "0.16,0.17,0.2").split(",").map((x) => (x.trim() === "" ? NaN : Number(x)));
  if (background.length !== 3 || background.some((x) => !(x >= 0 && x <= 1)))
    throw new UsageError(`--background must be three numbers in [0, 1] like 1,1,1, got "${v.background}"`);

  const head: HeadModel = createHeadModel();
  let avatar: Avatar;
  if (v.bundle) {
    try {
      avatar = await readAvatarBundleDir(v.bundle, {
        headFaceCount: head.faceCount,
        headShapeCount: head.shapeNames.length,
      });
    } catch (err) {
      throw new UsageError(`--bundle ${v.bundle}: ${(err as Error).message}`);
    }
  } else avatar = createRandomAvatar(v.random === "paper" ? PAPER : COMPACT, head, { count, seed });
  const latents = latentsFor(avatar, v.anchor);

  let gpu: NodeGpu | null = null;
  if (v.backend !== "cpu") {
    gpu = await createNodeGpu({ log: { info: () => {}, warn: () => {}, error: console.error } });
    if (!gpu && v.backend === "webgpu")
      throw new UsageError("--backend webgpu: no WebGPU adapter on this machine (try --backend cpu)");
  }
  const renderer: AvatarRenderer = gpu
    ? new WebGpuAvatarRenderer(gpu.device, avatar, head)
    : new CpuAvatarRenderer(avatar, head);
  const frames = Math.max(1, Math.round(seconds * fps));
  fs.mkdirSync(v.out, { recursive: true });
  const t0 = performance.now();
  await renderer.setLatents(latents);
  const sheetAt = new Set(
    Array.from({ length: Math.min(sheetFrames, frames) }, (_, k) =>
      Math.round((k * (frames - 1)) / Math.max(1, Math.min(sheetFrames, frames) - 1)),
    ),
  );
  const panels: Buffer[] = [];
  for (let f = 0; f < frames; f++) {
    const t = f / fps;
    const sample = sampleClip(clip, t, { loop: true });
    const image = await renderer.render(sample, camera, { background: background as [number, number, number] });
    const png = await imageToPng(image);
    fs.writeFileSync(path.join(v.out, `frame-${String(f).padStart(4, "0")}.png`), png);
    if (sheetAt.has(f)) panels.push(await labelledPanel(png, Math.min(size, 256), `${clip.name} ${t.toFixed(2)} s`));
    if (process.stdout.isTTY) process.stdout.write(`\rrendering ${f + 1}/${frames}`);
  }
  if (process.stdout.isTTY) process.stdout.write("\n");
  if (panels.length)
    fs.writeFileSync(
      path.join(v.out, "contact-sheet.png"),
      await contactSheet(panels, Math.min(4, panels.length), Math.min(size, 256)),
    );
  const ms = performance.now() - t0;
  console.log(
    `rendered ${frames} frames of "${clip.name}" (${avatar.count.toLocaleString("en-US")} Gaussians, ${size}x${size}, ${renderer.backend}) in ${(ms / 1000).toFixed(1)} s -> ${v.out}${panels.length ? ` (contact-sheet.png: ${panels.length} frames)` : ""}`,
  );
  renderer.destroy();
  gpu?.destroy();
}

if (isMainModule(import.meta.url)) runCli("avatar", USAGE, main);
