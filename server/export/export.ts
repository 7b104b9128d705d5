/**
 * Exports of an avatar as it looks now (its sliders, their ends, the
 * expression and the head pose of the shared state): the posed Gaussians as
 * a standard splat file another viewer or engine opens. Baking and deforming
 * take a tenth of a second to seconds on a CPU, so they run on a worker
 * thread (export-worker.ts) that stays for the next export; the server's
 * thread only reads the shared state and sends the file.
 */
import { tsWorker } from "../threads/ts-worker";
import { Worker } from "node:worker_threads";
import type { Avatar } from "../../render-core/avatar/avatar";
import type { AvatarPose } from "../../render-core/avatar/rig";
import { ClipCache, frameInputs, readFrameState } from "../../protocol/frame-inputs";
import type { DocStore } from "../realtime/doc-store";
import type { AvatarStore } from "../avatar/avatar-store";

/** The file formats an avatar exports to, with what a download needs to say about each. */
export const EXPORT_FORMATS = {
  /** The 3DGS (INRIA) binary PLY: float32, log scales, logit opacity, SH as f_dc/f_rest. */
  ply: { contentType: "application/octet-stream", label: "3DGS .ply" },
  /** The antimatter15 .splat: 32 bytes a Gaussian, 8-bit colour and rotation, no SH beyond the colour. */
  splat: { contentType: "application/octet-stream", label: ".splat" },
  /** Binary glTF with KHR_gaussian_splatting. */
  glb: { contentType: "model/gltf-binary", label: "glTF .glb" },
} as const;
export type ExportFormat = keyof typeof EXPORT_FORMATS;

export function isExportFormat(s: string): s is ExportFormat {
  return Object.hasOwn(EXPORT_FORMATS, s);
}

export interface ExportRequest {
  /** Which avatar (the worker keeps the last one's bake inputs between exports). */
  key: string;
  avatar: Avatar;
  latents: Float32Array;
  pose: AvatarPose;
  format: ExportFormat;
  /** Written into the file where the format has room (PLY comment, glTF generator). */
  generator: string;
}
export type ToExportWorker = { id: number } & ExportRequest;
export type FromExportWorker = { id: number; ok: true; bytes: Uint8Array } | { id: number; ok: false; message: string };

/** One export thread, booted on the first export; requests run one after another. */
export class AvatarExporter {
  private worker: Worker | null = null;
  private next = 1;
  private readonly waiting = new Map<number, { resolve: (b: Uint8Array) => void; reject: (e: Error) => void }>();

  private thread(): Worker {
    if (this.worker) return this.worker;
    const worker = tsWorker(new URL("./export-worker.ts", import.meta.url));
    worker.unref();
    worker.on("message", (m: FromExportWorker) => {
      const w = this.waiting.get(m.id);
      if (!w) return;
      this.waiting.delete(m.id);
      if (m.ok) w.resolve(m.bytes);
      else w.reject(new Error(m.message));
    });
    const fail = (err: Error) => {
      if (this.worker === worker) this.worker = null;
      for (const w of this.waiting.values()) w.reject(err);
      this.waiting.clear();
    };
    worker.on("error", fail);
    worker.on("exit", (code) => fail(new Error(`the export thread stopped (exit code ${code})`)));
    this.worker = worker;
    return worker;
  }

  /** The posed avatar as a file of `format`. */
  run(request: ExportRequest): Promise<Uint8Array> {
    const id = this.next++;
    const worker = this.thread();
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      worker.postMessage({ id, ...request } satisfies ToExportWorker);
    });
  }

  async close(): Promise<void> {
    const w = this.worker;
    this.worker = null;
    if (w) await w.terminate();
  }
}

const clips = new ClipCache();

/**
 * The avatar as everyone in its session sees it now (a playing clip at this
 * instant), as a file of `format`. Throws AvatarNotFoundError for an unknown avatar.
 */
export async function exportCurrentState(
  deps: { avatars: AvatarStore; docs: DocStore; exporter: AvatarExporter },
  avatarId: string,
  format: ExportFormat,
): Promise<Uint8Array> {
  const avatar = await deps.avatars.load(avatarId);
  const shared = await deps.docs.acquire(avatarId);
  let inputs;
  try {
    inputs = frameInputs(avatar, readFrameState(shared.doc), Date.now(), clips);
  } finally {
    deps.docs.release(shared);
  }
  return deps.exporter.run({
    key: avatarId,
    avatar,
    latents: inputs.latents,
    pose: inputs.pose,
    format,
    generator: "PERSE Studio",
  });
}
