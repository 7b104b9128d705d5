/**
 * Bind groups made once per set of resources: a training step dispatches the
 * same kernels on the same persistent buffers every step, so its bind groups
 * are built on the first step and reused after.
 */
import { splitGroups } from "../gpu/flags";
import type { BindingResource, Kernel } from "../gpu/kernel";

export class BindCache {
  private readonly ids = new WeakMap<object, number>();
  private next = 1;
  private readonly groups = new Map<string, GPUBindGroup>();

  private id(o: object): number {
    let i = this.ids.get(o);
    if (i === undefined) this.ids.set(o, (i = this.next++));
    return i;
  }

  /** The bind group of `kernel` over `resources` (every binding by name), built on first use. */
  get(kernel: Kernel, resources: Record<string, BindingResource>): GPUBindGroup {
    const parts = [String(this.id(kernel))];
    for (const name of kernel.spec.bindings.map((b) => b.name)) {
      const r = resources[name];
      if (r === undefined) throw new Error(`BindCache.get: ${kernel.spec.label} is missing binding "${name}"`);
      const b = r as GPUBufferBinding;
      parts.push(b.buffer ? `${this.id(b.buffer)}@${b.offset ?? 0}+${b.size ?? -1}` : String(this.id(r as object)));
    }
    const key = parts.join("|");
    let group = this.groups.get(key);
    if (!group) {
      group = kernel.bind(resources);
      this.groups.set(key, group);
    }
    return group;
  }

  clear(): void {
    this.groups.clear();
  }
}

/** Dispatches `threads` threads of `kernel`, `perGroup` per workgroup (grid split as linearGroup expects). */
export function dispatchThreads(
  pass: GPUComputePassEncoder,
  kernel: Kernel,
  group: GPUBindGroup,
  threads: number,
  perGroup: number,
): void {
  const [x, y] = splitGroups(Math.ceil(threads / perGroup), kernel.device.limits.maxComputeWorkgroupsPerDimension);
  kernel.dispatch(pass, group, x, y);
}
