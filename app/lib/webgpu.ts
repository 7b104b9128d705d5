"use client";
/** The browser's WebGPU device for local rendering, or the reason there is none. */
export type DeviceResult =
  { device: GPUDevice; adapterName: string; software: boolean } | { device: null; reason: string };

export async function requestBrowserDevice(): Promise<DeviceResult> {
  const gpu = (navigator as Navigator & { gpu?: GPU }).gpu;
  if (!gpu) return { device: null, reason: "This browser has no WebGPU." };
  const adapter = await gpu.requestAdapter();
  if (!adapter) return { device: null, reason: "WebGPU gave no adapter." };
  // Large scenes need the adapter's storage limits, not the defaults.
  const device = await adapter.requestDevice({
    requiredLimits: {
      maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
      maxBufferSize: adapter.limits.maxBufferSize,
      maxStorageBuffersPerShaderStage: adapter.limits.maxStorageBuffersPerShaderStage,
    },
  });
  device.addEventListener("uncapturederror", (e) =>
    console.error("WebGPU error:", (e as GPUUncapturedErrorEvent).error.message),
  );
  const info = adapter.info;
  const name = [info?.vendor, info?.architecture, info?.description].filter(Boolean).join(" / ") || "WebGPU adapter";
  // Software adapters (SwiftShader, llvmpipe) render on the CPU.
  const software =
    /swiftshader|llvmpipe|software|cpu/i.test(name) ||
    (adapter as GPUAdapter & { isFallbackAdapter?: boolean }).isFallbackAdapter === true;
  return { device, adapterName: name, software };
}
