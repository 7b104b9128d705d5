/**
 * GPU exclusive prefix sum (u32, wrapping), multi-level: drives
 * shaders/sort/scan.wgsl.ts. CPU twin: ./scan.cpu.ts (same pass names).
 *
 * The element count is read on the GPU (slot 0 of the plan's size program),
 * so a count produced by an earlier pass needs no readback.
 */
import { GRID_WGSL, WG_SCAN_WGSL } from "../../shaders/common/grid.wgsl";
import { SCAN_ADD_WGSL, SCAN_WGSL } from "../../shaders/sort/scan.wgsl";
import { createBuffer, type GpuDebugOptions } from "../gpu/buffers";
import { BufferUsage } from "../gpu/flags";
import { SizeProgram } from "../gpu/indirect";
import { getKernel, requireBytes, requireCount, u32c, type IndirectGrid, type Kernel } from "../gpu/kernel";
import { UniformLayout } from "../gpu/uniforms";

import { SORT, SORT_BLOCK } from "./config";

const SCAN_BLOCK = SORT_BLOCK;

const PARAMS = new UniformLayout("ScanParams", [["nSlot", "u32"]] as const);
const CONSTS = { WG: u32c(SORT.WG), KPT: u32c(SORT.KPT), BLOCK: u32c(SORT_BLOCK) };
const BINDINGS_BLOCKS = [
  { name: "data", kind: "storage" },
  { name: "blockSums", kind: "storage" },
  { name: "sizes", kind: "read-only-storage" },
  { name: "params", kind: "uniform" },
] as const;
const BINDINGS_ADD = [
  { name: "data", kind: "storage" },
  { name: "blockSums", kind: "read-only-storage" },
  { name: "sizes", kind: "read-only-storage" },
  { name: "params", kind: "uniform" },
] as const;

function scanBlocksKernel(device: GPUDevice): Kernel {
  return getKernel(device, {
    label: "scanBlocks",
    code: [GRID_WGSL, WG_SCAN_WGSL, SCAN_WGSL],
    entryPoint: "scanBlocks",
    constants: CONSTS,
    bindings: BINDINGS_BLOCKS,
  });
}
function scanAddKernel(device: GPUDevice): Kernel {
  return getKernel(device, {
    label: "scanAddBlockSums",
    code: [GRID_WGSL, SCAN_ADD_WGSL],
    entryPoint: "scanAddBlockSums",
    constants: CONSTS,
    bindings: BINDINGS_ADD,
  });
}

interface Level {
  /** Size-program slot holding this level's element count. */
  nSlot: number;
  /** Byte offset of this level's grid in the size program's args. */
  gridOffset: number;
  /** [ceil(cap / BLOCK)] u32: block totals, i.e. the next level's data. */
  blockSums: GPUBuffer;
  params: GPUBuffer;
}

/** Pass 1 (per level): scan blocks in place, write block totals. Twin: scan.cpu.ts scanBlocks. */
export function scanBlocks(
  pass: GPUComputePassEncoder,
  device: GPUDevice,
  group: GPUBindGroup,
  grid: number | IndirectGrid,
): void {
  scanBlocksKernel(device).dispatchGrid(pass, group, grid);
}

/** Pass 2 (per level, top down): add scanned block totals. Twin: scan.cpu.ts scanAddBlockSums. */
export function scanAddBlockSums(
  pass: GPUComputePassEncoder,
  device: GPUDevice,
  group: GPUBindGroup,
  grid: number | IndirectGrid,
): void {
  scanAddKernel(device).dispatchGrid(pass, group, grid);
}

/** Where a GPU-side count lives: one u32 at `offset` of `buffer`. */
export interface GpuCount {
  buffer: GPUBuffer;
  offset: number;
}

/**
 * A reusable exclusive scan for up to `capacity` values. Build once per
 * capacity; encode once per submit (the count slot is shared state).
 */
export class ExclusiveScan {
  readonly program: SizeProgram;
  private levels: Level[] = [];
  private groups = new WeakMap<GPUBuffer, { blocks: GPUBindGroup[]; adds: GPUBindGroup[] }>();

  constructor(
    readonly device: GPUDevice,
    /** Maximum number of values. */
    readonly capacity: number,
    debug?: GpuDebugOptions,
  ) {
    requireCount("ExclusiveScan.constructor", "capacity", capacity, 2 ** 31);
    this.program = new SizeProgram("scan");
    // GPU-side counts are clamped to capacity so that a bad count cannot write out of bounds.
    let nSlot = this.program.min(0, capacity);
    let cap = Math.max(1, capacity);
    const pending: Array<{ nSlot: number; gridOffset: number; blocks: number }> = [];
    while (true) {
      const gridOffset = this.program.grid(nSlot, SCAN_BLOCK);
      const blocks = Math.ceil(cap / SCAN_BLOCK);
      const next = this.program.ceilDiv(nSlot, SCAN_BLOCK);
      pending.push({ nSlot, gridOffset, blocks });
      if (blocks <= 1) break;
      nSlot = next;
      cap = blocks;
    }
    this.program.build(device, debug);
    this.levels = pending.map((p, i) => ({
      nSlot: p.nSlot,
      gridOffset: p.gridOffset,
      blockSums: createBuffer(
        device,
        `scan.blockSums${i}`,
        p.blocks * 4,
        BufferUsage.STORAGE | BufferUsage.COPY_SRC,
        debug,
      ),
      params: PARAMS.createBuffer(device, `scan.params${i}`, { nSlot: p.nSlot }),
    }));
  }

  /** Bytes of GPU memory this plan holds. */
  get bytes(): number {
    return (
      this.levels.reduce((s, l) => s + l.blockSums.size + l.params.size, 0) +
      this.program.sizes.size +
      this.program.args.size
    );
  }

  private bindGroups(data: GPUBuffer) {
    let g = this.groups.get(data);
    if (!g) {
      const sizes = this.program.sizes;
      const blocks = this.levels.map((l, i) => {
        const d = i === 0 ? data : this.levels[i - 1].blockSums;
        return scanBlocksKernel(this.device).bind({ data: d, blockSums: l.blockSums, sizes, params: l.params });
      });
      const adds = this.levels.slice(0, -1).map((l, i) => {
        const d = i === 0 ? data : this.levels[i - 1].blockSums;
        return scanAddKernel(this.device).bind({ data: d, blockSums: l.blockSums, sizes, params: l.params });
      });
      g = { blocks, adds };
      this.groups.set(data, g);
    }
    return g;
  }

  /**
   * Encodes an in-place exclusive scan of `data` ([count] u32) in its own
   * compute pass. `count` is a number (written with queue.writeBuffer, i.e.
   * before this submit runs) or a GPU location that must hold a value
   * <= capacity when the pass runs.
   */
  encode(encoder: GPUCommandEncoder, data: GPUBuffer, count: number | GpuCount): void {
    this.setCount(encoder, data, count);
    const pass = encoder.beginComputePass({ label: "exclusiveScan" });
    this.run(pass, data, typeof count === "number" ? count : undefined);
    pass.end();
  }

  /** The count half of encode(): outside any pass. */
  setCount(encoder: GPUCommandEncoder, data: GPUBuffer, count: number | GpuCount): void {
    const owner = "ExclusiveScan.setCount";
    if (typeof count === "number") {
      requireCount(owner, "count", count, this.capacity);
      requireBytes(owner, "data", data, count * 4);
      this.device.queue.writeBuffer(this.program.sizes, 0, new Uint32Array([count]));
    } else {
      requireBytes(owner, "data", data, this.capacity * 4);
      this.program.copyCount(encoder, count.buffer, count.offset);
    }
  }

  /**
   * The dispatch half of encode(): inside a compute pass, after setCount(). May run several times.
   * `knownCount`: the count setCount() set, when the CPU knows it (a number, or the value a GPU location
   * will hold): the grids are then direct, with no indirect-validation pass each.
   */
  run(pass: GPUComputePassEncoder, data: GPUBuffer, knownCount?: number): void {
    const groups = this.bindGroups(data);
    this.program.run(pass);
    const grids: Array<number | IndirectGrid> = [];
    let n = knownCount === undefined ? undefined : Math.min(knownCount, this.capacity);
    for (const l of this.levels) {
      grids.push(n === undefined ? { args: this.program.args, offset: l.gridOffset } : Math.ceil(n / SCAN_BLOCK));
      if (n !== undefined) n = Math.ceil(n / SCAN_BLOCK);
    }
    this.levels.forEach((_, i) => scanBlocks(pass, this.device, groups.blocks[i], grids[i]!));
    for (let i = this.levels.length - 2; i >= 0; i--) scanAddBlockSums(pass, this.device, groups.adds[i], grids[i]!);
  }

  destroy(): void {
    for (const l of this.levels) {
      l.blockSums.destroy();
      l.params.destroy();
    }
    this.program.destroy();
  }
}
