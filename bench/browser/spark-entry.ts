/**
 * In-browser benchmark of Spark (three.js + WebGL2), the reference web splat
 * renderer, on the same scene and view as ours. Bundled by build.ts; the page
 * calls window.benchSpark(...).
 *
 * Timing: one frame = renderer.render() + a 1-pixel readPixels, which waits
 * for the GPU to finish. Spark sorts in a worker, asynchronously; frames are
 * timed only after the sort for this view has finished (static camera), so
 * Spark's per-frame figure excludes its sort, while ours includes ours.
 */
import * as THREE from "three";
import { SparkRenderer, SplatMesh } from "@sparkjsdev/spark";
import { SplatFileType } from "@sparkjsdev/spark";
import { median } from "./stats";

export interface SparkBenchRequest {
  sceneUrl: string;
  width: number;
  height: number;
  fovYDeg: number;
  distance: number;
  frames: number;
  warmup: number;
}

export interface SparkBenchResult {
  frameMs: number[];
  medianMs: number;
  splats: number;
  renderer: string;
  /** Mean of the RGB channels of the last frame, 0..255: a sanity check that something was drawn. */
  meanRgb: number;
}

async function benchSpark(req: SparkBenchRequest): Promise<SparkBenchResult> {
  const canvas = document.createElement("canvas");
  canvas.width = req.width;
  canvas.height = req.height;
  document.body.appendChild(canvas);
  const renderer = new THREE.WebGLRenderer({ canvas, antialias: false, preserveDrawingBuffer: true });
  renderer.setPixelRatio(1);
  renderer.setSize(req.width, req.height, false);
  const gl = renderer.getContext();
  const scene = new THREE.Scene();
  const spark = new SparkRenderer({ renderer });
  scene.add(spark);
  const bytes = new Uint8Array(await (await fetch(req.sceneUrl)).arrayBuffer());
  const mesh = new SplatMesh({ fileBytes: bytes, fileType: SplatFileType.PLY });
  // Our scenes use OpenCV-style world data with +y up, like three.js: no flip.
  scene.add(mesh);
  await mesh.initialized;
  const camera = new THREE.PerspectiveCamera(req.fovYDeg, req.width / req.height, 0.01, 1000);
  camera.position.set(0, 0, req.distance);
  camera.lookAt(0, 0, 0);

  const pixel = new Uint8Array(4);
  const frame = () => {
    renderer.render(scene, camera);
    gl.readPixels(0, 0, 1, 1, gl.RGBA, gl.UNSIGNED_BYTE, pixel);
  };
  for (let i = 0; i < req.warmup; i++) {
    frame();
    await new Promise((r) => setTimeout(r, 0));
  }
  // Let the worker sort for this view finish before timing.
  for (let i = 0; i < 200 && (spark.sorting || spark.sortDirty); i++) {
    await new Promise((r) => setTimeout(r, 20));
    frame();
  }
  const frameMs: number[] = [];
  for (let i = 0; i < req.frames; i++) {
    const t0 = performance.now();
    frame();
    frameMs.push(performance.now() - t0);
  }
  const all = new Uint8Array(req.width * req.height * 4);
  gl.readPixels(0, 0, req.width, req.height, gl.RGBA, gl.UNSIGNED_BYTE, all);
  let sum = 0;
  for (let i = 0; i < all.length; i += 4) sum += all[i]! + all[i + 1]! + all[i + 2]!;
  const debug = gl.getExtension("WEBGL_debug_renderer_info");
  const name = debug ? String(gl.getParameter(debug.UNMASKED_RENDERER_WEBGL)) : String(gl.getParameter(gl.RENDERER));
  renderer.dispose();
  canvas.remove();
  return {
    frameMs,
    medianMs: median(frameMs),
    splats: mesh.packedSplats?.numSplats ?? 0,
    renderer: name,
    meanRgb: sum / (all.length / 4) / 3,
  };
}

(window as unknown as { benchSpark: typeof benchSpark }).benchSpark = benchSpark;
