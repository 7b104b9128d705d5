/**
 * Worker of ThreadAvatarRenderer (avatar-thread.ts). It bakes and deforms its
 * slice [from, to) of the avatar's Gaussians with the CPU twins and the
 * trainer's fast network pass; on a new pose it swaps its posed slice with its
 * peer's (the other worker, over a MessagePort), so both hold the whole posed
 * cloud, then renders the cameras it was given with the fast rasteriser.
 * Every worker of a group gets every request, in the same order, so they make
 * the same decisions (deform or not) without asking each other.
 * A failure answers that request and keeps the worker.
 */
import { parentPort, type MessagePort } from "node:worker_threads";
import { CpuAvatarRenderer } from "../../render-core/avatar/avatar-renderer";
import { sliceAvatar } from "../../render-core/avatar/avatar";
import { sameElements } from "../../render-core/math/arrays";
import { createHeadModel } from "../../render-core/head";
import { packRgb8Cpu } from "../../render-core/raster/rasterize.cpu";
import { renderCpu } from "../../render-core/raster/render.cpu";
import { createSplatCloud, type SplatCloud } from "../../render-core/splats/splat-cloud";
import { mlpForwardFast } from "../../render-core/train/mlp-train-fast";
import { renderRgbFast } from "../../render-core/train/render-fast";
import { LOCAL_TILES } from "../../render-core/train/raster-train-fast";
import { RASTER } from "../../render-core/raster/config";
import type { FromAvatarWorker, ToAvatarWorker } from "./avatar-thread";

/** The posed fields of a cloud a worker sends its peer. */
const POSED = ["positions", "scales", "rotations", "opacities", "colors"] as const;
const WIDTH = { positions: 3, scales: 3, rotations: 4, opacities: 1, colors: 3 } as const;
/** A peer that has not sent its slice in this long is taken for stuck. */
const PEER_WAIT_MS = 60_000;

interface PeerSlice {
  id: number;
  from: number;
  fields: Record<(typeof POSED)[number], Float32Array>;
}

interface State {
  slice: CpuAvatarRenderer;
  from: number;
  peer: MessagePort | null;
  /** The whole posed cloud: this worker's slice and the peer's. */
  cloud: SplatCloud;
  /** deformFrame of the pose `cloud` holds; null after a bake. */
  frame: Float32Array | null;
}

let state: State | null = null;
const port = parentPort!;
const peerSlices = new Map<number, PeerSlice>();
const peerWaiters = new Map<number, (s: PeerSlice) => void>();

function fromPeer(id: number): Promise<PeerSlice> {
  const ready = peerSlices.get(id);
  if (ready) {
    peerSlices.delete(id);
    return Promise.resolve(ready);
  }
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      peerWaiters.delete(id);
      reject(new Error(`the other render thread sent no Gaussians for request ${id} within ${PEER_WAIT_MS} ms`));
    }, PEER_WAIT_MS);
    peerWaiters.set(id, (s) => {
      clearTimeout(timer);
      resolve(s);
    });
  });
}

/** Deforms this slice to the request's pose and swaps slices with the peer, unless the cloud holds that pose. */
async function pose(s: State, id: number, p: Parameters<CpuAvatarRenderer["deform"]>[0]): Promise<SplatCloud> {
  const frame = s.slice.frameOf(p);
  if (sameElements(s.frame, frame)) return s.cloud;
  s.frame = null;
  const mine = s.slice.deformTo(frame);
  const fields = {} as PeerSlice["fields"];
  for (const f of POSED) {
    s.cloud[f].set(mine[f], s.from * WIDTH[f]);
    fields[f] = mine[f];
  }
  if (s.peer) {
    s.peer.postMessage({ id, from: s.from, fields } satisfies PeerSlice);
    const theirs = await fromPeer(id);
    for (const f of POSED) s.cloud[f].set(theirs.fields[f], theirs.from * WIDTH[f]);
  }
  s.frame = frame;
  return s.cloud;
}

// One request at a time, in arrival order: a frame may wait for the peer, and the next must not start meanwhile.
let queue: Promise<void> = Promise.resolve();
port.on("message", (m: ToAvatarWorker) => {
  queue = queue.then(() => handle(m));
});

async function handle(m: ToAvatarWorker): Promise<void> {
  if (m.type === "open") {
    const slice = new CpuAvatarRenderer(sliceAvatar(m.avatar, m.from, m.to), head, {
      mlpForward: mlpForwardFast,
    });
    state = {
      slice,
      from: m.from,
      peer: m.peer ?? null,
      cloud: createSplatCloud(m.avatar.count),
      frame: null,
    };
    state.peer?.on("message", (s: PeerSlice) => {
      const waiter = peerWaiters.get(s.id);
      peerWaiters.delete(s.id);
      if (waiter) waiter(s);
      else peerSlices.set(s.id, s);
    });
    port.postMessage({ type: "ready" } satisfies FromAvatarWorker);
    return;
  }
  try {
    const s = state;
    if (!s) throw new Error("the avatar is not open yet");
    if (m.type === "latents") {
      const baked = await s.slice.setLatents(m.latents);
      if (baked) s.frame = null;
      port.postMessage({ type: "done", id: m.id, baked } satisfies FromAvatarWorker);
    } else if (m.type === "render") {
      const cloud = await pose(s, m.id, m.pose);
      const images = m.cameras.map((c) => renderCpu(cloud, c, m.options));
      const buffers = images.flatMap((im) => [im.rgb.buffer, im.alpha.buffer, im.depth.buffer] as ArrayBuffer[]);
      port.postMessage({ type: "done", id: m.id, images } satisfies FromAvatarWorker, buffers);
    } else {
      const cloud = await pose(s, m.id, m.pose);
      const t = performance.now();
      const displays = m.cameras.map((c) => {
        const rgb = renderRgbFast(cloud, c, m.options, LOCAL_TILES, m.tileRows);
        if (!m.tileRows) return { width: c.width, height: c.height, rgb: packRgb8Cpu(rgb) };
        // Only the band's pixel rows go back.
        const [y0, y1] = m.tileRows.map((r) => Math.min(r * RASTER.TILE, c.height));
        return {
          width: c.width,
          height: y1! - y0!,
          rgb: packRgb8Cpu(rgb.subarray(y0! * c.width * 3, y1! * c.width * 3)),
        };
      });
      port.postMessage(
        { type: "done", id: m.id, displays, drawMs: performance.now() - t } satisfies FromAvatarWorker,
        displays.map((d) => d.rgb.buffer as ArrayBuffer),
      );
    }
  } catch (err) {
    port.postMessage({ type: "failed", id: m.id, message: (err as Error).message } satisfies FromAvatarWorker);
  }
}
// Made before "started" (about a second): a thread booted ahead of time (avatar-thread.ts) opens an avatar without it.
const head = createHeadModel();
port.postMessage({ type: "started" } satisfies FromAvatarWorker);
