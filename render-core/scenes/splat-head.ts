/**
 * A plausible head made of splats, for tests, benchmarks, docs and the
 * viewer's sample: points sampled on the project's head model (area-weighted
 * over triangles), flat splats lying in the surface, coloured by region
 * (skin, nose, lips, brows, eye white / iris / pupil) with baked soft light,
 * a hair cap over the top and back of the skull and a short neck.
 * Deterministic per seed. Metres, +y up, the face looks along +z (render-core/head).
 */
import { createSplatCloud, type SplatCloud } from "../splats/splat-cloud";
import { mulberry32, gaussian } from "../math/prng";
import { createHeadModel, type HeadModel } from "../head/head-model";
import { MeshPart } from "../head/mesh";
import { Region } from "../head/regions";
import { SurfaceSampler } from "../head/mesh-query";

type Vec3 = [number, number, number];

/** What sampling needs from the head model, built once per process (the model takes about 1 s). */
interface HeadSampler {
  model: HeadModel;
  /** Area-weighted points on the triangles kept (outer head surface above the neck cut, front of the eyeballs). */
  surface: SurfaceSampler;
  /** [V, 3] f32 smooth vertex normals (area-weighted over each vertex's triangles). */
  normals: Float32Array;
}

let cached: HeadSampler | null = null;

/** Neck cut: the model's neck runs to y = -0.2; keep "a bit of neck". */
const NECK_BOTTOM = -0.16;

function sampler(): HeadSampler {
  if (cached) return cached;
  const model = createHeadModel({ detail: 1 });
  const V = model.template,
    F = model.faces,
    part = model.vertexPart;
  const normals = new Float32Array(V.length);
  const kept: number[] = [];
  for (let f = 0; f < F.length / 3; f++) {
    const a = F[f * 3]!,
      b = F[f * 3 + 1]!,
      c = F[f * 3 + 2]!;
    const n = triNormal(V, a, b, c);
    for (const v of [a, b, c]) for (let k = 0; k < 3; k++) normals[v * 3 + k] += n[k];
    const p = part[a]!;
    // The mouth bag and eye sockets sit inside the head: splats there waste budget and poke through thin skin.
    if (p === MeshPart.mouthBag || p === MeshPart.socketLeft || p === MeshPart.socketRight) continue;
    if ((p === MeshPart.eyeballLeft || p === MeshPart.eyeballRight) && n[2] <= 0) continue;
    if (p === MeshPart.head && (V[a * 3 + 1]! + V[b * 3 + 1]! + V[c * 3 + 1]!) / 3 < NECK_BOTTOM) continue;
    kept.push(f);
  }
  for (let v = 0; v < normals.length / 3; v++) {
    const l = Math.hypot(normals[v * 3]!, normals[v * 3 + 1]!, normals[v * 3 + 2]!) || 1;
    for (let k = 0; k < 3; k++) normals[v * 3 + k] /= l;
  }
  cached = { model, surface: new SurfaceSampler(V, F, kept), normals };
  return cached;
}

/** Unnormalised triangle normal (length = twice the area). */
function triNormal(V: Float32Array, a: number, b: number, c: number): Vec3 {
  const e1x = V[b * 3]! - V[a * 3]!,
    e1y = V[b * 3 + 1]! - V[a * 3 + 1]!,
    e1z = V[b * 3 + 2]! - V[a * 3 + 2]!;
  const e2x = V[c * 3]! - V[a * 3]!,
    e2y = V[c * 3 + 1]! - V[a * 3 + 1]!,
    e2z = V[c * 3 + 2]! - V[a * 3 + 2]!;
  return [e1y * e2z - e1z * e2y, e1z * e2x - e1x * e2z, e1x * e2y - e1y * e2x];
}

const SKIN: Vec3 = [0.87, 0.66, 0.54];
const HAIR: Vec3 = [0.2, 0.13, 0.08];
const REGION_COLOURS: Partial<Record<number, Vec3>> = {
  [Region.nose]: [0.88, 0.63, 0.52],
  [Region.leftEar]: [0.86, 0.6, 0.5],
  [Region.rightEar]: [0.86, 0.6, 0.5],
  [Region.upperLip]: [0.7, 0.34, 0.36],
  [Region.lowerLip]: [0.75, 0.38, 0.4],
  [Region.leftBrow]: [0.22, 0.15, 0.1],
  [Region.rightBrow]: [0.22, 0.15, 0.1],
  [Region.neck]: [0.82, 0.61, 0.5],
};

/**
 * Height above which the skull is hair, as a function of depth z: a forehead
 * hairline at the front, sideburns in front of the ears, down to the nape at the back.
 */
function hairLine(z: number): number {
  if (z > 0.06) return 0.076;
  if (z > 0.01) return 0.076 - ((0.06 - z) / 0.05) * 0.05;
  if (z > -0.05) return 0.026 - ((0.01 - z) / 0.06) * 0.09;
  return -0.064;
}

/** Baked light: a key from the front, above and the subject's right, plus a soft fill. */
function shade(nx: number, ny: number, nz: number): number {
  const key = Math.max(0, -0.35 * nx + 0.5 * ny + 0.79 * nz);
  const fill = Math.max(0, 0.5 * nx + 0.1 * ny + 0.86 * nz);
  return 0.42 + 0.5 * key + 0.18 * fill;
}

/** Splat head of `n` splats (a few thousand to a few million), deterministic for `seed`. */
export function splatHead(seed: number, n: number): SplatCloud {
  if (!Number.isInteger(n) || n < 1) throw new Error(`splatHead: n must be a positive whole number, got ${n}`);
  const { model, surface, normals: N } = sampler();
  const V = model.template,
    F = model.faces;
  const rand = mulberry32(seed);
  const gauss = gaussian(rand);
  const cloud = createSplatCloud(n);
  // About one splat per spacing^2 of surface; discs a bit wider than the spacing close the surface.
  const spacing = Math.sqrt(surface.totalArea / n);
  for (let i = 0; i < n; i++) {
    const {
      face: f,
      bary: [w, u, v],
    } = surface.sample(rand);
    const a = F[f * 3]!,
      b = F[f * 3 + 1]!,
      c = F[f * 3 + 2]!;
    let px = w * V[a * 3]! + u * V[b * 3]! + v * V[c * 3]!;
    let py = w * V[a * 3 + 1]! + u * V[b * 3 + 1]! + v * V[c * 3 + 1]!;
    let pz = w * V[a * 3 + 2]! + u * V[b * 3 + 2]! + v * V[c * 3 + 2]!;
    // Smooth (interpolated) normals: flat per-triangle normals band the long neck triangles.
    let nx = w * N[a * 3]! + u * N[b * 3]! + v * N[c * 3]!;
    let ny = w * N[a * 3 + 1]! + u * N[b * 3 + 1]! + v * N[c * 3 + 1]!;
    let nz = w * N[a * 3 + 2]! + u * N[b * 3 + 2]! + v * N[c * 3 + 2]!;
    const nl = Math.hypot(nx, ny, nz) || 1;
    nx /= nl;
    ny /= nl;
    nz /= nl;

    const region = model.faceRegion[f]!;
    const part = model.vertexPart[a]!;
    let colour: Vec3 = REGION_COLOURS[region] ?? SKIN;
    let s1 = spacing * (0.85 + 0.1 * Math.abs(gauss()));
    let s2 = s1;
    let flat = 0.15;
    let light = shade(nx, ny, nz);
    let tangentDown = false;
    if (part === MeshPart.eyeballLeft || part === MeshPart.eyeballRight) {
      // Pupil and iris at the front of the eyeball, white around them (eyes look along +z).
      colour = nz > 0.95 ? [0.04, 0.03, 0.03] : nz > 0.84 ? [0.27, 0.4, 0.52] : [0.93, 0.91, 0.88];
      light = 0.75 + 0.25 * light;
      s1 = s2 = Math.min(s1, 0.0012);
    } else if (region === Region.skin && py > hairLine(pz) + 0.0015 * gauss()) {
      // Hair: strands lifted off the scalp and stretched downhill along the surface.
      const tone = 0.75 + 0.5 * rand();
      colour = [HAIR[0] * tone, HAIR[1] * tone, HAIR[2] * tone];
      const lift = 0.003 + 0.006 * rand();
      px += nx * lift;
      py += ny * lift;
      pz += nz * lift;
      s1 *= 1.8;
      s2 *= 0.6;
      flat = 0.5;
      tangentDown = true;
    } else if (
      region === Region.skin &&
      pz > 0.04 &&
      Math.abs(Math.abs(px) - 0.045) < 0.02 &&
      Math.abs(py + 0.025) < 0.02
    ) {
      // A touch of colour on the cheeks.
      colour = [colour[0], colour[1] * 0.94, colour[2] * 0.94];
    }
    const k = light * (0.96 + 0.04 * rand());
    cloud.positions[i * 3] = px;
    cloud.positions[i * 3 + 1] = py;
    cloud.positions[i * 3 + 2] = pz;
    cloud.colors[i * 3] = Math.min(1, colour[0] * k);
    cloud.colors[i * 3 + 1] = Math.min(1, colour[1] * k);
    cloud.colors[i * 3 + 2] = Math.min(1, colour[2] * k);
    cloud.scales[i * 3] = s1;
    cloud.scales[i * 3 + 1] = s2;
    cloud.scales[i * 3 + 2] = Math.max(s1, s2) * flat;
    frameQuat(nx, ny, nz, tangentDown ? 0 : rand() * Math.PI, cloud.rotations, i * 4);
    cloud.opacities[i] = 0.93 + 0.06 * rand();
  }
  return cloud;
}

/**
 * Writes the unit quaternion (w, x, y, z) of the rotation whose local z is the
 * normal and whose local x is the surface's "downhill" tangent turned by `spin`
 * radians about the normal. Local x carries the splat's first scale.
 */
export function frameQuat(nx: number, ny: number, nz: number, spin: number, out: Float32Array, o: number): void {
  // Downhill tangent: world -y projected into the tangent plane (fallback +x at the poles).
  let tx = ny * nx,
    ty = ny * ny - 1,
    tz = ny * nz;
  let tl = Math.hypot(tx, ty, tz);
  if (tl < 1e-4) {
    tx = 1 - nx * nx;
    ty = -nx * ny;
    tz = -nx * nz;
    tl = Math.hypot(tx, ty, tz);
  }
  tx /= tl;
  ty /= tl;
  tz /= tl;
  // b = n x t completes the right-handed frame; rotate (t, b) by spin.
  const bx = ny * tz - nz * ty,
    by = nz * tx - nx * tz,
    bz = nx * ty - ny * tx;
  const cs = Math.cos(spin),
    sn = Math.sin(spin);
  const xx = cs * tx + sn * bx,
    xy = cs * ty + sn * by,
    xz = cs * tz + sn * bz;
  const yx = ny * xz - nz * xy,
    yy = nz * xx - nx * xz,
    yz = nx * xy - ny * xx;
  // Rotation matrix columns (x, y, n) to quaternion (Shepperd's method, largest-pivot branch).
  const m00 = xx,
    m11 = yy,
    m22 = nz,
    tr = m00 + m11 + m22;
  let w: number, x: number, y: number, z: number;
  if (tr > 0) {
    const s = Math.sqrt(tr + 1) * 2;
    w = s / 4;
    x = (yz - ny) / s;
    y = (nx - xz) / s;
    z = (xy - yx) / s;
  } else if (m00 > m11 && m00 > m22) {
    const s = Math.sqrt(1 + m00 - m11 - m22) * 2;
    w = (yz - ny) / s;
    x = s / 4;
    y = (yx + xy) / s;
    z = (nx + xz) / s;
  } else if (m11 > m22) {
    const s = Math.sqrt(1 + m11 - m00 - m22) * 2;
    w = (nx - xz) / s;
    x = (yx + xy) / s;
    y = s / 4;
    z = (ny + yz) / s;
  } else {
    const s = Math.sqrt(1 + m22 - m00 - m11) * 2;
    w = (xy - yx) / s;
    x = (nx + xz) / s;
    y = (ny + yz) / s;
    z = s / 4;
  }
  const l = Math.hypot(w, x, y, z);
  out[o] = w / l;
  out[o + 1] = x / l;
  out[o + 2] = y / l;
  out[o + 3] = z / l;
}
