"use client";
/**
 * "Drive with camera": the webcam's picture stays in this page. Human's face
 * mesh (the same models the server's analysis uses, served by the studio
 * from its npm packages) finds the face in each camera frame; the face
 * driver (render-core/animation/face-drive.ts) turns the mesh into the head
 * model's expression and head pose; a One Euro filter smooths it. Each
 * sample goes to `onSample` (the page shares it at a bounded rate and shows
 * its own at the camera's rate), and into the take while recording.
 */
import { useCallback, useEffect, useRef, useState } from "react";
import type { Config, Human } from "@vladmandic/human";
import type { ClipSample } from "../../render-core/animation/clip";
import type { TakeSample } from "../../render-core/animation/take";

/** The camera's picture: small is enough for a face filling much of it, and keeps the mesh fast. */
export const DRIVE_INPUT = { width: 320, height: 240 } as const;
/** How often the panel's figures change, ms. */
const STATUS_EVERY_MS = 500;
/** Where the studio serves Human's browser build (server/http/browser-models.ts). */
const HUMAN_LIBRARY_URL = "/models/human-lib/human.esm.js";

export type DriveStatus =
  | { state: "off" }
  | { state: "starting"; step: string }
  | {
      state: "driving";
      fps: number;
      /** Milliseconds a camera frame takes here (face mesh + solve), averaged. */
      frameMs: number;
      /** Of which the solve (mesh to expression and pose). */
      solveMs: number;
      faceFound: boolean;
      /** Human's tfjs backend (webgl or wasm). */
      backend: string;
      /** The first frames are taken as the user's neutral face: keep it still and relaxed meanwhile. */
      calibrating: boolean;
      inputWidth: number;
      inputHeight: number;
    }
  | { state: "error"; message: string };

export interface CameraDrive {
  status: DriveStatus;
  recording: boolean;
  /** Samples in the take being recorded (or the last one). */
  takeLength: number;
  start(): Promise<void>;
  stop(): void;
  /** Takes the next frames as the user's neutral face again (after someone else sits down, or glasses go on). */
  recalibrate(): void;
  startRecording(): void;
  /** Ends the recording; its samples (null when it holds none). */
  stopRecording(): TakeSample[] | null;
}

const HUMAN_CONFIG = (backend: string): Partial<Config> => ({
  backend: backend as Config["backend"],
  modelBasePath: "/models/human/",
  wasmPath: "/models/tfjs-wasm/",
  debug: false,
  warmup: "none",
  // The detector runs on every frame: letting the mesh follow its own last box between detector runs (Human's
  // caching, cacheSensitivity 0.7) was no faster here and followed the smile worse (correlation 0.31 against 0.57-0.87).
  cacheSensitivity: 0,
  filter: { enabled: false },
  gesture: { enabled: false },
  body: { enabled: false },
  hand: { enabled: false },
  object: { enabled: false },
  segmentation: { enabled: false },
  face: {
    enabled: true,
    // BlazeFace's front-camera model (128 px input against the default's 256): a webcam's face fills its picture.
    detector: {
      modelPath: "/models/human-models/blazeface-front.json",
      rotation: false,
      maxDetected: 1,
      minConfidence: 0.2,
      return: false,
    },
    mesh: { enabled: true },
    // Without the iris model the face mesh was no faster here (13.5 fps both) and the smile read worse (0.49 against 0.87).
    iris: { enabled: true },
    attention: { enabled: false },
    emotion: { enabled: false },
    description: { enabled: false },
    antispoof: { enabled: false },
    liveness: { enabled: false },
  },
});

/** Whether the page's WebGL is drawn by the CPU (SwiftShader, llvmpipe): there WebAssembly is many times faster. */
function softwareWebGl(): boolean {
  const gl = document.createElement("canvas").getContext("webgl");
  if (!gl) return true;
  const info = gl.getExtension("WEBGL_debug_renderer_info");
  const renderer = String(info ? gl.getParameter(info.UNMASKED_RENDERER_WEBGL) : gl.getParameter(gl.RENDERER));
  return /swiftshader|llvmpipe|software/i.test(renderer);
}

/** Human on the fastest backend this browser runs: WebGL on a real GPU, else WebAssembly. */
async function loadHuman(onStep: (step: string) => void): Promise<Human> {
  // Human's browser build (tfjs inside, 2 MB) as the studio serves it from the package, loaded only when
  // someone drives: not bundled into the editor, and the package's main entry is its Node build.
  const { Human } = (await import(
    /* webpackIgnore: true */ /* turbopackIgnore: true */ `${HUMAN_LIBRARY_URL}`
  )) as typeof import("@vladmandic/human");
  let last: unknown = null;
  for (const backend of softwareWebGl() ? ["wasm", "webgl"] : ["webgl", "wasm"]) {
    try {
      onStep(`loading the face tracker (${backend})…`);
      const human = new Human(HUMAN_CONFIG(backend));
      await human.load();
      await human.tf.ready();
      if (human.tf.getBackend() !== backend) throw new Error(`${backend} did not start`);
      return human;
    } catch (err) {
      last = err;
    }
  }
  throw new Error(`the face tracker could not start: ${(last as Error)?.message ?? last}`);
}

/** `takenAt`: when the tracker took the sample's camera frame, ms on this page's clock (Date.now()'s). */
export function useCameraDrive(onSample: (sample: ClipSample, takenAt: number) => void): CameraDrive {
  const [status, setStatus] = useState<DriveStatus>({ state: "off" });
  const [recording, setRecording] = useState(false);
  const [takeLength, setTakeLength] = useState(0);
  const run = useRef<{ stop: () => void; recalibrate?: () => void } | null>(null);
  const take = useRef<TakeSample[] | null>(null);
  const sampleRef = useRef(onSample);
  sampleRef.current = onSample;

  const stop = useCallback(() => {
    run.current?.stop();
    run.current = null;
    setStatus({ state: "off" });
  }, []);

  const start = useCallback(async () => {
    if (run.current) return;
    let stopped = false;
    let stream: MediaStream | null = null;
    const video = document.createElement("video");
    const handle: { stop: () => void; recalibrate?: () => void } = {
      stop: () => {
        stopped = true;
        stream?.getTracks().forEach((t) => t.stop());
        video.srcObject = null;
      },
    };
    run.current = handle;
    try {
      setStatus({ state: "starting", step: "asking for the camera…" });
      if (!navigator.mediaDevices?.getUserMedia) throw new Error("this browser gives pages no camera");
      stream = await navigator.mediaDevices.getUserMedia({
        video: { width: DRIVE_INPUT.width, height: DRIVE_INPUT.height, facingMode: "user" },
        audio: false,
      });
      video.muted = true;
      video.playsInline = true;
      video.srcObject = stream;
      await video.play();
      const human = await loadHuman((step) => setStatus({ state: "starting", step }));
      setStatus({ state: "starting", step: "making the head model…" });
      const [{ createFaceDriver }, { createSampleFilter }, { createHeadModel, EXPRESSION_NAMES }] = await Promise.all([
        import("../../render-core/animation/face-drive"),
        import("../../render-core/animation/one-euro"),
        import("../../render-core/head"),
      ]);
      const driver = createFaceDriver(createHeadModel());
      handle.recalibrate = () => driver.recalibrate();
      const smooth = createSampleFilter(EXPRESSION_NAMES.length);
      if (stopped) return;
      const times: number[] = [];
      let frameMs = 0,
        solveMs = 0,
        shownAt = -Infinity,
        shownFound = false,
        shownCalibrating = true;
      const step = async () => {
        if (stopped) return;
        const t = performance.now();
        let result;
        try {
          result = await human.detect(video);
        } catch (err) {
          run.current?.stop();
          run.current = null;
          setStatus({
            state: "error",
            message: `Drive with camera: the face tracker failed: ${(err as Error).message}.`,
          });
          return;
        }
        const face = result.face[0];
        let found = false;
        if (face && face.mesh.length === 478) {
          const mesh = new Float32Array(478 * 3);
          face.mesh.forEach((p, i) => {
            mesh[i * 3] = p[0];
            mesh[i * 3 + 1] = p[1];
            mesh[i * 3 + 2] = p[2] ?? 0;
          });
          const solved = driver.solve(mesh, video.videoWidth, video.videoHeight);
          if (solved) solveMs = solveMs ? 0.9 * solveMs + 0.1 * solved.ms : solved.ms;
          if (solved) {
            found = true;
            const sample = smooth.filter(solved.sample, t / 1000);
            sampleRef.current(sample, performance.timeOrigin + t);
            take.current?.push({ t, expression: sample.expression.slice(), pose: sample.pose.slice() });
          }
        }
        const now = performance.now();
        frameMs = frameMs ? 0.9 * frameMs + 0.1 * (now - t) : now - t;
        times.push(now);
        while (times.length > 1 && now - times[0]! > 2000) times.shift();
        const fps = times.length > 1 ? ((times.length - 1) * 1000) / (now - times[0]!) : 0;
        // The panel's figures twice a second: a React update per camera frame would re-render the editor each time.
        const calibrating = !driver.calibrated;
        if (now - shownAt >= STATUS_EVERY_MS || found !== shownFound || calibrating !== shownCalibrating) {
          shownAt = now;
          shownFound = found;
          shownCalibrating = calibrating;
          setStatus({
            state: "driving",
            fps,
            frameMs,
            solveMs,
            faceFound: found,
            backend: human.tf.getBackend(),
            calibrating,
            inputWidth: video.videoWidth,
            inputHeight: video.videoHeight,
          });
          if (take.current) setTakeLength(take.current.length);
        }
        // The next camera frame (or the next animation frame where that callback is missing).
        if ("requestVideoFrameCallback" in video) video.requestVideoFrameCallback(() => void step());
        else requestAnimationFrame(() => void step());
      };
      void step();
    } catch (err) {
      run.current?.stop();
      run.current = null;
      const e = err as Error;
      const message =
        e.name === "NotAllowedError"
          ? "the camera was not allowed: allow it for this site in the browser, then try again"
          : e.name === "NotFoundError"
            ? "no camera was found"
            : e.message;
      setStatus({ state: "error", message: `Drive with camera: ${message}.` });
    }
  }, []);

  useEffect(() => () => run.current?.stop(), []);

  return {
    status,
    recording,
    takeLength,
    start,
    stop,
    startRecording: () => {
      take.current = [];
      setTakeLength(0);
      setRecording(true);
    },
    recalibrate: () => run.current?.recalibrate?.(),
    stopRecording: () => {
      const samples = take.current;
      take.current = null;
      setRecording(false);
      return samples && samples.length > 0 ? samples : null;
    },
  };
}
