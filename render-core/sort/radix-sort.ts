/**
 * GPU stable LSD radix sort of u32 keys with u32 values: drives
 * shaders/sort/radix-sort.wgsl.ts and the scan. CPU twin: ./radix-sort.cpu.ts
 * (same pass names: radixCount, radixScatter).
 *
 * Only the low `bits` bits are sorted (tile ids need ceil(log2(numTiles))).
 * The count may live on the GPU, so sorting a GPU-produced list needs no readback.
 */
import { GRID_WGSL, WG_SCAN_WGSL } from "../../shaders/common/grid.wgsl";
import { RADIX_COUNT_WGSL, RADIX_SCATTER_WGSL } from "../../shaders/sort/radix-sort.wgsl";
import { createBuffer, type GpuDebugOptions } from "../gpu/buffers";
import { BufferUsage } from "../gpu/flags";
import { SizeProgram } from "../gpu/indirect";
import { getKernel, requireBytes, requireCount, u32c, type IndirectGrid, type Kernel } from "../gpu/kernel";
import { UniformLayout } from "../gpu/uniforms";
import { RADIX_BINS, SORT, SORT_BLOCK } from "./config";
import { radixPasses } from "./radix-sort.cpu";
import { ExclusiveScan, type GpuCount } from "./scan";

const PARAMS = new UniformLayout("RadixParams", [["shift", "u32"]] as const);
const CONSTS = {
  WG: u32c(SORT.WG),
  KPT: u32c(SORT.KPT),
  BLOCK: u32c(SORT_BLOCK),
  BINS: u32c(RADIX_BINS),
  RADIX_BITS: u32c(SORT.RADIX_BITS),
};

function countKernel(device: GPUDevice): Kernel {
  return getKernel(device, {
    label: "radixCount",
    code: [GRID_WGSL, RADIX_COUNT_WGSL],
    entryPoint: "radixCount",
    constants: CONSTS,
    bindings: [
      { name: "keys", kind: "read-only-storage" },
      { name: "hist", kind: "storage" },
      { name: "sizes", kind: "read-only-storage" },
      { name: "params", kind: "uniform" },
    ],
  });
}
function scatterKernel(device: GPUDevice): Kernel {
  return getKernel(device, {
    label: "radixScatter",
    code: [GRID_WGSL, WG_SCAN_WGSL, RADIX_SCATTER_WGSL],
    entryPoint: "radixScatter",
    constants: CONSTS,
    bindings: [
      { name: "keysIn", kind: "read-only-storage" },
      { name: "valsIn", kind: "read-only-storage" },
      { name: "hist", kind: "read-only-storage" },
      { name: "keysOut", kind: "storage" },
      { name: "valsOut", kind: "storage" },
      { name: "sizes", kind: "read-only-storage" },
      { name: "params", kind: "uniform" },
    ],
  });
}

/** Pass 1: per-block digit histogram. Twin: radix-sort.cpu.ts radixCount. */
export function radixCount(
  pass: GPUComputePassEncoder,
  device: GPUDevice,
  group: GPUBindGroup,
  grid: number | IndirectGrid,
): void {
  countKernel(device).dispatchGrid(pass, group, grid);
}

/** Pass 3: block-local stable split, then scatter. Twin: radix-sort.cpu.ts radixScatter. */
export function radixScatter(
  pass: GPUComputePassEncoder,
  device: GPUDevice,
  group: GPUBindGroup,
  grid: number | IndirectGrid,
): void {
  scatterKernel(device).dispatchGrid(pass, group, grid);
}

export interface SortedBuffers {
  /** [n] u32 sorted keys (the input buffer or the plan's scratch, by pass parity). */
  keys: GPUBuffer;
  /** [n] u32 values in key order. */
  values: GPUBuffer;
}

/** A reusable radix sort for up to `capacity` pairs. Encode once per submit. */
export class RadixSort {
  private program = new SizeProgram("radixSort");
  private gridOffset: number;
  private histNSlot: number;
  private scan: ExclusiveScan;
  /** [capacity] u32 ping-pong partners of the caller's keys and values. */
  private keysTmp: GPUBuffer;
  private valsTmp: GPUBuffer;
  /** [BINS * ceil(capacity / BLOCK)] u32 */
  private hist: GPUBuffer;
  private params: GPUBuffer[] = [];
  private groups = new WeakMap<GPUBuffer, Map<GPUBuffer, { count: GPUBindGroup[]; scatter: GPUBindGroup[] }>>();

  constructor(
    readonly device: GPUDevice,
    readonly capacity: number,
    debug?: GpuDebugOptions,
  ) {
    requireCount("RadixSort.constructor", "capacity", capacity, 2 ** 31);
    // Slot layout read by the kernels: 1 = count clamped to capacity, 2 = blocks.
    const nSlot = this.program.min(0, capacity);
    const nBlocks = this.program.ceilDiv(nSlot, SORT_BLOCK);
    if (nSlot !== 1 || nBlocks !== 2) throw new Error(`RadixSort.constructor: size slots moved (${nSlot}, ${nBlocks})`);
    this.histNSlot = this.program.mul(nBlocks, RADIX_BINS);
    this.gridOffset = this.program.grid(nSlot, SORT_BLOCK);
    this.program.build(device, debug);
    const cap = Math.max(1, capacity);
    const maxBlocks = Math.ceil(cap / SORT_BLOCK);
    const usage = BufferUsage.STORAGE | BufferUsage.COPY_SRC | BufferUsage.COPY_DST;
    this.keysTmp = createBuffer(device, "radixSort.keysTmp", cap * 4, usage, debug);
    this.valsTmp = createBuffer(device, "radixSort.valsTmp", cap * 4, usage, debug);
    this.hist = createBuffer(device, "radixSort.hist", RADIX_BINS * maxBlocks * 4, usage, debug);
    this.scan = new ExclusiveScan(device, RADIX_BINS * maxBlocks, debug);
    for (let p = 0; p < 32 / SORT.RADIX_BITS; p++) {
      this.params.push(PARAMS.createBuffer(device, `radixSort.params${p}`, { shift: p * SORT.RADIX_BITS }));
    }
  }

  /** Where the sorted count (clamped to capacity) lives after encode(): slot 1 of the size program. */
  get sortedCount(): GpuCount {
    return { buffer: this.program.sizes, offset: 4 };
  }

  /** Indirect grid of one workgroup per SORT_BLOCK sorted pairs (for passes over the sorted list). */
  get blockGrid(): { args: GPUBuffer; offset: number } {
    return { args: this.program.args, offset: this.gridOffset };
  }

  /** Bytes of GPU memory this plan holds. */
  get bytes(): number {
    return (
      this.keysTmp.size +
      this.valsTmp.size +
      this.hist.size +
      this.scan.bytes +
      this.program.sizes.size +
      this.program.args.size
    );
  }

  private bindGroups(keys: GPUBuffer, values: GPUBuffer) {
    let byVals = this.groups.get(keys);
    if (!byVals) this.groups.set(keys, (byVals = new Map()));
    let g = byVals.get(values);
    if (!g) {
      const sizes = this.program.sizes;
      const count: GPUBindGroup[] = [];
      const scatter: GPUBindGroup[] = [];
      this.params.forEach((params, p) => {
        const [kIn, vIn, kOut, vOut] =
          p % 2 === 0 ? [keys, values, this.keysTmp, this.valsTmp] : [this.keysTmp, this.valsTmp, keys, values];
        count.push(countKernel(this.device).bind({ keys: kIn, hist: this.hist, sizes, params }));
        scatter.push(
          scatterKernel(this.device).bind({
            keysIn: kIn,
            valsIn: vIn,
            hist: this.hist,
            keysOut: kOut,
            valsOut: vOut,
            sizes,
            params,
          }),
        );
      });
      g = { count, scatter };
      byVals.set(values, g);
    }
    return g;
  }

  /**
   * Encodes a stable sort of `keys` / `values` ([count] u32 each) by their
   * low `bits` bits. `count`: a number (written via the queue before this
   * submit runs) or a GPU location holding a value <= capacity.
   */
  encode(
    encoder: GPUCommandEncoder,
    keys: GPUBuffer,
    values: GPUBuffer,
    count: number | GpuCount,
    bits = 32,
  ): SortedBuffers {
    const owner = "RadixSort.encode";
    const passes = radixPasses(bits);
    const n = typeof count === "number" ? count : this.capacity;
    if (typeof count === "number") requireCount(owner, "count", count, this.capacity);
    requireBytes(owner, "keys", keys, n * 4);
    requireBytes(owner, "values", values, n * 4);
    if (keys.size < this.capacity * 4 && typeof count !== "number") {
      throw new Error(
        `${owner}: keys must hold capacity ${this.capacity} for a GPU-side count, got ${keys.size} bytes`,
      );
    }
    if (typeof count === "number") this.device.queue.writeBuffer(this.program.sizes, 0, new Uint32Array([count]));
    else this.program.copyCount(encoder, count.buffer, count.offset);
    const prep = encoder.beginComputePass({ label: "radixSort.prepare" });
    this.program.run(prep);
    prep.end();
    this.scan.setCount(encoder, this.hist, { buffer: this.program.sizes, offset: this.histNSlot * 4 });
    const groups = this.bindGroups(keys, values);
    // A count known here gives direct grids (no indirect-validation pass each); a GPU-side count, indirect ones.
    const known = typeof count === "number";
    const grid = known ? Math.ceil(count / SORT_BLOCK) : this.blockGrid;
    const histCount = known ? Math.ceil(count / SORT_BLOCK) * RADIX_BINS : undefined;
    const pass = encoder.beginComputePass({ label: "radixSort" });
    for (let p = 0; p < passes; p++) {
      radixCount(pass, this.device, groups.count[p], grid);
      this.scan.run(pass, this.hist, histCount);
      radixScatter(pass, this.device, groups.scatter[p], grid);
    }
    pass.end();
    return passes % 2 === 0 ? { keys, values } : { keys: this.keysTmp, values: this.valsTmp };
  }

  destroy(): void {
    this.keysTmp.destroy();
    this.valsTmp.destroy();
    this.hist.destroy();
    this.scan.destroy();
    this.program.destroy();
    for (const p of this.params) p.destroy();
  }
}
