/**
 * The 68 facial landmarks in iBUG 300-W order, bound to the template as
 * (face, barycentric) so that they follow every blendshape and pose.
 * iBUG numbers sides as seen in the image: point 0 (jaw) and 36 (eye) are
 * on the SUBJECT'S RIGHT (-x here). Groups:
 *   0-16 jaw contour (right ear level -> chin 8 -> left), 17-21 right brow
 *   (outer -> inner), 22-26 left brow (inner -> outer), 27-30 nose bridge
 *   (top -> tip), 31-35 nostril base (right -> left, 33 centre), 36-41 right
 *   eye (36 outer corner, 37-38 upper lid, 39 inner corner, 40-41 lower),
 *   42-47 left eye (42 inner, 43-44 upper, 45 outer, 46-47 lower), 48-59
 *   outer lip (48 right corner, 51 top centre, 54 left corner, 57 bottom
 *   centre), 60-67 inner lip (60 right corner, 62 upper centre, 64 left
 *   corner, 66 lower centre).
 */
import { HEAD } from "./head-sdf";
import { MeshPart, type TemplateMesh } from "./mesh";
import { closestSurfacePoint, raycastMesh, type SurfacePoint } from "./mesh-query";
import { Region, browBand } from "./regions";

export const LANDMARK_COUNT = 68;

/** Landmark groups (index ranges, end exclusive) for tests and drawing. */
export const LANDMARK_GROUPS = {
  jaw: [0, 17],
  rightBrow: [17, 22],
  leftBrow: [22, 27],
  noseBridge: [27, 31],
  nostrils: [31, 36],
  rightEye: [36, 42],
  leftEye: [42, 48],
  outerLip: [48, 60],
  innerLip: [60, 68],
} as const;

export function bindLandmarks(mesh: TemplateMesh, vertexRegion: Uint8Array): SurfacePoint[] {
  const P = mesh.positions,
    F = mesh.faces;
  const headFaces: number[] = [];
  for (let f = 0; f < F.length / 3; f++)
    if (
      mesh.part[F[f * 3]] === MeshPart.head &&
      mesh.part[F[f * 3 + 1]] === MeshPart.head &&
      mesh.part[F[f * 3 + 2]] === MeshPart.head
    )
      headFaces.push(f);
  const v3 = (i: number): [number, number, number] => [P[i * 3], P[i * 3 + 1], P[i * 3 + 2]];
  const bind = (p: ArrayLike<number>): SurfacePoint => {
    const r = closestSurfacePoint(P, F, p, headFaces);
    return { face: r.face, bary: r.bary };
  };
  /** Frontal projection: the first head hit of a ray from far in front at (x, y) going -z. */
  const front = (x: number, y: number): SurfacePoint => {
    const hit = raycastMesh(P, F, [x, y, 0.3], [0, 0, -1], headFaces);
    if (!hit) throw new Error(`bindLandmarks: no surface in front at (${x}, ${y})`);
    return bind([x, y, 0.3 - hit.t]);
  };
  /** The point (1 - t) a + t b on mesh edge a-b, bound to a head face holding that edge (so upper and lower slit edges never mix). */
  const onEdge = (a: number, b: number, t: number): SurfacePoint => {
    for (const f of headFaces) {
      const tri = [F[f * 3], F[f * 3 + 1], F[f * 3 + 2]];
      const ia = tri.indexOf(a),
        ib = tri.indexOf(b);
      if (ia < 0 || (ib < 0 && a !== b)) continue;
      const bary: [number, number, number] = [0, 0, 0];
      bary[ia] += 1 - t;
      bary[a === b ? ia : ib] += t;
      return { face: f, bary };
    }
    throw new Error(`bindLandmarks: no head face holds edge ${a}-${b}`);
  };
  const atVertex = (v: number) => onEdge(v, v, 0);
  const C = mesh.layout.thetas.length;

  // Points along a slit edge at fractions of its corner-to-corner length (edge: vertex ids from corner to corner).
  const alongEdge = (edge: number[], frac: number): SurfacePoint => {
    const s = frac * (edge.length - 1);
    const k = Math.min(edge.length - 2, Math.floor(s));
    return onEdge(edge[k], edge[k + 1], s - k);
  };
  const slitEdges = (loop: Uint32Array): { upper: number[]; lower: number[] } => {
    const n = loop.length / 2;
    const upper = Array.from(loop.subarray(0, n + 1));
    const lower = [loop[0], ...Array.from(loop.subarray(n + 1)).reverse(), loop[n]];
    return { upper, lower };
  };
  const out: SurfacePoint[] = new Array(LANDMARK_COUNT);

  // Jaw contour: the outermost face point (x extreme, in front of the ears) at 17 heights, chin bottom in the middle.
  // Menton: walking down the midline from the lip, the first place where the surface turns more backward than downward.
  const chinBottomY = (() => {
    for (let r = mesh.layout.mouthRow - 2; r > 1; r--) {
      const a = v3(mesh.gridIndex(r, C / 2)),
        b = v3(mesh.gridIndex(r - 1, C / 2));
      // Skip the lower lip and the groove under it: the chin is at least 3 cm below the lip line.
      if (a[1] < HEAD.mouthY - 0.03 && a[2] - b[2] > a[1] - b[1]) return a[1];
    }
    throw new Error("bindLandmarks: no chin found on the midline");
  })();
  for (let k = 0; k <= 8; k++) {
    if (k === 8) {
      out[8] = front(0, chinBottomY + 0.001);
      break;
    }
    const t = k / 8;
    const y = 0.006 + (chinBottomY + 0.004 - 0.006) * Math.pow(t, 1.35);
    let best = -1,
      bestX = -Infinity;
    for (let i = 0; i < mesh.part.length; i++) {
      if (mesh.part[i] !== MeshPart.head || Math.abs(P[i * 3 + 1] - y) > 0.0025) continue;
      if (vertexRegion[i] === Region.leftEar || vertexRegion[i] === Region.rightEar || P[i * 3 + 2] < 0.005 + 0.05 * t)
        continue;
      if (-P[i * 3] > bestX) {
        bestX = -P[i * 3];
        best = i;
      }
    }
    const p = v3(best);
    out[k] = bind([p[0], y, p[2]]);
    out[16 - k] = bind([-p[0], y, p[2]]);
  }

  // Brows: five points along the band's centre line, outer to inner on the right, inner to outer on the left.
  for (let k = 0; k < 5; k++) {
    const ax = 0.0125 + ((0.056 - 0.0125) * (4 - k)) / 4;
    const band = browBand(ax)!;
    out[17 + k] = front(-ax, band.yc);
    out[26 - k] = front(ax, band.yc);
  }

  // Nose: bridge from the nasion to the tip on the midline, nostril base across the columella.
  const mid = C / 2;
  let tip = mesh.gridIndex(mesh.layout.mouthRow, mid);
  for (let r = mesh.layout.mouthRow; r < mesh.layout.eyeRow; r++)
    if (P[mesh.gridIndex(r, mid) * 3 + 2] > P[tip * 3 + 2]) tip = mesh.gridIndex(r, mid);
  const nasionY = HEAD.eyeCenter[1] + 0.004;
  for (let k = 0; k < 3; k++) out[27 + k] = front(0, nasionY + ((P[tip * 3 + 1] - nasionY) * k) / 3);
  out[30] = atVertex(tip);
  let sub = tip;
  for (let r = mesh.gridRow[tip]; r > mesh.layout.mouthRow; r--) {
    const v = mesh.gridIndex(r, mid);
    if (vertexRegion[v] !== Region.nose) {
      sub = v;
      break;
    }
  }
  const subY = P[sub * 3 + 1] + 0.0015;
  out[33] = atVertex(sub);
  out[31] = front(-0.0125, subY + 0.0015);
  out[32] = front(-0.0065, subY);
  out[34] = front(0.0065, subY);
  out[35] = front(0.0125, subY + 0.0015);

  // Eyes from the lid slits. Loops run from the smaller-column corner; for the right eye that is the outer one.
  {
    const r = slitEdges(mesh.eyeLoops[1]);
    out[36] = atVertex(r.upper[0]);
    out[37] = alongEdge(r.upper, 1 / 3);
    out[38] = alongEdge(r.upper, 2 / 3);
    out[39] = atVertex(r.upper[r.upper.length - 1]);
    out[40] = alongEdge(r.lower, 2 / 3);
    out[41] = alongEdge(r.lower, 1 / 3);
    const l = slitEdges(mesh.eyeLoops[0]);
    out[42] = atVertex(l.upper[0]);
    out[43] = alongEdge(l.upper, 1 / 3);
    out[44] = alongEdge(l.upper, 2 / 3);
    out[45] = atVertex(l.upper[l.upper.length - 1]);
    out[46] = alongEdge(l.lower, 2 / 3);
    out[47] = alongEdge(l.lower, 1 / 3);
  }

  // Lips: inner contour on the slit, outer contour where the lip region ends up/down the grid column.
  const m = slitEdges(mesh.mouthLoop);
  const colNear = (x: number) => {
    let best = m.upper[0],
      d = Infinity;
    for (const v of m.upper)
      if (Math.abs(P[v * 3] - x) < d) {
        d = Math.abs(P[v * 3] - x);
        best = v;
      }
    return mesh.gridCol[best];
  };
  const lipBorder = (x: number, upper: boolean): SurfacePoint => {
    const c = colNear(x);
    const region = upper ? Region.upperLip : Region.lowerLip;
    let prev = upper
      ? mesh.gridIndex(mesh.layout.mouthRow, c)
      : (() => {
          const i = mesh.gridIndex(mesh.layout.mouthRow, c);
          return mesh.lowerCopy[i] >= 0 ? mesh.lowerCopy[i] : i;
        })();
    for (
      let r = mesh.layout.mouthRow + (upper ? 1 : -1);
      r > 0 && r < mesh.layout.rows.length - 1;
      r += upper ? 1 : -1
    ) {
      const v = mesh.gridIndex(r, c);
      if (vertexRegion[v] !== region) return onEdge(prev, v, 0.5);
      prev = v;
    }
    throw new Error(`bindLandmarks: no lip border above/below x=${x}`);
  };
  const hw = HEAD.mouthHalfWidth;
  out[48] = atVertex(m.upper[0]);
  out[54] = atVertex(m.upper[m.upper.length - 1]);
  [-0.62, -0.3, 0, 0.3, 0.62].forEach((f, k) => (out[49 + k] = lipBorder(f * hw, true)));
  [0.62, 0.3, 0, -0.3, -0.62].forEach((f, k) => (out[55 + k] = lipBorder(f * hw, false)));
  out[60] = out[48];
  out[64] = out[54];
  [-0.5, 0, 0.5].forEach((f, k) => (out[61 + k] = alongEdge(m.upper, 0.5 + f / 2)));
  [0.5, 0, -0.5].forEach((f, k) => (out[65 + k] = alongEdge(m.lower, 0.5 + f / 2)));
  return out;
}
