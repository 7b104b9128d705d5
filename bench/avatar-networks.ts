/**
 * Avatar network forward time (npm run bench:avatar-networks): the geometry,
 * deformer and gaussian MLPs for N points, CPU twin and WebGPU (Dawn), both
 * presets. A bake (latent change) runs the geometry network once per Gaussian.
 * Env: BENCH_POINTS ("20000,100000"), BENCH_PRESETS ("compact,paper").
 */
import { COMPACT, PAPER, type AvatarModelConfig } from "../render-core/avatar/config";
import { initMlp, mlpForward, type MlpSpec } from "../render-core/avatar/mlp";
import { GpuMlp } from "../render-core/avatar/mlp-gpu";
import { deformerSpec, gaussianSpec, geometrySpec } from "../render-core/avatar/networks";
import { createNodeGpu } from "../server/gpu/node-device";

const POINTS = (process.env.BENCH_POINTS ?? "20000,100000").split(",").map(Number);
const PRESETS: Record<string, AvatarModelConfig> = { compact: COMPACT, paper: PAPER };
const chosen = (process.env.BENCH_PRESETS ?? "compact,paper").split(",");

const gpu = await createNodeGpu({ log: { info: () => {}, warn: () => {}, error: console.error } });
console.log(`adapter: ${gpu ? `${gpu.adapterInfo.vendor} / ${gpu.adapterInfo.description}` : "none"}`);
console.log("| preset | network | points | CPU ms | WebGPU ms (incl. upload + readback) |");
console.log("|---|---|---:|---:|---:|");
for (const name of chosen) {
  const config = PRESETS[name]!;
  const nets: Array<[string, MlpSpec]> = [
    ["geometry", geometrySpec(config)],
    ["deformer", deformerSpec(config)],
    ["gaussian", gaussianSpec(config)],
  ];
  for (const n of POINTS) {
    for (const [net, spec] of nets) {
      const params = initMlp(spec, 1);
      const input = new Float32Array(n * spec.inputs).map((_, i) => Math.sin(i));
      // The paper trunk on one CPU thread takes minutes at 100k points: time a slice and scale.
      const cpuPoints = Math.min(n, name === "paper" ? 2000 : n);
      let t = performance.now();
      mlpForward(spec, params, input.subarray(0, cpuPoints * spec.inputs), cpuPoints);
      const cpuMs = ((performance.now() - t) * n) / cpuPoints;
      let gpuMs = NaN;
      if (gpu) {
        const mlp = new GpuMlp(gpu.device, spec, params);
        await mlp.forward(input.subarray(0, 64 * spec.inputs), 64); // compile
        t = performance.now();
        await mlp.forward(input, n);
        gpuMs = performance.now() - t;
        mlp.destroy();
      }
      console.log(
        `| ${name} | ${net} | ${n} | ${cpuMs.toFixed(0)}${cpuPoints < n ? ` (from ${cpuPoints})` : ""} | ${gpuMs.toFixed(0)} |`,
      );
    }
  }
}
gpu?.destroy();
