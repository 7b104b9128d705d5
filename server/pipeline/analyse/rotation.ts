/**
 * Head rotation from the 68 detected landmarks: the head model's landmarks
 * (3D, the project's mean face) are fitted to the detected 2D points with a
 * scaled orthographic camera (weak perspective: a face's depth is small
 * against its distance), by Levenberg-Marquardt over yaw, pitch, roll,
 * scale and 2D offset, started from several yaws so a turned face does not
 * end in the mirrored minimum.
 *
 * Angles use the renderer's convention (server/pipeline/synthesise/portrait.ts):
 * R = R_y(yaw) R_x(pitch) R_z(roll) in head-model axes (+x subject's left,
 * +y up, +z out of the face). yaw > 0: the face turns toward the SUBJECT'S
 * LEFT (the image's right); pitch > 0: the head nods down; roll > 0: the
 * head tilts toward the SUBJECT'S RIGHT shoulder (the image's left), so the
 * eye at landmark 45 rises above the one at 36.
 * The jaw contour (points 0-16) is left out: detectors put it on the
 * silhouette, which slides over the face as it turns.
 */

export interface HeadRotation {
  yawDeg: number;
  pitchDeg: number;
  rollDeg: number;
}

export interface RotationFit extends HeadRotation {
  /** Pixels per metre of the fitted model. */
  scale: number;
  /** RMS distance between fitted and detected points, in units of the inter-ocular distance (about 0.05 for a good fit). */
  rmsRelative: number;
}

/** Landmarks used for the fit: brows, nose, eyes, mouth. */
export const ROTATION_LANDMARKS: readonly number[] = Array.from({ length: 51 }, (_, i) => 17 + i);

const DEG = Math.PI / 180;

/** Row-major 3x3 of R_y(yaw) R_x(pitch) R_z(roll), radians. */
export function eulerMatrix(yaw: number, pitch: number, roll: number): number[] {
  const [cy, sy, cp, sp, cr, sr] = [
    Math.cos(yaw),
    Math.sin(yaw),
    Math.cos(pitch),
    Math.sin(pitch),
    Math.cos(roll),
    Math.sin(roll),
  ];
  // R_y R_x = [[cy, sy sp, sy cp], [0, cp, -sp], [-sy, cy sp, cy cp]]; then times R_z.
  const a = [cy, sy * sp, sy * cp, 0, cp, -sp, -sy, cy * sp, cy * cp];
  const z = [cr, -sr, 0, sr, cr, 0, 0, 0, 1];
  const m = new Array<number>(9);
  for (let r = 0; r < 3; r++)
    for (let c = 0; c < 3; c++)
      m[r * 3 + c] = a[r * 3]! * z[c]! + a[r * 3 + 1]! * z[3 + c]! + a[r * 3 + 2]! * z[6 + c]!;
  return m;
}

/** Image position of model point p under params [yaw, pitch, roll, scale, tx, ty] (image y points down). */
function project(q: number[], m: number[], x: number, y: number, z: number): [number, number] {
  return [q[3]! * (m[0]! * x + m[1]! * y + m[2]! * z) + q[4]!, -q[3]! * (m[3]! * x + m[4]! * y + m[5]! * z) + q[5]!];
}

function residuals(
  q: number[],
  model: Float32Array,
  pts: ArrayLike<number>,
  idx: readonly number[],
  out: Float64Array,
): number {
  const m = eulerMatrix(q[0]!, q[1]!, q[2]!);
  let sum = 0;
  idx.forEach((k, i) => {
    const [u, v] = project(q, m, model[k * 3]!, model[k * 3 + 1]!, model[k * 3 + 2]!);
    out[i * 2] = u - pts[k * 2]!;
    out[i * 2 + 1] = v - pts[k * 2 + 1]!;
    sum += out[i * 2]! ** 2 + out[i * 2 + 1]! ** 2;
  });
  return sum;
}

/** Solves the 6x6 system A x = b in place (Gaussian elimination with partial pivoting). */
function solve6(A: number[][], b: number[]): number[] | null {
  const n = b.length;
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(A[r]![c]!) > Math.abs(A[p]![c]!)) p = r;
    if (Math.abs(A[p]![c]!) < 1e-12) return null;
    [A[c], A[p]] = [A[p]!, A[c]!];
    [b[c], b[p]] = [b[p]!, b[c]!];
    for (let r = c + 1; r < n; r++) {
      const f = A[r]![c]! / A[c]![c]!;
      for (let k = c; k < n; k++) A[r]![k]! -= f * A[c]![k]!;
      b[r]! -= f * b[c]!;
    }
  }
  const x = new Array<number>(n).fill(0);
  for (let r = n - 1; r >= 0; r--) {
    let s = b[r]!;
    for (let k = r + 1; k < n; k++) s -= A[r]![k]! * x[k]!;
    x[r] = s / A[r]![r]!;
  }
  return x;
}

function levenbergMarquardt(
  q0: number[],
  model: Float32Array,
  pts: ArrayLike<number>,
  idx: readonly number[],
): { q: number[]; cost: number } {
  const n = idx.length * 2;
  const r = new Float64Array(n),
    rp = new Float64Array(n);
  let q = q0.slice(),
    cost = residuals(q, model, pts, idx, r),
    lambda = 1e-3;
  const steps = [1e-4, 1e-4, 1e-4, q0[3]! * 1e-4, 1e-2, 1e-2];
  for (let iter = 0; iter < 60; iter++) {
    // Forward-difference Jacobian [n, 6].
    const J: Float64Array[] = steps.map((h, j) => {
      const qh = q.slice();
      qh[j]! += h;
      residuals(qh, model, pts, idx, rp);
      return Float64Array.from(rp, (v, i) => (v - r[i]!) / h);
    });
    const JtJ = J.map((a) => J.map((b) => a.reduce((s, v, i) => s + v * b[i]!, 0)));
    const Jtr = J.map((a) => a.reduce((s, v, i) => s + v * r[i]!, 0));
    let improved = false;
    for (let tries = 0; tries < 8 && !improved; tries++) {
      const A = JtJ.map((row, i) => row.map((v, j) => (i === j ? v * (1 + lambda) + 1e-12 : v)));
      const dq = solve6(
        A,
        Jtr.map((v) => -v),
      );
      if (!dq) break;
      const qn = q.map((v, j) => v + dq[j]!);
      const cn = residuals(qn, model, pts, idx, rp);
      if (cn < cost) {
        const rel = (cost - cn) / cost;
        q = qn;
        cost = cn;
        r.set(rp);
        lambda = Math.max(lambda / 10, 1e-9);
        improved = true;
        if (rel < 1e-9) return { q, cost };
      } else lambda *= 10;
    }
    if (!improved) break;
  }
  return { q, cost };
}

/**
 * Fits the head rotation to detected landmarks.
 * @param points [68, 2] pixel positions (iBUG order)
 * @param model3d [68, 3] the head model's landmarks (metres)
 */
export function fitHeadRotation(
  points: ArrayLike<number>,
  model3d: Float32Array,
  idx: readonly number[] = ROTATION_LANDMARKS,
): RotationFit {
  if (points.length !== 136 || model3d.length !== 204)
    throw new Error(
      `fitHeadRotation: need [68, 2] points and [68, 3] model landmarks, got ${points.length} and ${model3d.length} numbers`,
    );
  const mean = (a: ArrayLike<number>, d: number, c: number) => idx.reduce((s, k) => s + a[k * d + c]!, 0) / idx.length;
  const spread = (a: ArrayLike<number>, d: number) => {
    const m = [0, 1].map((c) => mean(a, d, c));
    return Math.sqrt(idx.reduce((s, k) => s + (a[k * d]! - m[0]!) ** 2 + (a[k * d + 1]! - m[1]!) ** 2, 0) / idx.length);
  };
  const scale0 = spread(points, 2) / spread(model3d, 3);
  const [cx, cy] = [mean(points, 2, 0), mean(points, 2, 1)];
  const [mx, my, mz] = [0, 1, 2].map((c) => mean(model3d, 3, c)) as [number, number, number];
  let best: { q: number[]; cost: number } | null = null;
  for (const yaw0 of [-60, -30, 0, 30, 60]) {
    const m = eulerMatrix(yaw0 * DEG, 0, 0);
    const q0 = [yaw0 * DEG, 0, 0, scale0, 0, 0];
    // Start with the model's centroid on the points' centroid.
    const [u, v] = project(q0, m, mx, my, mz);
    q0[4] = cx - u;
    q0[5] = cy - v;
    const r = levenbergMarquardt(q0, model3d, points, idx);
    if (!best || r.cost < best.cost) best = r;
  }
  const q = best!.q;
  const io = Math.hypot(points[36 * 2]! - points[45 * 2]!, points[36 * 2 + 1]! - points[45 * 2 + 1]!);
  const wrap = (a: number) => Math.atan2(Math.sin(a), Math.cos(a)) / DEG;
  return {
    yawDeg: wrap(q[0]!),
    pitchDeg: wrap(q[1]!),
    rollDeg: wrap(q[2]!),
    scale: q[3]!,
    rmsRelative: Math.sqrt(best!.cost / idx.length) / Math.max(io, 1e-6),
  };
}
