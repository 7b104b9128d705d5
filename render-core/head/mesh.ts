/**
 * Template mesh: the head-and-neck grid of mesh-grid.ts with three slits cut
 * along exact rows (two lid fissures, one lip line), each slit closed by a
 * bag (mouth interior; eye sockets behind the eyeballs), plus two separate
 * eyeball spheres. Result: one closed, consistently outward-wound surface
 * for head + neck + mouth interior + sockets (genus 0), and two closed
 * eyeballs. Deterministic: the same options give the same bytes.
 *
 * Slits: along a slit row, every vertex strictly between the two corners is
 * duplicated; the original is the upper edge, the copy the lower edge. The
 * upper lid edge is lifted and the lower lowered by changing their ray
 * latitude, so that they stay on the lid shell (head-sdf.ts) and open an
 * almond over the eyeball. The lips are closed in the template (a 0.3 mm
 * gap); the jaw joint opens them.
 */
import { HEAD } from "./head-sdf";
import { buildGridLayout, gridPoint, type GridLayout } from "./mesh-grid";
import { relaxRoughPatches } from "./mesh-relax";

/** Which part of the model a vertex belongs to. */
export const MeshPart = {
  head: 0,
  mouthBag: 1,
  socketLeft: 2,
  socketRight: 3,
  eyeballLeft: 4,
  eyeballRight: 5,
} as const;
export type MeshPart = (typeof MeshPart)[keyof typeof MeshPart];

export interface TemplateMesh {
  /** [V, 3] f32 positions, metres. */
  positions: Float32Array;
  /** [F, 3] u32 triangles, counter-clockwise seen from outside. */
  faces: Uint32Array;
  /** [V] u8 MeshPart of each vertex. */
  part: Uint8Array;
  /** [V] i8 +1 above a slit (upper lid / upper lip side), -1 below, 0 elsewhere or at a corner. */
  slitSide: Int8Array;
  /** [V] i16 grid row of head-surface vertices, -1 for bags and eyeballs. */
  gridRow: Int16Array;
  /** [V] i16 grid column of head-surface vertices, -1 otherwise. */
  gridCol: Int16Array;
  layout: GridLayout;
  /** Vertex index of grid cell (row, col) (the upper copy on slits). */
  gridIndex: (row: number, col: number) => number;
  /** Slit loops, corner first, then upper edge to the other corner, then lower edge back. */
  mouthLoop: Uint32Array;
  eyeLoops: [Uint32Array, Uint32Array];
  /** [V] i32 lower-edge copy of a slit vertex, -1 if none. */
  lowerCopy: Int32Array;
  /** First vertex of each eyeball and its vertex count. */
  eyeballStart: [number, number];
  eyeballCount: number;
}

const MOUTH_WARP_ROWS = 6;

function smoothstepN(a: number, b: number, x: number): number {
  const t = Math.min(1, Math.max(0, (x - a) / (b - a)));
  return t * t * (3 - 2 * t);
}

/** Eyeball sphere resolution: rings from the pupil pole to the back pole, and segments around. */
const EYE_RINGS = 12;
const EYE_SEGMENTS = 16;

/** Mouth interior rings, as (width scale, half-height m, depth m) behind the lip edge. */
const MOUTH_RINGS: ReadonlyArray<readonly [number, number, number]> = [
  [0.96, 0.0022, 0.006],
  [0.93, 0.006, 0.013],
  [0.88, 0.011, 0.022],
  [0.74, 0.013, 0.033],
  [0.45, 0.01, 0.042],
];
const MOUTH_POLE_DEPTH = 0.047;
/** Socket bag radius: between the eyeball (12 mm) and the lid shell (13.6 mm). */
const SOCKET_RADIUS = 0.0128;
const SOCKET_RINGS = 4;

interface SlitSpec {
  row: number;
  /** Corner columns (c0 < c1); the slit is the columns strictly between. */
  c0: number;
  c1: number;
  /** Latitude offsets (radians) of the upper and lower edges at a column strictly inside. */
  open: (col: number) => [number, number];
  /** Rows above / below the slit over which the opening fades out. */
  fadeUp: number;
  fadeDown: number;
}

function nearestColumn(layout: GridLayout, hits: Float64Array, x: number, positive: boolean): number {
  let best = -1,
    bestD = Infinity;
  const cols = layout.thetas.length;
  for (let j = 0; j < cols; j++) {
    const th = layout.thetas[j];
    if (positive ? !(th > 0 && th < Math.PI / 2) : !(th < 0 && th > -Math.PI / 2)) continue;
    const d = Math.abs(hits[j * 3] - x);
    if (d < bestD) {
      bestD = d;
      best = j;
    }
  }
  return best;
}

function rowHits(layout: GridLayout, row: number, neckTop: Float64Array): Float64Array {
  const cols = layout.thetas.length;
  const out = new Float64Array(cols * 3);
  for (let j = 0; j < cols; j++) out.set(gridPoint(layout, row, j, 0, neckTop), j * 3);
  return out;
}

export interface TemplateMeshOptions {
  /** Grid density multiplier (1 gives about 7k vertices). */
  detail: number;
}

export function buildTemplateMesh(options: TemplateMeshOptions): TemplateMesh {
  const layout = buildGridLayout(options.detail);
  const cols = layout.thetas.length;
  const nRows = layout.rows.length;
  const firstFan = layout.rows.findIndex((r) => r.kind === "fan");
  const neckTop = new Float64Array(cols * 3);
  for (let j = 0; j < cols; j++) neckTop.set(gridPoint(layout, firstFan, j, 0, neckTop), j * 3);

  // Slits: eye corners where the eye row crosses the fissure ends; mouth corners likewise.
  const eyeHits = rowHits(layout, layout.eyeRow, neckTop);
  const mouthHits = rowHits(layout, layout.mouthRow, neckTop);
  const [ex] = HEAD.eyeCenter;
  const slits: SlitSpec[] = [];
  const lidOpening = (hits: Float64Array, cx: number, col: number): [number, number] => {
    const u = Math.min(1, Math.abs((hits[col * 3] - cx) / HEAD.eyeHalfWidth));
    const dist = Math.hypot(
      hits[col * 3] - HEAD.rayOrigin[0],
      hits[col * 3 + 1] - HEAD.rayOrigin[1],
      hits[col * 3 + 2] - HEAD.rayOrigin[2],
    );
    const a = Math.pow(Math.max(0, 1 - u * u), 0.65);
    return [Math.atan((HEAD.lidOpenUp * a) / dist), -Math.atan((HEAD.lidOpenDown * a) / dist)];
  };
  for (const sign of [1, -1]) {
    const a = nearestColumn(layout, eyeHits, sign * (ex - HEAD.eyeHalfWidth), sign > 0);
    const b = nearestColumn(layout, eyeHits, sign * (ex + HEAD.eyeHalfWidth), sign > 0);
    slits.push({
      row: layout.eyeRow,
      c0: Math.min(a, b),
      c1: Math.max(a, b),
      open: (c) => lidOpening(eyeHits, sign * ex, c),
      fadeUp: 4,
      fadeDown: 3,
    });
  }
  {
    const a = nearestColumn(layout, mouthHits, -HEAD.mouthHalfWidth, false);
    const b = nearestColumn(layout, mouthHits, HEAD.mouthHalfWidth, true);
    const gap = (c: number): [number, number] => {
      const u = Math.abs(mouthHits[c * 3] / HEAD.mouthHalfWidth);
      const g = (0.00015 * Math.sqrt(Math.max(0, 1 - u * u))) / 0.09;
      return [g, -g];
    };
    slits.push({ row: layout.mouthRow, c0: a, c1: b, open: gap, fadeUp: 0, fadeDown: 0 });
  }

  // Latitude offsets per grid vertex (upper copies) and per lower copy.
  const offUpper = new Float64Array(nRows * cols);
  const offLower = new Map<number, number>(); // col + row * cols -> offset of the lower copy
  // Rows of constant latitude curve up toward the mouth corners (the face recedes there); bend the rows
  // around the mouth so that the lip line is level, fading over MOUTH_WARP_ROWS rows and past the corners.
  for (let c = 0; c < cols; c++) {
    const x = mouthHits[c * 3],
      y = mouthHits[c * 3 + 1];
    const lateral = 1 - smoothstepN(HEAD.mouthHalfWidth, HEAD.mouthHalfWidth + 0.02, Math.abs(x));
    if (lateral <= 0 || mouthHits[c * 3 + 2] < 0) continue;
    const dist = Math.hypot(x - HEAD.rayOrigin[0], y - HEAD.rayOrigin[1], mouthHits[c * 3 + 2] - HEAD.rayOrigin[2]);
    const target = HEAD.mouthY + 0.0008 * (x / HEAD.mouthHalfWidth) ** 2;
    const dpsi = Math.atan((target - y) / dist) * lateral;
    for (let k = -MOUTH_WARP_ROWS; k <= MOUTH_WARP_ROWS; k++)
      offUpper[(layout.mouthRow + k) * cols + c] += dpsi * (1 - Math.abs(k) / (MOUTH_WARP_ROWS + 1));
  }
  for (const s of slits) {
    for (let c = s.c0 + 1; c < s.c1; c++) {
      const [up, down] = s.open(c);
      offLower.set(s.row * cols + c, down + offUpper[s.row * cols + c]);
      offUpper[s.row * cols + c] += up;
      for (let k = 1; k <= s.fadeUp; k++) offUpper[(s.row + k) * cols + c] += up * (1 - k / (s.fadeUp + 1));
      for (let k = 1; k <= s.fadeDown; k++) offUpper[(s.row - k) * cols + c] += down * (1 - k / (s.fadeDown + 1));
    }
  }

  // Vertices: grid (poles are single vertices), then lower copies.
  const pos: number[] = [];
  const part: number[] = [];
  const side: number[] = [];
  const gRow: number[] = [];
  const gCol: number[] = [];
  const rowStart = new Int32Array(nRows);
  const push = (p: ArrayLike<number>, pt: number, sd: number, r: number, c: number): number => {
    pos.push(p[0], p[1], p[2]);
    part.push(pt);
    side.push(sd);
    gRow.push(r);
    gCol.push(c);
    return part.length - 1;
  };
  const isPole = (r: number) => layout.rows[r].kind === "pole-bottom" || layout.rows[r].kind === "pole-top";
  const slitSideOf = (r: number, c: number): number => {
    for (const s of slits) {
      if (c <= s.c0 || c >= s.c1) continue;
      if (r >= s.row && r <= s.row + Math.max(s.fadeUp, 3)) return 1;
      if (r < s.row && r >= s.row - Math.max(s.fadeDown, 3)) return -1;
    }
    return 0;
  };
  const grid = castGrid(layout, slits, offUpper, neckTop);
  for (let r = 0; r < nRows; r++) {
    rowStart[r] = part.length;
    if (isPole(r)) {
      push(grid.subarray(r * cols * 3, r * cols * 3 + 3), MeshPart.head, 0, r, 0);
      continue;
    }
    for (let c = 0; c < cols; c++)
      push(grid.subarray((r * cols + c) * 3, (r * cols + c) * 3 + 3), MeshPart.head, slitSideOf(r, c), r, c);
  }
  const gridIndex = (r: number, c: number): number =>
    isPole(r) ? rowStart[r] : rowStart[r] + (((c % cols) + cols) % cols);
  const lowerCopyOf = new Map<number, number>();
  for (const s of slits) {
    for (let c = s.c0 + 1; c < s.c1; c++) {
      const key = s.row * cols + c;
      lowerCopyOf.set(key, push(gridPoint(layout, s.row, c, offLower.get(key)!, neckTop), MeshPart.head, -1, s.row, c));
    }
  }

  // Grid faces; below a slit row the quads use the lower copies.
  const faces: number[] = [];
  const below = (r: number, c: number): number =>
    lowerCopyOf.get(r * cols + (((c % cols) + cols) % cols)) ?? gridIndex(r, c);
  for (let r = 0; r < nRows - 1; r++) {
    for (let c = 0; c < cols; c++) {
      const a = gridIndex(r, c),
        b = gridIndex(r, c + 1);
      const d = below(r + 1, c),
        e = below(r + 1, c + 1);
      if (isPole(r)) faces.push(a, e, d);
      else if (isPole(r + 1)) faces.push(a, b, d);
      else faces.push(a, b, e, a, e, d);
    }
  }

  const loopOf = (s: SlitSpec): number[] => {
    const loop = [gridIndex(s.row, s.c0)];
    for (let c = s.c0 + 1; c < s.c1; c++) loop.push(gridIndex(s.row, c));
    loop.push(gridIndex(s.row, s.c1));
    for (let c = s.c1 - 1; c > s.c0; c--) loop.push(lowerCopyOf.get(s.row * cols + c)!);
    return loop;
  };
  const at = (i: number): [number, number, number] => [pos[i * 3], pos[i * 3 + 1], pos[i * 3 + 2]];

  // Bags: rings of the same length as the loop, then a pole. Faces are wound to match the loop's existing faces.
  const addBag = (loop: number[], rings: number[][][], pole: number[], pt: number, sides: number[]): void => {
    const ringIdx: number[][] = [loop];
    for (const ring of rings) ringIdx.push(ring.map((p, k) => push(p, pt, sides[k], -1, -1)));
    const poleIdx = push(pole, pt, 0, -1, -1);
    const n = loop.length;
    const bag: number[] = [];
    for (let k = 0; k + 1 < ringIdx.length; k++) {
      for (let i = 0; i < n; i++) {
        const a = ringIdx[k][i],
          b = ringIdx[k][(i + 1) % n],
          c = ringIdx[k + 1][(i + 1) % n],
          d = ringIdx[k + 1][i];
        bag.push(a, d, c, a, c, b);
      }
    }
    const last = ringIdx[ringIdx.length - 1];
    for (let i = 0; i < n; i++) bag.push(last[i], poleIdx, last[(i + 1) % n]);
    // The surface already holds edge loop[i] -> loop[i+1] in one direction; the bag must hold the other.
    const reversed = hasDirectedEdge(faces, loop[1], loop[0]);
    if (reversed === null)
      throw new Error(`buildTemplateMesh: slit loop edge ${loop[0]}-${loop[1]} is not on the surface`);
    if (reversed) for (let f = 0; f < bag.length; f += 3) [bag[f + 1], bag[f + 2]] = [bag[f + 2], bag[f + 1]];
    faces.push(...bag);
  };

  // Mouth interior.
  const mouthLoop = loopOf(slits[2]);
  {
    const sides = mouthLoop.map((v) => side[v]);
    const zMid = at(gridIndex(layout.mouthRow, cols / 2))[2];
    const rings = MOUTH_RINGS.map(([w, h, depth]) =>
      mouthLoop.map((v, k) => {
        const [x, , z] = at(v);
        const u = Math.min(1, Math.abs(x) / HEAD.mouthHalfWidth);
        const s = k === 0 || k === slits[2].c1 - slits[2].c0 ? 0 : side[v];
        return [x * w, HEAD.mouthY + s * h * Math.sqrt(1 - u * u), z - depth];
      }),
    );
    addBag(mouthLoop, rings, [0, HEAD.mouthY, zMid - MOUTH_POLE_DEPTH], MeshPart.mouthBag, sides);
  }

  // Eye sockets: rings on a sphere around the eyeball centre, swept from the lid edge to the back.
  const eyeLoops: number[][] = [];
  for (let e = 0; e < 2; e++) {
    const sign = e === 0 ? 1 : -1;
    const c = [sign * HEAD.eyeCenter[0], HEAD.eyeCenter[1], HEAD.eyeCenter[2]];
    const loop = loopOf(slits[e]);
    eyeLoops.push(loop);
    const rings: number[][][] = [];
    for (let k = 1; k <= SOCKET_RINGS; k++) {
      rings.push(
        loop.map((v) => {
          const p = at(v);
          const dx = p[0] - c[0],
            dy = p[1] - c[1],
            dz = p[2] - c[2];
          const alpha0 = Math.acos(Math.max(-1, Math.min(1, dz / Math.hypot(dx, dy, dz))));
          const phi = Math.atan2(dy, dx);
          const alpha = alpha0 + ((0.93 * Math.PI - alpha0) * k) / (SOCKET_RINGS + 0.5);
          return [
            c[0] + SOCKET_RADIUS * Math.sin(alpha) * Math.cos(phi),
            c[1] + SOCKET_RADIUS * Math.sin(alpha) * Math.sin(phi),
            c[2] + SOCKET_RADIUS * Math.cos(alpha),
          ];
        }),
      );
    }
    addBag(
      loop,
      rings,
      [c[0], c[1], c[2] - SOCKET_RADIUS],
      e === 0 ? MeshPart.socketLeft : MeshPart.socketRight,
      loop.map(() => 0),
    );
  }

  // Eyeballs: UV spheres with the pole on +z (the pupil), so the iris is a cap of rings.
  const eyeballStart: [number, number] = [0, 0];
  for (let e = 0; e < 2; e++) {
    const sign = e === 0 ? 1 : -1;
    const c = [sign * HEAD.eyeCenter[0], HEAD.eyeCenter[1], HEAD.eyeCenter[2]];
    const r = HEAD.eyeballRadius;
    const pt = e === 0 ? MeshPart.eyeballLeft : MeshPart.eyeballRight;
    const front = push([c[0], c[1], c[2] + r], pt, 0, -1, -1);
    eyeballStart[e] = front;
    for (let k = 1; k < EYE_RINGS; k++) {
      const a = (Math.PI * k) / EYE_RINGS;
      for (let s = 0; s < EYE_SEGMENTS; s++) {
        const phi = (2 * Math.PI * s) / EYE_SEGMENTS;
        push(
          [c[0] + r * Math.sin(a) * Math.cos(phi), c[1] + r * Math.sin(a) * Math.sin(phi), c[2] + r * Math.cos(a)],
          pt,
          0,
          -1,
          -1,
        );
      }
    }
    const back = push([c[0], c[1], c[2] - r], pt, 0, -1, -1);
    const ring = (k: number, s: number) =>
      front + 1 + (k - 1) * EYE_SEGMENTS + (((s % EYE_SEGMENTS) + EYE_SEGMENTS) % EYE_SEGMENTS);
    for (let s = 0; s < EYE_SEGMENTS; s++) faces.push(front, ring(1, s), ring(1, s + 1));
    for (let k = 1; k < EYE_RINGS - 1; k++) {
      for (let s = 0; s < EYE_SEGMENTS; s++)
        faces.push(ring(k, s), ring(k + 1, s), ring(k + 1, s + 1), ring(k, s), ring(k + 1, s + 1), ring(k, s + 1));
    }
    for (let s = 0; s < EYE_SEGMENTS; s++) faces.push(back, ring(EYE_RINGS - 1, s + 1), ring(EYE_RINGS - 1, s));
  }

  const V = part.length;
  const lowerCopy = new Int32Array(V).fill(-1);
  for (const [key, v] of lowerCopyOf) lowerCopy[gridIndex(Math.floor(key / cols), key % cols)] = v;
  return {
    positions: new Float32Array(pos),
    faces: new Uint32Array(faces),
    part: new Uint8Array(part),
    slitSide: new Int8Array(side),
    gridRow: new Int16Array(gRow),
    gridCol: new Int16Array(gCol),
    layout,
    gridIndex,
    mouthLoop: new Uint32Array(mouthLoop),
    eyeLoops: [new Uint32Array(eyeLoops[0]), new Uint32Array(eyeLoops[1])],
    lowerCopy,
    eyeballStart,
    eyeballCount: 2 + (EYE_RINGS - 1) * EYE_SEGMENTS,
  };
}

/** Grid positions ([R * C, 3] f64; pole rows repeat their vertex) after relaxing the patches where rays jumped. */
function castGrid(layout: GridLayout, slits: SlitSpec[], offUpper: Float64Array, neckTop: Float64Array): Float64Array {
  const cols = layout.thetas.length,
    rows = layout.rows.length;
  const positions = new Float64Array(rows * cols * 3);
  const movable = new Uint8Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const spec = layout.rows[r];
    for (let c = 0; c < cols; c++) {
      positions.set(
        gridPoint(
          layout,
          r,
          spec.kind === "pole-bottom" || spec.kind === "pole-top" ? 0 : c,
          offUpper[r * cols + c],
          neckTop,
        ),
        (r * cols + c) * 3,
      );
      movable[r * cols + c] = spec.kind === "fan" && layout.rows[r + 1]?.kind === "fan" ? 1 : 0;
    }
  }
  // Slit bands stay where the lid/lip opening put them: the grid holds only the upper edge of a slit,
  // so smoothing the rows below would pull them across the opening.
  for (const s of slits) {
    for (let r = s.row - s.fadeDown - 1; r <= s.row + s.fadeUp + 1; r++)
      for (let c = s.c0 - 1; c <= s.c1 + 1; c++) movable[r * cols + c] = 0;
  }
  const psi = (r: number) => {
    const k = layout.rows[r];
    return k.kind === "fan" ? k.psi : layout.psi0 - 0.05 * (layout.rows.length - r);
  };
  const rowSpacing = new Float64Array(rows);
  for (let r = 0; r + 1 < rows; r++) rowSpacing[r] = Math.max(1e-3, Math.abs(psi(r + 1) - psi(r)));
  const colSpacing = new Float64Array(cols);
  for (let c = 0; c < cols; c++)
    colSpacing[c] = 0.85 * ((layout.thetas[(c + 1) % cols] - layout.thetas[c] + 2 * Math.PI) % (2 * Math.PI));
  relaxRoughPatches({ positions, rows, cols, rowSpacing, colSpacing, movable }, RELAX_THRESHOLD, 2, 30);
  return positions;
}

/** Second difference (metres) above which a grid patch counts as a ray jump and is relaxed. */
const RELAX_THRESHOLD = 0.004;

/** Whether some face in `faces` ([F, 3] flat) holds the directed edge a -> b; null if the edge is absent both ways. */
function hasDirectedEdge(faces: number[], a: number, b: number): boolean | null {
  let reverse = false;
  for (let f = 0; f < faces.length; f += 3) {
    for (let k = 0; k < 3; k++) {
      const u = faces[f + k],
        v = faces[f + ((k + 1) % 3)];
      if (u === a && v === b) return true;
      if (u === b && v === a) reverse = true;
    }
  }
  return reverse ? false : null;
}
