/**
 * A third-party viewer in the page: Spark (three.js + WebGL2, installed for
 * the renderer benchmark) draws a splat file at a given camera and hands
 * back the picture, so a test can compare it with the project's own render.
 * Bundled by e2e/third-party/spark-view.ts; the page calls window.sparkView.
 */
import * as THREE from "three";
import { SparkRenderer, SplatFileType, SplatMesh } from "@sparkjsdev/spark";

export interface SparkViewRequest {
  fileUrl: string;
  fileType: "ply" | "splat";
  width: number;
  height: number;
  fovYDeg: number;
  eye: [number, number, number];
  target: [number, number, number];
}

/** The picture as [height, width, 3] RGB bytes, top row first. */
async function sparkView(req: SparkViewRequest): Promise<number[]> {
  const canvas = document.createElement("canvas");
  canvas.width = req.width;
  canvas.height = req.height;
  document.body.appendChild(canvas);
  const renderer = new THREE.WebGLRenderer({ canvas, antialias: false, preserveDrawingBuffer: true });
  renderer.setPixelRatio(1);
  renderer.setSize(req.width, req.height, false);
  renderer.setClearColor(0x000000, 1);
  const scene = new THREE.Scene();
  const spark = new SparkRenderer({ renderer });
  scene.add(spark);
  const bytes = new Uint8Array(await (await fetch(req.fileUrl)).arrayBuffer());
  const mesh = new SplatMesh({
    fileBytes: bytes,
    fileType: req.fileType === "ply" ? SplatFileType.PLY : SplatFileType.SPLAT,
  });
  // Head space is three.js's world (+y up, the face toward +z): no flip.
  scene.add(mesh);
  await mesh.initialized;
  const camera = new THREE.PerspectiveCamera(req.fovYDeg, req.width / req.height, 0.01, 1000);
  camera.position.set(...req.eye);
  camera.up.set(0, 1, 0);
  camera.lookAt(...req.target);
  const gl = renderer.getContext();
  const probe = new Uint8Array(4);
  // Spark sorts in a worker: draw until the sort for this view is done.
  renderer.render(scene, camera);
  for (let i = 0; i < 300 && (spark.sorting || spark.sortDirty); i++) {
    await new Promise((r) => setTimeout(r, 20));
    renderer.render(scene, camera);
    gl.readPixels(0, 0, 1, 1, gl.RGBA, gl.UNSIGNED_BYTE, probe);
  }
  renderer.render(scene, camera);
  const rgba = new Uint8Array(req.width * req.height * 4);
  gl.readPixels(0, 0, req.width, req.height, gl.RGBA, gl.UNSIGNED_BYTE, rgba);
  const rgb: number[] = new Array(req.width * req.height * 3);
  for (let y = 0; y < req.height; y++)
    for (let x = 0; x < req.width; x++)
      for (let k = 0; k < 3; k++)
        rgb[(y * req.width + x) * 3 + k] = rgba[((req.height - 1 - y) * req.width + x) * 4 + k]!;
  renderer.dispose();
  canvas.remove();
  return rgb;
}

(window as unknown as { sparkView: typeof sparkView }).sparkView = sparkView;
