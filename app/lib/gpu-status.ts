"use client";
/** Whether this browser can render locally: does navigator.gpu give an adapter? */
export interface GpuStatus {
  adapter: boolean;
  description: string;
}

export async function probeGpu(): Promise<GpuStatus> {
  const gpu = (navigator as Navigator & { gpu?: GPU }).gpu;
  if (!gpu) return { adapter: false, description: "WebGPU is not available in this browser" };
  try {
    const adapter = await gpu.requestAdapter();
    if (!adapter) return { adapter: false, description: "WebGPU gave no adapter" };
    const info = adapter.info;
    const name = [info?.vendor, info?.architecture, info?.description].filter(Boolean).join(" / ");
    return { adapter: true, description: name || "adapter without a name" };
  } catch (err) {
    return { adapter: false, description: `WebGPU failed: ${(err as Error).message}` };
  }
}
