/**
 * Worker of AvatarExporter (export.ts): bakes the avatar at the requested
 * latents with the CPU twins (the trainer's fast network pass, same result),
 * deforms it to the pose and writes the posed Gaussians in the format asked.
 * The last avatar's renderer is kept, so exporting it again after a pose
 * change skips the precomputation. A failure answers that request only.
 */
import { parentPort } from "node:worker_threads";
import { CpuAvatarRenderer } from "../../render-core/avatar/avatar-renderer";
import { writeGlb, writePly, writeSplat } from "../../render-core/formats";
import { createHeadModel } from "../../render-core/head";
import type { SplatCloud } from "../../render-core/splats/splat-cloud";
import { mlpForwardFast } from "../../render-core/train/mlp-train-fast";
import type { ExportFormat, FromExportWorker, ToExportWorker } from "./export";

const head = createHeadModel();
let last: { key: string; renderer: CpuAvatarRenderer } | null = null;

const WRITERS: Record<ExportFormat, (cloud: SplatCloud, generator: string) => Uint8Array> = {
  ply: (cloud) => writePly(cloud),
  splat: (cloud) => writeSplat(cloud),
  glb: (cloud, generator) => writeGlb(cloud, { generator }),
};

parentPort!.on("message", (m: ToExportWorker) => {
  try {
    if (last?.key !== m.key) {
      last?.renderer.destroy();
      last = { key: m.key, renderer: new CpuAvatarRenderer(m.avatar, head, { mlpForward: mlpForwardFast }) };
    }
    void last.renderer
      .setLatents(m.latents)
      .then(() => {
        const bytes = WRITERS[m.format](last!.renderer.deform(m.pose), m.generator);
        parentPort!.postMessage({ id: m.id, ok: true, bytes } satisfies FromExportWorker, [
          bytes.buffer as ArrayBuffer,
        ]);
      })
      .catch((err: Error) =>
        parentPort!.postMessage({ id: m.id, ok: false, message: err.message } satisfies FromExportWorker),
      );
  } catch (err) {
    parentPort!.postMessage({ id: m.id, ok: false, message: (err as Error).message } satisfies FromExportWorker);
  }
});
