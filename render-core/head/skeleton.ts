/**
 * Five joints with FLAME's layout: 0 global (root, at the neck base),
 * 1 neck (the head turns on it, at the skull base), 2 jaw (hinge at the
 * temporomandibular joints), 3 left eye, 4 right eye (eyeball centres;
 * left = subject's left, +x). Parents: global <- neck <- {jaw, eyes}.
 * Pose: 15 numbers, axis-angle (radians) per joint in this order, each in
 * the parent's frame at rest orientation. Positive jaw x-rotation opens
 * the mouth (the chin swings down and back); positive neck y-rotation turns
 * the face toward +x (the subject's left).
 *
 * Skinning weights are smooth functions of the template position: the neck
 * blends from global (shoulders) to neck (head) between y = -0.165 and
 * -0.085; the jaw takes the lower face below a line from the lip slit to the
 * hinge, the lower lip and the lower half of the mouth interior; eyeballs
 * follow their eye joint only. Eyelids stay on the head (as in FLAME).
 */
import { HEAD } from "./head-sdf";
import { MeshPart, type TemplateMesh } from "./mesh";
import { smoothstep } from "./blendshapes";

export const JOINT_NAMES = ["global", "neck", "jaw", "leftEye", "rightEye"] as const;
export type JointName = (typeof JOINT_NAMES)[number];
export const JOINT_COUNT = 5;
/** Parent joint of each joint (-1 for the root). */
export const JOINT_PARENTS: readonly number[] = [-1, 0, 1, 1, 1];
/** Joint ids by name. */
export const Joint = { global: 0, neck: 1, jaw: 2, leftEye: 3, rightEye: 4 } as const;

/**
 * Jaw opening (radians about +x) of the canonical pose. Gaussians live in
 * this pose so that the inner lips are apart and each lip owns its own
 * points (PERSE / IMavatar use the same 0.2 rad).
 */
export const CANONICAL_JAW_OPEN = 0.2;

/** [5, 3] f32 rest positions of the joints for the neutral shape. */
export function jointRestPositions(): Float32Array {
  const [ex, ey, ez] = HEAD.eyeCenter;
  return new Float32Array([...HEAD.rootJoint, ...HEAD.neckJoint, ...HEAD.jawHinge, ex, ey, ez, -ex, ey, ez]);
}

/** Jaw influence at a head-surface point, before lip-side corrections. */
function jawField(x: number, y: number, z: number): number {
  // The line runs from the lip slit (front) up to the hinge (z = 0), then the influence fades behind the ramus.
  const t = Math.min(1, Math.max(0, (0.075 - z) / 0.075));
  const line = HEAD.mouthY + (HEAD.jawHinge[1] - 0.012 - HEAD.mouthY) * t * t;
  const band = 0.004 + 0.01 * t;
  const below = smoothstep(line + band, line - band, y);
  const back = smoothstep(-0.035, -0.008, z);
  // Under the chin the jaw drags the skin, fading down the throat.
  const throat = smoothstep(-0.135, -0.095, y);
  return below * back * throat * (1 - 0.3 * smoothstep(0.035, 0.06, Math.abs(x)) * smoothstep(-0.02, 0.02, -z));
}

/** Weight of the lip-side override: 1 across the mouth, fading past the corners. */
function lipMask(x: number, y: number): number {
  return (
    smoothstep(HEAD.mouthHalfWidth + 0.009, HEAD.mouthHalfWidth - 0.002, Math.abs(x)) *
    smoothstep(0.016, 0.008, Math.abs(y - HEAD.mouthY))
  );
}

/** [V, 5] f32 skinning weights, each row summing to 1. */
export function computeSkinWeights(mesh: TemplateMesh): Float32Array {
  const V = mesh.part.length;
  const w = new Float32Array(V * 5);
  const P = mesh.positions;
  for (let i = 0; i < V; i++) {
    const part = mesh.part[i];
    if (part === MeshPart.eyeballLeft || part === MeshPart.eyeballRight) {
      w[i * 5 + (part === MeshPart.eyeballLeft ? 3 : 4)] = 1;
      continue;
    }
    const x = P[i * 3],
      y = P[i * 3 + 1],
      z = P[i * 3 + 2];
    const head = smoothstep(-0.165, -0.085, y);
    let jaw = part === MeshPart.socketLeft || part === MeshPart.socketRight ? 0 : jawField(x, y, z);
    const side = mesh.slitSide[i];
    if (part === MeshPart.mouthBag) jaw = side < 0 ? 1 : side > 0 ? 0 : 0.5;
    else if (side !== 0 || lipMask(x, y) > 0) {
      const m =
        side !== 0 && Math.abs(x) < HEAD.mouthHalfWidth + 0.003 && Math.abs(y - HEAD.mouthY) < 0.02 ? 1 : lipMask(x, y);
      const upper = side !== 0 ? side > 0 : y > HEAD.mouthY;
      jaw = upper ? jaw * (1 - m) : jaw + (1 - jaw) * m;
    }
    w[i * 5] = 1 - head;
    w[i * 5 + 1] = head * (1 - jaw);
    w[i * 5 + 2] = head * jaw;
  }
  return w;
}
