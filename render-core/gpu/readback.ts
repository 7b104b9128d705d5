/**
 * Readback: copies GPU buffers into reusable mappable staging buffers and
 * returns CPU copies. A ring of `slots` staging buffers (grown by powers of
 * two): with more than one, a frame can be encoded and submitted while the
 * previous one is still being mapped, so readbacks overlap the GPU's work.
 */
import { BufferUsage, MapMode, align4 } from "./flags";
import { GrowableBuffer } from "./buffers";

export interface ReadRange {
  buffer: GPUBuffer;
  /** Byte offset into `buffer` (multiple of 4). */
  offset?: number;
  /** Bytes to read (rounded up to 4). */
  bytes: number;
}

export class Readback {
  private readonly ring: Array<{ staging: GrowableBuffer; busy: boolean }> = [];

  constructor(
    readonly device: GPUDevice,
    /** Readbacks that may be in flight at once. */
    readonly slots = 1,
  ) {
    if (!Number.isInteger(slots) || slots < 1)
      throw new Error(`Readback.constructor: slots must be a positive integer, got ${slots}`);
  }

  /** Readbacks encoded and not finished yet. */
  get inFlight(): number {
    return this.ring.filter((s) => s.busy).length;
  }

  private freeSlot(): { staging: GrowableBuffer; busy: boolean } {
    const free = this.ring.find((s) => !s.busy);
    if (free) return free;
    if (this.ring.length >= this.slots)
      throw new Error(`Readback.encode: all ${this.slots} staging buffers are still being read`);
    const slot = {
      staging: new GrowableBuffer(
        this.device,
        `readback.staging${this.ring.length}`,
        BufferUsage.MAP_READ | BufferUsage.COPY_DST,
      ),
      busy: false,
    };
    this.ring.push(slot);
    return slot;
  }

  /**
   * Encodes copies of `ranges` into the staging buffer on `encoder`; after the
   * encoder is submitted, `finish()` maps and returns one ArrayBuffer per range.
   */
  encode(encoder: GPUCommandEncoder, ranges: readonly ReadRange[]): () => Promise<ArrayBuffer[]> {
    const slot = this.freeSlot();
    const offsets: number[] = [];
    let total = 0;
    for (const r of ranges) {
      const off = r.offset ?? 0;
      if (off % 4 !== 0) throw new Error(`Readback.encode: offset must be a multiple of 4, got ${off}`);
      if (off + align4(r.bytes) > r.buffer.size) {
        throw new Error(
          `Readback.encode: range [${off}, ${off + r.bytes}) exceeds ${r.buffer.label} of ${r.buffer.size} bytes`,
        );
      }
      offsets.push(total);
      total += align4(r.bytes);
    }
    slot.staging.ensure(total);
    const staging = slot.staging.buffer;
    ranges.forEach((r, i) => {
      if (r.bytes > 0) encoder.copyBufferToBuffer(r.buffer, r.offset ?? 0, staging, offsets[i], align4(r.bytes));
    });
    slot.busy = true;
    return async () => {
      try {
        if (total === 0) return ranges.map(() => new ArrayBuffer(0));
        await staging.mapAsync(MapMode.READ, 0, total);
        const mapped = staging.getMappedRange(0, total);
        const out = ranges.map((r, i) => mapped.slice(offsets[i], offsets[i] + r.bytes));
        staging.unmap();
        return out;
      } finally {
        slot.busy = false;
      }
    };
  }

  /** Reads ranges now (submits its own command buffer). */
  async read(ranges: readonly ReadRange[]): Promise<ArrayBuffer[]> {
    const encoder = this.device.createCommandEncoder({ label: "readback" });
    const finish = this.encode(encoder, ranges);
    this.device.queue.submit([encoder.finish()]);
    return finish();
  }

  destroy(): void {
    for (const s of this.ring) s.staging.destroy();
    this.ring.length = 0;
  }
}

/** One-off read of a whole buffer (tests). */
export async function readBuffer(
  device: GPUDevice,
  buffer: GPUBuffer,
  bytes = buffer.size,
  offset = 0,
): Promise<ArrayBuffer> {
  const rb = new Readback(device);
  try {
    const [out] = await rb.read([{ buffer, offset, bytes }]);
    return out;
  } finally {
    rb.destroy();
  }
}
