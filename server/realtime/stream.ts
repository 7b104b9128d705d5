/**
 * The streaming renderer: for each STREAM viewer the server renders the
 * avatar at the viewer's own camera and size, encodes JPEG and sends it over
 * socket.io.
 *
 * - One session per avatar: its document, its renderer (WebGPU through Dawn
 *   when the process has an adapter, else the CPU twins) and one bake per
 *   document change, shared by every viewer; never a bake per viewer.
 * - Latest frame wins: a viewer is only ever "dirty" (needs a frame of the
 *   current state) or not; at most MAX_IN_FLIGHT frames wait for its acks;
 *   a frame is rendered from the state at render time, so nothing stale queues.
 * - One render at a time per process (the device and the CPU are shared);
 *   viewers are served oldest-frame first.
 * - JPEG quality adapts to each viewer's acknowledgement time.
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
import type { NodeGpu } from "../gpu/node-device";
import { imageToRgb8 } from "../images/png";
import type {
  ClientToServerEvents,
  ServerToClientEvents,
  SocketResult,
  StreamCamera,
  StreamFrame,
} from "../../protocol/messages";
import { CpuAvatarRenderer, WebGpuAvatarRenderer, type AvatarRenderer } from "../../render-core/avatar/avatar-renderer";
import type { Avatar } from "../../render-core/avatar/avatar";
import { BUILTIN_CLIP_NAMES } from "../../render-core/animation";

export const MAX_IN_FLIGHT = 2;

export interface StreamOptions {
  docs: DocStore;
  avatars: AvatarStore;
  /** Made on the first stream; null when the process has no WebGPU adapter (CPU twins then). */
  gpu: () => Promise<NodeGpu | null>;
  maxViewers: number;
  maxPixels: number;
  /** Frames per second a playing clip is streamed at, at most. */
  maxFps: number;
  idleReleaseMs: number;
  log?: (line: string) => void;
}

type AppSocket = Socket<ClientToServerEvents, ServerToClientEvents>;

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
  quality: number;
  lastSentAt: number;
}

class AvatarSession {
  readonly viewers = new Set<Viewer>();
  renderer: AvatarRenderer | null = null;
  backend = "cpu";
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
  readonly stats = { bakes: 0, frames: 0 };

  constructor(private readonly options: StreamOptions) {}

  get viewerCount(): number {
    return this.viewers.size;
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
      Object.assign(v, { camera, width, height, dirty: true });
      this.pump();
    });
    socket.on("stream:ack", (req) => {
      const v = this.viewers.get(socket.id);
      const id = (req as { frameId?: unknown } | null)?.frameId;
      if (!v || typeof id !== "number") return;
      const sentAt = v.inFlight.get(id);
      if (sentAt === undefined) return;
      v.inFlight.delete(id);
      // Quality follows the time from send to acknowledgement: a slow link gets smaller frames.
      const rtt = Date.now() - sentAt;
      if (rtt > 150) v.quality = Math.max(40, v.quality - 10);
      else if (rtt < 50) v.quality = Math.min(90, v.quality + 2);
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
      quality: 80,
      lastSentAt: 0,
    };
    session.viewers.add(viewer);
    this.viewers.set(socket.id, viewer);
    this.pump();
    return { ok: true, value: { backend: session.backend, maxFps: this.options.maxFps } };
  }

  private stop(socketId: string): void {
    const v = this.viewers.get(socketId);
    if (!v) return;
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
        const gpu = await this.options.gpu();
        const shared = await this.options.docs.acquire(avatarId);
        const session = new AvatarSession(avatarId, shared, avatar, () => this.markDirty(session));
        const head = this.options.avatars.head;
        session.renderer = gpu
          ? new WebGpuAvatarRenderer(gpu.device, avatar, head)
          : new CpuAvatarRenderer(avatar, head);
        session.backend = gpu ? `webgpu (${gpu.adapterInfo.description || gpu.adapterInfo.vendor})` : "cpu";
        this.sessions.set(avatarId, session);
        return session;
      })();
      this.opening.set(avatarId, p);
      p.finally(() => this.opening.delete(avatarId)).catch(() => {});
    }
    return p;
  }

  private markDirty(session: AvatarSession): void {
    for (const v of session.viewers) v.dirty = true;
    this.pump();
  }

  /** Renders for viewers that need a frame and have room for one, one at a time, oldest first. */
  private pump(): void {
    if (this.pumping || this.closed) return;
    this.pumping = true;
    void (async () => {
      try {
        for (;;) {
          const now = Date.now();
          let next: Viewer | null = null;
          for (const v of this.viewers.values()) {
            if (!v.dirty || v.inFlight.size >= MAX_IN_FLIGHT) continue;
            if (now - v.lastSentAt < 1000 / this.options.maxFps) continue;
            if (!next || v.lastSentAt < next.lastSentAt) next = v;
          }
          if (!next) break;
          await this.renderFor(next);
        }
      } catch (err) {
        this.options.log?.(`stream: rendering failed: ${(err as Error).stack ?? err}`);
      } finally {
        this.pumping = false;
      }
      // Viewers held back only by the frame-rate cap (playing clips): look again when the cap allows.
      if (!this.closed && [...this.viewers.values()].some((v) => v.dirty && v.inFlight.size < MAX_IN_FLIGHT)) {
        setTimeout(() => this.pump(), Math.ceil(1000 / this.options.maxFps)).unref();
      }
    })();
  }

  private async renderFor(v: Viewer): Promise<void> {
    const { session } = v;
    const renderer = session.renderer;
    if (!renderer) return;
    v.dirty = false;
    const version = session.shared.version;
    const { latents, pose, playing } = frameInputs(
      session.avatar,
      readFrameState(session.shared.doc),
      Date.now(),
      this.clips,
    );
    let t = performance.now();
    // No wait for the bake here: the device runs it before the frame's deform, in queue order.
    if (await renderer.setLatents(latents)) this.stats.bakes++;
    const bakeMs = performance.now() - t;
    const camera = viewCamera(v.camera, v.width, v.height);
    t = performance.now();
    const image = await renderer.render(pose, camera, { background: VIEW.background });
    const renderMs = performance.now() - t;
    t = performance.now();
    const data = await sharp(imageToRgb8(image), { raw: { width: image.width, height: image.height, channels: 3 } })
      .jpeg({ quality: v.quality, mozjpeg: false })
      .toBuffer();
    const encodeMs = performance.now() - t;
    if (!this.viewers.has(v.socket.id)) return; // left while we rendered
    const frame: StreamFrame = {
      frameId: ++this.frameIds,
      version,
      width: image.width,
      height: image.height,
      mime: "image/jpeg",
      data,
      quality: v.quality,
      bakeMs,
      renderMs,
      encodeMs,
      backend: session.backend,
    };
    v.inFlight.set(frame.frameId, Date.now());
    v.lastSentAt = Date.now();
    this.stats.frames++;
    v.socket.emit("stream:frame", frame);
    // A playing clip keeps every viewer wanting the next frame.
    if (playing) v.dirty = true;
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
