/**
 * npm run render -- <scene.ply|scene.splat|head:N|random:N> --out frame.png
 *   [--width 512] [--height 512] [--yaw 0] [--pitch 0] [--distance auto] [--fov 30]
 *   [--camera cam.json] [--backend cpu|webgpu] [--background r,g,b]
 * Renders a splat file (or a generated scene) to PNG. Default backend: WebGPU
 * (Dawn) when an adapter exists, else the CPU renderer. With --camera the
 * image is exactly that camera's view (docs/rendering.md).
 */
import fs from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import sharp from "sharp";
import { readSplatFile } from "../../render-core/formats";
import { splatHead, randomCloud } from "../../render-core/scenes";
import { orbitCamera, parseCameraJson } from "../../render-core/math/camera";
import type { Camera, RenderImage } from "../../render-core/raster/camera";
import { splatBounds, type SplatCloud } from "../../render-core/splats/splat-cloud";
import { renderCpu } from "../../render-core/raster/render.cpu";

class UsageError extends Error {}

const USAGE = `usage: npm run render -- <scene.ply | scene.splat | head:N | random:N> --out frame.png
  [--width 512] [--height 512] [--yaw DEG] [--pitch DEG] [--distance D] [--fov DEG]
  [--camera cam.json] [--backend cpu|webgpu] [--background r,g,b]`;

function num(value: string | undefined, name: string, fallback: number, min = -Infinity): number {
  if (value === undefined) return fallback;
  const v = Number(value);
  if (!Number.isFinite(v) || v < min) throw new UsageError(`--${name} must be a number${min > -Infinity ? ` >= ${min}` : ""}, got "${value}"`);
  return v;
}

function loadScene(spec: string): SplatCloud {
  const generated = /^(head|random):(\d+)$/.exec(spec);
  if (generated) {
    const n = Number(generated[2]);
    if (n < 1 || n > 10_000_000) throw new UsageError(`a generated scene needs 1 to 10,000,000 splats, got ${n}`);
    return generated[1] === "head" ? splatHead(7, n) : randomCloud(7, n);
  }
  if (!fs.existsSync(spec)) throw new UsageError(`no such file: ${spec}`);
  return readSplatFile(new Uint8Array(fs.readFileSync(spec)), path.basename(spec));
}

async function renderWith(backend: string, cloud: SplatCloud, camera: Camera, background: [number, number, number]): Promise<{ image: RenderImage; used: string }> {
  if (backend === "cpu") return { image: renderCpu(cloud, camera, { background }), used: "cpu" };
  const { createNodeGpu } = await import("../gpu/node-device");
  const gpu = await createNodeGpu();
  if (!gpu) {
    if (backend === "webgpu") throw new UsageError("--backend webgpu: no WebGPU adapter on this machine (install Mesa's Vulkan driver, see README)");
    return { image: renderCpu(cloud, camera, { background }), used: "cpu (no WebGPU adapter)" };
  }
  const { GpuSplatRenderer } = await import("../../render-core/raster/renderer");
  const renderer = new GpuSplatRenderer(gpu.device);
  renderer.setCloud(cloud);
  const image = await renderer.render(camera, { background });
  renderer.destroy();
  const info = gpu.adapterInfo;
  gpu.device.destroy();
  return { image, used: `webgpu (${[info.vendor, info.architecture, info.description].filter(Boolean).join(" / ")})` };
}

export async function main(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      out: { type: "string" }, width: { type: "string" }, height: { type: "string" }, yaw: { type: "string" }, pitch: { type: "string" },
      distance: { type: "string" }, fov: { type: "string" }, camera: { type: "string" }, backend: { type: "string" }, background: { type: "string" },
      help: { type: "boolean" },
    },
  });
  if (values.help) return console.log(USAGE);
  if (positionals.length !== 1) throw new UsageError("give exactly one scene (a .ply/.splat file, head:N or random:N)");
  if (!values.out) throw new UsageError("--out frame.png is required");
  const backend = values.backend ?? "auto";
  if (!["auto", "cpu", "webgpu"].includes(backend)) throw new UsageError(`--backend must be cpu or webgpu, got "${backend}"`);
  const bg = (values.background ?? "0,0,0").split(",").map(Number);
  if (bg.length !== 3 || bg.some((v) => !(v >= 0 && v <= 1))) throw new UsageError(`--background must be three numbers in [0, 1] like 1,1,1, got "${values.background}"`);

  const cloud = loadScene(positionals[0]!);
  let camera: Camera;
  if (values.camera) {
    if (!fs.existsSync(values.camera)) throw new UsageError(`no such camera file: ${values.camera}`);
    let json: unknown;
    try {
      json = JSON.parse(fs.readFileSync(values.camera, "utf8"));
    } catch (err) {
      throw new UsageError(`${values.camera} is not valid JSON: ${(err as Error).message}`);
    }
    camera = parseCameraJson(json);
  } else {
    const { centre, radius } = splatBounds(cloud);
    const fov = num(values.fov, "fov", 30, 1);
    camera = orbitCamera({
      width: num(values.width, "width", 512, 1), height: num(values.height, "height", 512, 1), fovYDeg: fov, target: centre,
      distance: num(values.distance, "distance", radius / Math.tan(((fov / 2) * Math.PI) / 180) * 1.1, 1e-6),
      yawDeg: num(values.yaw, "yaw", 0), pitchDeg: num(values.pitch, "pitch", 0),
    });
    if (!Number.isInteger(camera.width) || !Number.isInteger(camera.height) || camera.width > 8192 || camera.height > 8192) {
      throw new UsageError(`--width and --height must be whole numbers up to 8192`);
    }
  }
  const t0 = performance.now();
  const { image, used } = await renderWith(backend, cloud, camera, bg as [number, number, number]);
  const ms = performance.now() - t0;
  const px = Buffer.alloc(image.width * image.height * 3);
  for (let i = 0; i < px.length; i++) px[i] = Math.round(Math.min(1, Math.max(0, image.rgb[i]!)) * 255);
  fs.mkdirSync(path.dirname(path.resolve(values.out)), { recursive: true });
  await sharp(px, { raw: { width: image.width, height: image.height, channels: 3 } }).png().toFile(values.out);
  console.log(`rendered ${cloud.count.toLocaleString()} splats at ${image.width}x${image.height} with ${used} in ${ms.toFixed(0)} ms -> ${values.out}`);
}

const isMain = process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname);
if (isMain) {
  main(process.argv.slice(2)).then(
    () => process.exit(0),
    (err: Error) => {
      console.error(`render: ${err.message}`);
      if (err instanceof UsageError) console.error(USAGE);
      process.exit(err instanceof UsageError ? 2 : 1);
    },
  );
}
