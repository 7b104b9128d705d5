/**
 * An avatar rendered on the CPU by worker threads (avatar-worker.ts): the
 * AvatarRenderer a server without a hardware GPU streams with. A bake takes
 * a tenth of a second to seconds and a frame tens of milliseconds on 2 cores;
 * on the server's thread that would stall every websocket, page and Yjs
 * session for as long.
 *
 * One worker per core (at most 2): each bakes and deforms its own half of the
 * Gaussians (both halves at once: a slider change is baked in about half the
 * time), the two swap their posed halves, and each renders its share of the
 * viewers' cameras (a lone camera is cut into two bands of rows, one per
 * thread, so that one viewer gets both cores). The workers run the CPU twins
 * with the trainer's fast passes (networks about 3x, rasteriser about 2x the
 * reference's speed, same images within 1e-5) and send frames back as
 * transferred buffers.
 */
import { tsWorker } from "../threads/ts-worker";
import os from "node:os";
import { MessageChannel, Worker, type MessagePort } from "node:worker_threads";
import type { AvatarRenderer } from "../../render-core/avatar/avatar-renderer";
import type { Avatar } from "../../render-core/avatar/avatar";
import type { AvatarPose } from "../../render-core/avatar/rig";
import type { Camera } from "../../render-core/math/camera";
import type { DisplayImage, RenderImage, RenderOptions } from "../../render-core/raster/camera";
import { RASTER } from "../../render-core/raster/config";

export type ToAvatarWorker =
  | { type: "open"; avatar: Avatar; from: number; to: number; peer?: MessagePort }
  | { type: "latents"; id: number; latents: Float32Array }
  | {
      type: "render" | "render-rgb8";
      id: number;
      pose: AvatarPose;
      cameras: Camera[];
      options: RenderOptions;
      /** render-rgb8 of one camera shared by the threads: this thread's rows of 16-pixel tiles [from, to). */
      tileRows?: [number, number];
    };
export type FromAvatarWorker =
  | { type: "started" }
  | { type: "ready" }
  | {
      type: "done";
      id: number;
      baked?: boolean;
      images?: RenderImage[];
      displays?: DisplayImage[];
      /** render-rgb8: milliseconds the thread spent drawing (to balance a shared camera's bands). */
      drawMs?: number;
    }
  | { type: "failed"; id: number; message: string };

type Done = Extract<FromAvatarWorker, { type: "done" }>;
type Request = Exclude<ToAvatarWorker, { type: "open" }>;

/** A render thread with its modules and head model loaded, not yet holding an avatar. */
interface BootedThread {
  worker: Worker;
  /** Resolves once the thread says "started"; rejects if it dies first. */
  started: Promise<void>;
}

function bootThread(): BootedThread {
  const worker = tsWorker(new URL("./avatar-worker.ts", import.meta.url));
  worker.unref();
  const started = new Promise<void>((resolve, reject) => {
    const onMessage = (m: FromAvatarWorker) => {
      if (m.type !== "started") return;
      worker.off("message", onMessage);
      resolve();
    };
    worker.on("message", onMessage);
    worker.once("error", reject);
    worker.once("exit", (code) => reject(new Error(`a render thread stopped while booting (exit code ${code})`)));
  });
  started.catch(() => undefined);
  return { worker, started };
}

/**
 * Threads booted ahead of time. Booting one (loading the renderer's modules
 * through tsx, making the head model) takes seconds on 2 cores; a render node
 * keeps a pair ready (keepSpareThreads) so that an avatar it takes over from a
 * dead node streams without that wait.
 */
const spares: BootedThread[] = [];
let keepSpares = 0;

/** Keeps `count` booted threads in reserve from now on; resolves once those booted now are ready (or failed). */
export async function keepSpareThreads(count = Math.min(2, os.availableParallelism())): Promise<void> {
  keepSpares = count;
  refillSpares();
  await Promise.allSettled(spares.map((s) => s.started));
}

function refillSpares(): void {
  while (spares.length < keepSpares) {
    const spare = bootThread();
    spares.push(spare);
    spare.started.catch(() => {
      const i = spares.indexOf(spare);
      if (i >= 0) spares.splice(i, 1);
    });
  }
}

/** Spares taken are replaced this much later: booting competes for the cores the new session is starting on. */
const REFILL_DELAY_MS = 15_000;

function takeThread(): BootedThread {
  const spare = spares.shift();
  // Replaced in the background, so the next takeover finds a pair ready too.
  if (spare) setTimeout(refillSpares, REFILL_DELAY_MS).unref();
  return spare ?? bootThread();
}

class AvatarWorker {
  readonly worker: Worker;
  readonly pending = new Map<number, { resolve: (m: Done) => void; reject: (e: Error) => void }>();
  readonly ready: Promise<void>;
  failure: Error | null = null;

  constructor(open: Extract<ToAvatarWorker, { type: "open" }>, isDestroyed: () => boolean) {
    const thread = takeThread();
    this.worker = thread.worker;
    this.ready = new Promise<void>((resolve, reject) => {
      thread.started.then(
        () => this.worker.postMessage(open, open.peer ? [open.peer] : []),
        () => undefined,
      );
      this.worker.on("message", (m: FromAvatarWorker) => {
        if (m.type === "started") return;
        if (m.type === "ready") resolve();
        else {
          const p = this.pending.get(m.id);
          this.pending.delete(m.id);
          if (m.type === "done") p?.resolve(m);
          else p?.reject(new Error(`ThreadAvatarRenderer: ${m.message}`));
        }
      });
      const fail = (err: Error) => {
        if (isDestroyed()) return;
        this.failure ??= err;
        reject(err);
        for (const p of this.pending.values()) p.reject(err);
        this.pending.clear();
      };
      this.worker.on("error", (err) => fail(new Error(`ThreadAvatarRenderer: a render thread failed: ${err.message}`)));
      this.worker.on("exit", (code) =>
        fail(new Error(`ThreadAvatarRenderer: a render thread stopped (exit code ${code})`)),
      );
    });
    this.ready.catch(() => undefined);
  }
}

export class ThreadAvatarRenderer implements AvatarRenderer {
  readonly backend = "cpu" as const;
  private readonly workers: AvatarWorker[];
  private nextId = 0;
  private destroyed = false;
  private last: Promise<unknown> = Promise.resolve();
  /** Where a lone camera's picture is cut between the two threads, as a fraction of its height. */
  private bandCut = 0.5;
  /** Resolves once every worker holds the avatar. */
  readonly ready: Promise<void>;

  /**
   * `threads`: workers, each with its share of the Gaussians (default: 2 where there are 2 cores, else 1).
   * `bandLoneCamera` false draws a lone camera on one thread, as before the bands (bench:avatar compares).
   */
  constructor(
    avatar: Avatar,
    threads = Math.min(2, os.availableParallelism()),
    private readonly bandLoneCamera = true,
  ) {
    if (threads !== 1 && threads !== 2) throw new Error(`ThreadAvatarRenderer: threads must be 1 or 2, got ${threads}`);
    const half = threads === 2 ? Math.ceil(avatar.count / 2) : avatar.count;
    const channel = threads === 2 ? new MessageChannel() : null;
    const ranges =
      threads === 2
        ? [
            [0, half],
            [half, avatar.count],
          ]
        : [[0, avatar.count]];
    const isDestroyed = () => this.destroyed;
    this.workers = ranges.map(
      ([from, to], k) =>
        new AvatarWorker(
          {
            type: "open",
            avatar,
            from: from!,
            to: to!,
            ...(channel ? { peer: k === 0 ? channel.port1 : channel.port2 } : {}),
          },
          isDestroyed,
        ),
    );
    this.ready = Promise.all(this.workers.map((w) => w.ready)).then(() => undefined);
    this.ready.catch(() => undefined);
  }

  get threads(): number {
    return this.workers.length;
  }

  /** Sends the request to every worker (each with its own cameras) and waits for all their answers. */
  private request(make: (w: number, id: number) => Request): Promise<Done[]> {
    if (this.destroyed) return Promise.reject(new Error("ThreadAvatarRenderer: the renderer was destroyed"));
    const id = ++this.nextId;
    // Requests wait for the avatar to be open, and go out in the order they were made.
    const answer = this.ready.then(() =>
      Promise.all(
        this.workers.map(
          (w, k) =>
            new Promise<Done>((resolve, reject) => {
              if (this.destroyed) return reject(new Error("ThreadAvatarRenderer: the renderer was destroyed"));
              if (w.failure) return reject(w.failure);
              w.pending.set(id, { resolve, reject });
              w.worker.postMessage(make(k, id));
            }),
        ),
      ),
    );
    this.last = answer.catch(() => undefined);
    return answer;
  }

  /** Camera i goes to worker i mod threads; their answers come back in the cameras' order. */
  private async views<T>(
    type: "render" | "render-rgb8",
    pose: AvatarPose,
    cameras: readonly Camera[],
    options: RenderOptions,
    pick: (d: Done) => T[],
  ): Promise<T[]> {
    const K = this.workers.length;
    const done = await this.request((k, id) => ({
      type,
      id,
      pose,
      cameras: cameras.filter((_, i) => i % K === k),
      options,
    }));
    return cameras.map((_, i) => pick(done[i % K]!)[Math.floor(i / K)]!);
  }

  async setLatents(latents: Float32Array): Promise<boolean> {
    const done = await this.request((_, id) => ({ type: "latents", id, latents }));
    return done.some((d) => d.baked);
  }

  async render(pose: AvatarPose, camera: Camera, options: RenderOptions = {}): Promise<RenderImage> {
    return (await this.views("render", pose, [camera], options, (d) => d.images!))[0]!;
  }

  async renderRgb8(pose: AvatarPose, cameras: readonly Camera[], options: RenderOptions = {}): Promise<DisplayImage[]> {
    const K = this.workers.length;
    const camera = cameras[0];
    const tilesY = camera ? Math.ceil(camera.height / RASTER.TILE) : 0;
    if (cameras.length !== 1 || K !== 2 || tilesY < 2 || !this.bandLoneCamera)
      return this.views("render-rgb8", pose, cameras, options, (d) => d.displays!);
    // One view on both threads: the top band on one, the bottom on the other, the picture the same to the bit.
    // Where the head's detail lies decides their cost: the cut follows the threads' last drawing times.
    const split = Math.min(tilesY - 1, Math.max(1, Math.round(tilesY * this.bandCut)));
    const bands: Array<[number, number]> = [
      [0, split],
      [split, tilesY],
    ];
    const done = await this.request((k, id) => ({
      type: "render-rgb8",
      id,
      pose,
      cameras: [camera!],
      options,
      tileRows: bands[k],
    }));
    const [top, bottom] = done.map((d) => Math.max(d.drawMs ?? 0, 0.1));
    // The cut that would have given both the same time, if each band's cost is spread evenly over its rows; half way there.
    const perTop = top! / split,
      perBottom = bottom! / (tilesY - split);
    this.bandCut = 0.5 * this.bandCut + (0.5 * perBottom) / (perTop + perBottom);
    const rgb = new Uint8Array(camera!.width * camera!.height * 3);
    let offset = 0;
    for (const d of done) {
      const band = d.displays![0]!.rgb;
      rgb.set(band, offset);
      offset += band.length;
    }
    return [{ width: camera!.width, height: camera!.height, rgb }];
  }

  /** Waits for every request sent so far (the workers answer in order). */
  async settle(): Promise<void> {
    await this.last;
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const w of this.workers) {
      for (const p of w.pending.values()) p.reject(new Error("ThreadAvatarRenderer: the renderer was destroyed"));
      w.pending.clear();
      void w.worker.terminate();
    }
  }
}
