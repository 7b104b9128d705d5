"use client";
/** Whether this browser can render locally: does navigator.gpu give an adapter? */
export interface GpuStatus {
  adapter: boolean;
  description: string;
  /** A CPU-emulated adapter (SwiftShader, llvmpipe): there, the server's stream is usually faster. */
  software?: boolean;
}

export async function probeGpu(): Promise<GpuStatus> {
  const gpu = (navigator as Navigator & { gpu?: GPU }).gpu;
  if (!gpu) return { adapter: false, description: "WebGPU is not available in this browser" };
  try {
    const adapter = await gpu.requestAdapter();
    if (!adapter) return { adapter: false, description: "WebGPU gave no adapter" };
    const info = adapter.info;
    const name = [info?.vendor, info?.architecture, info?.description].filter(Boolean).join(" / ");
    const software =
      /swiftshader|llvmpipe|software|cpu/i.test(name) ||
      (adapter as GPUAdapter & { isFallbackAdapter?: boolean }).isFallbackAdapter === true;
    return { adapter: true, description: name || "adapter without a name", software };
  } catch (err) {
    return { adapter: false, description: `WebGPU failed: ${(err as Error).message}` };
  }
}
