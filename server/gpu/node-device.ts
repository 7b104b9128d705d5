/**
 * WebGPU in Node through Dawn (npm package `webgpu`). The one place where
 * device errors become hard, logged failures (STYLE.md 7).
 *
 * Without a GPU, Dawn runs on Mesa's llvmpipe Vulkan driver; without Vulkan
 * at all this returns null (with a logged reason) and callers fall back to
 * the CPU twin.
 */

export interface AdapterSummary {
  vendor: string;
  architecture: string;
  description: string;
}

export interface NodeGpu {
  device: GPUDevice;
  adapterInfo: AdapterSummary;
  /** The first uncaptured error or loss, if any (also reported to onFailure). */
  readonly failure: Error | null;
  /** Destroys the device; a loss after this is expected and not a failure. */
  destroy(): void;
}

export interface NodeGpuOptions {
  /**
   * Called once per uncaptured error or unexpected device loss, after it has
   * been logged. Default: rethrow on the next tick, i.e. crash the process
   * (tests fail loudly, servers restart instead of rendering garbage).
   */
  onFailure?: (error: Error) => void;
  /** Extra Dawn toggles for create(), e.g. "enable-dawn-features=...". */
  dawnFlags?: string[];
  /** Where to log; default console. */
  log?: Pick<Console, "info" | "warn" | "error">;
}

/** Dawn toggles that drop validation and robustness (for a trusted server path; tests keep validation). */
export const SKIP_VALIDATION_FLAGS = "enable-dawn-features=skip_validation,disable_robustness";

/** Limits raised to the adapter's maximum: big splat clouds need big storage buffers. */
const RAISED_LIMITS = [
  "maxStorageBufferBindingSize",
  "maxBufferSize",
  "maxStorageBuffersPerShaderStage",
  "maxComputeWorkgroupStorageSize",
  "maxComputeInvocationsPerWorkgroup",
  "maxComputeWorkgroupSizeX",
  "maxComputeWorkgroupsPerDimension",
] as const;

/**
 * Dawn's `create()` result (a navigator.gpu lookalike) must stay reachable
 * while its devices live, or the native instance may be collected under them.
 */
const liveInstances = new Set<GPU>();

export async function createNodeGpu(options: NodeGpuOptions = {}): Promise<NodeGpu | null> {
  const log = options.log ?? console;
  let gpu: GPU;
  try {
    const webgpu = await import("webgpu");
    // Install Dawn's GPU* classes/flags as globals where missing, for code that expects browser globals.
    for (const [k, v] of Object.entries(webgpu.globals as Record<string, unknown>)) {
      if (!(k in globalThis)) (globalThis as Record<string, unknown>)[k] = v;
    }
    gpu = webgpu.create(options.dawnFlags ?? []);
  } catch (err) {
    log.warn(`createNodeGpu: Dawn could not start (${(err as Error).message}); using no GPU`);
    return null;
  }
  let adapter: GPUAdapter | null;
  try {
    adapter = await gpu.requestAdapter({ powerPreference: "high-performance" });
  } catch (err) {
    log.warn(`createNodeGpu: requestAdapter failed (${(err as Error).message}); using no GPU`);
    return null;
  }
  if (!adapter) {
    log.warn(
      "createNodeGpu: no WebGPU adapter (is a Vulkan driver installed? see shared/ENVIRONMENT.md); using no GPU",
    );
    return null;
  }
  const requiredLimits: Record<string, number> = {};
  for (const name of RAISED_LIMITS) {
    const v = (adapter.limits as unknown as Record<string, number | undefined>)[name];
    if (typeof v === "number") requiredLimits[name] = v;
  }
  let device: GPUDevice;
  try {
    device = await adapter.requestDevice({ label: "perse", requiredLimits });
  } catch (err) {
    log.warn(`createNodeGpu: requestDevice failed (${(err as Error).message}); using no GPU`);
    return null;
  }
  liveInstances.add(gpu);
  const info = adapter.info;
  const adapterInfo: AdapterSummary = {
    vendor: info.vendor,
    architecture: info.architecture,
    description: info.description,
  };

  let failure: Error | null = null;
  let destroyed = false;
  const fail = (error: Error) => {
    failure ??= error;
    log.error(error.message);
    if (options.onFailure) options.onFailure(error);
    else
      setTimeout(() => {
        throw error;
      }, 0);
  };
  device.addEventListener("uncapturederror", (ev) => {
    const e = (ev as GPUUncapturedErrorEvent).error;
    fail(new Error(`createNodeGpu: uncaptured WebGPU ${e.constructor?.name ?? "error"}: ${e.message}`));
  });
  void device.lost.then((lost) => {
    liveInstances.delete(gpu);
    if (destroyed || lost.reason === "destroyed") return;
    fail(new Error(`createNodeGpu: device lost (${lost.reason}): ${lost.message}`));
  });
  log.info(`createNodeGpu: ${adapterInfo.vendor} / ${adapterInfo.architecture} / ${adapterInfo.description}`);
  return {
    device,
    adapterInfo,
    get failure() {
      return failure;
    },
    destroy() {
      destroyed = true;
      device.destroy();
    },
  };
}

/**
 * Whether an adapter is a CPU implementation of WebGPU (Mesa's llvmpipe or
 * lavapipe, SwiftShader): there the CPU twins on a worker thread render a
 * streamed frame faster than Dawn does (docs/benchmarks.md, streaming).
 */
export function isSoftwareAdapter(info: AdapterSummary): boolean {
  return /llvmpipe|lavapipe|swiftshader|softpipe/i.test(`${info.vendor} ${info.architecture} ${info.description}`);
}
