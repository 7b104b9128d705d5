/**
 * The head-and-neck surface as one (row, column) grid, cast onto the
 * implicit head of head-sdf.ts. Columns are azimuths about the vertical
 * axis (theta = 0 looks along +z, theta = +90 deg along +x, the subject's
 * left), denser at the face. Rows run from the bottom of the neck to the
 * crown:
 *   - a flat cap closing the neck bottom (pole + CAP_RINGS rings),
 *   - neck rows: horizontal rays from the neck axis,
 *   - fan rows: rays from HEAD.rayOrigin at latitude psi, up to the crown pole.
 * Two fan rows are exact: the eye row (lid slits) and the mouth row (lip
 * slit). Slits are cut later (mesh.ts); this file only places rows and
 * answers "where does the ray for (row, column, offset) hit".
 */
import { HEAD, castRay } from "./head-sdf";

export const CAP_RINGS = 2;
const DEG = Math.PI / 180;

/** How the vertices of one grid row are placed. */
export type RowSpec =
  | { kind: "pole-bottom" }
  | { kind: "cap"; scale: number }
  | { kind: "neck"; frac: number }
  | { kind: "fan"; psi: number }
  | { kind: "pole-top" };

export interface GridLayout {
  /** [C] f64 column azimuths, symmetric: theta[C - j] = -theta[j], theta[0] = -pi, theta[C/2] = 0. */
  thetas: Float64Array;
  rows: RowSpec[];
  /** Row indices of the exact eye and mouth rows. */
  eyeRow: number;
  mouthRow: number;
  /** Latitude of the lowest fan row (where the neck rows end). */
  psi0: number;
}

/** Symmetric azimuths, about 2.2x denser at the front than at the back. */
export function columnAngles(count: number): Float64Array {
  if (!Number.isInteger(count) || count < 16 || count % 2 !== 0)
    throw new Error(`columnAngles: count must be an even integer >= 16, got ${count}`);
  const out = new Float64Array(count);
  for (let j = 0; j < count; j++) {
    const s = -Math.PI + (2 * Math.PI * j) / count;
    out[j] = s - 0.55 * Math.sin(s);
  }
  return out;
}

export function fanDirection(theta: number, psi: number): [number, number, number] {
  return [Math.sin(theta) * Math.cos(psi), Math.sin(psi), Math.cos(theta) * Math.cos(psi)];
}

/** Hit point of the fan ray (theta, psi). */
export function fanPoint(theta: number, psi: number): [number, number, number] {
  const d = fanDirection(theta, psi);
  const o = HEAD.rayOrigin;
  const t = castRay(o, d);
  return [o[0] + t * d[0], o[1] + t * d[1], o[2] + t * d[2]];
}

/** Latitude whose fan ray at azimuth theta hits the surface at height y (bisection; y must be reachable). */
export function psiForHeight(theta: number, y: number): number {
  let lo = -60 * DEG,
    hi = 60 * DEG;
  for (let i = 0; i < 40; i++) {
    const mid = 0.5 * (lo + hi);
    if (fanPoint(theta, mid)[1] < y) lo = mid;
    else hi = mid;
  }
  return 0.5 * (lo + hi);
}

/** Spacing between fan rows (radians) at latitude psi: fine over the face, coarse under the jaw and over the crown. */
function fanSpacing(psi: number, detail: number): number {
  const fine = 1.9 * DEG,
    coarse = 4.6 * DEG;
  const lo = -44 * DEG,
    hi = 40 * DEG,
    ramp = 12 * DEG;
  const out = psi < lo ? Math.min(1, (lo - psi) / ramp) : psi > hi ? Math.min(1, (psi - hi) / ramp) : 0;
  return (fine + (coarse - fine) * out) / detail;
}

/** Rows from a to b (a excluded, b included) following fanSpacing, stretched to end exactly at b. */
function fanSegment(a: number, b: number, detail: number): number[] {
  const raw: number[] = [];
  let p = a;
  while (p < b) {
    p += fanSpacing(p, detail);
    raw.push(p);
  }
  const n = Math.max(1, Math.round(raw.length - (raw[raw.length - 1] - b) / fanSpacing(b, detail)));
  // Re-space n steps over [a, b] with the same relative density.
  const w: number[] = [];
  let q = a;
  const step = (b - a) / n;
  for (let k = 0; k < n; k++) {
    w.push(fanSpacing(q + step * 0.5, detail));
    q += step;
  }
  const total = w.reduce((s, v) => s + v, 0);
  const out: number[] = [];
  let acc = a;
  for (let k = 0; k < n; k++) {
    acc += ((b - a) * w[k]) / total;
    out.push(k === n - 1 ? b : acc);
  }
  return out;
}

export function buildGridLayout(detail: number): GridLayout {
  if (!(detail >= 0.5 && detail <= 3)) throw new Error(`buildGridLayout: detail must be in [0.5, 3], got ${detail}`);
  const cols = 2 * Math.round(48 * detail);
  const thetas = columnAngles(cols);
  const eyeTheta = Math.atan2(HEAD.eyeCenter[0], HEAD.eyeCenter[2] + HEAD.lidRadius - HEAD.rayOrigin[2]);
  const psiEye = psiForHeight(eyeTheta, HEAD.eyeCenter[1]);
  const psiMouth = psiForHeight(0, HEAD.mouthY);
  const psi0 = -64 * DEG;
  const topPsi = 86 * DEG;
  const fan = [
    psi0,
    ...fanSegment(psi0, psiMouth, detail),
    ...fanSegment(psiMouth, psiEye, detail),
    ...fanSegment(psiEye, topPsi, detail),
  ];
  const rows: RowSpec[] = [{ kind: "pole-bottom" }];
  for (let k = 1; k <= CAP_RINGS; k++) rows.push({ kind: "cap", scale: k / (CAP_RINGS + 1) });
  const neckRows = Math.max(4, Math.round(8 * detail));
  for (let k = 0; k < neckRows; k++) rows.push({ kind: "neck", frac: k / neckRows });
  const firstFan = rows.length;
  for (const psi of fan) rows.push({ kind: "fan", psi });
  rows.push({ kind: "pole-top" });
  const mouthRow = firstFan + fan.indexOf(psiMouth);
  const eyeRow = firstFan + fan.indexOf(psiEye);
  return { thetas, rows, eyeRow, mouthRow, psi0 };
}

/**
 * Position of grid vertex (row, column) with a latitude offset (fan rows
 * only: used to open the lid and lip slits). Cap and neck rows need the
 * lowest fan row's hits (`neckTop`, [C, 3] f64) to meet them without a seam.
 */
export function gridPoint(
  layout: GridLayout,
  row: number,
  col: number,
  psiOffset: number,
  neckTop: Float64Array,
): [number, number, number] {
  const spec = layout.rows[row];
  const theta = layout.thetas[col];
  switch (spec.kind) {
    case "fan":
      return fanPoint(theta, spec.psi + psiOffset);
    case "neck": {
      // Horizontal ray from the neck axis toward the lowest fan row's hit, so the two meet without a seam.
      const top = neckTop.subarray(col * 3, col * 3 + 3);
      const y = HEAD.neckBottomY + (top[1] - HEAD.neckBottomY) * spec.frac;
      const len = Math.hypot(top[0], top[2] - HEAD.neckAxisZ);
      const d = [top[0] / len, 0, (top[2] - HEAD.neckAxisZ) / len];
      const t = castRay([0, y, HEAD.neckAxisZ], d);
      return [t * d[0], y, HEAD.neckAxisZ + t * d[2]];
    }
    case "cap": {
      const rim = gridPoint(layout, CAP_RINGS + 1, col, 0, neckTop);
      return [rim[0] * spec.scale, HEAD.neckBottomY, HEAD.neckAxisZ + (rim[2] - HEAD.neckAxisZ) * spec.scale];
    }
    case "pole-bottom":
      return [0, HEAD.neckBottomY, HEAD.neckAxisZ];
    case "pole-top":
      return fanPoint(0, Math.PI / 2);
  }
}
