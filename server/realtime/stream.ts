/**
 * The streaming renderer: for each STREAM viewer the server renders the
 * avatar at the viewer's own camera and size, encodes JPEG and sends it over
 * socket.io.
 *
 * - One session per avatar: its document, its renderer and one bake per
 *   document change, shared by every viewer; never a bake per viewer.
 *   The renderer is WebGPU through Dawn on a hardware adapter; without one
 *   (no adapter, or a software one such as llvmpipe, slower here than the
 *   CPU twins) it is the CPU twins on the avatar's own worker thread, so
 *   bakes and frames never stall the event loop.
 * - The viewers of an avatar that need a frame are rendered together: one
 *   state and pose sampled once, one deform, one render per camera (on the
 *   GPU several in flight at once, on the CPU shared between the threads).
 * - Latest frame wins: a viewer is only ever "dirty" (needs a frame of the
 *   current state) or not; at most MAX_IN_FLIGHT frames wait for its acks;
 *   a frame is rendered from the state at render time, and a frame overtaken
 *   by a newer one before it was encoded is dropped, so nothing stale queues.
 * - Frames on change: an edit is rendered at once; only a playing clip is
 *   paced, at maxFps.
 * - Encoding runs on sharp's thread pool while the next batch renders;
 *   frames of one viewer are sent in order.
 * - Each viewer's link sets its frames (adaptToLink): slow acknowledgements
 *   lower the JPEG quality, then the resolution (the page scales the frame
 *   up to its canvas); fast ones bring both back. A picture that stays
 *   still ends sharp whatever the link: once a degraded frame is acked and
 *   nothing changed for LINK.settleMs, the viewer gets one settle frame at
 *   full size and at least settleQuality.
 * - Bounds: viewers per process, pixels per frame; an avatar with no viewers
 *   frees its renderer after idleReleaseMs; a disconnect frees the viewer.
 */
import sharp from "sharp";
import type { Socket } from "socket.io";
import { z } from "zod";
import type { DocStore, SharedDoc } from "./doc-store";
import { VIEW } from "../../protocol/shared-state";
import { ClipCache, frameInputs, readFrameState, viewCamera } from "../../protocol/frame-inputs";
import { AvatarNotFoundError, type AvatarStore } from "../avatar/avatar-store";
import { createNodeGpu, isSoftwareAdapter, SKIP_VALIDATION_FLAGS, type NodeGpu } from "../gpu/node-device";
import type { ServerConfig } from "../config";
import { keepSpareThreads, ThreadAvatarRenderer } from "../render/avatar-thread";
import type {
  ClientToServerEvents,
  ServerToClientEvents,
  SocketResult,
  StreamCamera,
  StreamFrame,
} from "../../protocol/messages";
import { WebGpuAvatarRenderer, type AvatarRenderer } from "../../render-core/avatar/avatar-renderer";
import type { DisplayImage } from "../../render-core/raster/camera";
import type { Avatar } from "../../render-core/avatar/avatar";
import { BUILTIN_CLIP_NAMES } from "../../render-core/animation";

export const MAX_IN_FLIGHT = 2;
/** A frame unacknowledged this long is taken as lost (a page that went away mid-frame): it no longer holds a slot. */
export const ACK_TIMEOUT_MS = 3000;

/** How a viewer's frames follow its link (acknowledgement time: from the send to the ack). */
export const LINK = {
  slowMs: 150,
  fastMs: 50,
  /** A link this slow at the lowest quality gets smaller frames (much slower than slowMs: a bad link, not a busy page). */
  shrinkMs: 1000,
  minQuality: 40,
  maxQuality: 90,
  /** Render scales, largest first: the frame's size over the viewer's asked size. */
  scales: [1, 0.75, 0.5] as const,
  /** Acks slower than shrinkMs in a row, at the lowest quality, before the resolution drops a step. */
  slowAcksToShrink: 3,
  /** Fast acks in a row before the resolution comes back a step. */
  fastAcksToGrow: 10,
  /** A still picture's last frame, if smaller or coarser than this, is sent again at full size and this quality... */
  settleQuality: 80,
  /** ...once nothing has changed for this long after it was acknowledged. */
  settleMs: 300,
};

export interface LinkState {
  quality: number;
  /** Index into LINK.scales. */
  scaleStep: number;
  slowAcks: number;
  fastAcks: number;
}

/**
 * One acknowledgement's effect on a viewer's frames: a slow link first gets
 * smaller JPEGs (quality down 10 per slow ack, to minQuality), then, if it is
 * slower still (shrinkMs), smaller frames (a scale step per slowAcksToShrink
 * such acks in a row); a fast link gets the
 * resolution back first (a step per fastAcksToGrow fast acks), then quality
 * (up 2 per fast ack). In place.
 */
export function adaptToLink(link: LinkState, ackMs: number): void {
  if (ackMs > LINK.slowMs) {
    link.fastAcks = 0;
    if (link.quality > LINK.minQuality) link.quality = Math.max(LINK.minQuality, link.quality - 10);
    else if (ackMs <= LINK.shrinkMs) link.slowAcks = 0;
    else if (++link.slowAcks >= LINK.slowAcksToShrink && link.scaleStep < LINK.scales.length - 1) {
      link.scaleStep++;
      link.slowAcks = 0;
    }
  } else if (ackMs < LINK.fastMs) {
    link.slowAcks = 0;
    if (link.scaleStep > 0) {
      if (++link.fastAcks >= LINK.fastAcksToGrow) {
        link.scaleStep--;
        link.fastAcks = 0;
      }
    } else link.quality = Math.min(LINK.maxQuality, link.quality + 2);
  } else link.slowAcks = link.fastAcks = 0;
}

export interface StreamOptions {
  docs: DocStore;
  avatars: AvatarStore;
  /** Made on the first stream; null when the process has no WebGPU adapter (CPU twins then). */
  gpu: () => Promise<NodeGpu | null>;
  /**
   * "auto": WebGPU on a hardware adapter, else the CPU twins on a worker thread;
   * "webgpu": WebGPU on any adapter, software ones included; "cpu": never WebGPU.
   */
  backend: "auto" | "webgpu" | "cpu";
  maxViewers: number;
  maxPixels: number;
  /** Frames per second a playing clip is streamed at, at most. */
  maxFps: number;
  idleReleaseMs: number;
  log?: (line: string) => void;
}

type AppSocket = Socket<ClientToServerEvents, ServerToClientEvents>;

/** The stream hub of a web process or render node, configured from the environment (server/config.ts). */
export function streamHubFor(
  config: ServerConfig,
  deps: { docs: DocStore; avatars: AvatarStore; log: (line: string) => void },
): { hub: StreamHub; gpu: () => Promise<NodeGpu | null> } {
  const { log } = deps;
  let gpu: Promise<NodeGpu | null> | null = null;
  // One device for the process, made when the first viewer streams; a lost device is logged, and later sessions fall back to the CPU.
  const device = () =>
    (gpu ??=
      config.streamBackend === "cpu"
        ? Promise.resolve(null)
        : createNodeGpu({
            dawnFlags: config.gpuSkipValidation ? [SKIP_VALIDATION_FLAGS] : [],
            onFailure: (err) => log(`gpu: ${err.message}`),
            log: { info: log, warn: log, error: log },
          }));
  const hub = new StreamHub({
    docs: deps.docs,
    avatars: deps.avatars,
    gpu: device,
    backend: config.streamBackend,
    maxViewers: config.streamMaxViewers,
    maxPixels: config.streamMaxPixels,
    maxFps: 30,
    idleReleaseMs: 30_000,
    log,
  });
  return { hub, gpu: () => gpu ?? Promise.resolve(null) };
}

const cameraSchema = z.object({
  yawDeg: z.number().finite().min(-360).max(360),
  pitchDeg: z.number().finite().min(-89).max(89),
  distance: z.number().finite().min(0.1).max(10),
});
const startSchema = z.object({
  avatarId: z.string().min(1).max(64),
  width: z.number().int().min(16).max(4096),
  height: z.number().int().min(16).max(4096),
  camera: cameraSchema,
});
const cameraUpdateSchema = z.object({
  camera: cameraSchema,
  width: z.number().int().min(16).max(4096).optional(),
  height: z.number().int().min(16).max(4096).optional(),
});

interface Viewer {
  socket: AppSocket;
  session: AvatarSession;
  width: number;
  height: number;
  camera: StreamCamera;
  dirty: boolean;
  inFlight: Map<number, number>; // frameId -> sent at (ms)
  link: LinkState;
  lastSentAt: number;
  /** When the render of this viewer's newest frame began: a playing clip's pace counts from there. */
  frameStartedAt: number;
  /** Id of the newest frame rendered for this viewer: an older one not yet encoded is dropped. */
  newestFrame: number;
  /** Encodes and sends of this viewer's frames, in order. */
  sending: Promise<void>;
  /** How the newest frame sent was made: a degraded one is followed by a settle frame once the picture is still. */
  lastFrame: FrameSettings;
  /** The next frame is a settle frame (full size, at least settleQuality). */
  settle: boolean;
  settleTimer: NodeJS.Timeout | null;
}

interface FrameSettings {
  scale: number;
  quality: number;
}

/** What a viewer's next frame is made at: its link's, or full size and at least settleQuality for a settle frame. */
function frameSettings(v: Pick<Viewer, "link" | "settle">): FrameSettings {
  const scale = LINK.scales[v.link.scaleStep]!;
  return v.settle
    ? { scale: 1, quality: Math.max(v.link.quality, LINK.settleQuality) }
    : { scale, quality: v.link.quality };
}

class AvatarSession {
  readonly viewers = new Set<Viewer>();
  renderer: AvatarRenderer | null = null;
  backend = "cpu";
  /** Whether the last frame rendered showed a playing clip (frames are then paced at maxFps). */
  playing = false;
  releaseTimer: NodeJS.Timeout | null = null;
  private unsubscribe: (() => void) | null = null;

  constructor(
    readonly avatarId: string,
    readonly shared: SharedDoc,
    readonly avatar: Avatar,
    onChange: () => void,
  ) {
    this.unsubscribe = shared.onStoredUpdate(onChange);
  }

  close(docs: DocStore): void {
    this.unsubscribe?.();
    this.unsubscribe = null;
    this.renderer?.destroy();
    this.renderer = null;
    docs.release(this.shared);
  }
}

export class StreamHub {
  private readonly sessions = new Map<string, AvatarSession>();
  private readonly opening = new Map<string, Promise<AvatarSession>>();
  private readonly viewers = new Map<string, Viewer>(); // socket id -> viewer
  private frameIds = 0;
  /** Viewers between the cap check and their session being open. */
  private starting = 0;
  private pumping = false;
  private closed = false;
  private readonly clips = new ClipCache();
  /** Counters for tests and the benchmark. */
  readonly stats = { bakes: 0, frames: 0, batches: 0 };

  constructor(private readonly options: StreamOptions) {}

  /** Whether sessions render with this device (else on CPU threads). */
  private rendersOnGpu(gpu: NodeGpu | null): gpu is NodeGpu {
    return gpu !== null && (this.options.backend === "webgpu" || !isSoftwareAdapter(gpu.adapterInfo));
  }

  /**
   * Makes now what the first session would wait for (a render node that takes over an avatar must stream at
   * once): the GPU device, the head model, and on the CPU path a pair of render threads booted in reserve.
   */
  async warmUp(): Promise<void> {
    const gpu = this.options.backend === "cpu" ? null : await this.options.gpu();
    void this.options.avatars.head;
    if (!this.rendersOnGpu(gpu)) await keepSpareThreads();
  }

  get viewerCount(): number {
    return this.viewers.size;
  }

  /** Avatars with an open render session (viewing, or kept a while after the last viewer left). */
  get avatarCount(): number {
    return this.sessions.size;
  }

  /** Registers the stream commands of one connection; `canView` is its access check. */
  attach(socket: AppSocket, canView: (avatarId: string) => boolean): void {
    socket.on("stream:start", async (req, ack) => {
      if (typeof ack !== "function") return;
      try {
        ack(await this.start(socket, req, canView));
      } catch (err) {
        this.options.log?.(`stream: start failed: ${(err as Error).stack ?? err}`);
        ack({
          ok: false,
          code: "internal",
          message: `The server could not start the stream: ${(err as Error).message}`,
        });
      }
    });
    socket.on("avatar:info", async (req, ack) => {
      if (typeof ack !== "function") return;
      const id = (req as { avatarId?: unknown } | null)?.avatarId;
      if (typeof id !== "string" || id.length > 64 || !canView(id))
        return ack({ ok: false, code: "not-found", message: `No avatar with id "${String(id)}".` });
      try {
        const avatar = await this.options.avatars.load(id);
        ack({
          ok: true,
          value: {
            categories: avatar.config.categories.map((name) => {
              const anchors = avatar.anchors.filter((a) => a.category === name);
              // Bundle writers name thumbnails thumbs/<category>-<k>.png, k counting the category's anchors.
              return {
                name,
                anchors: anchors.map((a) => a.label),
                thumbnails: anchors.map((a, k) => (a.thumbnail ? `thumbs/${name}-${k}.png` : null)),
              };
            }),
            clips: BUILTIN_CLIP_NAMES,
            gaussians: avatar.count,
            placeholder: await this.options.avatars.isPlaceholder(id),
          },
        });
      } catch (err) {
        if (err instanceof AvatarNotFoundError) return ack({ ok: false, code: "not-found", message: err.message });
        ack({ ok: false, code: "internal", message: `The avatar could not be loaded: ${(err as Error).message}` });
      }
    });
    socket.on("stream:camera", (req) => {
      const v = this.viewers.get(socket.id);
      const parsed = cameraUpdateSchema.safeParse(req);
      if (!v || !parsed.success) return;
      const { camera, width = v.width, height = v.height } = parsed.data;
      if (width * height > this.options.maxPixels) return;
      Object.assign(v, { camera, width, height, dirty: true, settle: false });
      this.pump();
    });
    socket.on("stream:ack", (req) => {
      const v = this.viewers.get(socket.id);
      const id = (req as { frameId?: unknown } | null)?.frameId;
      if (!v || typeof id !== "number") return;
      const sentAt = v.inFlight.get(id);
      if (sentAt === undefined) return;
      v.inFlight.delete(id);
      // The frames follow the time from send to acknowledgement: a slow link gets smaller ones.
      adaptToLink(v.link, Date.now() - sentAt);
      this.settleLater(v);
      this.pump();
    });
    socket.on("stream:stop", () => this.stop(socket.id));
    socket.on("disconnect", () => this.stop(socket.id));
  }

  private async start(
    socket: AppSocket,
    req: unknown,
    canView: (avatarId: string) => boolean,
  ): Promise<SocketResult<{ backend: string; maxFps: number }>> {
    const parsed = startSchema.safeParse(req);
    if (!parsed.success)
      return {
        ok: false,
        code: "bad-request",
        message: `stream:start: ${parsed.error.issues[0]?.path.join(".")}: ${parsed.error.issues[0]?.message}`,
      };
    const { avatarId, width, height, camera } = parsed.data;
    if (!canView(avatarId)) return { ok: false, code: "not-found", message: `No avatar with id "${avatarId}".` };
    if (width * height > this.options.maxPixels)
      return {
        ok: false,
        code: "bad-request",
        message: `A streamed frame may hold at most ${this.options.maxPixels} pixels; ${width}x${height} asks for ${width * height}.`,
      };
    this.stop(socket.id);
    // The slot is taken before the first await: starts racing on a cold session cannot all pass the check.
    if (this.viewers.size + this.starting >= this.options.maxViewers)
      return {
        ok: false,
        code: "busy",
        message: `This server streams to at most ${this.options.maxViewers} viewers at once; try again later or render in the page.`,
      };
    this.starting++;
    let session: AvatarSession;
    try {
      session = await this.session(avatarId);
    } catch (err) {
      if (err instanceof AvatarNotFoundError) return { ok: false, code: "not-found", message: err.message };
      throw err;
    } finally {
      this.starting--;
    }
    if (!socket.connected || this.closed) {
      this.releaseLater(session);
      return { ok: false, code: "internal", message: "The connection closed while the stream started." };
    }
    if (session.releaseTimer) clearTimeout(session.releaseTimer);
    session.releaseTimer = null;
    const viewer: Viewer = {
      socket,
      session,
      width,
      height,
      camera,
      dirty: true,
      inFlight: new Map(),
      link: { quality: 80, scaleStep: 0, slowAcks: 0, fastAcks: 0 },
      lastSentAt: 0,
      frameStartedAt: 0,
      newestFrame: 0,
      sending: Promise.resolve(),
      lastFrame: { scale: 1, quality: 80 },
      settle: false,
      settleTimer: null,
    };
    session.viewers.add(viewer);
    this.viewers.set(socket.id, viewer);
    this.pump();
    return { ok: true, value: { backend: session.backend, maxFps: this.options.maxFps } };
  }

  private stop(socketId: string): void {
    const v = this.viewers.get(socketId);
    if (!v) return;
    if (v.settleTimer) clearTimeout(v.settleTimer);
    this.viewers.delete(socketId);
    v.session.viewers.delete(v);
    this.releaseLater(v.session);
  }

  private releaseLater(session: AvatarSession): void {
    if (session.viewers.size > 0 || session.releaseTimer) return;
    session.releaseTimer = setTimeout(() => {
      if (session.viewers.size > 0) return;
      this.sessions.delete(session.avatarId);
      session.close(this.options.docs);
    }, this.options.idleReleaseMs);
    session.releaseTimer.unref();
  }

  private async session(avatarId: string): Promise<AvatarSession> {
    const existing = this.sessions.get(avatarId);
    if (existing) return existing;
    let p = this.opening.get(avatarId);
    if (!p) {
      p = (async () => {
        // The avatar first: a missing one must not leave its document held.
        const avatar = await this.options.avatars.load(avatarId);
        const gpu = this.options.backend === "cpu" ? null : await this.options.gpu();
        const useGpu = this.rendersOnGpu(gpu);
        const shared = await this.options.docs.acquire(avatarId);
        const session = new AvatarSession(avatarId, shared, avatar, () => this.markDirty(session));
        session.renderer = useGpu
          ? new WebGpuAvatarRenderer(gpu.device, avatar, this.options.avatars.head)
          : new ThreadAvatarRenderer(avatar);
        const adapter = gpu ? gpu.adapterInfo.description || gpu.adapterInfo.vendor : "";
        session.backend = useGpu ? `webgpu (${adapter})` : "cpu (worker thread)";
        if (gpu && !useGpu)
          this.options.log?.(`stream: ${avatarId} renders on the CPU: ${adapter} is a software adapter, slower here`);
        this.sessions.set(avatarId, session);
        return session;
      })();
      this.opening.set(avatarId, p);
      p.finally(() => this.opening.delete(avatarId)).catch(() => {});
    }
    return p;
  }

  private markDirty(session: AvatarSession): void {
    for (const v of session.viewers) Object.assign(v, { dirty: true, settle: false });
    this.pump();
  }

  /**
   * After an acknowledgement: if the viewer's newest frame was smaller or coarser than a settle frame and nothing
   * follows it, a settle frame is rendered once the picture has stayed still for LINK.settleMs.
   */
  private settleLater(v: Viewer): void {
    const degraded = (f: FrameSettings) => f.scale < 1 || f.quality < LINK.settleQuality;
    if (v.settleTimer) clearTimeout(v.settleTimer);
    v.settleTimer = null;
    // A playing clip sends the next frame anyway: no timer per acknowledgement then.
    if (!degraded(v.lastFrame) || v.session.playing) return;
    const frame = v.newestFrame;
    v.settleTimer = setTimeout(() => {
      v.settleTimer = null;
      const still = v.newestFrame === frame && !v.dirty && v.inFlight.size === 0 && !v.session.playing;
      if (!still || this.viewers.get(v.socket.id) !== v || !degraded(v.lastFrame)) return;
      Object.assign(v, { dirty: true, settle: true });
      this.pump();
    }, LINK.settleMs);
    v.settleTimer.unref();
  }

  /** Whether a viewer may get a frame now: it needs one, has room for it, and a playing clip's pace allows it. */
  private ready(v: Viewer, now: number): boolean {
    if (!v.dirty) return false;
    for (const [id, sentAt] of v.inFlight) if (now - sentAt > ACK_TIMEOUT_MS) v.inFlight.delete(id);
    if (v.inFlight.size >= MAX_IN_FLIGHT) return false;
    return !v.session.playing || now >= this.pacedAt(v);
  }

  /** When a playing clip's next frame for `v` may start: one frame period after its last one started. */
  private pacedAt(v: Viewer): number {
    return v.frameStartedAt + 1000 / this.options.maxFps;
  }

  /**
   * Renders for viewers that need a frame and have room for one: the avatar
   * of the viewer waiting longest, with every other ready viewer of it.
   * One batch at a time per process (the device and the CPU are shared).
   */
  private pump(): void {
    if (this.pumping || this.closed) return;
    this.pumping = true;
    void (async () => {
      try {
        for (;;) {
          const now = Date.now();
          let next: Viewer | null = null;
          for (const v of this.viewers.values()) {
            if (this.ready(v, now) && (!next || v.lastSentAt < next.lastSentAt)) next = v;
          }
          if (!next) break;
          const batch = [...next.session.viewers].filter((v) => this.ready(v, now));
          try {
            await this.renderBatch(next.session, batch);
          } catch (err) {
            this.failSession(next.session, err as Error);
          }
        }
      } catch (err) {
        this.options.log?.(`stream: rendering failed: ${(err as Error).stack ?? err}`);
      } finally {
        this.pumping = false;
      }
      // Viewers still wanting a frame: look again when a playing clip's pace allows, or, for those waiting on
      // acknowledgements (which pump when they come), when a lost one would have timed out.
      const waiting = [...this.viewers.values()].filter((v) => v.dirty);
      if (!this.closed && waiting.length > 0) {
        // The earliest a paced viewer with room may start (a frame that took longer than the period: at once).
        const paced = waiting.filter((v) => v.inFlight.size < MAX_IN_FLIGHT).map((v) => this.pacedAt(v));
        const delay = paced.length ? Math.max(1, Math.ceil(Math.min(...paced) - Date.now())) : ACK_TIMEOUT_MS / 4;
        setTimeout(() => this.pump(), delay).unref();
      }
    })();
  }

  /**
   * A renderer that failed (a render thread died, a device error) is not used again: its viewers are told why
   * and may start again, which opens a fresh session; other avatars' streams go on.
   */
  private failSession(session: AvatarSession, err: Error): void {
    this.options.log?.(`stream: rendering ${session.avatarId} failed: ${err.stack ?? err}`);
    for (const v of session.viewers) {
      this.viewers.delete(v.socket.id);
      v.socket.emit("stream:ended", {
        code: "internal",
        message: `The server could not render this avatar (${err.message}); start the stream again.`,
      });
    }
    session.viewers.clear();
    if (session.releaseTimer) clearTimeout(session.releaseTimer);
    this.sessions.delete(session.avatarId);
    session.close(this.options.docs);
  }

  private async renderBatch(session: AvatarSession, batch: Viewer[]): Promise<void> {
    const renderer = session.renderer;
    if (!renderer) return;
    const settings = new Map(batch.map((v) => [v, frameSettings(v)]));
    const startedAt = Date.now();
    for (const v of batch) Object.assign(v, { dirty: false, settle: false, frameStartedAt: startedAt });
    const version = session.shared.version;
    const state = readFrameState(session.shared.doc);
    const { latents, pose, playing } = frameInputs(session.avatar, state, Date.now(), this.clips);
    const driveAt = state.drive?.at;
    session.playing = playing;
    let t = performance.now();
    if (await renderer.setLatents(latents)) this.stats.bakes++;
    const bakeMs = performance.now() - t;
    this.stats.batches++;
    // One pose for the whole batch: the renderer deforms once and renders every viewer's camera.
    t = performance.now();
    const images = await renderer.renderRgb8(
      pose,
      batch.map((v) => {
        const { scale } = settings.get(v)!;
        return viewCamera(
          v.camera,
          Math.max(16, Math.round(v.width * scale)),
          Math.max(16, Math.round(v.height * scale)),
        );
      }),
      { background: VIEW.background },
    );
    const renderMs = performance.now() - t;
    batch.forEach((v, i) =>
      this.send(v, images[i]!, settings.get(v)!, { version, bakeMs, renderMs, backend: session.backend, driveAt }),
    );
    // A playing clip keeps every viewer wanting the next frame.
    if (playing) for (const v of batch) v.dirty = true;
  }

  /** Encodes and sends a rendered frame after the viewer's earlier ones; drops it if a newer frame overtook it. */
  private send(
    v: Viewer,
    image: DisplayImage,
    settings: FrameSettings,
    meta: Pick<StreamFrame, "version" | "bakeMs" | "renderMs" | "backend" | "driveAt">,
  ): void {
    const frameId = ++this.frameIds;
    v.newestFrame = frameId;
    v.lastFrame = settings;
    v.inFlight.set(frameId, Date.now());
    v.lastSentAt = Date.now();
    const current = () => this.viewers.get(v.socket.id) === v; // not stopped, nor restarted with other settings
    v.sending = v.sending
      .then(async () => {
        if (frameId !== v.newestFrame || !current()) {
          v.inFlight.delete(frameId);
          this.pump(); // its slot is free
          return;
        }
        const t = performance.now();
        const data = await sharp(image.rgb, { raw: { width: image.width, height: image.height, channels: 3 } })
          .jpeg({ quality: settings.quality, mozjpeg: false })
          .toBuffer();
        const encodeMs = performance.now() - t;
        if (!current()) return; // left while we encoded
        v.inFlight.set(frameId, Date.now()); // the acknowledgement time counts from the send
        this.stats.frames++;
        v.socket.emit("stream:frame", {
          frameId,
          width: image.width,
          height: image.height,
          mime: "image/jpeg",
          data,
          quality: settings.quality,
          encodeMs,
          ...meta,
        });
      })
      // A failed encode loses that frame only: its slot is freed and the chain goes on for the next.
      .catch((err) => {
        v.inFlight.delete(frameId);
        this.options.log?.(`stream: encoding failed: ${(err as Error).stack ?? err}`);
      });
  }

  close(): void {
    this.closed = true;
    for (const v of this.viewers.values())
      v.socket.emit("stream:ended", { code: "internal", message: "The server is closing." });
    this.viewers.clear();
    for (const s of this.sessions.values()) {
      if (s.releaseTimer) clearTimeout(s.releaseTimer);
      s.close(this.options.docs);
    }
    this.sessions.clear();
  }
}
