/**
 * Expression blendshapes: 24 procedural directions (jaw opening is the jaw
 * joint, not a blendshape). L/R mean the SUBJECT'S left (+x) and right.
 * Eyeballs never move with expressions (gaze is the eye joints).
 *
 * Lids: blink and squint rotate lid vertices about the eyeball centre
 * (axis +x), so they slide over the lid shell instead of cutting through
 * the eyeball. The per-column angle brings the upper lid edge down to a
 * meeting line 30 % of the lower opening below the eye centre; it fades out
 * over LID_FADE radians of elevation above the edge (below for the lower lid).
 * A linear blendshape follows the chord of that rotation, which stays
 * outside the eyeball for the angles used (sag < 1 mm, shell gap 1.6 mm).
 */
import { HEAD } from "./head-sdf";
import { MeshPart } from "./mesh";
import { Region } from "./regions";
import { bump, bumpE, eyeCentre, lipUpper, sideOf, smoothstep, type Field, type FieldVertex } from "./blendshapes";

const sgn = (x: number) => (x >= 0 ? 1 : -1);
const MOUTH = [0, HEAD.mouthY, 0.085] as const;
const CORNER = [HEAD.mouthHalfWidth, HEAD.mouthY + 0.001, 0.074] as const;
const LID_FADE = 1.3;
const MEET = 0.3;

/** Expression coefficient names in order (UI sliders read this list). */
export const EXPRESSION_NAMES = [
  "smileL",
  "smileR",
  "frown",
  "lipPucker",
  "lipPress",
  "mouthLeft",
  "mouthRight",
  "cheekPuff",
  "browInnerRaiseL",
  "browInnerRaiseR",
  "browOuterRaiseL",
  "browOuterRaiseR",
  "browFurrow",
  "blinkL",
  "blinkR",
  "squintL",
  "squintR",
  "noseWrinkle",
  "upperLipRaise",
  "lowerLipDepress",
  "mouthStretch",
  "eyeWideL",
  "eyeWideR",
  "jawForward",
] as const;
export type ExpressionName = (typeof EXPRESSION_NAMES)[number];

/** Opening profile of the fissure at lateral position u in [-1, 1] (same as the mesh's). */
function lidProfile(ax: number): number {
  const u = Math.min(1, Math.abs((ax - HEAD.eyeCenter[0]) / HEAD.eyeHalfWidth));
  return Math.pow(Math.max(0, 1 - u * u), 0.65);
}

/**
 * Offset that rotates a lid vertex of eye `sign` about the eye's x-axis:
 * `upperAmount` of the full closing angle for the upper lid, `lowerAmount`
 * of the lower lid's rise. Zero away from the eye and for non-lid vertices.
 */
function lidRotation(v: FieldVertex, sign: number, upperAmount: number, lowerAmount: number): [number, number, number] {
  const { p } = v;
  if (v.part !== MeshPart.head || sgn(p[0]) !== sign) return [0, 0, 0];
  const c = eyeCentre(sign);
  const dy = p[1] - c[1],
    dz = p[2] - c[2];
  if (dz <= 0 || Math.hypot(p[0] - c[0], dy, dz) > 0.03) return [0, 0, 0];
  const R = HEAD.lidRadius;
  const a = lidProfile(Math.abs(p[0]));
  const eUp = Math.asin(Math.min(1, (HEAD.lidOpenUp * a) / R));
  const eLow = -Math.asin(Math.min(1, (HEAD.lidOpenDown * a) / R));
  const eMeet = -Math.asin(Math.min(1, (MEET * HEAD.lidOpenDown * a) / R));
  const e = Math.atan2(dy, dz);
  const upper = v.side !== 0 ? v.side > 0 : dy > 0;
  // Away from the lid edge the fissure profile (steep at the corners) gives way to a smoother one, so skin
  // above the corners is not sheared.
  const u = Math.min(1, Math.abs((Math.abs(p[0]) - HEAD.eyeCenter[0]) / HEAD.eyeHalfWidth));
  const smooth = Math.pow(1 - u * u, 1.5) / Math.max(1e-6, a);
  let angle: number;
  if (upper) {
    const t = smoothstep(0, 0.5, e - eUp);
    angle = upperAmount * (eUp - eMeet) * (1 - t + t * Math.min(1, smooth)) * (1 - smoothstep(0, LID_FADE, e - eUp));
  } else {
    const t = smoothstep(0, 0.4, eLow - e);
    angle =
      -lowerAmount * (eMeet - eLow) * (1 - t + t * Math.min(1, smooth)) * (1 - smoothstep(0, LID_FADE * 0.7, eLow - e));
  }
  // Fade with distance from the eye centre so the brow and cheek stay put.
  angle *= 1 - smoothstep(0.014, 0.036, Math.hypot(p[0] - c[0], dy, dz));
  const ca = Math.cos(angle),
    sa = Math.sin(angle);
  return [0, dy * ca - dz * sa - dy, dy * sa + dz * ca - dz];
}

const add = (a: [number, number, number], b: [number, number, number]): [number, number, number] => [
  a[0] + b[0],
  a[1] + b[1],
  a[2] + b[2],
];

const smile =
  (sign: number): Field =>
  ({ p }) => {
    if (sgn(p[0]) !== sign) return [0, 0, 0];
    const b = bump(p, sideOf(p, CORNER), 0.026);
    const cheek = bump(p, sideOf(p, [0.036, -0.022, 0.06]), 0.024);
    return [sign * 0.0035 * b, 0.0045 * b + 0.0022 * cheek, -0.0025 * b + 0.001 * cheek];
  };
const browRaise =
  (sign: number, x: number): Field =>
  ({ p }) =>
    sgn(p[0]) === sign ? [0, 0.005 * bump(p, [sign * x, 0.033, 0.078], 0.024), 0] : [0, 0, 0];

const FIELDS: Record<ExpressionName, Field> = {
  smileL: smile(1),
  smileR: smile(-1),
  frown: ({ p }) => [0, -0.0035 * bump(p, sideOf(p, CORNER), 0.022), 0],
  lipPucker: ({ p }) => {
    const b = bumpE(p, MOUTH, [0.038, 0.024, 0.03]);
    return [-0.25 * p[0] * b, 0, 0.006 * b];
  },
  lipPress: ({ p }) => {
    const b = bumpE(p, MOUTH, [0.032, 0.018, 0.025]);
    return [0, -0.3 * (p[1] - HEAD.mouthY) * b, -0.0025 * b];
  },
  mouthLeft: ({ p }) => [0.005 * bumpE(p, MOUTH, [0.045, 0.028, 0.035]), 0, 0],
  mouthRight: ({ p }) => [-0.005 * bumpE(p, MOUTH, [0.045, 0.028, 0.035]), 0, 0],
  cheekPuff: ({ p }) => {
    const b = bump(p, sideOf(p, [0.04, -0.042, 0.05]), 0.03);
    return [sgn(p[0]) * 0.006 * b, 0, 0.002 * b];
  },
  browInnerRaiseL: browRaise(1, 0.017),
  browInnerRaiseR: browRaise(-1, 0.017),
  browOuterRaiseL: browRaise(1, 0.048),
  browOuterRaiseR: browRaise(-1, 0.048),
  browFurrow: ({ p }) => {
    const b = bump(p, sideOf(p, [0.016, 0.03, 0.08]), 0.022);
    return [-sgn(p[0]) * 0.003 * b, -0.003 * b, 0];
  },
  blinkL: (v) => lidRotation(v, 1, 1, 1),
  blinkR: (v) => lidRotation(v, -1, 1, 1),
  squintL: (v) => add(lidRotation(v, 1, 0.15, 0.6), [0, 0.002 * bump(v.p, [0.036, -0.008, 0.06], 0.022), 0]),
  squintR: (v) => add(lidRotation(v, -1, 0.15, 0.6), [0, 0.002 * bump(v.p, [-0.036, -0.008, 0.06], 0.022), 0]),
  noseWrinkle: ({ p }) => {
    const b = bumpE(p, [0, -0.004, 0.09], [0.024, 0.024, 0.03]);
    return [0, 0.0022 * b, -0.0005 * b];
  },
  upperLipRaise: (v) => [0, 0.0035 * bumpE(v.p, [0, -0.045, 0.09], [0.03, 0.014, 0.03]) * lipUpper(v), 0],
  lowerLipDepress: (v) => [0, -0.0035 * bumpE(v.p, [0, -0.058, 0.088], [0.028, 0.016, 0.03]) * (1 - lipUpper(v)), 0],
  mouthStretch: ({ p }) => [sgn(p[0]) * 0.004 * bump(p, sideOf(p, CORNER), 0.022), 0, 0],
  eyeWideL: (v) => lidRotation(v, 1, -0.35, 0),
  eyeWideR: (v) => lidRotation(v, -1, -0.35, 0),
  jawForward: (v) => [0, 0, 0.004 * v.jaw * (v.region === Region.neck ? smoothstep(-0.13, -0.09, v.p[1]) : 1)],
};

/** The expression fields in EXPRESSION_NAMES order. */
export const EXPRESSION_FIELDS: readonly Field[] = EXPRESSION_NAMES.map((n) => FIELDS[n]);
