/**
 * WebGPU flag values, fixed by the specification. render-core uses these
 * instead of the GPUBufferUsage/GPUMapMode globals so that it works in Node
 * (where Dawn's globals may not be installed on globalThis) and in browsers.
 */
export const BufferUsage = {
  MAP_READ: 0x0001,
  MAP_WRITE: 0x0002,
  COPY_SRC: 0x0004,
  COPY_DST: 0x0008,
  INDEX: 0x0010,
  VERTEX: 0x0020,
  UNIFORM: 0x0040,
  STORAGE: 0x0080,
  INDIRECT: 0x0100,
  QUERY_RESOLVE: 0x0200,
} as const;

export const MapMode = { READ: 0x0001, WRITE: 0x0002 } as const;

export const ShaderStage = { VERTEX: 0x1, FRAGMENT: 0x2, COMPUTE: 0x4 } as const;

export const TextureUsage = {
  COPY_SRC: 0x01,
  COPY_DST: 0x02,
  TEXTURE_BINDING: 0x04,
  STORAGE_BINDING: 0x08,
  RENDER_ATTACHMENT: 0x10,
} as const;

/** Storage buffer sizes must be multiples of 4 bytes; copies too. */
export function align4(bytes: number): number {
  return Math.ceil(bytes / 4) * 4;
}

/** Workgroup grid for `groups` workgroups, split over y when x would exceed the per-dimension limit. */
export function splitGroups(groups: number, maxPerDim = 65535): [number, number] {
  if (groups <= maxPerDim) return [groups, 1];
  return [maxPerDim, Math.ceil(groups / maxPerDim)];
}
