/**
 * Readback: copies GPU buffers into a reusable mappable staging buffer and
 * returns CPU copies. One staging buffer per Readback, grown by powers of two.
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
  private staging: GrowableBuffer;
  private busy = false;

  constructor(readonly device: GPUDevice) {
    this.staging = new GrowableBuffer(device, "readback.staging", BufferUsage.MAP_READ | BufferUsage.COPY_DST);
  }

  /**
   * Encodes copies of `ranges` into the staging buffer on `encoder`; after the
   * encoder is submitted, `finish()` maps and returns one ArrayBuffer per range.
   */
  encode(encoder: GPUCommandEncoder, ranges: readonly ReadRange[]): () => Promise<ArrayBuffer[]> {
    if (this.busy) throw new Error("Readback.encode: previous readback not finished yet");
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
    this.staging.ensure(total);
    const staging = this.staging.buffer;
    ranges.forEach((r, i) => {
      if (r.bytes > 0) encoder.copyBufferToBuffer(r.buffer, r.offset ?? 0, staging, offsets[i], align4(r.bytes));
    });
    this.busy = true;
    return async () => {
      try {
        if (total === 0) return ranges.map(() => new ArrayBuffer(0));
        await staging.mapAsync(MapMode.READ, 0, total);
        const mapped = staging.getMappedRange(0, total);
        const out = ranges.map((r, i) => mapped.slice(offsets[i], offsets[i] + r.bytes));
        staging.unmap();
        return out;
      } finally {
        this.busy = false;
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
    this.staging.destroy();
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
