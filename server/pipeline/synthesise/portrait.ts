/**
 * Portraits the project renders itself: one still of an identity with its
 * attributes, from a chosen angle, at a high resolution, with the exact 2D
 * positions of the 68 landmarks. The portrait pipeline's tests use them as
 * photographs whose truth is known (the project ships no photographs).
 */
import sharp from "sharp";
import {
  createHeadParams,
  landmarkPositions,
  poseVertices,
  rodrigues,
  type HeadModel,
} from "../../../render-core/head";
import { orbitCamera } from "../../../render-core/math/camera";
import type { Camera } from "../../../render-core/math/camera";
import { renderMeshCpu } from "../../../render-core/mesh/render.cpu";
import type { GpuMeshRenderer } from "../../../render-core/mesh/renderer";
import type { MeshTexture } from "../../../render-core/mesh/scene";
import type { Params } from "./attributes";
import { identityColours, identityLights, type Identity } from "./identity";
import { buildScene, regionFaces } from "./scene";

export interface PortraitOptions {
  head: HeadModel;
  identity: Identity;
  /** Per-vertex albedo [V, 3]; default identityColours(identity). */
  colours?: Float32Array;
  /** The identity's UV albedo (loadIdentityTexture): the head is drawn with it, tinted by colour edits. */
  texture?: MeshTexture | null;
  /** The identity's UV hair texture (loadIdentityTexture(..., "hairTexture")): the person's own hair colours. */
  hairTexture?: MeshTexture | null;
  attributes?: Record<string, Params>;
  /** Image size in pixels (square). Default 512. */
  size?: number;
  /** Head rotation, degrees: yaw turns the face toward the subject's left (+x), pitch nods down, roll tilts. */
  yawDeg?: number;
  pitchDeg?: number;
  rollDeg?: number;
  /** Expression coefficients (24); default neutral. */
  expression?: ArrayLike<number>;
  /** Jaw opening, radians about the jaw joint's x axis (the head model's jaw is a joint, not a blendshape). Default 0. */
  jawRad?: number;
  /** Camera distance in metres (default 0.75) and vertical field of view (default 30). */
  distance?: number;
  fovYDeg?: number;
  background?: [number, number, number];
  gpu?: GpuMeshRenderer | null;
}

export interface Portrait {
  width: number;
  height: number;
  /** [H, W, 3] u8 RGB. */
  rgb: Uint8Array;
  /** [H, W] f32 coverage of the person (head, hair, accessories). */
  mask: Float32Array;
  /** [68, 2] pixel positions of the iBUG landmarks (centre of pixel (i, j) at (i + 0.5, j + 0.5)). */
  landmarks: Float32Array;
  camera: Camera;
  /** The head parameters it was posed with (pose[0..2] is the global rotation). */
  pose: Float32Array;
  expression: Float32Array;
}

/** Projects world points [N, 3] with a camera to pixels [N, 2]. */
export function projectPoints(camera: Camera, points: Float32Array): Float32Array {
  const m = camera.worldToCamera,
    n = points.length / 3,
    out = new Float32Array(n * 2);
  for (let i = 0; i < n; i++) {
    const [x, y, z] = [points[i * 3]!, points[i * 3 + 1]!, points[i * 3 + 2]!];
    const cx = m[0]! * x + m[1]! * y + m[2]! * z + m[3]!;
    const cy = m[4]! * x + m[5]! * y + m[6]! * z + m[7]!;
    const cz = m[8]! * x + m[9]! * y + m[10]! * z + m[11]!;
    out[i * 2] = (camera.fx * cx) / cz + camera.cx;
    out[i * 2 + 1] = (camera.fy * cy) / cz + camera.cy;
  }
  return out;
}

/** Axis-angle of the rotation R_y(yaw) R_x(pitch) R_z(roll). */
function eulerToAxisAngle(yaw: number, pitch: number, roll: number): [number, number, number] {
  const Ry = rodrigues(0, yaw, 0),
    Rx = rodrigues(pitch, 0, 0),
    Rz = rodrigues(0, 0, roll);
  const mul = (a: Float64Array, b: Float64Array) =>
    Float64Array.from(
      { length: 9 },
      (_, k) =>
        a[Math.floor(k / 3) * 3]! * b[k % 3]! +
        a[Math.floor(k / 3) * 3 + 1]! * b[3 + (k % 3)]! +
        a[Math.floor(k / 3) * 3 + 2]! * b[6 + (k % 3)]!,
    );
  const R = mul(mul(Ry, Rx), Rz);
  const angle = Math.acos(Math.min(1, Math.max(-1, (R[0]! + R[4]! + R[8]! - 1) / 2)));
  if (angle < 1e-9) return [0, 0, 0];
  const s = 2 * Math.sin(angle);
  return [((R[7]! - R[5]!) / s) * angle, ((R[2]! - R[6]!) / s) * angle, ((R[3]! - R[1]!) / s) * angle];
}

export async function renderPortrait(o: PortraitOptions): Promise<Portrait> {
  const size = o.size ?? 512;
  const DEG = Math.PI / 180;
  const pose = new Float32Array(o.head.jointNames.length * 3);
  pose.set(eulerToAxisAngle((o.yawDeg ?? 0) * DEG, (o.pitchDeg ?? 0) * DEG, (o.rollDeg ?? 0) * DEG), 0);
  pose[o.head.jointNames.indexOf("jaw") * 3] = o.jawRad ?? 0;
  const expression = Float32Array.from(o.expression ?? new Float32Array(o.head.expressionNames.length));
  const camera = orbitCamera({
    width: size,
    height: size,
    distance: o.distance ?? 0.75,
    fovYDeg: o.fovYDeg ?? 30,
    target: [0, -0.01, 0],
  });
  const frame = { expression, pose };
  const draws = buildScene({
    head: o.head,
    identity: o.identity,
    baseColours: o.colours ?? identityColours(o.identity, o.head),
    regions: regionFaces(o.head),
    attributes: o.attributes ?? {},
    frame,
    texture: o.texture,
    hairTexture: o.hairTexture,
  });
  const background = o.background ?? [0.55, 0.6, 0.66];
  const lights = identityLights(o.identity);
  const image = o.gpu
    ? await o.gpu.render(draws, camera, { background, lights })
    : renderMeshCpu(draws, camera, { background, lights });
  const rgb = new Uint8Array(size * size * 3);
  for (let i = 0; i < rgb.length; i++) rgb[i] = Math.round(Math.min(1, Math.max(0, image.rgb[i]!)) * 255);
  const posed = poseVertices(o.head, createHeadParams(o.head, { shape: o.identity.shape, expression, pose }));
  return {
    width: size,
    height: size,
    rgb,
    mask: Float32Array.from(image.mask),
    landmarks: projectPoints(camera, landmarkPositions(o.head, posed)),
    camera,
    pose,
    expression,
  };
}

/** The portrait as an encoded image file. */
export function portraitFile(p: Portrait, format: "png" | "jpeg" = "png"): Promise<Buffer> {
  const img = sharp(Buffer.from(p.rgb), { raw: { width: p.width, height: p.height, channels: 3 } });
  return (format === "png" ? img.png() : img.jpeg({ quality: 92 })).toBuffer();
}
