/**
 * An avatar rendered on the CPU on its own worker thread (avatar-worker.ts):
 * the AvatarRenderer a server without a hardware GPU streams with. A bake
 * takes a third of a second to seconds and a frame about a tenth of one on
 * 2 cores; on the server's thread that would stall every websocket, page and
 * Yjs session for as long. The worker runs the CPU twins with the trainer's
 * fast passes (networks about 3x, rasteriser about 2x the reference's speed,
 * same images within 1e-5) and sends frames back as transferred buffers.
 */
import { Worker } from "node:worker_threads";
import type { AvatarRenderer } from "../../render-core/avatar/avatar-renderer";
import type { Avatar } from "../../render-core/avatar/avatar";
import type { AvatarPose } from "../../render-core/avatar/rig";
import type { Camera } from "../../render-core/math/camera";
import type { DisplayImage, RenderImage, RenderOptions } from "../../render-core/raster/camera";

export type ToAvatarWorker =
  | { type: "open"; avatar: Avatar }
  | { type: "latents"; id: number; latents: Float32Array }
  | { type: "render" | "render-rgb8"; id: number; pose: AvatarPose; camera: Camera; options: RenderOptions };
export type FromAvatarWorker =
  | { type: "started" }
  | { type: "ready" }
  | { type: "done"; id: number; baked?: boolean; image?: RenderImage; display?: DisplayImage }
  | { type: "failed"; id: number; message: string };

type Done = Extract<FromAvatarWorker, { type: "done" }>;

export class ThreadAvatarRenderer implements AvatarRenderer {
  readonly backend = "cpu" as const;
  private readonly worker: Worker;
  private readonly pending = new Map<number, { resolve: (m: Done) => void; reject: (e: Error) => void }>();
  private nextId = 0;
  private failure: Error | null = null;
  private destroyed = false;
  private last: Promise<unknown> = Promise.resolve();
  /** Resolves once the worker holds the avatar. */
  readonly ready: Promise<void>;

  constructor(avatar: Avatar) {
    // TypeScript through tsx's API, as the creation stages' workers (server/pipeline/create/stage-thread.ts).
    const boot = `import(${JSON.stringify(import.meta.resolve("tsx/esm/api"))}).then((tsx) => tsx.tsImport(${JSON.stringify(new URL("./avatar-worker.ts", import.meta.url).href)}, ${JSON.stringify(import.meta.url)}));`;
    this.worker = new Worker(boot, { eval: true });
    this.worker.unref();
    this.ready = new Promise<void>((resolve, reject) => {
      this.worker.on("message", (m: FromAvatarWorker) => {
        if (m.type === "started") this.worker.postMessage({ type: "open", avatar } satisfies ToAvatarWorker);
        else if (m.type === "ready") resolve();
        else {
          const p = this.pending.get(m.id);
          this.pending.delete(m.id);
          if (m.type === "done") p?.resolve(m);
          else p?.reject(new Error(`ThreadAvatarRenderer: ${m.message}`));
        }
      });
      const fail = (err: Error) => {
        if (this.destroyed) return;
        this.failure ??= err;
        reject(err);
        for (const p of this.pending.values()) p.reject(err);
        this.pending.clear();
      };
      this.worker.on("error", (err) =>
        fail(new Error(`ThreadAvatarRenderer: the render thread failed: ${err.message}`)),
      );
      this.worker.on("exit", (code) =>
        fail(new Error(`ThreadAvatarRenderer: the render thread stopped (exit code ${code})`)),
      );
    });
    this.ready.catch(() => undefined);
  }

  private request(m: ToAvatarWorker & { id: number }): Promise<Done> {
    if (this.destroyed) return Promise.reject(new Error("ThreadAvatarRenderer: the renderer was destroyed"));
    if (this.failure) return Promise.reject(this.failure);
    // Requests wait for the avatar to be open, in the order they were made.
    const answer = this.ready.then(
      () =>
        new Promise<Done>((resolve, reject) => {
          if (this.destroyed) return reject(new Error("ThreadAvatarRenderer: the renderer was destroyed"));
          this.pending.set(m.id, { resolve, reject });
          this.worker.postMessage(m);
        }),
    );
    this.last = answer.catch(() => undefined);
    return answer;
  }

  async setLatents(latents: Float32Array): Promise<boolean> {
    const done = await this.request({ type: "latents", id: ++this.nextId, latents });
    return done.baked!;
  }

  async render(pose: AvatarPose, camera: Camera, options: RenderOptions = {}): Promise<RenderImage> {
    return (await this.request({ type: "render", id: ++this.nextId, pose, camera, options })).image!;
  }

  async renderRgb8(pose: AvatarPose, camera: Camera, options: RenderOptions = {}): Promise<DisplayImage> {
    return (await this.request({ type: "render-rgb8", id: ++this.nextId, pose, camera, options })).display!;
  }

  /** Waits for every request sent so far (the worker answers in order). */
  async settle(): Promise<void> {
    await this.last;
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const p of this.pending.values()) p.reject(new Error("ThreadAvatarRenderer: the renderer was destroyed"));
    this.pending.clear();
    void this.worker.terminate();
  }
}
