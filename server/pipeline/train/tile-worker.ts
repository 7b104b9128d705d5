/**
 * A helper thread of TilePool: sleeps in Atomics.wait until the job sequence
 * number moves, reads the job from its port, takes tiles until none is left,
 * counts itself done. Control words: tile-pool.ts.
 */
import { parentPort, receiveMessageOnPort, workerData, type MessagePort } from "node:worker_threads";
import { runTrainTiles, type TrainTileJob } from "../../../render-core/train/raster-train-tiles";
import { DONE, FAILED, HELPER_TILES, QUIT, SEQ } from "./tile-pool";

const { ctrl, port } = workerData as { ctrl: Int32Array; port: MessagePort };
parentPort!.postMessage("ready");
// From 0, not the current value: a job posted before this thread started is still taken.
let seen = 0;
for (;;) {
  Atomics.wait(ctrl, SEQ, seen);
  seen = Atomics.load(ctrl, SEQ);
  if (Atomics.load(ctrl, QUIT)) break;
  // The job was posted before the sequence number moved.
  const job = receiveMessageOnPort(port)?.message as TrainTileJob | undefined;
  try {
    if (!job) throw new Error("TilePool helper: woken without a job");
    Atomics.add(ctrl, HELPER_TILES, runTrainTiles(job));
  } catch (err) {
    Atomics.store(ctrl, FAILED, 1);
    port.postMessage((err as Error).stack ?? String(err));
  }
  Atomics.add(ctrl, DONE, 1);
  Atomics.notify(ctrl, DONE);
}
