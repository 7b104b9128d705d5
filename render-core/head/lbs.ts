/**
 * WebGPU host for shaders/head/lbs.wgsl.ts: params -> posed vertices on the
 * GPU. CPU twin: ./lbs.cpu.ts (same algorithm, same function name
 * poseVertices); the 5 joint matrices are computed by the twin's
 * jointTransforms() and uploaded, the kernel does blendshapes + skinning.
 * The device is passed in; static model buffers are uploaded once.
 */
import { GRID_WGSL } from "../../shaders/common/grid.wgsl";
import { LBS_WGSL } from "../../shaders/head/lbs.wgsl";
import { BufferUsage, splitGroups } from "../gpu/flags";
import { createBuffer, createBufferFrom, type GpuDebugOptions } from "../gpu/buffers";
import { getKernel, requireBytes, u32c, type Kernel } from "../gpu/kernel";
import { readBuffer } from "../gpu/readback";
import { UniformLayout } from "../gpu/uniforms";
import { type HeadModel } from "./head-model";
import { checkParams, jointTransforms, type HeadParams } from "./lbs.cpu";
import { JOINT_COUNT } from "./skeleton";

/** Threads per workgroup of poseVertices. */
export const LBS_WG = 64;

/** Uniform of poseVertices; its WGSL struct text is emitted from this list. */
export const LBS_PARAMS = new UniformLayout("LbsParams", [
  ["vertexCount", "u32"],
  ["shapeCount", "u32"],
  ["exprCount", "u32"],
  ["pad", "u32"],
] as const);

const BINDINGS = [
  { name: "params", kind: "uniform" },
  { name: "restPos", kind: "read-only-storage" },
  { name: "shapeDirs", kind: "read-only-storage" },
  { name: "exprDirs", kind: "read-only-storage" },
  { name: "weights", kind: "read-only-storage" },
  { name: "coeffs", kind: "read-only-storage" },
  { name: "joints", kind: "read-only-storage" },
  { name: "outPos", kind: "storage" },
] as const;

function lbsKernel(device: GPUDevice): Kernel {
  return getKernel(device, {
    label: "poseVertices",
    code: [LBS_PARAMS.wgsl, GRID_WGSL, LBS_WGSL],
    entryPoint: "poseVertices",
    constants: { WG: u32c(LBS_WG), JOINT_COUNT: u32c(JOINT_COUNT) },
    bindings: BINDINGS,
  });
}

/** GPU-resident model data for posing. */
export interface HeadLbs {
  device: GPUDevice;
  model: HeadModel;
  params: GPUBuffer;
  restPos: GPUBuffer;
  shapeDirs: GPUBuffer;
  exprDirs: GPUBuffer;
  weights: GPUBuffer;
  /** [S + E] f32, rewritten per call. */
  coeffs: GPUBuffer;
  /** [J, 12] f32, rewritten per call. */
  joints: GPUBuffer;
  destroy(): void;
}

export function createHeadLbs(device: GPUDevice, model: HeadModel): HeadLbs {
  const S = model.shapeNames.length,
    E = model.expressionNames.length;
  const ro = BufferUsage.STORAGE;
  const lbs: HeadLbs = {
    device,
    model,
    params: LBS_PARAMS.createBuffer(device, "head.lbsParams", {
      vertexCount: model.vertexCount,
      shapeCount: S,
      exprCount: E,
      pad: 0,
    }),
    restPos: createBufferFrom(device, "head.restPos", model.template, ro),
    shapeDirs: createBufferFrom(device, "head.shapeDirs", model.shapeDirs, ro),
    exprDirs: createBufferFrom(device, "head.exprDirs", model.exprDirs, ro),
    weights: createBufferFrom(device, "head.weights", model.skinWeights, ro),
    coeffs: createBuffer(device, "head.coeffs", (S + E) * 4, ro | BufferUsage.COPY_DST),
    joints: createBuffer(device, "head.joints", JOINT_COUNT * 12 * 4, ro | BufferUsage.COPY_DST),
    destroy() {
      for (const b of [lbs.params, lbs.restPos, lbs.shapeDirs, lbs.exprDirs, lbs.weights, lbs.coeffs, lbs.joints])
        b.destroy();
    },
  };
  return lbs;
}

/**
 * Encodes params -> posed vertices into `outPos` ([V, 3] f32, STORAGE).
 * Uploads the coefficients and joint matrices through the queue first.
 */
export function poseVertices(lbs: HeadLbs, encoder: GPUCommandEncoder, params: HeadParams, outPos: GPUBuffer): void {
  const { model, device } = lbs;
  checkParams("poseVertices", model, params);
  const V = model.vertexCount,
    S = model.shapeNames.length,
    E = model.expressionNames.length;
  requireBytes("poseVertices", "outPos", outPos, V * 12);
  const coeffs = new Float32Array(S + E);
  coeffs.set(params.shape, 0);
  coeffs.set(params.expression, S);
  device.queue.writeBuffer(lbs.coeffs, 0, coeffs);
  device.queue.writeBuffer(lbs.joints, 0, new Float32Array(jointTransforms(model, params)));
  const kernel = lbsKernel(device);
  const group = kernel.bind({
    params: lbs.params,
    restPos: lbs.restPos,
    shapeDirs: lbs.shapeDirs,
    exprDirs: lbs.exprDirs,
    weights: lbs.weights,
    coeffs: lbs.coeffs,
    joints: lbs.joints,
    outPos,
  });
  const [gx, gy] = splitGroups(Math.ceil(V / LBS_WG), device.limits.maxComputeWorkgroupsPerDimension);
  const pass = encoder.beginComputePass({ label: "poseVertices" });
  kernel.dispatch(pass, group, gx, gy);
  pass.end();
}

/** Convenience: runs poseVertices into a fresh buffer and reads it back ([V, 3] f32). */
export async function readPosedVertices(
  lbs: HeadLbs,
  params: HeadParams,
  debug?: GpuDebugOptions,
): Promise<Float32Array> {
  const bytes = lbs.model.vertexCount * 12;
  const out = createBuffer(lbs.device, "head.posed", bytes, BufferUsage.STORAGE | BufferUsage.COPY_SRC, debug);
  try {
    const encoder = lbs.device.createCommandEncoder({ label: "poseVertices" });
    poseVertices(lbs, encoder, params, out);
    lbs.device.queue.submit([encoder.finish()]);
    return new Float32Array(await readBuffer(lbs.device, out, bytes));
  } finally {
    out.destroy();
  }
}
