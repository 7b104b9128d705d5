/**
 * Kernel helper: builds a compute pipeline from WGSL source plus constants
 * emitted from TypeScript (STYLE.md 5: one source for every constant), with an
 * explicit bind-group layout named by binding, cached per device.
 *
 * WGSL text lives in shaders/** as TypeScript string modules, because no
 * loader for raw .wgsl files works in all of tsx, vitest and Next.
 */
import { ShaderStage, splitGroups } from "./flags";
import { sameElements } from "../math/arrays";

/** A typed WGSL constant: emitted as `const NAME: type = value;`. */
export interface WgslConst {
  type: "u32" | "i32" | "f32";
  value: number;
}
export const u32c = (value: number): WgslConst => ({ type: "u32", value });
export const i32c = (value: number): WgslConst => ({ type: "i32", value });
export const f32c = (value: number): WgslConst => ({ type: "f32", value });

function literal(c: WgslConst, name: string): string {
  if (!Number.isFinite(c.value)) throw new Error(`emitConstants: ${name} must be finite, got ${c.value}`);
  if (c.type === "f32") {
    const s = String(c.value);
    return /[.e]/.test(s) ? s : `${s}.0`;
  }
  if (!Number.isInteger(c.value))
    throw new Error(`emitConstants: ${name} must be an integer for ${c.type}, got ${c.value}`);
  if (c.type === "u32") {
    if (c.value < 0 || c.value > 0xffffffff) throw new Error(`emitConstants: ${name} out of u32 range, got ${c.value}`);
    return `${c.value}u`;
  }
  return `${c.value}i`;
}

/** WGSL text declaring each constant; prepended to a kernel's source. */
export function emitConstants(consts: Record<string, WgslConst>): string {
  return Object.entries(consts)
    .map(([name, c]) => `const ${name}: ${c.type} = ${literal(c, name)};`)
    .join("\n");
}

export type BindingKind = "uniform" | "storage" | "read-only-storage" | "write-texture-rgba8";

export interface BindingSpec {
  name: string;
  kind: BindingKind;
}

export interface KernelSpec {
  /** Shown in Dawn's error messages; use the kernel's entry-point name. */
  label: string;
  /** WGSL chunks joined after the emitted constants (shared snippets first). */
  code: readonly string[];
  entryPoint: string;
  constants?: Record<string, WgslConst>;
  /** Group 0 bindings in order: binding i is bindings[i]. */
  bindings: readonly BindingSpec[];
}

export type BindingResource = GPUBuffer | GPUBufferBinding | GPUTextureView;

/** An indirect dispatch grid: three u32 at `offset` of `args`, written on the GPU. */
export interface IndirectGrid {
  args: GPUBuffer;
  offset: number;
}

function layoutEntry(b: BindingSpec, i: number): GPUBindGroupLayoutEntry {
  const visibility = ShaderStage.COMPUTE;
  switch (b.kind) {
    case "uniform":
      return { binding: i, visibility, buffer: { type: "uniform" } };
    case "storage":
      return { binding: i, visibility, buffer: { type: "storage" } };
    case "read-only-storage":
      return { binding: i, visibility, buffer: { type: "read-only-storage" } };
    case "write-texture-rgba8":
      return { binding: i, visibility, storageTexture: { access: "write-only", format: "rgba8unorm" } };
  }
}

export class Kernel {
  readonly layout: GPUBindGroupLayout;
  readonly pipeline: GPUComputePipeline;

  constructor(
    readonly device: GPUDevice,
    readonly spec: KernelSpec,
    readonly wgsl: string,
  ) {
    this.layout = device.createBindGroupLayout({ label: spec.label, entries: spec.bindings.map(layoutEntry) });
    const module = device.createShaderModule({ label: spec.label, code: wgsl });
    this.pipeline = device.createComputePipeline({
      label: spec.label,
      layout: device.createPipelineLayout({ label: spec.label, bindGroupLayouts: [this.layout] }),
      compute: { module, entryPoint: spec.entryPoint },
    });
  }

  /** A bind group from resources named as in the spec; every name is required, no extras. */
  bind(resources: Record<string, BindingResource>): GPUBindGroup {
    const names = this.spec.bindings.map((b) => b.name);
    for (const key of Object.keys(resources)) {
      if (!names.includes(key))
        throw new Error(`Kernel.bind: ${this.spec.label} has no binding "${key}" (has ${names.join(", ")})`);
    }
    const entries = this.spec.bindings.map((b, i): GPUBindGroupEntry => {
      const r = resources[b.name];
      if (r === undefined) throw new Error(`Kernel.bind: ${this.spec.label} is missing binding "${b.name}"`);
      if (b.kind === "write-texture-rgba8") return { binding: i, resource: r as GPUTextureView };
      const isBuffer = (r as GPUBufferBinding).buffer === undefined;
      return { binding: i, resource: isBuffer ? { buffer: r as GPUBuffer } : (r as GPUBufferBinding) };
    });
    return this.device.createBindGroup({ label: this.spec.label, layout: this.layout, entries });
  }

  dispatch(pass: GPUComputePassEncoder, group: GPUBindGroup, x: number, y = 1, z = 1): void {
    const max = this.device.limits.maxComputeWorkgroupsPerDimension;
    if (!(x >= 0 && y >= 0 && x <= max && y <= max && z <= max)) {
      throw new Error(`Kernel.dispatch: ${this.spec.label} grid (${x}, ${y}, ${z}) exceeds ${max} per dimension`);
    }
    if (x === 0 || y === 0 || z === 0) return;
    pass.setPipeline(this.pipeline);
    pass.setBindGroup(0, group);
    pass.dispatchWorkgroups(x, y, z);
  }

  /**
   * Encodes one compute pass running this kernel on `threads` threads,
   * `perGroup` per workgroup, the groups split over x and y past the device's
   * per-dimension limit (the kernel finds its index with linearGroup).
   */
  encodeThreads(
    encoder: GPUCommandEncoder,
    resources: Record<string, BindingResource>,
    threads: number,
    perGroup: number,
  ): void {
    const pass = encoder.beginComputePass({ label: this.spec.label });
    this.dispatchGrid(pass, this.bind(resources), Math.ceil(threads / perGroup));
    pass.end();
  }

  /**
   * Dispatches `grid`: a workgroup count known on the CPU (direct, split over
   * x and y past the per-dimension limit; the kernel finds its index with
   * linearGroup), or an indirect grid written on the GPU. Direct dispatches
   * skip the validation pass Dawn adds before every indirect one.
   */
  dispatchGrid(pass: GPUComputePassEncoder, group: GPUBindGroup, grid: number | IndirectGrid): void {
    if (typeof grid !== "number") return this.dispatchIndirect(pass, group, grid.args, grid.offset);
    const [x, y] = splitGroups(grid, this.device.limits.maxComputeWorkgroupsPerDimension);
    this.dispatch(pass, group, x, y);
  }

  /** Dispatch with the grid read from `args` at `offset` (three u32, written on the GPU). */
  dispatchIndirect(pass: GPUComputePassEncoder, group: GPUBindGroup, args: GPUBuffer, offset: number): void {
    pass.setPipeline(this.pipeline);
    pass.setBindGroup(0, group);
    pass.dispatchWorkgroupsIndirect(args, offset);
  }
}

/** Per device: kernels by label, entry point, bindings and constants, then by their code chunks. */
const cache = new WeakMap<GPUDevice, Map<string, Array<{ code: readonly string[]; kernel: Kernel }>>>();

/**
 * The kernel for `spec` on `device`, built once per distinct source and
 * constants. Called on every dispatch, so a hit builds no WGSL text: the key
 * is short and the code chunks (module-level strings) compare by identity first.
 */
export function getKernel(device: GPUDevice, spec: KernelSpec): Kernel {
  let perDevice = cache.get(device);
  if (!perDevice) {
    perDevice = new Map();
    cache.set(device, perDevice);
  }
  let key = `${spec.label}|${spec.entryPoint}|`;
  for (const b of spec.bindings) key += `${b.kind}:${b.name},`;
  if (spec.constants)
    for (const name in spec.constants) key += `|${name}=${spec.constants[name]!.type}${spec.constants[name]!.value}`;
  let entries = perDevice.get(key);
  if (!entries) {
    entries = [];
    perDevice.set(key, entries);
  }
  for (const e of entries) if (sameElements(e.code, spec.code)) return e.kernel;
  const wgsl = `// ${spec.label}\n${emitConstants(spec.constants ?? {})}\n${spec.code.join("\n")}`;
  const kernel = new Kernel(device, spec, wgsl);
  entries.push({ code: [...spec.code], kernel });
  return kernel;
}

/** STYLE 7: check a buffer against the bytes a dispatch will touch, before dispatching. */
export function requireBytes(owner: string, name: string, buffer: GPUBuffer, bytes: number): void {
  if (!(buffer.size >= bytes)) {
    throw new Error(`${owner}: ${name} holds ${buffer.size} bytes, dispatch needs ${bytes}`);
  }
}

/** STYLE 7: check a count is a non-negative integer within a limit. */
export function requireCount(owner: string, name: string, value: number, max = 0xffffffff): void {
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new Error(`${owner}: ${name} must be an integer in [0, ${max}], got ${value}`);
  }
}
