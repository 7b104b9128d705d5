/**
 * Second-order spherical-harmonic (SH9) lighting: irradiance from distant
 * light as 9 coefficients per RGB channel (Ramamoorthi & Hanrahan 2001; the
 * convention of DECA and Deep3DFaceRecon, /work/shared/design/LIKENESS.md).
 *
 * A light L is 27 numbers, L[k * 3 + c] (coefficient k, channel c), in world
 * space (the renderers' axes: +y up, a frontal camera on +z). The diffuse
 * shading of a unit normal n is
 *   s_c(n) = sum_k L[k * 3 + c] * Ahat_l(k) * Y_k(n)
 * with the real SH basis Y_k (shBasis) and the clamped-cosine factors
 * Ahat = pi, 2pi/3, pi/4 for bands l = 0, 1, 2. So L holds the radiance's SH
 * coefficients, and a surface of albedo a looks a * s(n).
 *
 * fitShLight inverts I = a * s(n) on samples of one surface (a face) with an
 * albedo prior; see its comment. Pure functions, no I/O.
 */

/** [27] f32: 9 SH coefficients x RGB, index k * 3 + c. */
export type ShLight = Float32Array;

export const SH_COEFFICIENTS = 9;
export const SH_LIGHT_LENGTH = 27;

/** Clamped-cosine convolution factor Ahat_l per coefficient k (band 0, 1 x3, 2 x5). */
export const SH_AHAT: readonly number[] = [
  Math.PI,
  (2 * Math.PI) / 3,
  (2 * Math.PI) / 3,
  (2 * Math.PI) / 3,
  Math.PI / 4,
  Math.PI / 4,
  Math.PI / 4,
  Math.PI / 4,
  Math.PI / 4,
];

/** The basis' normalising constants per coefficient (shBasis multiplies them into its monomials). */
export const SH_BASIS_SCALE: readonly number[] = [
  0.282095, 0.488603, 0.488603, 0.488603, 1.092548, 1.092548, 1.092548, 0.315392, 0.546274,
];

/** Rec. 601 luma weights: how the light's brightness and direction are summarised. */
const LUMA = [0.299, 0.587, 0.114] as const;

/**
 * The real SH basis at a unit normal, written into out[0..8]:
 * Y00 .282095; Y1 .488603 * {y, z, x}; Y2 1.092548 * {xy, yz, xz},
 * .315392 * (3z^2 - 1), .546274 * (x^2 - y^2).
 */
export function shBasis(nx: number, ny: number, nz: number, out9: Float64Array | Float32Array | number[]): void {
  const c = SH_BASIS_SCALE;
  out9[0] = c[0]!;
  out9[1] = c[1]! * ny;
  out9[2] = c[2]! * nz;
  out9[3] = c[3]! * nx;
  out9[4] = c[4]! * nx * ny;
  out9[5] = c[5]! * ny * nz;
  out9[6] = c[6]! * nx * nz;
  out9[7] = c[7]! * (3 * nz * nz - 1);
  out9[8] = c[8]! * (nx * nx - ny * ny);
}

/**
 * [27] the light with Ahat and the basis constants folded in, index k * 3 + c:
 * s_c(n) = sum_k out[k * 3 + c] * m_k(n) over the monomials
 * m = 1, y, z, x, xy, yz, xz, 3z^2 - 1, x^2 - y^2 (what a shader evaluates).
 */
export function shMonomialWeights(light: ArrayLike<number>): Float32Array {
  if (light.length !== SH_LIGHT_LENGTH)
    throw new Error(`shMonomialWeights: a light holds ${SH_LIGHT_LENGTH} numbers, got ${light.length}`);
  const out = new Float32Array(SH_LIGHT_LENGTH);
  for (let k = 0; k < 9; k++)
    for (let c = 0; c < 3; c++) out[k * 3 + c] = light[k * 3 + c]! * SH_AHAT[k]! * SH_BASIS_SCALE[k]!;
  return out;
}

const scratch = new Float64Array(9);

/** Diffuse shading s_c(n) of a unit normal under `light`, per channel (may be negative: callers clamp). */
export function shShading(
  light: ArrayLike<number>,
  nx: number,
  ny: number,
  nz: number,
  outRgb: Float64Array | Float32Array | number[],
): void {
  shBasis(nx, ny, nz, scratch);
  for (let c = 0; c < 3; c++) {
    let s = 0;
    for (let k = 0; k < 9; k++) s += light[k * 3 + c]! * SH_AHAT[k]! * scratch[k]!;
    outRgb[c] = s;
  }
}

/** A light whose shading is `rgb` for every normal. */
export function shAmbient(rgb: readonly [number, number, number]): ShLight {
  const L = new Float32Array(SH_LIGHT_LENGTH);
  for (let c = 0; c < 3; c++) L[c] = rgb[c] / (SH_AHAT[0]! * SH_BASIS_SCALE[0]!);
  return L;
}

/**
 * The SH projection of a distant light from unit direction `dir` whose
 * Lambert shading is rgb * max(0, n.dir); added onto `into` when given.
 * SH9 keeps its low frequencies only: s(dir) = 1.0625 rgb, s(-dir) = 0.0625 rgb.
 */
export function shDirectional(
  dir: readonly [number, number, number],
  rgb: readonly [number, number, number],
  into: ShLight = new Float32Array(SH_LIGHT_LENGTH),
): ShLight {
  const l = Math.hypot(dir[0], dir[1], dir[2]);
  if (!(l > 0)) throw new Error(`shDirectional: the direction must be non-zero, got [${dir.join(", ")}]`);
  const y = new Float64Array(9);
  shBasis(dir[0] / l, dir[1] / l, dir[2] / l, y);
  for (let k = 0; k < 9; k++) for (let c = 0; c < 3; c++) into[k * 3 + c] += rgb[c] * y[k]!;
  return into;
}

/** The luma of coefficient k (Rec. 601 over the three channels). */
function lumaCoefficient(light: ArrayLike<number>, k: number): number {
  return LUMA[0] * light[k * 3]! + LUMA[1] * light[k * 3 + 1]! + LUMA[2] * light[k * 3 + 2]!;
}

/** Luma of the light's shading at unit normal n. */
function lumaShading(light: ArrayLike<number>, n: ArrayLike<number>): number {
  const out = [0, 0, 0];
  shShading(light, n[0]!, n[1]!, n[2]!, out);
  return lumaOf(out);
}

/**
 * Where the light comes from: the unit normal its luma shading is brightest
 * at (a 2,048-point spiral, then a pattern search to about 1e-4 degrees);
 * [0, 0, 0] for a light without a direction. Not the linear band's own
 * direction: a face sees about a hemisphere of normals, over which the
 * constant, z and z^2 bands look alike, so a fit trades them off and the
 * linear band alone turned 6-18 degrees on rendered heads where the peak
 * stayed within 2 (photo-light.test.ts).
 */
export function shDominantDirection(light: ArrayLike<number>): [number, number, number] {
  const M = 2048;
  let best: [number, number, number] = [0, 0, 1],
    bestV = -Infinity,
    worstV = Infinity;
  for (let i = 0; i < M; i++) {
    const z = 1 - (2 * (i + 0.5)) / M,
      r = Math.sqrt(1 - z * z),
      ph = i * 2.399963229728653; // the golden angle
    const n: [number, number, number] = [r * Math.cos(ph), r * Math.sin(ph), z];
    const v = lumaShading(light, n);
    if (v > bestV) [best, bestV] = [n, v];
    worstV = Math.min(worstV, v);
  }
  if (!(bestV - worstV > 1e-9 * Math.max(1, Math.abs(bestV)))) return [0, 0, 0];
  // Pattern search on the sphere: step along two tangents, halve the step when no neighbour is brighter.
  for (let step = 0.05, it = 0; step > 1e-6 && it < 2000; it++) {
    const a = Math.abs(best[0]) < 0.9 ? [1, 0, 0] : [0, 1, 0];
    const t1 = normalise3(cross3(best, a)),
      t2 = cross3(best, t1);
    let moved = false;
    for (const [u, w] of [
      [1, 0],
      [-1, 0],
      [0, 1],
      [0, -1],
    ] as const) {
      const n = normalise3(
        [0, 1, 2].map((k) => best[k]! + step * (u * t1[k]! + w * t2[k]!)) as [number, number, number],
      );
      const v = lumaShading(light, n);
      if (v > bestV) {
        [best, bestV, moved] = [n, v, true];
        break;
      }
    }
    if (!moved) step /= 2;
  }
  return best;
}

function cross3(a: ArrayLike<number>, b: ArrayLike<number>): [number, number, number] {
  return [a[1]! * b[2]! - a[2]! * b[1]!, a[2]! * b[0]! - a[0]! * b[2]!, a[0]! * b[1]! - a[1]! * b[0]!];
}

function normalise3(v: [number, number, number]): [number, number, number] {
  const l = Math.hypot(v[0], v[1], v[2]) || 1;
  return [v[0] / l, v[1] / l, v[2] / l];
}

/**
 * Ambient share of the light's luma: the constant band's shading over the
 * constant plus the linear band's amplitude. 1 for an ambient light, 1/3 for
 * one directional light (0.25 + 0.5 * cos).
 */
export function shAmbientRatio(light: ArrayLike<number>): number {
  const ambient = SH_AHAT[0]! * SH_BASIS_SCALE[0]! * lumaCoefficient(light, 0);
  const linear =
    SH_AHAT[1]! *
    SH_BASIS_SCALE[1]! *
    Math.hypot(lumaCoefficient(light, 1), lumaCoefficient(light, 2), lumaCoefficient(light, 3));
  return ambient + linear > 0 ? ambient / (ambient + linear) : 0;
}

export interface ShSamples {
  /** [N, 3] unit normals, world space. */
  normals: ArrayLike<number>;
  /** [N, 3] observed colours, linear(-ish), 0-1. */
  colours: ArrayLike<number>;
  /** [N, 3] albedo prior per sample, or one rgb [3] for all. */
  albedoPrior: ArrayLike<number>;
  /** [N] sample weights >= 0 (default 1). */
  weights?: ArrayLike<number>;
  /** [P, 2] pairs of sample indices that should share an albedo (mirror partners on a symmetric face). */
  mirrorPairs?: ArrayLike<number>;
}

export interface ShFitOptions {
  /**
   * Weight of the prior toward an ambient-only light, relative to the data's
   * total weight. Default 0.001: it only holds bands the normals leave
   * unseen; 0.02 already biased a clean fit's shading by 4% (IRLS then
   * rejects the samples that bias makes, and the bias grows).
   */
  lambda?: number;
  /**
   * Weight of the mirror (symmetric albedo) term relative to the data's total
   * weight. Default 0: a symmetric albedo pattern times a light is itself
   * mirror-consistent, so the term cannot remove the bias such a pattern puts
   * in the light; with a one-rgb prior it changed rendered heads' direction
   * errors by -0.8 to +0.6 degrees (docs/portrait-fitting.md, Light). It
   * helps where the albedo prior itself is lopsided (sh.test.ts: 15 -> 4
   * degrees at weight 10).
   */
  mirrorWeight?: number;
  /** Solves: 1 = plain weighted least squares, more = IRLS passes that down-weight outliers. Default 3. */
  passes?: number;
  /** Tukey biweight cut-off in robust standard deviations (MAD) of the residual. Default 4. */
  tukey?: number;
  /** Smallest shading an albedo is divided by, as a fraction of the median shading. Default 0.15. */
  shadingFloor?: number;
}

export interface ShFit {
  light: ShLight;
  /** [N, 3] f32 I / max(shading, floor), on the prior's luminance scale. */
  albedo: Float32Array;
  /** RMS of I - prior * shading over all channels, weighted by the sample weights times the final robust weights. */
  rmsResidual: number;
  /** [N] f32 the final robust weights (1 inlier, 0 rejected), before the sample weights. */
  robustWeights: Float32Array;
  /** The single-rgb prior after re-estimation (the median albedo at the prior's luminance); the input when per sample. */
  albedoPrior: [number, number, number];
}

/** Solves the symmetric positive-definite n x n system A x = b in place (Cholesky); A is row-major. */
function solveSpd(A: Float64Array, b: Float64Array, n: number): Float64Array {
  const Lm = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = A[i * n + j]!;
      for (let k = 0; k < j; k++) s -= Lm[i * n + k]! * Lm[j * n + k]!;
      if (i === j) {
        if (!(s > 0)) throw new Error("fitShLight: the normal equations are singular (too few or degenerate samples)");
        Lm[i * n + i] = Math.sqrt(s);
      } else Lm[i * n + j] = s / Lm[j * n + j]!;
    }
  }
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = b[i]!;
    for (let k = 0; k < i; k++) s -= Lm[i * n + k]! * y[k]!;
    y[i] = s / Lm[i * n + i]!;
  }
  const x = new Float64Array(n);
  for (let i = n - 1; i >= 0; i--) {
    let s = y[i]!;
    for (let k = i + 1; k < n; k++) s -= Lm[k * n + i]! * x[k]!;
    x[i] = s / Lm[i * n + i]!;
  }
  return x;
}

/** Weighted median of values with weights > 0 (the lower one at a tie). */
function weightedMedian(values: ArrayLike<number>, weights: ArrayLike<number>): number {
  const idx: number[] = [];
  let total = 0;
  for (let i = 0; i < values.length; i++)
    if (weights[i]! > 0) {
      idx.push(i);
      total += weights[i]!;
    }
  if (!idx.length) return NaN;
  idx.sort((a, b) => values[a]! - values[b]!);
  let acc = 0;
  for (const i of idx) {
    acc += weights[i]!;
    if (acc >= total / 2) return values[i]!;
  }
  return values[idx[idx.length - 1]!]!;
}

function checkSamples(s: ShSamples): { N: number; perSample: boolean } {
  const owner = "fitShLight";
  const N = s.normals.length / 3;
  if (!Number.isInteger(N) || N < 1)
    throw new Error(`${owner}: normals must be [N, 3], got ${s.normals.length} numbers`);
  if (s.colours.length !== N * 3)
    throw new Error(`${owner}: colours must hold ${N * 3} numbers, got ${s.colours.length}`);
  const perSample = s.albedoPrior.length === N * 3 && N !== 1;
  if (!perSample && s.albedoPrior.length !== 3)
    throw new Error(`${owner}: albedoPrior must be one rgb or [${N}, 3], got ${s.albedoPrior.length} numbers`);
  for (let i = 0; i < s.albedoPrior.length; i++)
    if (!(s.albedoPrior[i]! > 0)) throw new Error(`${owner}: albedoPrior must be > 0, got ${s.albedoPrior[i]} at ${i}`);
  if (s.weights && s.weights.length !== N)
    throw new Error(`${owner}: weights must hold ${N} numbers, got ${s.weights.length}`);
  if (s.mirrorPairs) {
    if (s.mirrorPairs.length % 2)
      throw new Error(`${owner}: mirrorPairs must be [P, 2], got ${s.mirrorPairs.length} numbers`);
    for (let i = 0; i < s.mirrorPairs.length; i++) {
      const j = s.mirrorPairs[i]!;
      if (!(Number.isInteger(j) && j >= 0 && j < N))
        throw new Error(`${owner}: mirrorPairs[${i}] = ${j} is not a sample index`);
    }
  }
  for (let i = 0; i < N * 3; i++)
    if (!Number.isFinite(s.normals[i]!) || !Number.isFinite(s.colours[i]!))
      throw new Error(`${owner}: sample ${Math.floor(i / 3)} has a non-finite normal or colour`);
  return { N, perSample };
}

/**
 * Fits an SH9 light to samples of one surface: I_i^c = a_i^c * b_i . L^c with
 * b_i = [Ahat_k Y_k(n_i)]. Per channel, with targets t_i = I_i / abar_i,
 *   (B'WB + lambda' I + mu' M) L = B'W t + lambda' L0
 * where L0 is the ambient-only light of the weighted mean target (the prior
 * keeps the bands the normals do not see near zero), lambda' and mu' are
 * lambda and mirrorWeight times the data's total weight, and M sums the
 * mirror rows r = (t_i b_j - t_j b_i) / mean(t_i, t_j): a_i = a_j for each
 * pair, which is linear in L and pins a light that is brighter on one side.
 * Then IRLS: each pass reweights samples by a Tukey biweight of their luma
 * residual (robust scale from the MAD), which drops highlights (positive)
 * and cast shadows (negative) that no SH9 light explains; a one-rgb prior is
 * re-estimated as the robust median albedo. Finally the light is scaled so
 * the median albedo luma equals the prior's (albedo and light brightness
 * trade off; the prior decides) and albedo = I / max(s, floor).
 */
export function fitShLight(samples: ShSamples, options: ShFitOptions = {}): ShFit {
  const { N, perSample } = checkSamples(samples);
  const lambda = options.lambda ?? 0.001;
  const mirrorWeight = options.mirrorWeight ?? 0;
  const passes = Math.max(1, Math.round(options.passes ?? 3));
  const tukey = options.tukey ?? 4;
  const floorFraction = options.shadingFloor ?? 0.15;
  const { normals: nrm, colours: I } = samples;
  const w0 = Float64Array.from({ length: N }, (_, i) => Math.max(0, samples.weights?.[i] ?? 1));
  const robust = new Float64Array(N).fill(1);
  // [N, 9] the basis times Ahat per sample.
  const B = new Float64Array(N * 9);
  for (let i = 0; i < N; i++) {
    shBasis(nrm[i * 3]!, nrm[i * 3 + 1]!, nrm[i * 3 + 2]!, scratch);
    for (let k = 0; k < 9; k++) B[i * 9 + k] = scratch[k]! * SH_AHAT[k]!;
  }
  const prior0: [number, number, number] = perSample
    ? ([0, 1, 2].map((c) => {
        let s = 0,
          t = 0;
        for (let i = 0; i < N; i++) {
          s += w0[i]! * samples.albedoPrior[i * 3 + c]!;
          t += w0[i]!;
        }
        return s / (t || 1);
      }) as [number, number, number])
    : [samples.albedoPrior[0]!, samples.albedoPrior[1]!, samples.albedoPrior[2]!];
  let prior: [number, number, number] = [...prior0];
  const priorAt = (i: number, c: number) => (perSample ? samples.albedoPrior[i * 3 + c]! : prior[c]);
  const pairs = samples.mirrorPairs ?? [];
  const light = new Float32Array(SH_LIGHT_LENGTH);
  const shade = new Float64Array(N * 3);
  const t = new Float64Array(N * 3);
  const resid = new Float64Array(N);

  for (let pass = 0; pass < passes; pass++) {
    const w = Float64Array.from(w0, (v, i) => v * robust[i]!);
    let W = 0;
    for (let i = 0; i < N; i++) W += w[i]!;
    if (!(W > 0)) throw new Error("fitShLight: every sample has weight 0");
    for (let i = 0; i < N; i++) for (let c = 0; c < 3; c++) t[i * 3 + c] = I[i * 3 + c]! / priorAt(i, c);
    let pairW = 0;
    for (let p = 0; p < pairs.length; p += 2) pairW += Math.sqrt(w[pairs[p]!]! * w[pairs[p + 1]!]!);
    for (let c = 0; c < 3; c++) {
      const A = new Float64Array(81),
        rhs = new Float64Array(9);
      let tMean = 0;
      for (let i = 0; i < N; i++) {
        const wi = w[i]!;
        if (!(wi > 0)) continue;
        const ti = t[i * 3 + c]!;
        tMean += wi * ti;
        for (let a = 0; a < 9; a++) {
          const ba = B[i * 9 + a]! * wi;
          rhs[a] += ba * ti;
          for (let b = 0; b <= a; b++) A[a * 9 + b] += ba * B[i * 9 + b]!;
        }
      }
      tMean /= W;
      if (pairW > 0 && mirrorWeight > 0) {
        const mu = (mirrorWeight * W) / pairW;
        const r = new Float64Array(9);
        for (let p = 0; p < pairs.length; p += 2) {
          const i = pairs[p]!,
            j = pairs[p + 1]!;
          const wp = mu * Math.sqrt(w[i]! * w[j]!);
          if (!(wp > 0)) continue;
          // a_i = a_j with a = I / s: I_i s_j - I_j s_i = 0 (the colours, not the targets: the prior may be lopsided),
          // divided by the previous pass's shading (the targets at first) so the homogeneous row does not favour a dim light.
          const Ii = I[i * 3 + c]!,
            Ij = I[j * 3 + c]!;
          const si = pass ? shade[i * 3 + c]! : t[i * 3 + c]!,
            sj = pass ? shade[j * 3 + c]! : t[j * 3 + c]!;
          const m = Math.sqrt(si * si + sj * sj) * (priorAt(i, c) + priorAt(j, c)) * 0.5 || 1;
          for (let a = 0; a < 9; a++) r[a] = (Ii * B[j * 9 + a]! - Ij * B[i * 9 + a]!) / m;
          for (let a = 0; a < 9; a++) for (let b = 0; b <= a; b++) A[a * 9 + b] += wp * r[a]! * r[b]!;
        }
      }
      const lam = lambda * W;
      const l0 = tMean / B[0]!; // ambient-only: shading tMean everywhere
      for (let a = 0; a < 9; a++) {
        A[a * 9 + a] += lam;
        if (a === 0) rhs[0] += lam * l0;
        for (let b = 0; b < a; b++) A[b * 9 + a] = A[a * 9 + b]!;
      }
      const x = solveSpd(A, rhs, 9);
      for (let k = 0; k < 9; k++) light[k * 3 + c] = x[k]!;
    }
    // Residuals in luma of the target, for the robust weights of the next pass.
    for (let i = 0; i < N; i++) {
      let r = 0;
      for (let c = 0; c < 3; c++) {
        let s = 0;
        for (let k = 0; k < 9; k++) s += B[i * 9 + k]! * light[k * 3 + c]!;
        shade[i * 3 + c] = s;
        r += LUMA[c] * (t[i * 3 + c]! - s);
      }
      resid[i] = r;
    }
    if (pass === passes - 1) break;
    const med = weightedMedian(resid, w0);
    const dev = Float64Array.from(resid, (r) => Math.abs(r - med));
    const sigma = Math.max(1.4826 * weightedMedian(dev, w0), 1e-4);
    for (let i = 0; i < N; i++) {
      const u = (resid[i]! - med) / (tukey * sigma);
      robust[i] = Math.abs(u) < 1 ? (1 - u * u) ** 2 : 0;
    }
    if (!perSample) {
      // Re-estimate the one-rgb prior from the inliers' albedo, at the first prior's luma.
      const wr = Float64Array.from(w0, (v, i) => v * robust[i]!);
      const next = [0, 1, 2].map((c) =>
        weightedMedian(
          Float64Array.from({ length: N }, (_, i) => I[i * 3 + c]! / Math.max(shade[i * 3 + c]!, 1e-3)),
          wr,
        ),
      );
      const k = lumaOf(prior0) / Math.max(lumaOf(next), 1e-6);
      if (next.every((v) => v > 0 && Number.isFinite(v))) prior = next.map((v) => v * k) as [number, number, number];
    }
  }

  // Albedo, then the scale: the robust median albedo luma is the prior's.
  const wFinal = Float64Array.from(w0, (v, i) => v * robust[i]!);
  const shadeLuma = Float64Array.from({ length: N }, (_, i) => lumaOf(shade.subarray(i * 3, i * 3 + 3)));
  const floor = floorFraction * Math.max(weightedMedian(shadeLuma, wFinal), 1e-6);
  const albedo = new Float32Array(N * 3);
  for (let i = 0; i < N * 3; i++) albedo[i] = I[i]! / Math.max(shade[i]!, floor);
  const albedoLuma = Float64Array.from({ length: N }, (_, i) => lumaOf(albedo.subarray(i * 3, i * 3 + 3)));
  const scale = weightedMedian(albedoLuma, wFinal) / lumaOf(prior0);
  if (Number.isFinite(scale) && scale > 0) {
    for (let i = 0; i < SH_LIGHT_LENGTH; i++) light[i]! *= scale;
    for (let i = 0; i < N * 3; i++) albedo[i]! /= scale;
    for (let i = 0; i < N * 3; i++) shade[i]! *= scale;
  }
  let se = 0,
    sw = 0;
  for (let i = 0; i < N; i++) {
    const wi = wFinal[i]!;
    if (!(wi > 0)) continue;
    for (let c = 0; c < 3; c++) se += wi * (I[i * 3 + c]! - priorAt(i, c) * shade[i * 3 + c]!) ** 2;
    sw += 3 * wi;
  }
  return {
    light,
    albedo,
    rmsResidual: Math.sqrt(se / (sw || 1)),
    robustWeights: Float32Array.from(robust),
    albedoPrior: prior,
  };
}

function lumaOf(c: ArrayLike<number>): number {
  return LUMA[0] * c[0]! + LUMA[1] * c[1]! + LUMA[2] * c[2]!;
}
