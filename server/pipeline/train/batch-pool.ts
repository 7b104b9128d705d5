/**
 * Data-parallel training batches: the first batch of a step runs on this
 * thread, the others on worker threads, and results come back in job order so
 * the summed gradients do not depend on the number of workers. Without
 * workers (tests, one core) every batch runs here, with the same result.
 *
 * Every batch runs the fast passes (render-core/train/train-passes.ts). With
 * `tileHelpers`, the batches of this thread also share their rasteriser tiles
 * with that many helper threads (TilePool): for cores that batches leave idle
 * (a step of one batch). The tiles give the same bits on any number of threads.
 */
import { tsWorker } from "../../threads/ts-worker";
import { Worker } from "node:worker_threads";
import {
  avatarTrainBatch,
  type AvatarTrainState,
  type BatchResult,
  type StepTarget,
} from "../../../render-core/train/avatar-step";
import { FAST_PASSES, fastPasses, type TrainPasses } from "../../../render-core/train/train-passes";
import { TilePool } from "./tile-pool";

export interface BatchJob {
  state: AvatarTrainState;
  targets: StepTarget[];
}

export interface BatchPoolOptions {
  /** Helper threads for the rasteriser tiles of this thread's batches (default 0). */
  tileHelpers?: number;
}

export class BatchPool {
  private readonly workers: Worker[] = [];
  private readonly pending = new Map<number, { resolve: (r: BatchResult) => void; reject: (e: Error) => void }>();
  private nextId = 0;
  private readonly tiles: TilePool | null;
  private readonly passes: TrainPasses;

  /** `workers` threads besides this one; they load the TypeScript sources through the same loader (tsx). */
  constructor(workers: number, options: BatchPoolOptions = {}) {
    const helpers = options.tileHelpers ?? 0;
    this.tiles = helpers > 0 ? new TilePool(helpers) : null;
    this.passes = this.tiles ? fastPasses(this.tiles) : FAST_PASSES;
    for (let k = 0; k < workers; k++) {
      const w = tsWorker(new URL("./batch-worker.ts", import.meta.url));
      w.on("message", (m: { id: number; result?: BatchResult; error?: string }) => {
        const p = this.pending.get(m.id);
        if (!p) return;
        this.pending.delete(m.id);
        if (m.result) p.resolve(m.result);
        else p.reject(new Error(`train: a batch worker failed: ${m.error}`));
      });
      w.on("error", (err) => {
        for (const p of this.pending.values()) p.reject(err);
        this.pending.clear();
      });
      this.workers.push(w);
    }
  }

  get threads(): number {
    return this.workers.length + 1 + (this.tiles ? this.tiles.threads - 1 : 0);
  }

  private onWorker(k: number, job: BatchJob): Promise<BatchResult> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.workers[k]!.postMessage({ id, ...job });
    });
  }

  async run(jobs: BatchJob[]): Promise<BatchResult[]> {
    await this.tiles?.ready();
    const results: Array<Promise<BatchResult> | BatchResult> = [];
    // Hand jobs 1.. to the workers first, then compute the rest here.
    jobs.forEach((job, j) => {
      if (j > 0 && j <= this.workers.length) results[j] = this.onWorker(j - 1, job);
    });
    jobs.forEach((job, j) => {
      if (j === 0 || j > this.workers.length) results[j] = avatarTrainBatch(job.state, job.targets, this.passes);
    });
    return Promise.all(results);
  }

  async close(): Promise<void> {
    await Promise.all([...this.workers.map((w) => w.terminate()), this.tiles?.close()]);
  }
}
