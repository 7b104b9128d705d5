/**
 * A plausible head made of splats, for tests, benchmarks and the viewer's
 * sample: points sampled on the project's head model (area-weighted), flat
 * splats lying in the surface, coloured by region (skin, lips, brows, eyes),
 * plus a hair cap over the top and back of the skull. Deterministic per seed.
 * World units are metres, +y up, the face looks along +z (render-core/head).
 */
import { createSplatCloud, type SplatCloud } from "../splats/splat-cloud";
import { mulberry32, gaussian } from "../math/prng";
import { createHeadModel, type HeadModel } from "../head/head-model";
import { Region } from "../head/regions";

let cachedModel: HeadModel | null = null;

function headModel(): HeadModel {
  cachedModel ??= createHeadModel({ detail: 0.5 });
  return cachedModel;
}

const REGION_COLOURS: Partial<Record<number, [number, number, number]>> = {
  [Region.upperLip]: [0.72, 0.36, 0.38],
  [Region.lowerLip]: [0.76, 0.4, 0.42],
  [Region.mouthInterior]: [0.35, 0.1, 0.12],
  [Region.leftBrow]: [0.24, 0.16, 0.1],
  [Region.rightBrow]: [0.24, 0.16, 0.1],
  [Region.neck]: [0.8, 0.6, 0.5],
};
const SKIN: [number, number, number] = [0.86, 0.66, 0.55];
const HAIR: [number, number, number] = [0.22, 0.14, 0.09];

export function splatHead(seed: number, n: number): SplatCloud {
  if (!Number.isInteger(n) || n < 1) throw new Error(`splatHead: n must be a positive whole number, got ${n}`);
  const model = headModel();
  const V = model.template, F = model.faces;
  const nf = F.length / 3;
  // Cumulative triangle areas for area-weighted sampling.
  const cum = new Float64Array(nf);
  let total = 0;
  const normals = new Float32Array(nf * 3);
  for (let f = 0; f < nf; f++) {
    const a = F[f * 3]! * 3, b = F[f * 3 + 1]! * 3, c = F[f * 3 + 2]! * 3;
    const e1 = [V[b]! - V[a]!, V[b + 1]! - V[a + 1]!, V[b + 2]! - V[a + 2]!];
    const e2 = [V[c]! - V[a]!, V[c + 1]! - V[a + 1]!, V[c + 2]! - V[a + 2]!];
    const nx = e1[1]! * e2[2]! - e1[2]! * e2[1]!, ny = e1[2]! * e2[0]! - e1[0]! * e2[2]!, nz = e1[0]! * e2[1]! - e1[1]! * e2[0]!;
    const len = Math.hypot(nx, ny, nz);
    normals.set([nx / (len || 1), ny / (len || 1), nz / (len || 1)], f * 3);
    total += len / 2;
    cum[f] = total;
  }
  const rand = mulberry32(seed);
  const gauss = gaussian(rand);
  const cloud = createSplatCloud(n);
  // Splat size from the surface density: about one splat per spacing^2.
  const spacing = Math.sqrt(total / n);
  for (let i = 0; i < n; i++) {
    const target = rand() * total;
    let lo = 0, hi = nf - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cum[mid]! < target) lo = mid + 1;
      else hi = mid;
    }
    const f = lo;
    let u = rand(), v = rand();
    if (u + v > 1) {
      u = 1 - u;
      v = 1 - v;
    }
    const a = F[f * 3]! * 3, b = F[f * 3 + 1]! * 3, c = F[f * 3 + 2]! * 3;
    const w = 1 - u - v;
    const p = [0, 1, 2].map((k) => w * V[a + k]! + u * V[b + k]! + v * V[c + k]!) as [number, number, number];
    const nrm = [normals[f * 3]!, normals[f * 3 + 1]!, normals[f * 3 + 2]!] as [number, number, number];
    const region = model.faceRegion[f]!;
    let colour = REGION_COLOURS[region] ?? SKIN;
    let thickness = 0.15;
    // Hair cap: above the brow line at the front, down to the nape at the back, not on the face.
    const isFaceRegion = region !== Region.skin && region !== Region.neck;
    const hairLine = p[2] > 0.02 ? 0.075 : -0.02 - 0.4 * Math.max(0, -p[2]);
    if (!isFaceRegion && region !== Region.neck && p[1] > hairLine) {
      colour = HAIR;
      thickness = 0.6;
      const lift = 0.004 + 0.006 * rand();
      p[0] += nrm[0] * lift;
      p[1] += nrm[1] * lift;
      p[2] += nrm[2] * lift;
    }
    if (region === Region.leftEye || region === Region.rightEye) {
      // Iris and pupil toward the front of the eyeball, white elsewhere.
      const front = nrm[2];
      colour = front > 0.93 ? [0.05, 0.04, 0.04] : front > 0.8 ? [0.25, 0.38, 0.5] : [0.92, 0.9, 0.88];
      thickness = 0.3;
    }
    // Baked soft light from the front, above and to the right, as captured splats carry their lighting.
    const lambert = Math.max(0, nrm[0] * 0.3 + nrm[1] * 0.45 + nrm[2] * 0.84);
    const shade = (0.55 + 0.5 * lambert) * (0.94 + 0.06 * rand());
    cloud.positions.set(p, i * 3);
    cloud.colors.set([Math.min(1, colour[0] * shade), Math.min(1, colour[1] * shade), Math.min(1, colour[2] * shade)], i * 3);
    const s = spacing * (0.55 + 0.15 * Math.abs(gauss()));
    // Local z of the splat along the surface normal: flat discs in the surface.
    cloud.scales.set([s, s, s * thickness], i * 3);
    cloud.rotations.set(quatFromZ(nrm), i * 4);
    cloud.opacities[i] = 0.85 + 0.14 * rand();
  }
  return cloud;
}

/** Unit quaternion (w, x, y, z) turning +z onto the unit vector d. */
function quatFromZ(d: [number, number, number]): [number, number, number, number] {
  const dot = d[2];
  if (dot < -0.999999) return [0, 1, 0, 0];
  // q = (1 + dot, z x d) normalised.
  const w = 1 + dot, x = -d[1], y = d[0], z = 0;
  const l = Math.hypot(w, x, y, z);
  return [w / l, x / l, y / l, z / l];
}
