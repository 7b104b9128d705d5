/**
 * A command encoder whose compute passes count their direct and indirect
 * dispatches (Dawn adds a validation pass before every indirect one): for
 * the render benchmark and the tests that pin how a frame dispatches.
 */
export function countingEncoder(real: GPUCommandEncoder): {
  encoder: GPUCommandEncoder;
  counts: { direct: number; indirect: number };
} {
  const counts = { direct: 0, indirect: 0 };
  const bound = (target: object, prop: string | symbol) => {
    const v = Reflect.get(target, prop) as unknown;
    return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
  };
  const encoder = new Proxy(real, {
    get(target, prop) {
      if (prop !== "beginComputePass") return bound(target, prop);
      return (desc?: GPUComputePassDescriptor) =>
        new Proxy(target.beginComputePass(desc), {
          get(pass, name) {
            if (name === "dispatchWorkgroups") counts.direct++;
            if (name === "dispatchWorkgroupsIndirect") counts.indirect++;
            return bound(pass, name);
          },
        });
    },
  });
  return { encoder, counts };
}
