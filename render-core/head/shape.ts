/**
 * Identity (shape) blendshapes: 24 procedural directions, each a smooth
 * displacement field whose +1 is roughly one standard deviation of adult
 * variation (a few millimetres). Eyeballs move rigidly with the field at
 * their centre; joints move with the field at the joint (jointShapeDirs),
 * so the jaw hinge and eye pivots follow the face they sit in.
 */
import { HEAD } from "./head-sdf";
import { bump, bumpE, eyeCentre, lipUpper, sideOf, smoothstep, softPos, type Field } from "./blendshapes";

const sgn = (x: number) => (x >= 0 ? 1 : -1);
const MOUTH = [0, HEAD.mouthY, 0.085] as const;
const CHIN = [0, -0.086, 0.06] as const;
const NOSE_TIP = [0, -0.019, 0.1] as const;
const EAR = HEAD.earCenter;
/** Fades identity changes of the head out down the neck. */
const headOnly = (y: number) => smoothstep(-0.14, -0.06, y);

/** Shape coefficient names in order (UI sliders read this list). */
export const SHAPE_NAMES = [
  "headWidth",
  "headHeight",
  "headDepth",
  "faceLength",
  "jawWidth",
  "chinHeight",
  "chinProtrusion",
  "cheekbones",
  "cheekFullness",
  "noseLength",
  "noseWidth",
  "noseBridge",
  "noseTipUp",
  "eyeSpacing",
  "eyeSize",
  "eyeTilt",
  "browHeight",
  "browRidge",
  "lipFullness",
  "mouthWidth",
  "earSize",
  "earProtrusion",
  "foreheadSlope",
  "neckWidth",
] as const;
export type ShapeName = (typeof SHAPE_NAMES)[number];

/** Largest |coefficient| (in units of the prior's sigma) where the linear shape fields stay plausible: fits and edits stay inside. */
export const SHAPE_PRIOR_BOUND = 3;

const FIELDS: Record<ShapeName, Field> = {
  headWidth: ({ p }) => [0.07 * p[0] * headOnly(p[1]), 0, 0],
  headHeight: ({ p }) => [0, 0.07 * softPos(p[1], 0.02) * headOnly(p[1]), 0],
  headDepth: ({ p }) => [0, 0, -0.07 * softPos(-(p[2] + 0.01), 0.02) * headOnly(p[1])],
  faceLength: ({ p }) => [
    0,
    -0.075 * softPos(0.01 - p[1], 0.02) * smoothstep(-0.05, 0.02, p[2]) * smoothstep(-0.2, -0.09, p[1]),
    0,
  ],
  jawWidth: ({ p }) => [0.12 * p[0] * bumpE(p, [0, -0.066, 0], [0.1, 0.045, 0.075]), 0, 0],
  chinHeight: ({ p }) => [0, -0.006 * bump(p, CHIN, 0.035), 0],
  chinProtrusion: ({ p }) => [0, 0, 0.006 * bump(p, CHIN, 0.035)],
  cheekbones: ({ p }) => {
    const b = 0.004 * bump(p, sideOf(p, [0.048, -0.004, 0.045]), 0.03);
    return [sgn(p[0]) * b, 0, 0.5 * b];
  },
  cheekFullness: ({ p }) => [sgn(p[0]) * 0.005 * bump(p, sideOf(p, [0.046, -0.045, 0.038]), 0.032), 0, 0],
  noseLength: ({ p }) => {
    const b = bump(p, NOSE_TIP, 0.028);
    return [0, -0.0035 * b, 0.0035 * b];
  },
  noseWidth: ({ p }) => [0.2 * p[0] * bumpE(p, [0, -0.022, 0.09], [0.028, 0.02, 0.03]), 0, 0],
  noseBridge: ({ p }) => [0, 0, 0.003 * bumpE(p, [0, 0.004, 0.09], [0.014, 0.028, 0.03])],
  noseTipUp: ({ p }) => [0, 0.003 * bump(p, NOSE_TIP, 0.018), 0],
  eyeSpacing: ({ p }) => [sgn(p[0]) * 0.003 * bump(p, sideOf(p, HEAD.eyeCenter), 0.03), 0, 0],
  eyeSize: ({ p, part }) => {
    if (part >= 4) return [0, 0, 0];
    const c = eyeCentre(sgn(p[0]));
    const front = smoothstep(c[2] - 0.004, c[2] + 0.004, p[2]);
    return [0, 0.22 * (p[1] - c[1]) * bump(p, c, 0.03) * front, 0];
  },
  eyeTilt: ({ p, part }) => {
    if (part >= 4) return [0, 0, 0];
    const c = eyeCentre(sgn(p[0]));
    return [0, 0.12 * (Math.abs(p[0]) - c[0] * 1) * bump(p, c, 0.026), 0];
  },
  browHeight: ({ p }) => [0, 0.004 * bumpE(p, sideOf(p, [0.034, 0.034, 0.07]), [0.036, 0.02, 0.045]), 0],
  browRidge: ({ p }) => [0, 0, 0.003 * bumpE(p, sideOf(p, [0.03, 0.034, 0.075]), [0.036, 0.018, 0.04])],
  lipFullness: (v) => {
    const b = bumpE(v.p, MOUTH, [0.034, 0.02, 0.03]);
    const s = 2 * lipUpper(v) - 1;
    return [0, 0.0012 * s * b, 0.0025 * b];
  },
  mouthWidth: ({ p }) => [0.1 * p[0] * bumpE(p, MOUTH, [0.045, 0.022, 0.04]), 0, 0],
  earSize: ({ p }) => {
    const c = sideOf(p, EAR);
    const b = 0.15 * bumpE(p, c, [0.03, 0.048, 0.036]);
    return [0, (p[1] - c[1]) * b, (p[2] - c[2]) * b];
  },
  earProtrusion: ({ p }) => [
    sgn(p[0]) * 0.005 * bumpE(p, sideOf(p, [0.086, 0.004, -0.02]), [0.022, 0.045, 0.032]),
    0,
    0,
  ],
  foreheadSlope: ({ p }) => [0, 0, 0.006 * smoothstep(0.02, 0.09, p[1]) * smoothstep(-0.02, 0.05, p[2])],
  neckWidth: ({ p }) => {
    const w = 0.1 * (1 - smoothstep(-0.12, -0.07, p[1]));
    return [w * p[0], 0, w * (p[2] - HEAD.neckAxisZ)];
  },
};

/** The shape fields in SHAPE_NAMES order. */
export const SHAPE_FIELDS: readonly Field[] = SHAPE_NAMES.map((n) => FIELDS[n]);
