/**
 * ARKit-52 compatibility: Apple's 52 face blendshape coefficients
 * (ARFaceAnchor.BlendShapeLocation, each 0 = neutral to 1 = maximum
 * movement) to the head model's channels and back, through a fitted linear
 * map (docs/animation.md, "ARKit-52").
 *
 * Left / Right in ARKit names are the FACE'S own left and right (Apple: "the
 * eyeBlinkRight coefficient refers to the face's right eye"), the same as our
 * L / R (the subject's left, +x).
 *
 * There is no ARKit reference mesh offline, so each ARKit shape is written as
 * a target: how named points of OUR head (the 68 landmarks, both pupils and a
 * few cheek, nose, chin and forehead points) move at full activation,
 * following Apple's one-line description of the shape with an adult-sized
 * magnitude (the constants above buildTargets say where each comes from). Import: per
 * shape, a bounded, slightly regularised least-squares fit of our 30 controls
 * (24 expression coefficients, jaw.x / jaw.y, both eyes' x / y) to the
 * target, Gauss-Newton through the jaw and eye rotations; the 52 fits are the
 * columns of the map. Export: per frame, ARKit weights in [0, 1] (box-
 * constrained least squares) whose shapes, as our head makes them, reproduce
 * the pose's point motion, so that export inverts import. The map is fitted
 * once per head model and cached; arkitMapReport() measures how well each
 * shape is reproduced.
 */
import { editDistance } from "../math/edit-distance";
import { mulberry32 } from "../math/prng";
import {
  EXPRESSION_NAMES,
  HEAD,
  MeshPart,
  closestSurfacePoint,
  createHeadModel,
  createHeadParams,
  jointTransforms,
  raycastMesh,
  rodrigues,
  type HeadModel,
  type HeadParams,
} from "../head";

/** The 52 ARKit blendshape names, in Apple's documentation order (also Unreal's EARFaceBlendShape and Live Link Face's). */
export const ARKIT_BLENDSHAPES = [
  "eyeBlinkLeft",
  "eyeLookDownLeft",
  "eyeLookInLeft",
  "eyeLookOutLeft",
  "eyeLookUpLeft",
  "eyeSquintLeft",
  "eyeWideLeft",
  "eyeBlinkRight",
  "eyeLookDownRight",
  "eyeLookInRight",
  "eyeLookOutRight",
  "eyeLookUpRight",
  "eyeSquintRight",
  "eyeWideRight",
  "jawForward",
  "jawLeft",
  "jawRight",
  "jawOpen",
  "mouthClose",
  "mouthFunnel",
  "mouthPucker",
  "mouthLeft",
  "mouthRight",
  "mouthSmileLeft",
  "mouthSmileRight",
  "mouthFrownLeft",
  "mouthFrownRight",
  "mouthDimpleLeft",
  "mouthDimpleRight",
  "mouthStretchLeft",
  "mouthStretchRight",
  "mouthRollLower",
  "mouthRollUpper",
  "mouthShrugLower",
  "mouthShrugUpper",
  "mouthPressLeft",
  "mouthPressRight",
  "mouthLowerDownLeft",
  "mouthLowerDownRight",
  "mouthUpperUpLeft",
  "mouthUpperUpRight",
  "browDownLeft",
  "browDownRight",
  "browInnerUp",
  "browOuterUpLeft",
  "browOuterUpRight",
  "cheekPuff",
  "cheekSquintLeft",
  "cheekSquintRight",
  "noseSneerLeft",
  "noseSneerRight",
  "tongueOut",
] as const;
export type ArkitBlendshape = (typeof ARKIT_BLENDSHAPES)[number];
const K = ARKIT_BLENDSHAPES.length;

/** Head and eye rotation columns of a Live Link Face CSV, in its order (angles; see ARKIT_ROTATION_UNITS). */
export const ARKIT_ROTATIONS = [
  "HeadYaw",
  "HeadPitch",
  "HeadRoll",
  "LeftEyeYaw",
  "LeftEyePitch",
  "LeftEyeRoll",
  "RightEyeYaw",
  "RightEyePitch",
  "RightEyeRoll",
] as const;

/** Radians per file unit of the rotation columns. Live Link Face writes radians; Unreal's 2019 ARKit plug-in wrote degrees / 180. */
export const ARKIT_ROTATION_UNITS = { radians: 1, degrees: Math.PI / 180, "half-turns": Math.PI } as const;
export type ArkitRotationUnit = keyof typeof ARKIT_ROTATION_UNITS;

/** Live Link Face's spelling: EyeBlinkLeft. */
export function arkitCsvName(name: string): string {
  return name[0]!.toUpperCase() + name.slice(1);
}

/** Case-insensitive key; Apple's raw strings ("eyeBlink_L") become "eyeblinkleft". */
function nameKey(name: string): string {
  const s = name.trim().toLowerCase();
  const side = /_l$/.test(s) ? "left" : /_r$/.test(s) ? "right" : "";
  return (side ? s.slice(0, -2) + side : s).replace(/_/g, "");
}
const BLENDSHAPE_KEYS = new Map<string, number>(ARKIT_BLENDSHAPES.map((n, i) => [nameKey(n), i]));
const ROTATION_KEYS = new Map<string, number>(ARKIT_ROTATIONS.map((n, i) => [nameKey(n), i]));

/** Index into ARKIT_BLENDSHAPES of a name in any of its spellings (eyeBlinkLeft, EyeBlinkLeft, eyeBlink_L), or -1. */
export function arkitNameIndex(name: string): number {
  return BLENDSHAPE_KEYS.get(nameKey(name)) ?? -1;
}

/** Index into ARKIT_ROTATIONS (HeadYaw, headYaw, ...), or -1. */
export function arkitRotationIndex(name: string): number {
  return ROTATION_KEYS.get(nameKey(name)) ?? -1;
}

/** The ARKit name (or rotation column) nearest to `name`, for "did you mean". */
export function closestArkitName(name: string): string {
  const key = nameKey(name);
  let best: string = ARKIT_BLENDSHAPES[0],
    bestD = Infinity;
  for (const n of [...ARKIT_BLENDSHAPES, ...ARKIT_ROTATIONS]) {
    const d = editDistance(key, nameKey(n));
    if (d < bestD) [best, bestD] = [n, d];
  }
  return best;
}

// ---------------------------------------------------------------------------
// Controls: what the map writes.

/** The clip channels the map drives: the 24 expressions, then jaw and eye rotations (radians). */
export const ARKIT_MAP_CHANNELS: readonly string[] = [
  ...EXPRESSION_NAMES,
  "jaw.x",
  "jaw.y",
  "leftEye.x",
  "leftEye.y",
  "rightEye.x",
  "rightEye.y",
];
const E = EXPRESSION_NAMES.length;
const C = ARKIT_MAP_CHANNELS.length;
/** Pose index (into the 15 joint angles) of each rotation control. */
const POSE_OF: readonly number[] = [6, 7, 9, 10, 12, 13];

/**
 * Bounds in the per-shape fit: expressions stay in the sliders' 0..1; the jaw
 * may close a little past rest (mouthClose, mouthShrugLower pull against
 * jawOpen); eyes turn up to 40 degrees.
 */
const FIT_LO = [...new Array<number>(E).fill(0), -0.2, -0.2, -0.7, -0.7, -0.7, -0.7];
const FIT_HI = [...new Array<number>(E).fill(1), 0.5, 0.2, 0.7, 0.7, 0.7, 0.7];
/** Bounds of an imported frame (after summing the shapes): the jaw never closes past rest. */
const OUT_LO = [...new Array<number>(E).fill(0), 0, -0.2, -0.7, -0.7, -0.7, -0.7];
const OUT_HI = FIT_HI;

// ---------------------------------------------------------------------------
// Points of the head the targets are written on.

interface MapPoint {
  name: string;
  verts: number[];
  bary: number[];
}

/**
 * The head data the fit needs, restricted to the points: rest positions (mm)
 * and, per (point, vertex) entry, the vertex's template position, expression
 * directions and skinning weights, so that posing the points costs a few
 * hundred vertices instead of the whole mesh.
 */
interface PointSet {
  model: HeadModel;
  points: MapPoint[];
  index: Map<string, number>;
  /** [N] index of each point's mirror image (x -> -x). */
  mirror: Int32Array;
  /** [3N] rest positions, mm. */
  rest: Float64Array;
  entryPoint: Int32Array;
  entryBary: Float64Array;
  /** [n, 3] metres. */
  entryPos: Float64Array;
  /** [n, 3, E] metres per unit. */
  entryDirs: Float64Array;
  /** [n, J]. */
  entrySkin: Float64Array;
  /** Reused by posePoints. */
  params: HeadParams;
}

const LANDMARK_SKIP = new Set([60, 64]); // the inner-lip corners are the outer ones again

/** Extra points (subject's left; mirrored to the right), frontal projections at (x, y) metres. */
const EXTRA_POINTS: ReadonlyArray<readonly [string, number, number]> = [
  ["cheekMid", 0.042, -0.028],
  ["cheekLow", 0.045, -0.05],
  ["underEye", 0.033, -0.003],
  ["noseSide", 0.015, -0.026],
  ["forehead", 0.025, 0.065],
];
const MIDLINE_POINTS: ReadonlyArray<readonly [string, number]> = [
  ["chinBoss", -0.078],
  ["foreheadMid", 0.07],
];

function buildPoints(model: HeadModel): PointSet {
  const P = model.template,
    F = model.faces;
  const faceVerts = (f: number) => [F[f * 3]!, F[f * 3 + 1]!, F[f * 3 + 2]!];
  const points: MapPoint[] = [];
  model.landmarks.forEach((lm, i) => {
    if (!LANDMARK_SKIP.has(i)) points.push({ name: String(i), verts: faceVerts(lm.face), bary: [...lm.bary] });
  });
  const headFaces: number[] = [];
  for (let f = 0; f < model.faceCount; f++)
    if (faceVerts(f).every((v) => model.vertexPart[v] === MeshPart.head)) headFaces.push(f);
  const front = (name: string, x: number, y: number) => {
    const hit = raycastMesh(P, F, [x, y, 0.3], [0, 0, -1], headFaces);
    if (!hit) throw new Error(`buildPoints: no head surface in front of (${x}, ${y}) for point ${name}`);
    const sp = closestSurfacePoint(P, F, [x, y, 0.3 - hit.t], [hit.face]);
    points.push({ name, verts: faceVerts(sp.face), bary: [...sp.bary] });
  };
  for (const [name, x, y] of EXTRA_POINTS) {
    front(`${name}L`, x, y);
    front(`${name}R`, -x, y);
  }
  for (const [name, y] of MIDLINE_POINTS) front(name, 0, y);
  // The pupil: the front-most vertex of each eyeball (it turns with the eye joint only).
  model.eyeballs.forEach((eb, side) => {
    let best = eb.start;
    for (let v = eb.start; v < eb.start + eb.count; v++) if (P[v * 3 + 2]! > P[best * 3 + 2]!) best = v;
    points.push({ name: side === 0 ? "pupilL" : "pupilR", verts: [best], bary: [1] });
  });
  const N = points.length;
  const rest = new Float64Array(N * 3);
  points.forEach((pt, i) => {
    pt.verts.forEach((v, k) => {
      for (let a = 0; a < 3; a++) rest[i * 3 + a] += 1000 * pt.bary[k]! * P[v * 3 + a]!;
    });
  });
  const mirror = new Int32Array(N);
  for (let i = 0; i < N; i++) {
    let best = -1,
      bestD = Infinity;
    for (let j = 0; j < N; j++) {
      const d = Math.hypot(
        rest[j * 3]! + rest[i * 3]!,
        rest[j * 3 + 1]! - rest[i * 3 + 1]!,
        rest[j * 3 + 2]! - rest[i * 3 + 2]!,
      );
      if (d < bestD) [best, bestD] = [j, d];
    }
    // The head is symmetric by construction; a far mirror means the point list is wrong.
    if (bestD > 1)
      throw new Error(`buildPoints: point ${points[i]!.name} has no mirror image (nearest ${bestD.toFixed(2)} mm)`);
    mirror[i] = best;
  }
  const J = model.jointNames.length,
    EE = model.expressionNames.length;
  const n = points.reduce((s, p) => s + p.verts.length, 0);
  const entryPoint = new Int32Array(n),
    entryBary = new Float64Array(n),
    entryPos = new Float64Array(n * 3),
    entryDirs = new Float64Array(n * 3 * E),
    entrySkin = new Float64Array(n * J);
  let q = 0;
  points.forEach((pt, i) => {
    pt.verts.forEach((v, k) => {
      entryPoint[q] = i;
      entryBary[q] = pt.bary[k]!;
      for (let a = 0; a < 3; a++) {
        entryPos[q * 3 + a] = P[v * 3 + a]!;
        for (let e = 0; e < E; e++) entryDirs[(q * 3 + a) * E + e] = model.exprDirs[(v * 3 + a) * EE + e]!;
      }
      for (let j = 0; j < J; j++) entrySkin[q * J + j] = model.skinWeights[v * J + j]!;
      q++;
    });
  });
  return {
    model,
    points,
    index: new Map(points.map((p, i) => [p.name, i])),
    mirror,
    rest,
    entryPoint,
    entryBary,
    entryPos,
    entryDirs,
    entrySkin,
    params: createHeadParams(model),
  };
}

/**
 * Poses the points for controls `c` (ARKIT_MAP_CHANNELS order): blendshapes,
 * then linear blend skinning of each point's vertices, as poseVertices does
 * for the whole mesh. Returns [3N] mm; with `jac` ([3N, C], row-major) also
 * fills the expression columns of the Jacobian (exact: expressions are linear
 * before the skinning).
 */
function posePoints(
  ps: PointSet,
  c: ArrayLike<number>,
  out = new Float64Array(ps.points.length * 3),
  jac?: Float64Array,
): Float64Array {
  const { params, entryPoint, entryBary, entryPos, entryDirs, entrySkin } = ps;
  for (let e = 0; e < E; e++) params.expression[e] = c[e]!;
  for (let r = 0; r < POSE_OF.length; r++) params.pose[POSE_OF[r]!] = c[E + r]!;
  const A = jointTransforms(ps.model, params);
  const J = ps.model.jointNames.length;
  out.fill(0);
  const v = [0, 0, 0];
  const M = new Float64Array(12);
  for (let q = 0; q < entryPoint.length; q++) {
    const i = entryPoint[q]!,
      b = 1000 * entryBary[q]!;
    for (let a = 0; a < 3; a++) {
      let s = entryPos[q * 3 + a]!;
      const row = (q * 3 + a) * E;
      for (let e = 0; e < E; e++) s += entryDirs[row + e]! * c[e]!;
      v[a] = s;
    }
    M.fill(0);
    for (let j = 0; j < J; j++) {
      const w = entrySkin[q * J + j]!;
      if (w !== 0) for (let m = 0; m < 12; m++) M[m] += w * A[j * 12 + m]!;
    }
    for (let r = 0; r < 3; r++) {
      out[i * 3 + r] += b * (M[r * 4]! * v[0]! + M[r * 4 + 1]! * v[1]! + M[r * 4 + 2]! * v[2]! + M[r * 4 + 3]!);
      if (!jac) continue;
      for (let e = 0; e < E; e++) {
        let s = 0;
        for (let a = 0; a < 3; a++) s += M[r * 4 + a]! * entryDirs[(q * 3 + a) * E + e]!;
        jac[(i * 3 + r) * C + e] += b * s;
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------------------
// Targets: each ARKit shape as point displacements (mm) at full activation.

const DEG = Math.PI / 180;
/**
 * Magnitudes at weight 1. ARKit's 1 is "maximum movement"; where the adult
 * range is known we take about its typical maximum:
 * - jaw: maximal opening between the incisors is ~40-55 mm, a hinge rotation
 *   of ~25 degrees; lateral excursion ~8-12 mm; protrusion ~8-10 mm (clinical
 *   norms of mandibular range of motion). We take 26 degrees, 8 mm, 6 mm.
 * - gaze: the comfortable oculomotor range is ~+-30 degrees (the mechanical
 *   limit ~45); upward gaze has the smallest range. 30 down / sideways, 25 up.
 *   The upper lid follows vertical gaze closely (lid-gaze coupling), the
 *   lower lid less: 0.8 and 0.3 of the eye's rotation.
 * - blink: the upper lid does nearly all of the travel (the lower lid rises
 *   1-2 mm of a ~10 mm fissure): the lids meet 20 % of the way up.
 * - brows: frontalis raises the brow ~8-10 mm at most; we take 6 mm.
 * - mouth corner in a full smile moves ~8 mm up and out (commissure
 *   excursion in smile studies); frown / stretch / dimple 3-5 mm; lip raise
 *   and lower-lip depression ~4 mm; lips sideways 6 mm.
 * - cheek puff: the cheek surface bulges ~6 mm.
 */
const JAW_OPEN = 26 * DEG;
const JAW_SIDE_MM = 8;
const JAW_FORWARD_MM = 6;
const LOOK_DOWN = 30 * DEG;
const LOOK_UP = 25 * DEG;
const LOOK_SIDE = 30 * DEG;
const LID_FOLLOW_UPPER = 0.8;
const LID_FOLLOW_LOWER = 0.3;
const BLINK_MEET = 0.2;

type Vec3 = [number, number, number];

/** Displacement of point p (mm) rotated by `angle` about an axis ("x" or "y") through centre c. */
function rotated(p: Vec3, c: Vec3, axis: "x" | "y", angle: number): Vec3 {
  const ca = Math.cos(angle),
    sa = Math.sin(angle);
  const d = [p[0] - c[0], p[1] - c[1], p[2] - c[2]];
  if (axis === "x") return [0, d[1]! * ca - d[2]! * sa - d[1]!, d[1]! * sa + d[2]! * ca - d[2]!];
  return [d[0]! * ca + d[2]! * sa - d[0]!, 0, -d[0]! * sa + d[2]! * ca - d[2]!];
}

/**
 * Builds the [3N, 52] target matrix. Shapes are written for the subject's
 * left with iBUG landmark numbers of the left side (22-26 brow inner->outer,
 * 42 inner eye corner, 43-44 upper lid, 45 outer corner, 46-47 lower lid, 54
 * mouth corner, 52-53 / 55-56 outer lips, 63 / 65 inner lips, 34-35
 * nostrils); side -1 mirrors points and x.
 */
function buildTargets(ps: PointSet): Float64Array {
  const N = ps.points.length;
  const T = new Float64Array(N * 3 * K);
  const mm = (v: readonly number[]) => v.map((x) => x * 1000) as Vec3;
  const hinge = mm(HEAD.jawHinge);
  const idx = (name: string | number, side: number) => {
    const i = ps.index.get(String(name));
    if (i === undefined) throw new Error(`buildTargets: no point ${name}`);
    return side > 0 ? i : ps.mirror[i]!;
  };
  const pos = (i: number): Vec3 => [ps.rest[i * 3]!, ps.rest[i * 3 + 1]!, ps.rest[i * 3 + 2]!];
  let k = 0;
  const add = (i: number, d: readonly number[], scale = 1) => {
    for (let a = 0; a < 3; a++) T[(i * 3 + a) * K + k] += d[a]! * scale;
  };
  /** Moves the side-`s` copy of left-side points by d (x flipped for the right). */
  const move = (names: ReadonlyArray<string | number>, s: number, d: Vec3, scale = 1) => {
    for (const n of names) add(idx(n, s), [s * d[0], d[1], d[2]], scale);
  };
  const eye = (s: number): Vec3 => [s * HEAD.eyeCenter[0] * 1000, HEAD.eyeCenter[1] * 1000, HEAD.eyeCenter[2] * 1000];
  const elevation = (i: number, c: Vec3) => Math.atan2(ps.rest[i * 3 + 1]! - c[1], ps.rest[i * 3 + 2]! - c[2]);
  /** Lid points of eye s rotated about the eye's x-axis (positive angle: downward). */
  const turnLids = (names: ReadonlyArray<number>, s: number, angle: number) => {
    for (const n of names) add(idx(n, s), rotated(pos(idx(n, s)), eye(s), "x", angle));
  };
  const UPPER = [43, 44],
    LOWER = [47, 46];
  /**
   * Skin over the mandible: below the line from the mouth corner back to the
   * jaw hinge, fading in over the 2 cm under the line (5 mm above it to 15 mm below).
   */
  const corner = pos(idx(54, 1));
  const belowMandibleLine = (i: number): number => {
    const y = ps.rest[i * 3 + 1]!,
      z = ps.rest[i * 3 + 2]!;
    const t = Math.min(1, Math.max(0, (corner[2] - z) / (corner[2] - hinge[2])));
    const line = corner[1] + (hinge[1] - corner[1]) * t;
    const u = Math.min(1, Math.max(0, (line + 5 - y) / 20));
    return u * u * (3 - 2 * u);
  };
  /**
   * How much a point moves with the mandible: the lower lip and chin fully,
   * the mouth corners about a third as far as the lower lip, other points
   * (the jaw contour, the cheeks) by belowMandibleLine.
   */
  const jawShare = (i: number): number => {
    const n = ps.points[i]!.name;
    const lm = /^\d+$/.test(n) ? Number(n) : -1;
    if ((lm >= 55 && lm <= 59) || lm >= 65 || n === "chinBoss") return 1;
    if (lm >= 0 && lm <= 16) return belowMandibleLine(i);
    if (lm === 48 || lm === 54) return 0.35;
    if (lm >= 0 || n.startsWith("pupil")) return 0;
    return belowMandibleLine(i);
  };
  const jawMotion = (d: (p: Vec3) => Vec3) => {
    for (let i = 0; i < N; i++) {
      const share = jawShare(i);
      if (share > 0) add(i, d(pos(i)), share);
    }
  };
  const ALL_UPPER = [49, 50, 51, 52, 53, 61, 62, 63];
  const ALL_LOWER = [55, 56, 57, 58, 59, 65, 66, 67];
  const lips = (fn: (i: number, p: Vec3) => Vec3 | null) => {
    for (const n of [48, 54, ...ALL_UPPER, ...ALL_LOWER]) {
      const i = idx(n, 1);
      const d = fn(i, pos(i));
      if (d) add(i, d);
    }
  };

  const define: Record<ArkitBlendshape, () => void> = {} as Record<ArkitBlendshape, () => void>;
  for (const [side, sfx] of [
    [1, "Left"],
    [-1, "Right"],
  ] as const) {
    const s = side;
    define[`eyeBlink${sfx}`] = () => {
      for (let p = 0; p < 2; p++) {
        const u = idx(UPPER[p]!, s),
          l = idx(LOWER[p]!, s);
        const eu = elevation(u, eye(s)),
          el = elevation(l, eye(s));
        const meet = el + BLINK_MEET * (eu - el);
        add(u, rotated(pos(u), eye(s), "x", eu - meet));
        add(l, rotated(pos(l), eye(s), "x", el - meet));
      }
    };
    const pupil = (angleX: number, angleY: number) => {
      const i = idx("pupilL", s);
      add(i, rotated(pos(i), eye(s), angleX !== 0 ? "x" : "y", angleX !== 0 ? angleX : angleY));
    };
    define[`eyeLookDown${sfx}`] = () => {
      pupil(LOOK_DOWN, 0);
      turnLids(UPPER, s, LID_FOLLOW_UPPER * LOOK_DOWN);
      turnLids(LOWER, s, LID_FOLLOW_LOWER * LOOK_DOWN);
    };
    define[`eyeLookUp${sfx}`] = () => {
      pupil(-LOOK_UP, 0);
      turnLids(UPPER, s, -LID_FOLLOW_UPPER * LOOK_UP);
      turnLids(LOWER, s, -LID_FOLLOW_LOWER * LOOK_UP);
    };
    // In: toward the nose (-x for the left eye); out: toward the ear.
    define[`eyeLookIn${sfx}`] = () => pupil(0, -s * LOOK_SIDE);
    define[`eyeLookOut${sfx}`] = () => pupil(0, s * LOOK_SIDE);
    define[`eyeSquint${sfx}`] = () => {
      move(LOWER, s, [0, 2.5, 0]);
      move(UPPER, s, [0, -1, 0]);
      move(["underEyeL"], s, [0, 1.5, 0]);
    };
    define[`eyeWide${sfx}`] = () => turnLids(UPPER, s, -3 / (HEAD.lidRadius * 1000)); // the upper lid up ~3 mm
    define[`jaw${sfx}`] = () => {
      const chin = pos(idx(8, 1));
      jawMotion((p) => rotated(p, hinge, "y", (s * JAW_SIDE_MM) / (chin[2] - hinge[2])));
    };
    define[`mouthSmile${sfx}`] = () => {
      move([54], s, [4, 6, -3]);
      move([53, 55, 63, 65], s, [4, 6, -3], 0.5);
      move(["cheekMidL"], s, [0, 2.5, 1]);
      move(["underEyeL"], s, [0, 1, 0]);
    };
    define[`mouthFrown${sfx}`] = () => {
      move([54], s, [0, -4, 0]);
      move([53, 55, 63, 65], s, [0, -4, 0], 0.5);
    };
    define[`mouthDimple${sfx}`] = () => {
      move([54], s, [2, 0, -3]);
      move([53, 55, 63, 65], s, [2, 0, -3], 0.4);
    };
    define[`mouthStretch${sfx}`] = () => {
      move([54], s, [5, -1.5, 0]);
      move([53, 55, 63, 65], s, [5, -1.5, 0], 0.5);
    };
    define[`mouthPress${sfx}`] = () => {
      move([55, 56, 65], s, [0, 2, -1]);
      move([57, 66], 1, [0, 2, -1], 0.5);
      move([52, 53, 63], s, [0, -1, -1]);
      move([51, 62], 1, [0, -1, -1], 0.5);
    };
    define[`mouthLowerDown${sfx}`] = () => {
      move([55, 56, 65], s, [0, -4, 0]);
      move([57, 66], 1, [0, -4, 0], 0.5);
    };
    define[`mouthUpperUp${sfx}`] = () => {
      move([52, 53, 63], s, [0, 4, 0]);
      move([51, 62], 1, [0, 4, 0], 0.5);
    };
    define[`browDown${sfx}`] = () => {
      move([26, 25], s, [0, -4, 0]);
      move([24], s, [0, -3, 0]);
      move([23, 22], s, [-1.5, -2, 0]);
    };
    define[`browOuterUp${sfx}`] = () => {
      move([26, 25], s, [0, 6, 0]);
      move([24], s, [0, 4, 0]);
      move([23], s, [0, 2, 0]);
    };
    define[`cheekSquint${sfx}`] = () => {
      move(["underEyeL"], s, [0, 3, 0]);
      move(["cheekMidL"], s, [0, 2.5, 0]);
      move(LOWER, s, [0, 1.5, 0]);
    };
    define[`noseSneer${sfx}`] = () => {
      move(["noseSideL"], s, [0, 3, 0]);
      move([35], s, [0, 2.5, 0]);
      move([34], s, [0, 1.5, 0]);
      move([52, 53], s, [0, 1, 0]);
    };
    define[`mouth${sfx}`] = () => lips(() => [s * 6, 0, 0]);
  }
  define.jawOpen = () => jawMotion((p) => rotated(p, hinge, "x", JAW_OPEN));
  define.jawForward = () => jawMotion(() => [0, 0, JAW_FORWARD_MM]);
  // Lip seal against the jaw (as for m / b / p with the jaw a little open): the lower lip up 6 mm, the upper down 2.
  define.mouthClose = () =>
    lips((i) => {
      const n = Number(ps.points[i]!.name);
      if (n >= 61) return [0, n <= 63 ? -2 : 6, 0];
      if (n === 48 || n === 54) return null;
      return [0, n <= 53 ? -1 : 3, 0];
    });
  // Open rounded lips: corners in, lips forward, the lips part around the opening.
  define.mouthFunnel = () =>
    lips((i, p) => {
      const n = Number(ps.points[i]!.name);
      const part = n >= 61 && n <= 63 ? 2 : n >= 65 ? -2 : 0;
      return [-0.28 * p[0], part, 5];
    });
  // Closed rounded lips pushed forward.
  define.mouthPucker = () => lips((_i, p) => [-0.33 * p[0], 0, 6]);
  define.mouthRollLower = () =>
    lips((i) => {
      const n = Number(ps.points[i]!.name);
      return n >= 55 && n <= 59 ? [0, 4, -4] : n >= 65 ? [0, 0, -2] : null;
    });
  define.mouthRollUpper = () =>
    lips((i) => {
      const n = Number(ps.points[i]!.name);
      return n >= 49 && n <= 53 ? [0, -4, -4] : n >= 61 && n <= 63 ? [0, 0, -2] : null;
    });
  define.mouthShrugLower = () => {
    lips((i) => (ALL_LOWER.includes(Number(ps.points[i]!.name)) ? [0, 3, 2] : null));
    add(idx("chinBoss", 1), [0, 3, 0]);
  };
  define.mouthShrugUpper = () => lips((i) => (ALL_UPPER.includes(Number(ps.points[i]!.name)) ? [0, 2.5, 1.5] : null));
  define.browInnerUp = () => {
    for (const s of [1, -1]) {
      move([22], s, [0, 6, 0]);
      move([23], s, [0, 4, 0]);
      move([24], s, [0, 2, 0]);
    }
  };
  // The buccal cheek (beside the mouth, over the teeth) bulges most; the cheek above and the jaw line's silhouette less.
  define.cheekPuff = () => {
    for (const s of [1, -1]) {
      move(["cheekLowL"], s, [6, 0, 2]);
      move(["cheekMidL"], s, [3, 0, 1]);
      move([11, 10], s, [4, 0, 0]);
    }
  };
  // We have no tongue: only the lips parting around it (the lower lip down and out) can be matched.
  define.tongueOut = () =>
    lips((i) => {
      const n = Number(ps.points[i]!.name);
      return n >= 65 ? [0, -3, 2] : n >= 55 && n <= 59 ? [0, -2, 1] : n >= 61 && n <= 63 ? [0, 1, 0] : null;
    });

  for (k = 0; k < K; k++) define[ARKIT_BLENDSHAPES[k]]();
  return T;
}

// ---------------------------------------------------------------------------
// Box-constrained least squares.

/**
 * Minimises 1/2 x'Hx - g'x + l1 * |x|_1 over lo <= x <= hi (each box holds
 * 0) by cyclic coordinate descent with soft thresholding (H symmetric
 * positive definite, n small), starting from x. It keeps the gradient g - Hx
 * up to date, so a coordinate that stays put (most ARKit weights of a frame
 * stay 0) costs O(1). Deterministic: fixed order, fixed tolerance.
 */
function boxQp(
  H: Float64Array,
  g: ArrayLike<number>,
  lo: ArrayLike<number>,
  hi: ArrayLike<number>,
  x: Float64Array,
  l1 = 0,
): Float64Array {
  const n = x.length;
  const grad = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let r = g[i]!;
    for (let j = 0; j < n; j++) r -= H[i * n + j]! * x[j]!;
    grad[i] = r;
  }
  for (let sweep = 0; sweep < 5000; sweep++) {
    let change = 0;
    for (let i = 0; i < n; i++) {
      const old = x[i]!;
      const h = H[i * n + i]!;
      const z = old + grad[i]! / h; // the coordinate's own minimiser, then shrunk toward 0 by the L1 term
      const v = Math.min(hi[i]!, Math.max(lo[i]!, Math.sign(z) * Math.max(0, Math.abs(z) - l1 / h)));
      const d = v - old;
      if (d === 0) continue;
      x[i] = v;
      change = Math.max(change, Math.abs(d));
      for (let j = 0; j < n; j++) grad[j] -= d * H[j * n + i]!;
    }
    if (change < 1e-9) break;
  }
  return x;
}

// ---------------------------------------------------------------------------
// The map.

/** Ridge (times each column's own curvature) and L1 weight (mm^2 per unit) of the fits: small, they only break ties. */
const RIDGE = 1e-3;
const L1 = 0.3;
/** L1 weight of the export fit: smaller, so that a shape is not traded for a cheaper look-alike. */
const EXPORT_L1 = 0.05;
/** Finite-difference step for the rotation controls, radians (error ~ step x lever, under 1e-3 mm). */
const STEP = 1e-5;

export interface ArkitMap {
  model: HeadModel;
  /** [C, 52] row-major: channel c of ARKit shape k at weight 1 (C = ARKIT_MAP_CHANNELS.length). */
  matrix: Float64Array;
  /** Per shape: target and reproduced point displacements, [3N] mm each. */
  targets: Float64Array[];
  fitted: Float64Array[];
  /** Milliseconds the fit took (points, targets, 52 fits, export system). */
  fitMs: number;
  /** ARKit weights (52) -> controls (ARKIT_MAP_CHANNELS order), summed and kept in range. */
  toControls(weights: ArrayLike<number>, out?: Float64Array): Float64Array;
  /** Controls -> ARKit weights in [0, 1] (warm-started from `out`'s contents). */
  fromControls(controls: ArrayLike<number>, out?: Float64Array): Float64Array;
}

/** Jacobian [3N, C] (row-major) of posePoints at c: expressions analytic, rotations by forward differences. */
function jacobian(ps: PointSet, c: Float64Array): Float64Array {
  const R = ps.points.length * 3;
  const Jm = new Float64Array(R * C);
  const base = posePoints(ps, c, new Float64Array(R), Jm);
  const d = c.slice();
  const plus = new Float64Array(R);
  for (let col = E; col < C; col++) {
    d[col] = c[col]! + STEP;
    posePoints(ps, d, plus);
    d[col] = c[col]!;
    for (let r = 0; r < R; r++) Jm[r * C + col] = (plus[r]! - base[r]!) / STEP;
  }
  return Jm;
}

function normalSystem(Jm: Float64Array, rows: number, cols: number): Float64Array {
  const H = new Float64Array(cols * cols);
  for (let r = 0; r < rows; r++)
    for (let i = 0; i < cols; i++) {
      const a = Jm[r * cols + i]!;
      if (a === 0) continue;
      for (let j = 0; j < cols; j++) H[i * cols + j] += a * Jm[r * cols + j]!;
    }
  return H;
}

function buildMap(model: HeadModel): ArkitMap {
  const t0 = performance.now();
  const ps = buildPoints(model);
  const R = ps.points.length * 3;
  const T = buildTargets(ps);
  const zero = new Float64Array(C);
  const rest = posePoints(ps, zero);
  // At rest the expression and rotation columns are the same for every shape: one Jacobian serves all first steps.
  const J0 = jacobian(ps, zero);
  const H0 = normalSystem(J0, R, C);
  const ridged = (H: Float64Array) => {
    const out = H.slice();
    for (let i = 0; i < C; i++) out[i * C + i] += RIDGE * H[i * C + i]! + 1e-9;
    return out;
  };
  const matrix = new Float64Array(C * K);
  const targets: Float64Array[] = [],
    fitted: Float64Array[] = [];
  const posed = new Float64Array(R);
  for (let k = 0; k < K; k++) {
    const target = new Float64Array(R);
    for (let r = 0; r < R; r++) target[r] = T[r * K + k]!;
    // Gauss-Newton on the rotations: solve at rest, re-linearise where a rotation is used (2 more steps).
    const c = new Float64Array(C);
    let Jm = J0,
      H = ridged(H0);
    for (let it = 0; it < 3; it++) {
      posePoints(ps, c, posed);
      const g = new Float64Array(C);
      // Linearised residual: J (c' - c) + (posed - rest) - target; in c': J c' ~ target - (posed - rest) + J c.
      for (let r = 0; r < R; r++) {
        let lin = target[r]! - (posed[r]! - rest[r]!);
        for (let i = 0; i < C; i++) lin += Jm[r * C + i]! * c[i]!;
        for (let i = 0; i < C; i++) g[i] += Jm[r * C + i]! * lin;
      }
      boxQp(H, g, FIT_LO, FIT_HI, c, L1);
      // Below 0.02 rad the rest linearisation is off by under 0.02 mm at the chin: no need to re-linearise.
      if (!c.subarray(E).some((v) => Math.abs(v) > 0.02)) break;
      if (it < 2) {
        Jm = jacobian(ps, c);
        H = ridged(normalSystem(Jm, R, C));
      }
    }
    // Under a thousandth of a slider (or a milliradian) is the solver's noise, not part of the shape.
    for (let i = 0; i < C; i++) matrix[i * K + k] = c[i] = Math.abs(c[i]!) < 1e-3 ? 0 : c[i]!;
    const got = posePoints(ps, c);
    for (let r = 0; r < R; r++) got[r] -= rest[r]!;
    targets.push(target);
    fitted.push(got);
  }

  // Export: ARKit weights whose shapes, as our head makes them (A's columns,
  // not the adult-sized targets), add up to a pose's point motion. So export
  // inverts import: a shape our head makes at 40 % of its adult size reads
  // back at its own weight, not at 0.4 of it. Motion is linearised at rest
  // (d = J0 c), as in a linear blendshape rig, so a half-open jaw reads back
  // as half of jawOpen instead of leaving the arc's sagitta to other shapes.
  const B = new Float64Array(R * K); // J0 A: each ARKit shape's point motion on our head
  for (let r = 0; r < R; r++)
    for (let i = 0; i < C; i++) {
      const j = J0[r * C + i]!;
      if (j !== 0) for (let k = 0; k < K; k++) B[r * K + k] += j * matrix[i * K + k]!;
    }
  const TT = normalSystem(B, R, K);
  for (let i = 0; i < K; i++) TT[i * K + i] += RIDGE * TT[i * K + i]! + 1e-9;
  const BJ = new Float64Array(K * C); // B' J0: controls -> right-hand side
  for (let r = 0; r < R; r++)
    for (let k = 0; k < K; k++) {
      const b = B[r * K + k]!;
      if (b !== 0) for (let i = 0; i < C; i++) BJ[k * C + i] += b * J0[r * C + i]!;
    }
  const lo0 = new Float64Array(K),
    hi1 = new Float64Array(K).fill(1);

  const map: ArkitMap = {
    model,
    matrix,
    targets,
    fitted,
    fitMs: 0,
    toControls(weights, out = new Float64Array(C)) {
      if (weights.length !== K)
        throw new Error(`ArkitMap.toControls: a frame needs ${K} weights, got ${weights.length}`);
      for (let i = 0; i < C; i++) {
        let s = 0;
        for (let k = 0; k < K; k++) s += matrix[i * K + k]! * Math.min(1, Math.max(0, weights[k]!));
        out[i] = Math.min(OUT_HI[i]!, Math.max(OUT_LO[i]!, s));
      }
      return out;
    },
    fromControls(controls, out = new Float64Array(K)) {
      if (controls.length !== C)
        throw new Error(`ArkitMap.fromControls: controls need ${C} numbers, got ${controls.length}`);
      const g = new Float64Array(K);
      for (let k = 0; k < K; k++) {
        let s = 0;
        for (let i = 0; i < C; i++) s += BJ[k * C + i]! * controls[i]!;
        g[k] = s;
      }
      for (let k = 0; k < K; k++) out[k] = Math.min(1, Math.max(0, Number.isFinite(out[k]!) ? out[k]! : 0));
      return boxQp(TT, g, lo0, hi1, out, EXPORT_L1);
    },
  };
  map.fitMs = performance.now() - t0;
  return map;
}

const MAPS = new WeakMap<HeadModel, ArkitMap>();
let defaultModel: HeadModel | null = null;

/**
 * The fitted map for `model` (default: createHeadModel() at detail 1, built
 * once, ~1.5 s). Fitted on first use and cached per model.
 */
export function getArkitMap(model?: HeadModel): ArkitMap {
  const m = model ?? (defaultModel ??= createHeadModel());
  let map = MAPS.get(m);
  if (!map) {
    map = buildMap(m);
    MAPS.set(m, map);
  }
  return map;
}

// ---------------------------------------------------------------------------
// Frames.

function weightsFrom(owner: string, weights: Float32Array | ArrayLike<number> | Record<string, number>): Float64Array {
  const w = new Float64Array(K);
  if (ArrayBuffer.isView(weights) || Array.isArray(weights)) {
    const a = weights as ArrayLike<number>;
    if (a.length !== K)
      throw new Error(`${owner}: weights need ${K} numbers (ARKIT_BLENDSHAPES order), got ${a.length}`);
    for (let k = 0; k < K; k++) w[k] = a[k]!;
  } else {
    for (const [name, v] of Object.entries(weights as Record<string, number>)) {
      const k = arkitNameIndex(name);
      if (k < 0)
        throw new Error(`${owner}: unknown ARKit blendshape "${name}" (did you mean "${closestArkitName(name)}"?)`);
      w[k] = v;
    }
  }
  for (let k = 0; k < K; k++)
    if (!Number.isFinite(w[k]!))
      throw new Error(`${owner}: ${ARKIT_BLENDSHAPES[k]} is ${w[k]}; weights must be finite`);
  return w;
}

/**
 * One ARKit frame (52 weights in ARKIT_BLENDSHAPES order, or a record by
 * name; missing names are 0; weights are clamped to [0, 1]) -> the mapped
 * channels' values by name (ARKIT_MAP_CHANNELS).
 */
export function arkitFrameToClipValues(
  weights: Float32Array | ArrayLike<number> | Record<string, number>,
  options: { model?: HeadModel } = {},
): Record<string, number> {
  const c = getArkitMap(options.model).toControls(weightsFrom("arkitFrameToClipValues", weights));
  return Object.fromEntries(ARKIT_MAP_CHANNELS.map((n, i) => [n, c[i]! + 0]));
}

/**
 * Channel values (by name, missing = 0; or a sampled clip frame with
 * `expression` [24] and `pose` [15]) -> ARKit weights in [0, 1], ARKIT_BLENDSHAPES order.
 */
export function clipValuesToArkitFrame(
  values: Record<string, number> | { expression: ArrayLike<number>; pose: ArrayLike<number> },
  options: { model?: HeadModel } = {},
): Float32Array {
  const owner = "clipValuesToArkitFrame";
  const c = new Float64Array(C);
  if ("expression" in values && "pose" in values && typeof values.expression === "object") {
    const { expression, pose } = values as { expression: ArrayLike<number>; pose: ArrayLike<number> };
    if (expression.length !== E || pose.length !== 15)
      throw new Error(
        `${owner}: expression needs ${E} numbers and pose 15, got ${expression.length} and ${pose.length}`,
      );
    controlsFromSample(expression, pose, c);
  } else {
    for (const [name, v] of Object.entries(values as Record<string, number>)) {
      const i = ARKIT_MAP_CHANNELS.indexOf(name);
      if (i < 0) continue; // head turns, jaw.z, translation: not ARKit blendshapes
      if (!Number.isFinite(v)) throw new Error(`${owner}: ${name} is ${v}; values must be finite`);
      c[i] = v;
    }
  }
  return Float32Array.from(getArkitMap(options.model).fromControls(c));
}

/** The map's controls of a sampled frame (expression [24], pose [15]). */
export function controlsFromSample(
  expression: ArrayLike<number>,
  pose: ArrayLike<number>,
  out = new Float64Array(C),
): Float64Array {
  for (let e = 0; e < E; e++) out[e] = expression[e]!;
  for (let r = 0; r < POSE_OF.length; r++) out[E + r] = pose[POSE_OF[r]!]!;
  return out;
}

/** Writes controls into expression [24] and pose [15] arrays (other pose entries untouched). */
export function controlsToSample(controls: ArrayLike<number>, expression: Float32Array, pose: Float32Array): void {
  for (let e = 0; e < E; e++) expression[e] = controls[e]!;
  for (let r = 0; r < POSE_OF.length; r++) pose[POSE_OF[r]!] = controls[E + r]!;
}

// ---------------------------------------------------------------------------
// Head and eye rotations: yaw about +y, pitch about +x, roll about +z of the
// head frame (ARKit's face frame: x the face's left, y up, z out of the face),
// right-handed, applied yaw, then pitch, then roll (R = Ry Rx Rz). So yaw > 0
// turns the face toward its left and pitch > 0 tips it down: the same signs
// as our neck.y and neck.x.

/** Axis-angle of R = Ry(yaw) Rx(pitch) Rz(roll). */
export function eulerToAxisAngle(yaw: number, pitch: number, roll: number): [number, number, number] {
  return matrixToAxisAngle(mul3(mul3(rodrigues(0, yaw, 0), rodrigues(pitch, 0, 0)), rodrigues(0, 0, roll)));
}

/** [yaw, pitch, roll] of the rotation with axis-angle v (the inverse of eulerToAxisAngle for |pitch| < 90 degrees). */
export function axisAngleToEuler(v: ArrayLike<number>): [number, number, number] {
  return matrixToEuler(rodrigues(v[0]!, v[1]!, v[2]!));
}

/** [yaw, pitch, roll] of the head: the global rotation, then the neck's. */
export function headEuler(pose: ArrayLike<number>): [number, number, number] {
  return matrixToEuler(mul3(rodrigues(pose[0]!, pose[1]!, pose[2]!), rodrigues(pose[3]!, pose[4]!, pose[5]!)));
}

function matrixToEuler(R: ArrayLike<number>): [number, number, number] {
  const pitch = Math.asin(Math.min(1, Math.max(-1, -R[5]!)));
  return [Math.atan2(R[2]!, R[8]!), pitch, Math.atan2(R[3]!, R[4]!)];
}

function mul3(a: ArrayLike<number>, b: ArrayLike<number>): Float64Array {
  const out = new Float64Array(9);
  for (let r = 0; r < 3; r++)
    for (let c = 0; c < 3; c++) {
      let s = 0;
      for (let k = 0; k < 3; k++) s += a[r * 3 + k]! * b[k * 3 + c]!;
      out[r * 3 + c] = s;
    }
  return out;
}

function matrixToAxisAngle(R: ArrayLike<number>): [number, number, number] {
  const cos = Math.min(1, Math.max(-1, (R[0]! + R[4]! + R[8]! - 1) / 2));
  const angle = Math.acos(cos);
  const v: [number, number, number] = [R[7]! - R[5]!, R[2]! - R[6]!, R[3]! - R[1]!];
  if (angle < 1e-6) return [v[0] / 2, v[1] / 2, v[2] / 2];
  const sin = Math.sin(angle);
  if (sin > 1e-6) {
    const s = angle / (2 * sin);
    return [v[0] * s, v[1] * s, v[2] * s];
  }
  // Half a turn: the axis from the diagonal.
  const x = Math.sqrt(Math.max(0, (R[0]! + 1) / 2)),
    y = Math.sqrt(Math.max(0, (R[4]! + 1) / 2)),
    z = Math.sqrt(Math.max(0, (R[8]! + 1) / 2));
  const ax: [number, number, number] =
    x >= y && x >= z
      ? [x, Math.sign(R[1]!) * y || y, Math.sign(R[2]!) * z || z]
      : y >= z
        ? [Math.sign(R[1]!) * x || x, y, Math.sign(R[5]!) * z || z]
        : [Math.sign(R[2]!) * x || x, Math.sign(R[5]!) * y || y, z];
  return [ax[0] * angle, ax[1] * angle, ax[2] * angle];
}

/** Share of a head rotation given to the global joint; the neck takes the rest (as the built-in clips). */
export const HEAD_GLOBAL_SHARE = 0.4;

// ---------------------------------------------------------------------------
// The report.

export interface ArkitShapeFit {
  name: ArkitBlendshape;
  /** Largest point displacement of the target, mm (the shape's size at weight 1). */
  sizeMm: number;
  /** RMS of target - reproduced over the points either one moves by over 0.1 mm, mm. */
  rmsMm: number;
  /** Largest point error, mm. */
  maxMm: number;
  /** |target - reproduced| / |target| over all points: 0 exact, 1 nothing reproduced. */
  relative: number;
  /** How far along the target the reproduction goes, <fit, target> / |target|^2: 1 full size, 0.4 the right motion but 40 % as large. */
  reach: number;
  /** Cosine between reproduced and target motion (all points): 1 the same pattern, below ~0.7 a different motion. */
  cosine: number;
  /** The fitted channels at weight 1 (only those above 0.005 in size). */
  channels: Record<string, number>;
}

export interface ArkitMapReport {
  shapes: ArkitShapeFit[];
  medianRmsMm: number;
  maxRmsMm: number;
  medianRelative: number;
  /** Shapes our head makes as a different motion (cosine under 0.7), worst first. */
  poor: ArkitBlendshape[];
  /** Shapes it makes as the right motion but under 70 % of the adult size (cosine >= 0.7, reach < 0.7). */
  weak: ArkitBlendshape[];
  /** ARKit -> ours -> ARKit on random sparse frames (2-5 active shapes, weights 0.2-1). */
  roundTrip: {
    frames: number;
    /** Mean |w' - w| over all 52 weights of all frames. */
    meanAbsError: number;
    /** Mean |w' - w| over the active shapes only, and over those outside `poor`. */
    meanAbsErrorActive: number;
    meanAbsErrorActiveExpressible: number;
    /** Largest |w' - w| of any weight. */
    maxAbsError: number;
  };
  fitMs: number;
}

const POOR_COSINE = 0.7;
const WEAK_REACH = 0.7;

/** Measures the map: per-shape reconstruction error and an ARKit -> ours -> ARKit round trip. */
export function arkitMapReport(options: { model?: HeadModel; frames?: number; seed?: number } = {}): ArkitMapReport {
  const map = getArkitMap(options.model);
  const shapes: ArkitShapeFit[] = ARKIT_BLENDSHAPES.map((name, k) => {
    const t = map.targets[k]!,
      f = map.fitted[k]!;
    let size = 0,
      sum = 0,
      n = 0,
      max = 0,
      tn = 0,
      en = 0,
      fn = 0,
      dot = 0;
    for (let i = 0; i < t.length / 3; i++) {
      const tm = Math.hypot(t[i * 3]!, t[i * 3 + 1]!, t[i * 3 + 2]!);
      const fm = Math.hypot(f[i * 3]!, f[i * 3 + 1]!, f[i * 3 + 2]!);
      const e2 =
        (t[i * 3]! - f[i * 3]!) ** 2 + (t[i * 3 + 1]! - f[i * 3 + 1]!) ** 2 + (t[i * 3 + 2]! - f[i * 3 + 2]!) ** 2;
      size = Math.max(size, tm);
      tn += tm * tm;
      fn += fm * fm;
      dot += t[i * 3]! * f[i * 3]! + t[i * 3 + 1]! * f[i * 3 + 1]! + t[i * 3 + 2]! * f[i * 3 + 2]!;
      en += e2;
      max = Math.max(max, Math.sqrt(e2));
      if (tm > 0.1 || fm > 0.1) {
        sum += e2;
        n++;
      }
    }
    const channels: Record<string, number> = {};
    for (let i = 0; i < C; i++) {
      const v = map.matrix[i * K + k]!;
      if (Math.abs(v) > 0.005) channels[ARKIT_MAP_CHANNELS[i]!] = +v.toFixed(3);
    }
    return {
      name,
      sizeMm: size,
      rmsMm: n ? Math.sqrt(sum / n) : 0,
      maxMm: max,
      relative: tn > 0 ? Math.sqrt(en / tn) : 0,
      reach: tn > 0 ? dot / tn : 0,
      cosine: tn > 0 && fn > 0 ? dot / Math.sqrt(tn * fn) : 0,
      channels,
    };
  });
  const median = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
  };
  const poor = shapes
    .filter((s) => s.cosine < POOR_COSINE)
    .sort((a, b) => a.cosine - b.cosine)
    .map((s) => s.name);
  const weak = shapes
    .filter((s) => s.cosine >= POOR_COSINE && s.reach < WEAK_REACH)
    .sort((a, b) => a.reach - b.reach)
    .map((s) => s.name);

  const frames = options.frames ?? 200;
  const rand = mulberry32(options.seed ?? 1);
  let all = 0,
    active = 0,
    activeN = 0,
    expressible = 0,
    expressibleN = 0,
    maxErr = 0;
  const back = new Float64Array(K);
  for (let f = 0; f < frames; f++) {
    const w = new Float64Array(K);
    const count = 2 + Math.floor(rand() * 4);
    for (let j = 0; j < count; j++) w[Math.floor(rand() * K)] = 0.2 + 0.8 * rand();
    back.fill(0);
    map.fromControls(map.toControls(w), back);
    for (let k = 0; k < K; k++) {
      const e = Math.abs(back[k]! - w[k]!);
      all += e;
      maxErr = Math.max(maxErr, e);
      if (w[k]! > 0) {
        active += e;
        activeN++;
        if (!poor.includes(ARKIT_BLENDSHAPES[k]!)) {
          expressible += e;
          expressibleN++;
        }
      }
    }
  }
  return {
    shapes,
    medianRmsMm: median(shapes.map((s) => s.rmsMm)),
    maxRmsMm: Math.max(...shapes.map((s) => s.rmsMm)),
    medianRelative: median(shapes.map((s) => s.relative)),
    poor,
    weak,
    roundTrip: {
      frames,
      meanAbsError: all / (frames * K),
      meanAbsErrorActive: active / Math.max(1, activeN),
      meanAbsErrorActiveExpressible: expressible / Math.max(1, expressibleN),
      maxAbsError: maxErr,
    },
    fitMs: map.fitMs,
  };
}

/** The report as Markdown (the table in docs/animation.md). */
export function formatArkitMapReport(report: ArkitMapReport): string {
  const lines = [
    "| ARKit shape | size mm | RMS error mm | max error mm | relative | reach | cosine | our channels at weight 1 |",
    "|---|---|---|---|---|---|---|---|",
    ...report.shapes.map(
      (s) =>
        `| ${s.name} | ${s.sizeMm.toFixed(1)} | ${s.rmsMm.toFixed(2)} | ${s.maxMm.toFixed(2)} | ${s.relative.toFixed(2)} | ${s.reach.toFixed(2)} | ${s.cosine.toFixed(2)} | ${
          Object.entries(s.channels)
            .map(([c, v]) => `${c} ${v}`)
            .join(", ") || "-"
        } |`,
    ),
    "",
    `median RMS ${report.medianRmsMm.toFixed(2)} mm, max RMS ${report.maxRmsMm.toFixed(2)} mm, median relative ${report.medianRelative.toFixed(2)}`,
    `a different motion on our head (cosine < ${POOR_COSINE}): ${report.poor.join(", ") || "none"}`,
    `the right motion, under ${WEAK_REACH * 100} % of the size (reach < ${WEAK_REACH}): ${report.weak.join(", ") || "none"}`,
    `round trip ARKit -> ours -> ARKit, ${report.roundTrip.frames} random frames of 2-5 shapes: mean |dw| ${report.roundTrip.meanAbsError.toFixed(4)} over all weights, ${report.roundTrip.meanAbsErrorActive.toFixed(3)} over active shapes, ${report.roundTrip.meanAbsErrorActiveExpressible.toFixed(3)} over active well-reproduced shapes, max ${report.roundTrip.maxAbsError.toFixed(3)}`,
    `fit time ${report.fitMs.toFixed(0)} ms (head model not included)`,
  ];
  return lines.join("\n");
}
