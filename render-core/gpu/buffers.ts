/**
 * Buffers that grow by powers of two and are reused across frames: a frame
 * that only moves the camera allocates nothing. In debug/test mode every new
 * buffer is filled with seeded garbage (STYLE.md 9) so that a kernel reading
 * memory nobody wrote produces NaNs or wild indices and fails its test.
 */
import { BufferUsage, align4 } from "./flags";

export interface GpuDebugOptions {
  /** Fill every newly created buffer with seeded garbage. Default false (costs an upload per allocation). */
  fillGarbage?: boolean;
  /** Scan read-back images for NaN/Inf and throw (STYLE.md 7). Default false. */
  checkFinite?: boolean;
}

/** Smallest power of two >= bytes, at least 256 (so tiny frames do not thrash). */
export function growSize(bytes: number): number {
  let size = 256;
  while (size < bytes) size *= 2;
  return size;
}

let garbageSeed = 0x9e3779b9;

/** Seeded u32 garbage (mulberry32): NaNs and huge values as f32, out-of-range values as indices. */
function fillGarbage(bytes: ArrayBuffer): void {
  const u = new Uint32Array(bytes);
  let s = garbageSeed >>> 0;
  for (let i = 0; i < u.length; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    u[i] = (t ^ (t >>> 14)) >>> 0;
  }
  garbageSeed = s;
}

/** Creates a buffer of exactly `size` bytes (multiple of 4), garbage-filled when debugging. */
export function createBuffer(
  device: GPUDevice,
  label: string,
  size: number,
  usage: number,
  debug?: GpuDebugOptions,
): GPUBuffer {
  const bytes = Math.max(4, align4(size));
  const garbage = debug?.fillGarbage === true;
  const buffer = device.createBuffer({ label, size: bytes, usage, mappedAtCreation: garbage });
  if (garbage) {
    fillGarbage(buffer.getMappedRange());
    buffer.unmap();
  }
  return buffer;
}

/** A buffer plus upload helpers, for small constant inputs. */
export function createBufferFrom(device: GPUDevice, label: string, data: ArrayBufferView, usage: number): GPUBuffer {
  const buffer = device.createBuffer({
    label,
    size: Math.max(4, align4(data.byteLength)),
    usage: usage | BufferUsage.COPY_DST,
  });
  device.queue.writeBuffer(buffer, 0, data.buffer, data.byteOffset, data.byteLength);
  return buffer;
}

/**
 * A named GPU buffer whose capacity only grows, by powers of two. Holders
 * compare `generation` to know when to rebuild bind groups.
 */
export class GrowableBuffer {
  private buf: GPUBuffer | null = null;
  /** Incremented every time the underlying GPUBuffer is replaced. */
  generation = 0;

  constructor(
    readonly device: GPUDevice,
    readonly label: string,
    readonly usage: number,
    readonly debug?: GpuDebugOptions,
  ) {}

  get buffer(): GPUBuffer {
    if (!this.buf) throw new Error(`GrowableBuffer.buffer: ${this.label} used before ensure()`);
    return this.buf;
  }

  /** Bytes currently allocated (0 before the first ensure). */
  get capacity(): number {
    return this.buf?.size ?? 0;
  }

  /** Makes room for `bytes`; returns true when a new buffer was created (old contents are NOT kept). */
  ensure(bytes: number): boolean {
    if (!Number.isFinite(bytes) || bytes < 0)
      throw new Error(`GrowableBuffer.ensure: ${this.label} bytes must be >= 0, got ${bytes}`);
    if (this.buf && this.buf.size >= bytes) return false;
    this.buf?.destroy();
    this.buf = createBuffer(this.device, this.label, growSize(bytes), this.usage, this.debug);
    this.generation++;
    return true;
  }

  destroy(): void {
    this.buf?.destroy();
    this.buf = null;
  }
}

/** Storage buffer usage with copies both ways (for tests and readback). */
export const STORAGE_RW = BufferUsage.STORAGE | BufferUsage.COPY_SRC | BufferUsage.COPY_DST;
