/**
 * Worker of ThreadAvatarRenderer (avatar-thread.ts): one avatar's CPU bake,
 * deform and render, off the server's event loop. Requests are answered in
 * the order they arrive; a failure answers that request and keeps the worker.
 */
import { parentPort } from "node:worker_threads";
import { CpuAvatarRenderer } from "../../render-core/avatar/avatar-renderer";
import { createHeadModel } from "../../render-core/head";
import { mlpForwardFast } from "../../render-core/train/mlp-train-fast";
import { renderRgbFast } from "../../render-core/train/render-fast";
import type { FromAvatarWorker, ToAvatarWorker } from "./avatar-thread";

let renderer: CpuAvatarRenderer | null = null;
const port = parentPort!;

port.on("message", async (m: ToAvatarWorker) => {
  if (m.type === "open") {
    renderer = new CpuAvatarRenderer(m.avatar, createHeadModel(), {
      mlpForward: mlpForwardFast,
      renderRgb: (cloud, camera, options) => renderRgbFast(cloud, camera, options),
    });
    port.postMessage({ type: "ready" } satisfies FromAvatarWorker);
    return;
  }
  try {
    if (!renderer) throw new Error("the avatar is not open yet");
    if (m.type === "latents") {
      const baked = await renderer.setLatents(m.latents);
      port.postMessage({ type: "done", id: m.id, baked } satisfies FromAvatarWorker);
    } else if (m.type === "render") {
      const image = await renderer.render(m.pose, m.camera, m.options);
      port.postMessage({ type: "done", id: m.id, image } satisfies FromAvatarWorker, [
        image.rgb.buffer as ArrayBuffer,
        image.alpha.buffer as ArrayBuffer,
        image.depth.buffer as ArrayBuffer,
      ]);
    } else {
      const display = await renderer.renderRgb8(m.pose, m.camera, m.options);
      port.postMessage({ type: "done", id: m.id, display } satisfies FromAvatarWorker, [
        display.rgb.buffer as ArrayBuffer,
      ]);
    }
  } catch (err) {
    port.postMessage({ type: "failed", id: m.id, message: (err as Error).message } satisfies FromAvatarWorker);
  }
});
port.postMessage({ type: "started" } satisfies FromAvatarWorker);
