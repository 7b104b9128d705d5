/**
 * Helper threads for the fast training rasteriser's tiles (Node only; the
 * kernels: render-core/train/raster-train-tiles.ts). A job's arrays live in
 * SharedArrayBuffers: this thread posts the job to every helper, wakes them,
 * takes tiles from the same atomic counter, then waits for them. run() is
 * synchronous (Atomics.wait), so avatarTrainBatch stays synchronous.
 *
 * Helpers block in Atomics.wait between jobs and read the job with
 * receiveMessageOnPort, so they need no event loop turn from anyone.
 *
 * Control words ([4] i32, shared):
 * | slot | meaning                                                |
 * |------|--------------------------------------------------------|
 * | 0    | job sequence number (bumped to start a job)            |
 * | 1    | helpers done with the current job                      |
 * | 2    | 1 when a helper failed (its message is on its port)    |
 * | 3    | 1: helpers exit                                         |
 * | 4    | tiles the helpers took, all jobs together (a statistic)|
 */
import { tsWorker } from "../../threads/ts-worker";
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from "node:worker_threads";
import { runTrainTiles, type TrainTileJob } from "../../../render-core/train/raster-train-tiles";
import type { TileRunner } from "../../../render-core/train/raster-train-fast";

const SEQ = 0,
  DONE = 1,
  FAILED = 2,
  QUIT = 3,
  HELPER_TILES = 4;
/** A helper that has not answered in this long is taken for dead. */
const WAIT_MS = 120_000;

export class TilePool implements TileRunner {
  readonly shared = true;
  private readonly ctrl = new Int32Array(new SharedArrayBuffer(20));
  private readonly helpers: Array<{ worker: Worker; port: MessagePort }> = [];
  private readonly started: Promise<void>;
  private closed = false;

  /** `helpers` threads besides the caller's. */
  constructor(helpers: number) {
    if (!Number.isInteger(helpers) || helpers < 0)
      throw new Error(`TilePool: helpers must be a whole number >= 0, got ${helpers}`);
    const ready: Array<Promise<void>> = [];
    for (let k = 0; k < helpers; k++) {
      const { port1, port2 } = new MessageChannel();
      const worker = tsWorker(new URL("./tile-worker.ts", import.meta.url), {
        workerData: { ctrl: this.ctrl, port: port2 },
        transferList: [port2],
      });
      worker.unref();
      ready.push(
        new Promise<void>((resolve, reject) => {
          worker.once("message", () => resolve());
          worker.once("error", reject);
        }),
      );
      this.helpers.push({ worker, port: port1 });
    }
    this.started = Promise.all(ready).then(() => undefined);
  }

  get threads(): number {
    return this.helpers.length + 1;
  }

  /** Tiles the helper threads took so far (the rest ran on the caller's thread). */
  get helperTiles(): number {
    return Atomics.load(this.ctrl, HELPER_TILES);
  }

  /** Resolves once every helper has loaded (run() before that would wait for their start-up). */
  ready(): Promise<void> {
    return this.started;
  }

  run(job: TrainTileJob): void {
    if (this.closed) throw new Error("TilePool.run: the pool is closed");
    const ctrl = this.ctrl,
      n = this.helpers.length;
    if (n > 0) {
      for (const h of this.helpers) h.port.postMessage(job);
      Atomics.store(ctrl, DONE, 0);
      Atomics.add(ctrl, SEQ, 1);
      Atomics.notify(ctrl, SEQ);
    }
    runTrainTiles(job);
    const t0 = Date.now();
    for (let done = Atomics.load(ctrl, DONE); done < n; done = Atomics.load(ctrl, DONE)) {
      if (Date.now() - t0 > WAIT_MS) throw new Error(`TilePool.run: ${n - done} of ${n} helpers did not finish`);
      Atomics.wait(ctrl, DONE, done, 1000);
    }
    if (Atomics.load(ctrl, FAILED)) {
      const why = this.helpers.map((h) => receiveMessageOnPort(h.port)?.message as string | undefined).find(Boolean);
      throw new Error(`TilePool.run: a helper failed: ${why ?? "unknown"}`);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    Atomics.store(this.ctrl, QUIT, 1);
    Atomics.add(this.ctrl, SEQ, 1);
    Atomics.notify(this.ctrl, SEQ);
    await Promise.all(this.helpers.map((h) => h.worker.terminate()));
  }
}

export { SEQ, DONE, FAILED, QUIT, HELPER_TILES };
