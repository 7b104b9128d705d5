/**
 * npm run render -- <scene.ply|scene.splat|scene.glb> --out frame.png [options]
 * npm run render -- --scene head:N|random:N --out frame.png [options]
 *   [--width 512] [--height 512] [--yaw 0] [--pitch 0] [--distance auto] [--fov 30]
 *   [--camera cam.json] [--backend cpu|webgpu] [--background r,g,b] [--seed 7]
 * Renders a splat file (or a generated scene) to PNG. Default backend: WebGPU
 * (Dawn) when an adapter exists, else the CPU renderer. With --camera the
 * image is exactly that camera's view (docs/rendering.md).
 */
import fs from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { UsageError, isMainModule, runCli } from "./run-cli";
import { readSplatFile } from "../../render-core/formats";
import { splatHead, randomCloud } from "../../render-core/scenes";
import { orbitCamera, parseCameraJson } from "../../render-core/math/camera";
import type { Camera } from "../../render-core/math/camera";
import type { RenderImage } from "../../render-core/raster/camera";
import { splatBounds, type SplatCloud } from "../../render-core/splats/splat-cloud";
import { renderCpu } from "../../render-core/raster/render.cpu";
import { imageToPng } from "../images/png";

/** Errors thrown by the readers and validators we call on user input: their message is the whole story. */
const INPUT_ERROR =
  /^(readPly|readSplat|readSplatFile|readGlb|parseCameraJson|splatHead|randomCloud|createSplatCloud):/;

const USAGE = `usage: npm run render -- <scene.ply | scene.splat | scene.glb> --out frame.png [options]
       npm run render -- --scene head:N | random:N --out frame.png [options]
  --width 512 --height 512     image size, pixels (orbit camera only)
  --yaw 0 --pitch 0            orbit angles, degrees (+yaw toward +x, +pitch from above)
  --distance D --fov 30        orbit distance (default frames the scene) and vertical field of view
  --camera cam.json            render exactly this camera's view instead (docs/rendering.md)
  --backend cpu|webgpu         default: webgpu when an adapter exists, else cpu
  --background r,g,b           in [0, 1], default 0,0,0
  --seed 7                     seed of a generated scene`;

const ORBIT_FLAGS = ["width", "height", "yaw", "pitch", "distance", "fov"] as const;

function num(value: string | undefined, name: string, fallback: number, min = -Infinity, max = Infinity): number {
  if (value === undefined) return fallback;
  const v = Number(value);
  if (value.trim() === "" || !Number.isFinite(v) || v < min || v > max) {
    const range = min > -Infinity ? ` in [${min}, ${max}]` : "";
    throw new UsageError(`--${name} must be a number${range}, got "${value}"`);
  }
  return v;
}

function int(value: string | undefined, name: string, fallback: number, min: number, max: number): number {
  const v = num(value, name, fallback, min, max);
  if (!Number.isInteger(v)) throw new UsageError(`--${name} must be a whole number, got "${value}"`);
  return v;
}

function loadScene(spec: string, seed: number, fromFlag: boolean): SplatCloud {
  const generated = /^(head|random):(\d+)$/.exec(spec);
  if (generated) {
    const n = Number(generated[2]);
    if (n < 1 || n > 10_000_000) throw new UsageError(`a generated scene needs 1 to 10,000,000 splats, got ${n}`);
    return generated[1] === "head" ? splatHead(seed, n) : randomCloud(seed, n);
  }
  if (fromFlag) throw new UsageError(`--scene must be head:N or random:N, got "${spec}"`);
  if (!fs.existsSync(spec)) throw new UsageError(`no such file: ${spec}`);
  if (!fs.statSync(spec).isFile()) throw new UsageError(`not a file: ${spec}`);
  return readSplatFile(new Uint8Array(fs.readFileSync(spec)), path.basename(spec));
}

function loadCamera(file: string): Camera {
  if (!fs.existsSync(file)) throw new UsageError(`no such camera file: ${file}`);
  let json: unknown;
  try {
    json = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (err) {
    throw new UsageError(`${file} is not valid JSON: ${(err as Error).message}`);
  }
  return parseCameraJson(json);
}

async function renderWith(
  backend: string,
  cloud: SplatCloud,
  camera: Camera,
  background: [number, number, number],
): Promise<{ image: RenderImage; used: string }> {
  if (backend === "cpu") return { image: renderCpu(cloud, camera, { background }), used: "cpu" };
  const { createNodeGpu } = await import("../gpu/node-device");
  const gpu = await createNodeGpu({ onFailure: () => {} });
  if (!gpu) {
    if (backend === "webgpu")
      throw new UsageError(
        "--backend webgpu: no WebGPU adapter on this machine (install Mesa's Vulkan driver, see shared/ENVIRONMENT.md)",
      );
    return { image: renderCpu(cloud, camera, { background }), used: "cpu (no WebGPU adapter)" };
  }
  try {
    const { GpuSplatRenderer } = await import("../../render-core/raster/renderer");
    const renderer = new GpuSplatRenderer(gpu.device);
    renderer.setCloud(cloud);
    const image = await renderer.render(camera, { background });
    renderer.destroy();
    if (gpu.failure) throw gpu.failure;
    const info = gpu.adapterInfo;
    return {
      image,
      used: `webgpu (${[info.vendor, info.architecture, info.description].filter(Boolean).join(" / ")})`,
    };
  } finally {
    gpu.destroy();
  }
}

/** Orbit camera around the bounding-sphere centre; the default distance fits the sphere in the narrower field of view. */
function orbitFromFlags(values: Partial<Record<(typeof ORBIT_FLAGS)[number], string>>, cloud: SplatCloud): Camera {
  const width = int(values.width, "width", 512, 1, 8192);
  const height = int(values.height, "height", 512, 1, 8192);
  const fov = num(values.fov, "fov", 30, 1, 170);
  const { centre, radius } = splatBounds(cloud);
  const halfY = ((fov / 2) * Math.PI) / 180;
  const halfX = Math.atan(Math.tan(halfY) * (width / height));
  const fit = (radius / Math.sin(Math.min(halfX, halfY))) * 1.02;
  return orbitCamera({
    width,
    height,
    fovYDeg: fov,
    target: centre,
    distance: num(values.distance, "distance", fit, 1e-6),
    yawDeg: num(values.yaw, "yaw", 0),
    pitchDeg: num(values.pitch, "pitch", 0, -89.9, 89.9),
    far: Math.max(1000, fit * 10),
  });
}

export async function main(argv: string[]): Promise<void> {
  // parseArgs reads "--yaw -30" as a missing value; join negative numbers to their flag.
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!,
      next = argv[i + 1];
    if (/^--[a-z]+$/.test(a) && next !== undefined && /^-\d|^-\.\d/.test(next)) {
      args.push(`${a}=${next}`);
      i++;
    } else args.push(a);
  }
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        out: { type: "string" },
        scene: { type: "string" },
        seed: { type: "string" },
        width: { type: "string" },
        height: { type: "string" },
        yaw: { type: "string" },
        pitch: { type: "string" },
        distance: { type: "string" },
        fov: { type: "string" },
        camera: { type: "string" },
        backend: { type: "string" },
        background: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) return console.log(USAGE);
  const sources = [...positionals, ...(values.scene ? [values.scene] : [])];
  if (sources.length !== 1)
    throw new UsageError(
      `give exactly one scene (a .ply/.splat/.glb file, or --scene head:N / random:N), got ${sources.length}`,
    );
  if (!values.out) throw new UsageError("--out frame.png is required");
  if (!/\.png$/i.test(values.out)) throw new UsageError(`--out must name a .png file, got "${values.out}"`);
  const backend = values.backend ?? "auto";
  if (!["auto", "cpu", "webgpu"].includes(backend))
    throw new UsageError(`--backend must be cpu or webgpu, got "${backend}"`);
  const bg = (values.background ?? "0,0,0").split(",").map((v) => (v.trim() === "" ? NaN : Number(v)));
  if (bg.length !== 3 || bg.some((v) => !(v >= 0 && v <= 1)))
    throw new UsageError(`--background must be three numbers in [0, 1] like 1,1,1, got "${values.background}"`);
  const seed = int(values.seed, "seed", 7, 0, 2 ** 32 - 1);
  if (values.camera) {
    const clash = ORBIT_FLAGS.filter((k) => values[k] !== undefined);
    if (clash.length)
      throw new UsageError(`--camera fixes the view and size; drop ${clash.map((k) => `--${k}`).join(", ")}`);
  }

  const cloud = loadScene(sources[0]!, seed, values.scene !== undefined);
  const camera = values.camera ? loadCamera(values.camera) : orbitFromFlags(values, cloud);
  const t0 = performance.now();
  const { image, used } = await renderWith(backend, cloud, camera, bg as [number, number, number]);
  const ms = performance.now() - t0;
  fs.mkdirSync(path.dirname(path.resolve(values.out)), { recursive: true });
  fs.writeFileSync(values.out, await imageToPng(image));
  console.log(
    `rendered ${cloud.count.toLocaleString("en-US")} splats at ${image.width}x${image.height} with ${used} in ${ms.toFixed(0)} ms -> ${values.out}`,
  );
}

if (isMainModule(import.meta.url)) runCli("render", USAGE, main, (err) => INPUT_ERROR.test(err.message));
