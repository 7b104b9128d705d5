/**
 * A worker thread that computes training batches (avatarTrainBatch, fast
 * passes) for the trainer's BatchPool: parameters in, gradients out, no state kept.
 */
import { parentPort } from "node:worker_threads";
import { avatarTrainBatch, type AvatarTrainState, type StepTarget } from "../../../render-core/train/avatar-step";
import { FAST_PASSES } from "../../../render-core/train/train-passes";

parentPort!.on("message", (job: { id: number; state: AvatarTrainState; targets: StepTarget[] }) => {
  try {
    const r = avatarTrainBatch(job.state, job.targets, FAST_PASSES);
    const transfer = [
      r.grads.points,
      r.grads.latents,
      r.grads.weights.geometry,
      r.grads.weights.deformer,
      r.grads.weights.gaussian,
      r.opacities,
      r.visible,
      ...r.rgbs,
    ].map((a) => a.buffer as ArrayBuffer);
    parentPort!.postMessage({ id: job.id, result: r }, transfer);
  } catch (err) {
    parentPort!.postMessage({ id: job.id, error: (err as Error).stack ?? String(err) });
  }
});
