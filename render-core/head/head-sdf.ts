/**
 * The implicit (signed-distance) head that the template mesh is cast onto:
 * smooth unions of ellipsoids, cones and cylinders for the cranium, face,
 * jaw, chin, cheekbones, brow ridge, nose, lips, ears and neck, with carved
 * eye sockets and a lid shell over each eyeball. Only the mesh builder calls
 * it; the model itself is the mesh.
 *
 * Conventions (shared by every file in render-core/head/): metres; +y up;
 * +z is where the face looks (toward a frontal viewer); +x is the SUBJECT'S
 * LEFT (the viewer's right in a frontal view). Right-handed. The origin is
 * near the centre of the head, about 1 cm below eye level.
 *
 * Distances from the approximate primitives are not exact Euclidean
 * distances; the ray caster only relies on their sign and on |d| being a
 * rough step bound.
 */

/** Named proportions of the neutral head (metres). Everything symmetric is given for the subject's left (+x). */
export const HEAD = {
  /** Eyeball centre (left eye; the right one mirrors x). */
  eyeCenter: [0.032, 0.014, 0.061] as const,
  eyeballRadius: 0.012,
  /** Radius of the lid shell around the eyeball centre (lid thickness = lidRadius - eyeballRadius). */
  lidRadius: 0.0136,
  /** Half the eye fissure width (corner to corner / 2), metres along x. */
  eyeHalfWidth: 0.0135,
  /** Upper and lower lid opening at the middle of the fissure, metres above/below the eye centre. */
  lidOpenUp: 0.0074,
  lidOpenDown: 0.005,
  /** Height of the lip line (the mouth slit) at the centre. */
  mouthY: -0.0515,
  /** Half the mouth width (corner x). */
  mouthHalfWidth: 0.0245,
  /** Centre all head rays start from; the neck axis is the vertical line through it. */
  rayOrigin: [0, -0.004, 0.0] as const,
  /** The neck is an elliptic cylinder about the vertical line x = 0, z = neckAxisZ. */
  neckAxisZ: -0.016,
  /** Neck bottom plane. */
  neckBottomY: -0.2,
  /** Neck radii (x, z) at the top; it flares toward the base. */
  neckRadius: [0.054, 0.056] as const,
  /** Crown height (top of the cranium). */
  crownY: 0.116,
  /** Jaw hinge (temporomandibular joints, midpoint). */
  jawHinge: [0, -0.006, -0.004] as const,
  /** Where the head pivots on the neck (skull base). */
  neckJoint: [0, -0.04, -0.018] as const,
  /** Root joint: the neck base. */
  rootJoint: [0, -0.175, -0.015] as const,
  /** Ear centre (left) and half-size (x thickness, height, depth). */
  earCenter: [0.074, 0.004, -0.014] as const,
  earRadii: [0.012, 0.031, 0.017] as const,
} as const;

export type Vec3 = [number, number, number];

function ellipsoid(
  px: number,
  py: number,
  pz: number,
  cx: number,
  cy: number,
  cz: number,
  rx: number,
  ry: number,
  rz: number,
): number {
  const x = (px - cx) / rx;
  const y = (py - cy) / ry;
  const z = (pz - cz) / rz;
  const k0 = Math.sqrt(x * x + y * y + z * z);
  const k1 = Math.sqrt((x * x) / (rx * rx) + (y * y) / (ry * ry) + (z * z) / (rz * rz));
  if (k1 < 1e-12) return -Math.min(rx, ry, rz);
  return (k0 * (k0 - 1)) / k1;
}

function sphere(px: number, py: number, pz: number, cx: number, cy: number, cz: number, r: number): number {
  return Math.hypot(px - cx, py - cy, pz - cz) - r;
}

/** Capsule from a (radius ra) to b (radius rb), radius linear along the axis. */
function cone(
  px: number,
  py: number,
  pz: number,
  a: readonly number[],
  b: readonly number[],
  ra: number,
  rb: number,
): number {
  const bx = b[0] - a[0],
    by = b[1] - a[1],
    bz = b[2] - a[2];
  const qx = px - a[0],
    qy = py - a[1],
    qz = pz - a[2];
  const t = Math.min(1, Math.max(0, (qx * bx + qy * by + qz * bz) / (bx * bx + by * by + bz * bz)));
  return Math.hypot(qx - t * bx, qy - t * by, qz - t * bz) - (ra + (rb - ra) * t);
}

/** Polynomial smooth minimum: blends a and b over a band of width k. */
export function smin(a: number, b: number, k: number): number {
  const h = Math.max(k - Math.abs(a - b), 0) / k;
  return Math.min(a, b) - h * h * k * 0.25;
}

function smax(a: number, b: number, k: number): number {
  return -smin(-a, -b, k);
}

/** The parts of the head, kept apart so that region labels can ask which part a surface point belongs to. */
export interface HeadParts {
  /** Everything together: the surface is its zero set. */
  all: number;
  /** Cranium, face, jaw, cheeks, brow, sockets, neck (no nose, lips, ears, lids). */
  base: number;
  nose: number;
  lips: number;
  ear: number;
  lid: number;
  neck: number;
}

const NOSE_BRIDGE = [0, 0.021, 0.077] as const;
const NOSE_TIP = [0, -0.018, 0.1035] as const;

/** Neck: an elliptic cylinder about the vertical line through rayOrigin, flaring below y = -0.15, closed above inside the head. */
function neckSdf(x: number, y: number, z: number): number {
  const flare = 1 + 1.6 * Math.max(0, -0.15 - y);
  const rx = HEAD.neckRadius[0] * flare,
    rz = HEAD.neckRadius[1] * flare;
  const dz = z - HEAD.neckAxisZ;
  const radial = (Math.sqrt((x / rx) ** 2 + (dz / rz) ** 2) - 1) * Math.min(rx, rz);
  return Math.max(radial, y + 0.03);
}

export function headParts(x: number, y: number, z: number): HeadParts {
  const ax = Math.abs(x);
  const [ex, ey, ez] = HEAD.eyeCenter;

  // Cranium and the face masses below it.
  let base = ellipsoid(x, y, z, 0, 0.028, -0.013, 0.074, 0.089, 0.097);
  base = smin(base, ellipsoid(x, y, z, 0, 0.045, 0.03, 0.063, 0.058, 0.058), 0.02); // forehead
  base = smin(base, ellipsoid(x, y, z, 0, -0.016, 0.028, 0.06, 0.05, 0.058), 0.02); // maxilla and cheeks
  base = smin(base, ellipsoid(x, y, z, 0, -0.05, 0.012, 0.054, 0.04, 0.064), 0.022); // mandible
  base = smin(base, ellipsoid(x, y, z, 0, -0.079, 0.058, 0.022, 0.018, 0.022), 0.014); // chin
  base = smin(base, ellipsoid(ax, y, z, 0.047, -0.004, 0.043, 0.021, 0.015, 0.027), 0.014); // cheekbones
  base = smin(base, ellipsoid(ax, y, z, 0.024, 0.032, 0.066, 0.03, 0.011, 0.02), 0.012); // brow ridge
  // Eye sockets: carve a hollow so that the lid shell sits recessed under the brow.
  base = smax(base, -ellipsoid(ax, y, z, ex, ey + 0.001, ez + 0.017, 0.019, 0.0135, 0.017), 0.008);
  const neck = neckSdf(x, y, z);
  base = smin(base, neck, 0.012);

  const lid = sphere(ax, y, z, ex, ey, ez, HEAD.lidRadius);

  let nose = cone(x, y, z, NOSE_BRIDGE, NOSE_TIP, 0.0058, 0.0085);
  nose = smin(nose, sphere(x, y, z, 0, -0.0175, 0.1005, 0.0105), 0.006); // tip
  nose = smin(nose, cone(x, y, z, [0, -0.021, 0.099], [0, -0.03, 0.084], 0.007, 0.004), 0.006); // columella
  nose = smin(nose, ellipsoid(ax, y, z, 0.0125, -0.0245, 0.089, 0.0085, 0.0075, 0.0095), 0.005); // alae

  const upper = ellipsoid(
    x,
    y,
    z,
    0,
    -0.0445 - 0.006 * (ax / 0.025) ** 2,
    0.0865 - 0.02 * (ax / 0.025) ** 2,
    0.0255,
    0.0072,
    0.0105,
  );
  const lower = ellipsoid(
    x,
    y,
    z,
    0,
    -0.0585 + 0.004 * (ax / 0.022) ** 2,
    0.0835 - 0.02 * (ax / 0.022) ** 2,
    0.0215,
    0.0075,
    0.0105,
  );
  const lips = Math.min(upper, lower);

  // Ear: a flattened ellipsoid, tilted back, hollowed on its outer face (concha).
  const [cx, cy, cz] = HEAD.earCenter;
  const [rx, ry, rz] = HEAD.earRadii;
  const tilt = 0.25;
  const ly = (y - cy) * Math.cos(tilt) + (z - cz) * Math.sin(tilt);
  const lz = -(y - cy) * Math.sin(tilt) + (z - cz) * Math.cos(tilt);
  let ear = ellipsoid(ax, ly, lz, cx, 0, 0, rx, ry, rz);
  ear = smax(ear, -sphere(ax, ly, lz, cx + 0.016, -0.004, 0.002, 0.0125), 0.004);

  let all = smin(base, lid, 0.003);
  all = smin(all, nose, 0.007);
  all = smin(all, lips, 0.0045);
  all = smin(all, ear, 0.006);
  return { all, base, nose, lips, ear, lid, neck };
}

/** Signed distance of the whole head (negative inside). */
export function headSdf(x: number, y: number, z: number): number {
  return headParts(x, y, z).all;
}

/**
 * First exit of the ray o + t d (t > 0, o inside the head) through the
 * surface: conservative marching, then bisection. Returns t.
 */
export function castRay(o: readonly number[], d: readonly number[], maxT = 0.3): number {
  let t = 0;
  let prev = t;
  let f = headSdf(o[0], o[1], o[2]);
  if (f >= 0) throw new Error(`castRay: origin (${o.join(", ")}) is outside the head (sdf ${f})`);
  while (t < maxT) {
    prev = t;
    // Inside, |f| roughly bounds the distance to the surface; keep steps small so thin gaps are not skipped.
    t += Math.min(0.004, Math.max(0.0003, -0.6 * f));
    f = headSdf(o[0] + t * d[0], o[1] + t * d[1], o[2] + t * d[2]);
    if (f >= 0) break;
  }
  if (f < 0) throw new Error(`castRay: no exit within ${maxT} m along (${d.join(", ")})`);
  let lo = prev,
    hi = t;
  for (let i = 0; i < 30; i++) {
    const mid = 0.5 * (lo + hi);
    if (headSdf(o[0] + mid * d[0], o[1] + mid * d[1], o[2] + mid * d[2]) < 0) lo = mid;
    else hi = mid;
  }
  return 0.5 * (lo + hi);
}
