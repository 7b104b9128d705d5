/**
 * The eyes of the UV texture (uv-texture.ts). Eyeball texels never take the
 * photo's pixels (through closed or half-closed lids they would show skin):
 * each eyeball is painted with a pupil, an iris and a sclera, and only the
 * colours come from the photo.
 *
 *   1. Human's iris points (analysis.mesh 468-472 and 473-477: a centre and
 *      four points on the iris rim, pixels) give each eye's iris centre and
 *      radius in the photo; each iris goes to the eyeball whose projection
 *      is nearest.
 *   2. The iris centre on the eyeball is the template direction of the
 *      front-facing eyeball texel that projects nearest to it; the radius
 *      becomes an angle on the ball (radius in metres at that depth / the
 *      ball's radius). An eye without iris points copies the other eye's
 *      direction mirrored (x -> -x), else looks straight ahead with the
 *      default iris (identityColours' layout).
 *   3. Colours: eyeball texels the camera sees through the lid opening (the
 *      z-buffer's nearest face there is that eyeball, and the pixel inside
 *      Human's eye opening when there is a mesh) are de-shaded; the
 *      iris colour is the median of those between 0.5 and 0.9 of the iris
 *      radius (clear of the limbus), keeping the 15-65% luma quantiles (the
 *      pupil and lashes are darker, lids, sclera and catchlights brighter),
 *      the sclera's the median of
 *      those between 1.3 and 2.5 radii, brightened to a plausible white
 *      (lid shadows darken what the photo shows) keeping its tint.
 */
import type { HeadModel } from "../../../render-core/head";
import { MeshPart } from "../../../render-core/head/mesh";
import type { Camera } from "../../../render-core/math/camera";
import type { Rgb } from "../synthesise/identity";
import { luma, medianRgb, sampleRgb, type RgbImage } from "./image";
import type { MeshRaster, PosedHead } from "./mesh-view";
import type { PhotoShading } from "./texture";
import { atTexel, type UvLayout } from "../../../render-core/head/uv-layout";
import { FACE_OPENINGS } from "./dense-binding";

/** An iris seen in the photo: centre and radius in pixels. */
export interface IrisSighting {
  x: number;
  y: number;
  radiusPx: number;
}

export interface EyeReport {
  /** Per eyeball (left, right: the subject's): the iris sighting used, null where none was. */
  sightings: [IrisSighting | null, IrisSighting | null];
  /** Per eyeball: the iris centre as a unit template direction from the ball's centre, and the iris radius as an angle (radians). */
  irisDirection: [Rgb, Rgb];
  irisAngle: [number, number];
  iris: Rgb;
  sclera: Rgb;
  /** How many eyeball texels gave the iris and sclera colours. */
  irisSamples: number;
  scleraSamples: number;
}

const PUPIL: Rgb = [0.05, 0.04, 0.04];
const DEFAULT_SCLERA: Rgb = [0.92, 0.9, 0.88];
/** identityColours' layout: the iris where the ball's forward coordinate exceeds 0.8. */
const DEFAULT_IRIS_ANGLE = Math.acos(0.8);
/** Pupil radius as a share of the iris radius (a lit room's pupil). */
const PUPIL_SHARE = 0.42;
/** The sclera's brightest channel after brightening, and the least it may keep. */
const SCLERA_MAX = 0.92,
  SCLERA_MIN = 0.72;
/** Human's iris points: centre then four rim points, per eye. */
const IRIS_BLOCKS = [468, 473];

/** The two irises in Human's 478-point mesh ([478, 3] pixels), or [] without iris points. */
export function irisSightings(mesh: ArrayLike<number> | null | undefined): IrisSighting[] {
  if (!mesh) return [];
  if (mesh.length < 478 * 3)
    throw new Error(`irisSightings: the face mesh needs 478 points ([478, 3]) for the iris, got ${mesh.length / 3}`);
  const out: IrisSighting[] = [];
  for (const b of IRIS_BLOCKS) {
    const x = mesh[b * 3],
      y = mesh[b * 3 + 1];
    let r = 0;
    for (let k = 1; k <= 4; k++) r += Math.hypot(mesh[(b + k) * 3] - x, mesh[(b + k) * 3 + 1] - y) / 4;
    if (Number.isFinite(x) && Number.isFinite(y) && r > 0.5) out.push({ x, y, radiusPx: r });
  }
  return out;
}

/** A polygon in pixels ([N, 2]) with its bounding box. */
export interface Opening {
  points: Float64Array;
  box: [number, number, number, number];
}

/**
 * Polygons of Human's mesh (pixels) from index lists, grown by `grow` about their centroid; the degenerate ones
 * (no area: a closed eye or mouth) are left out. [] without a mesh.
 */
export function facePolygons(
  mesh: ArrayLike<number> | null | undefined,
  lists: readonly (readonly number[])[],
  grow = 1,
): Opening[] {
  if (!mesh) return [];
  if (mesh.length < 468 * 3)
    throw new Error(`facePolygons: the face mesh needs 468 points ([468, 3]), got ${Math.floor(mesh.length / 3)}`);
  const polygons = lists.map((ids) => {
    let mx = 0,
      my = 0;
    for (const id of ids) {
      mx += mesh[id * 3] / ids.length;
      my += mesh[id * 3 + 1] / ids.length;
    }
    const points = new Float64Array(ids.length * 2);
    const box: [number, number, number, number] = [Infinity, Infinity, -Infinity, -Infinity];
    ids.forEach((id, k) => {
      const x = mx + (mesh[id * 3] - mx) * grow,
        y = my + (mesh[id * 3 + 1] - my) * grow;
      points[k * 2] = x;
      points[k * 2 + 1] = y;
      box[0] = Math.min(box[0], x);
      box[1] = Math.min(box[1], y);
      box[2] = Math.max(box[2], x);
      box[3] = Math.max(box[3], y);
    });
    return { points, box };
  });
  return polygons.filter(({ points: p }) => {
    let area = 0;
    for (let i = 0, j = p.length / 2 - 1; i < p.length / 2; j = i++)
      area += p[j * 2] * p[i * 2 + 1] - p[i * 2] * p[j * 2 + 1];
    return Math.abs(area) / 2 >= 1;
  });
}

/**
 * The eye and mouth openings in the photo (Human's mesh [478, 3] or [468, 3], pixels): what the camera sees there
 * is an eyeball, teeth or the mouth's inside, never the lids' or lips' skin. [] without a mesh.
 */
export function faceOpenings(mesh: ArrayLike<number> | null | undefined): Opening[] {
  return facePolygons(mesh, FACE_OPENINGS);
}

/** Whether pixel position (x, y) is inside any of the openings (even-odd rule). */
export function insideOpening(openings: readonly Opening[], x: number, y: number): boolean {
  for (const { points: p, box } of openings) {
    if (x < box[0] || x > box[2] || y < box[1] || y > box[3]) continue;
    const n = p.length / 2;
    let inside = false;
    for (let i = 0, j = n - 1; i < n; j = i++) {
      const yi = p[i * 2 + 1],
        yj = p[j * 2 + 1];
      if (yi > y !== yj > y && x < p[j * 2] + ((y - yj) * (p[i * 2] - p[j * 2])) / (yi - yj)) inside = !inside;
    }
    if (inside) return true;
  }
  return false;
}

interface Ball {
  part: number;
  centre: Rgb;
  radius: number;
  /** Texels of this eyeball. */
  texels: number[];
  /** Projected posed centre, pixels. */
  px: [number, number];
}

export interface EyeInputs {
  head: HeadModel;
  layout: UvLayout;
  view: PosedHead;
  raster: MeshRaster;
  camera: Camera;
  eye: [number, number, number];
  image: RgbImage;
  shading: PhotoShading;
  /** The texture's exposure gain (uv-texture.ts). */
  exposure: number;
  irises: IrisSighting[];
  /** The photo's eye and mouth openings (faceOpenings); colour samples must lie inside one when there are any. */
  openings: readonly Opening[];
  /** Iris colour when the photo shows none. */
  fallbackIris: Rgb;
}

const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
const smooth = (e0: number, e1: number, x: number) => {
  const t = Math.min(1, Math.max(0, (x - e0) / (e1 - e0)));
  return t * t * (3 - 2 * t);
};

/** The samples between two luma quantiles: the iris ring without the pupil's and lashes' darkest pixels or the lids', the sclera's and the catchlight's bright ones. */
function lumaBand(samples: Float64Array[], lo: number, hi: number): Float64Array[] {
  const sorted = samples.slice().sort((a, b) => luma(a) - luma(b));
  return sorted.slice(
    Math.floor(lo * sorted.length),
    Math.max(Math.floor(lo * sorted.length) + 1, Math.ceil(hi * sorted.length)),
  );
}

/** Paints both eyeballs into `rgb` ([S * S, 3] f32) and marks their texels in `painted`; see the file comment. */
export function paintEyes(o: EyeInputs, rgb: Float32Array, painted: Uint8Array): EyeReport {
  const { head, layout, view, camera } = o;
  const m = camera.worldToCamera;
  const balls: Ball[] = head.eyeballs.map(({ start, count }, e) => {
    const c: Rgb = [0, 0, 0],
      pc = [0, 0, 0];
    for (let v = start; v < start + count; v++)
      for (let k = 0; k < 3; k++) {
        c[k] += head.template[v * 3 + k] / count;
        pc[k] += view.positions[v * 3 + k] / count;
      }
    let r = 0;
    for (let v = start; v < start + count; v++)
      r = Math.max(r, Math.hypot(...[0, 1, 2].map((k) => head.template[v * 3 + k] - c[k])));
    const z = m[8] * pc[0] + m[9] * pc[1] + m[10] * pc[2] + m[11];
    const px: [number, number] = [
      (camera.fx * (m[0] * pc[0] + m[1] * pc[1] + m[2] * pc[2] + m[3])) / z + camera.cx,
      (camera.fy * (m[4] * pc[0] + m[5] * pc[1] + m[6] * pc[2] + m[7])) / z + camera.cy,
    ];
    return { part: e === 0 ? MeshPart.eyeballLeft : MeshPart.eyeballRight, centre: c, radius: r, texels: [], px };
  });
  for (let i = 0; i < layout.face.length; i++) {
    const f = layout.face[i];
    if (f < 0) continue;
    const part = head.vertexPart[head.faces[f * 3]];
    if (part === MeshPart.eyeballLeft) balls[0].texels.push(i);
    else if (part === MeshPart.eyeballRight) balls[1].texels.push(i);
  }

  // Which sighting belongs to which ball: the nearer projected centre, each ball at most once.
  const sightings: [IrisSighting | null, IrisSighting | null] = [null, null];
  const pairs = o.irises.flatMap((s) => balls.map((b, e) => ({ s, e, d: Math.hypot(s.x - b.px[0], s.y - b.px[1]) })));
  pairs.sort((a, b) => a.d - b.d);
  const used = new Set<IrisSighting>();
  for (const p of pairs) {
    if (sightings[p.e] || used.has(p.s)) continue;
    sightings[p.e] = p.s;
    used.add(p.s);
  }

  // Per texel: template direction, posed point, projection, facing.
  const P = [0, 0, 0],
    N = [0, 0, 0],
    Tp = [0, 0, 0];
  type Texel = { i: number; dir: Rgb; u: number; v: number; z: number; facing: number; p: Rgb; n: Rgb };
  const texels: Texel[][] = balls.map((b) =>
    b.texels.map((i) => {
      atTexel(head, layout, i, head.template, 3, Tp);
      atTexel(head, layout, i, view.positions, 3, P);
      atTexel(head, layout, i, view.normals, 3, N);
      const d = [Tp[0] - b.centre[0], Tp[1] - b.centre[1], Tp[2] - b.centre[2]];
      const dl = Math.hypot(d[0], d[1], d[2]) || 1;
      const nl = Math.hypot(N[0], N[1], N[2]) || 1;
      const n: Rgb = [N[0] / nl, N[1] / nl, N[2] / nl];
      const z = m[8] * P[0] + m[9] * P[1] + m[10] * P[2] + m[11];
      const u = (camera.fx * (m[0] * P[0] + m[1] * P[1] + m[2] * P[2] + m[3])) / z + camera.cx;
      const v = (camera.fy * (m[4] * P[0] + m[5] * P[1] + m[6] * P[2] + m[7])) / z + camera.cy;
      const toEye = [o.eye[0] - P[0], o.eye[1] - P[1], o.eye[2] - P[2]];
      const facing = dot(n, toEye) / (Math.hypot(toEye[0], toEye[1], toEye[2]) || 1);
      return { i, dir: [d[0] / dl, d[1] / dl, d[2] / dl], u, v, z, facing, p: [P[0], P[1], P[2]], n };
    }),
  );

  // Iris direction and angle per ball from its sighting.
  const dirs: (Rgb | null)[] = [null, null],
    angles: number[] = [DEFAULT_IRIS_ANGLE, DEFAULT_IRIS_ANGLE];
  balls.forEach((b, e) => {
    const s = sightings[e];
    if (!s) return;
    let best: Texel | null = null,
      bestD = Infinity;
    for (const t of texels[e]) {
      if (t.facing <= 0.2 || !(t.z > 0)) continue;
      const d = Math.hypot(t.u - s.x, t.v - s.y);
      if (d >= bestD) continue;
      bestD = d;
      best = t;
    }
    // An iris centre off the ball by more than its radius is not this eye's (or the fit is off): not used.
    if (!best || bestD > s.radiusPx) {
      sightings[e] = null;
      return;
    }
    dirs[e] = best.dir;
    const metres = (s.radiusPx * best.z) / camera.fx;
    angles[e] =
      Math.min(50, Math.max(15, (Math.asin(Math.min(0.95, metres / b.radius)) * 180) / Math.PI)) * (Math.PI / 180);
  });
  const mirror = (d: Rgb): Rgb => [-d[0], d[1], d[2]];
  const finalDirs: [Rgb, Rgb] = [
    dirs[0] ?? (dirs[1] ? mirror(dirs[1]) : [0, 0, 1]),
    dirs[1] ?? (dirs[0] ? mirror(dirs[0]) : [0, 0, 1]),
  ];
  if (!dirs[0] && dirs[1]) angles[0] = angles[1];
  if (!dirs[1] && dirs[0]) angles[1] = angles[0];

  // Colours from texels seen through the lid opening.
  const irisSamples: Float64Array[] = [],
    scleraSamples: Float64Array[] = [];
  const shade = new Float64Array(4);
  balls.forEach((b, e) => {
    const { raster } = o;
    for (const t of texels[e]) {
      if (t.facing <= 0.3 || !(t.z > 0)) continue;
      const rx = Math.floor(t.u * raster.scale),
        ry = Math.floor(t.v * raster.scale);
      if (rx < 0 || ry < 0 || rx >= raster.width || ry >= raster.height) continue;
      const rf = raster.face[ry * raster.width + rx];
      if (rf < 0 || head.vertexPart[head.faces[rf * 3]] !== b.part) continue;
      if (t.z > raster.depth[ry * raster.width + rx] + 0.001) continue;
      // And the photo agrees that an eye shows there (Human's opening): a fit's lid a pixel off shows skin.
      if (o.openings.length && !insideOpening(o.openings, t.u, t.v)) continue;
      const a = Math.acos(Math.min(1, Math.max(-1, dot(t.dir, finalDirs[e])))) / angles[e];
      const isIris = a >= 0.5 && a <= 0.9,
        isSclera = a >= 1.3 && a <= 2.5;
      if (!isIris && !isSclera) continue;
      const toEye = [o.eye[0] - t.p[0], o.eye[1] - t.p[1], o.eye[2] - t.p[2]];
      const tl = Math.hypot(toEye[0], toEye[1], toEye[2]) || 1;
      o.shading.shade(t.n[0], t.n[1], t.n[2], toEye[0] / tl, toEye[1] / tl, toEye[2] / tl, 1, shade);
      const c = sampleRgb(o.image, t.u, t.v, new Float64Array(3)) as Float64Array;
      for (let k = 0; k < 3; k++) c[k] = Math.min(1, (Math.max(0, c[k] - shade[3]) / shade[k]) * o.exposure);
      (isIris ? irisSamples : scleraSamples).push(c);
    }
  });
  const iris: Rgb = irisSamples.length >= 8 ? medianRgb(lumaBand(irisSamples, 0.15, 0.65)) : o.fallbackIris;
  let sclera: Rgb = DEFAULT_SCLERA;
  if (scleraSamples.length >= 8) {
    const s = medianRgb(scleraSamples);
    const top = Math.max(...s, 1e-3);
    const gain = Math.min(SCLERA_MAX, Math.max(SCLERA_MIN, top)) / top;
    sclera = [s[0] * gain, s[1] * gain, s[2] * gain];
  }

  // Paint: pupil, iris with a darker limbus, sclera; edges a few percent of the radius wide.
  balls.forEach((_, e) => {
    const th = angles[e];
    for (const t of texels[e]) {
      const a = Math.acos(Math.min(1, Math.max(-1, dot(t.dir, finalDirs[e]))));
      const limbus = smooth(0.75 * th, th, a);
      const irisCol = [0, 1, 2].map((k) => iris[k] * (1 - 0.45 * limbus));
      const toPupil = smooth(PUPIL_SHARE * th * 0.92, PUPIL_SHARE * th * 1.08, a);
      const toSclera = smooth(th * 0.97, th * 1.03, a);
      for (let k = 0; k < 3; k++) {
        const inner = PUPIL[k] * (1 - toPupil) + irisCol[k] * toPupil;
        rgb[t.i * 3 + k] = inner * (1 - toSclera) + sclera[k] * toSclera;
      }
      painted[t.i] = 1;
    }
  });
  return {
    sightings,
    irisDirection: finalDirs,
    irisAngle: [angles[0], angles[1]],
    iris,
    sclera,
    irisSamples: irisSamples.length,
    scleraSamples: scleraSamples.length,
  };
}
