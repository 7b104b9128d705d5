/**
 * GPU access for tests (Node only). Without an adapter, GPU tests skip with
 * the reason, except under CI=true, where a missing adapter is a failure.
 */
import { createNodeGpu, type NodeGpu } from "./node-device";

export interface TestGpu {
  gpu: NodeGpu | null;
  /** Why GPU tests skip; null when a device exists. */
  skipReason: string | null;
}

export async function getTestGpu(): Promise<TestGpu> {
  const quiet = { info: () => {}, warn: (m: string) => console.warn(m), error: (m: string) => console.error(m) };
  const gpu = await createNodeGpu({ log: quiet });
  if (gpu) return { gpu, skipReason: null };
  if (process.env.CI === "true") {
    throw new Error("getTestGpu: no WebGPU adapter under CI=true; install Mesa 25 lavapipe (shared/ENVIRONMENT.md)");
  }
  return { gpu: null, skipReason: "no WebGPU adapter (Dawn/Vulkan unavailable); CPU twins still tested" };
}
