import { describe, expect, it } from "vitest";
import { gaussian, mulberry32 } from "../math/prng";
import {
  fitShLight,
  shAmbient,
  shAmbientRatio,
  shBasis,
  shDirectional,
  shDominantDirection,
  shShading,
  type ShFitOptions,
  type ShLight,
} from "./sh";

const DEG = 180 / Math.PI;
const angleDeg = (a: ArrayLike<number>, b: ArrayLike<number>) =>
  Math.acos(
    Math.min(
      1,
      (a[0]! * b[0]! + a[1]! * b[1]! + a[2]! * b[2]!) /
        (Math.hypot(a[0]!, a[1]!, a[2]!) * Math.hypot(b[0]!, b[1]!, b[2]!)),
    ),
  ) * DEG;

/** Unit normals drawn uniformly on the sphere, kept where z > minZ (a face seen from +z sees about a hemisphere). */
function normalsFacing(rand: () => number, n: number, minZ: number): Float32Array {
  const g = gaussian(rand),
    out = new Float32Array(n * 3);
  for (let i = 0; i < n; i++) {
    let x, y, z, l;
    do {
      x = g();
      y = g();
      z = g();
      l = Math.hypot(x, y, z);
    } while (z / l < minZ);
    out.set([x / l, y / l, z / l], i * 3);
  }
  return out;
}

describe("SH basis and shading", () => {
  it("is orthonormal over the sphere (midpoint quadrature, 400 x 800 cells)", () => {
    const nt = 400,
      np = 800,
      y = new Float64Array(9);
    const gram = new Float64Array(81);
    for (let i = 0; i < nt; i++) {
      const th = ((i + 0.5) * Math.PI) / nt;
      const dA = Math.sin(th) * (Math.PI / nt) * ((2 * Math.PI) / np);
      for (let j = 0; j < np; j++) {
        const ph = ((j + 0.5) * 2 * Math.PI) / np;
        shBasis(Math.sin(th) * Math.cos(ph), Math.sin(th) * Math.sin(ph), Math.cos(th), y);
        for (let a = 0; a < 9; a++) for (let b = 0; b < 9; b++) gram[a * 9 + b] += y[a]! * y[b]! * dA;
      }
    }
    let worst = 0;
    for (let a = 0; a < 9; a++)
      for (let b = 0; b < 9; b++) worst = Math.max(worst, Math.abs(gram[a * 9 + b]! - (a === b ? 1 : 0)));
    // The constants have 6 digits (relative error ~1e-6) and the quadrature's error is ~1e-5 at this grid.
    expect(worst).toBeLessThan(1e-4);
  });

  it("shades a directional light's projection as the known 2nd-order clamped cosine", () => {
    const dir: [number, number, number] = [0.3, 0.5, 0.81];
    const L = shDirectional(dir, [1, 0.5, 2]);
    const d = Math.hypot(...dir);
    const out = [0, 0, 0];
    let worst = 0,
      worstCos = 0,
      formula = 0;
    for (let i = 0; i <= 2000; i++) {
      // Normals in the plane of dir and the y axis' complement, at every angle from dir.
      const th = (i / 2000) * Math.PI;
      const u = [dir[0] / d, dir[1] / d, dir[2] / d];
      const p = [1, 0, 0].map((v, k) => v - u[0]! * u[k]!);
      const pl = Math.hypot(p[0]!, p[1]!, p[2]!);
      const n = [0, 1, 2].map((k) => Math.cos(th) * u[k]! + (Math.sin(th) * p[k]!) / pl);
      shShading(L, n[0]!, n[1]!, n[2]!, out);
      const c = Math.cos(th);
      // Ramamoorthi & Hanrahan: 1/4 + cos/2 + (5/16) P2(cos) for a unit light.
      const approx = 0.25 + c / 2 + (5 / 32) * (3 * c * c - 1);
      formula = Math.max(
        formula,
        Math.abs(out[0]! - approx),
        Math.abs(out[1]! - 0.5 * approx),
        Math.abs(out[2]! - 2 * approx),
      );
      const err = Math.abs(out[0]! - Math.max(0, c));
      if (err > worst) [worst, worstCos] = [err, c];
    }
    expect(formula).toBeLessThan(1e-5);
    // The largest error is 3/32 = 0.09375, at the terminator (cos = 0).
    expect(worst).toBeCloseTo(3 / 32, 5);
    expect(Math.abs(worstCos)).toBeLessThan(2e-3);
    // The projection's shading peaks exactly at dir (1/4 + c/2 + (5/16) P2(c) grows with c); the search finds it.
    expect(angleDeg(shDominantDirection(L), dir)).toBeLessThan(1e-3);
    expect(shAmbientRatio(shDirectional([0, 0, 1], [1, 1, 1]))).toBeCloseTo(1 / 3, 5);
    expect(shAmbientRatio(shAmbient([0.4, 0.4, 0.4]))).toBe(1);
    shShading(shAmbient([0.2, 0.3, 0.4]), 0.6, 0, 0.8, out);
    expect(out.map((v) => Number(v.toFixed(6)))).toEqual([0.2, 0.3, 0.4]);
  });
});

/** A random SH9 light (ambient + a key from the front half + N(0, 0.03) on every coefficient), a known albedo, a specular lobe and cast shadows. */
function syntheticFace(seed: number) {
  const rand = mulberry32(seed),
    g = gaussian(rand);
  const N = 3000;
  const normals = normalsFacing(rand, N, 0.1);
  const dir: [number, number, number] = [2 * rand() - 1, 2 * rand() - 1, 0.5 + rand()];
  const light = shAmbient([0.3 + 0.2 * rand(), 0.3 + 0.2 * rand(), 0.3 + 0.2 * rand()]);
  shDirectional(dir, [0.6 + 0.3 * rand(), 0.6 + 0.3 * rand(), 0.6 + 0.3 * rand()], light);
  for (let k = 0; k < 27; k++) light[k]! += 0.03 * g();
  const albedo = new Float32Array(N * 3),
    colours = new Float32Array(N * 3),
    clean = new Uint8Array(N);
  const s = [0, 0, 0],
    base = [0.72, 0.52, 0.42];
  const dl = Math.hypot(...dir);
  const h = [dir[0] / dl, dir[1] / dl, dir[2] / dl + 1];
  const hl = Math.hypot(h[0]!, h[1]!, h[2]!);
  for (let i = 0; i < N; i++) {
    const [nx, ny, nz] = [normals[i * 3]!, normals[i * 3 + 1]!, normals[i * 3 + 2]!];
    shShading(light, nx, ny, nz, s);
    // Blinn lobe of a camera on +z; 1 in 10 samples under a cast shadow (a nose's, a fringe's) the light cannot explain.
    const spec = 0.6 * Math.max(0, (nx * h[0]! + ny * h[1]! + nz * h[2]!) / hl) ** 40;
    const shadow = rand() < 0.1;
    clean[i] = spec < 0.01 && !shadow ? 1 : 0;
    for (let c = 0; c < 3; c++) {
      const a = base[c]! * (1 + 0.06 * g());
      albedo[i * 3 + c] = a;
      colours[i * 3 + c] = a * Math.max(0, s[c]!) * (shadow ? 0.35 : 1) + spec;
    }
  }
  return { N, normals, albedo, colours, light, clean };
}

type Face = ReturnType<typeof syntheticFace>;

/** Light error: RMS shading difference over the samples' normals relative to the true shading's RMS. Albedo RMSE on the samples without highlight or cast shadow (elsewhere albedo = I / s keeps them by definition). */
function errors(face: Face, light: ShLight, albedo: Float32Array) {
  const a = [0, 0, 0],
    b = [0, 0, 0];
  let se = 0,
    ss = 0,
    ae = 0,
    n = 0;
  for (let i = 0; i < face.N; i++) {
    const [x, y, z] = [face.normals[i * 3]!, face.normals[i * 3 + 1]!, face.normals[i * 3 + 2]!];
    shShading(light, x, y, z, a);
    shShading(face.light, x, y, z, b);
    for (let c = 0; c < 3; c++) {
      se += (a[c]! - b[c]!) ** 2;
      ss += b[c]! ** 2;
      if (!face.clean[i]) continue;
      ae += (albedo[i * 3 + c]! - face.albedo[i * 3 + c]!) ** 2;
      n++;
    }
  }
  return { light: Math.sqrt(se / ss), albedo: Math.sqrt(ae / n) };
}

describe("fitShLight", () => {
  it("recovers a random SH9 light on a known albedo through highlights and cast shadows, better with IRLS than without", () => {
    const rows: string[] = [];
    for (const seed of [1, 2, 3, 4]) {
      const face = syntheticFace(seed);
      const fit = (o: ShFitOptions) => {
        const f = fitShLight({ normals: face.normals, colours: face.colours, albedoPrior: face.albedo }, o);
        return errors(face, f.light, f.albedo);
      };
      const plain = fit({ passes: 1 }),
        irls = fit({});
      rows.push(
        `seed ${seed}: light ${plain.light.toFixed(4)} -> ${irls.light.toFixed(4)}, albedo RMSE ${plain.albedo.toFixed(4)} -> ${irls.albedo.toFixed(4)}`,
      );
      // Measured over seeds 1-8: IRLS light 0.0035-0.0064, albedo 0.0023-0.0039; plain least squares 0.070-0.100 and
      // 0.028-0.044 (and 0.004-0.006 light error without highlights or shadows: the ambient prior's bias).
      expect(irls.light).toBeLessThan(0.012);
      expect(irls.albedo).toBeLessThan(0.008);
      expect(irls.light).toBeLessThan(plain.light / 5);
      expect(irls.albedo).toBeLessThan(plain.albedo / 4);
    }
    console.log(`fitShLight, plain -> IRLS:\n  ${rows.join("\n  ")}`);
  });

  it("fixes the scale to a one-rgb prior's luminance and down-weights the highlights", () => {
    const face = syntheticFace(5);
    const prior: [number, number, number] = [0.6, 0.45, 0.4];
    const f = fitShLight({ normals: face.normals, colours: face.colours, albedoPrior: prior });
    const luma = (r: number, g: number, b: number) => 0.299 * r + 0.587 * g + 0.114 * b;
    const lumas = Array.from({ length: face.N }, (_, i) =>
      luma(f.albedo[i * 3]!, f.albedo[i * 3 + 1]!, f.albedo[i * 3 + 2]!),
    )
      .filter((_, i) => f.robustWeights[i]! > 0)
      .sort((a, b) => a - b);
    expect(lumas[lumas.length >> 1]!).toBeCloseTo(luma(...prior), 2);
    // The albedo's chromaticity is the prior's (the light takes the rest); the light's direction is the truth's.
    expect(f.albedoPrior[0] / f.albedoPrior[1]).toBeCloseTo(prior[0] / prior[1], 1);
    // Measured 2.4 degrees: the light's channels take the prior's chroma error, which reweights them in the luma.
    expect(angleDeg(shDominantDirection(f.light), shDominantDirection(face.light))).toBeLessThan(4);
    let specWeight = 0,
      specCount = 0;
    for (let i = 0; i < face.N; i++)
      if (face.colours[i * 3 + 2]! > face.albedo[i * 3 + 2]! * 1.6) {
        specWeight += f.robustWeights[i]!;
        specCount++;
      }
    expect(specCount).toBeGreaterThan(20);
    expect(specWeight / specCount).toBeLessThan(0.2);
  });

  it("pins a light that a lopsided albedo prior would turn, with the mirror term", () => {
    const rand = mulberry32(7),
      g = gaussian(rand);
    const M = 1500;
    const half = normalsFacing(rand, M, 0.1);
    const normals = new Float32Array(M * 6),
      colours = new Float32Array(M * 6),
      prior = new Float32Array(M * 6),
      pairs = new Int32Array(M * 2);
    const dir: [number, number, number] = [0.5, 0.3, 0.8];
    const light = shDirectional(dir, [0.8, 0.75, 0.7], shAmbient([0.35, 0.33, 0.3]));
    const s = [0, 0, 0],
      a = [0.72, 0.52, 0.42];
    for (let i = 0; i < M; i++) {
      for (const [j, sx] of [
        [2 * i, 1],
        [2 * i + 1, -1],
      ] as const) {
        const n = [sx * half[i * 3]!, half[i * 3 + 1]!, half[i * 3 + 2]!];
        normals.set(n, j * 3);
        shShading(light, n[0]!, n[1]!, n[2]!, s);
        // The prior is 30% brighter on the subject's left, as a texture with a side light left in would be.
        for (let c = 0; c < 3; c++) {
          colours[j * 3 + c] = a[c]! * s[c]! * (1 + 0.03 * g());
          prior[j * 3 + c] = a[c]! * (1 + 0.3 * n[0]!);
        }
      }
      pairs.set([2 * i, 2 * i + 1], 2 * i);
    }
    const err = (mirrorWeight: number) =>
      angleDeg(
        shDominantDirection(
          fitShLight({ normals, colours, albedoPrior: prior, mirrorPairs: pairs }, { mirrorWeight }).light,
        ),
        dir,
      );
    const without = err(0),
      withMirror = err(10);
    console.log(
      `lopsided prior: light direction error ${without.toFixed(2)} deg without the mirror term, ${withMirror.toFixed(2)} with`,
    );
    // Measured here 14.8 degrees without, 4.1 with (weight 10); on four other random lights 15-17 without, 1.1-10 with.
    expect(without).toBeGreaterThan(10);
    expect(withMirror).toBeLessThan(without / 2.5);
  });

  it("refuses malformed samples with the field and the value", () => {
    const n = new Float32Array([0, 0, 1, 0, 1, 0]);
    expect(() => fitShLight({ normals: n, colours: new Float32Array(5), albedoPrior: [1, 1, 1] })).toThrow(
      /fitShLight: colours must hold 6 numbers, got 5/,
    );
    expect(() => fitShLight({ normals: n, colours: n, albedoPrior: [1, 0, 1] })).toThrow(
      /albedoPrior must be > 0, got 0 at 1/,
    );
    expect(() => fitShLight({ normals: n, colours: n, albedoPrior: [1, 1] })).toThrow(/one rgb or \[2, 3\], got 2/);
    expect(() => fitShLight({ normals: n, colours: n, albedoPrior: [1, 1, 1], mirrorPairs: [0, 2] })).toThrow(
      /mirrorPairs\[1\] = 2 is not a sample index/,
    );
    expect(() => fitShLight({ normals: n, colours: n, albedoPrior: [1, 1, 1], weights: [0, 0] })).toThrow(
      /every sample has weight 0/,
    );
  });
});
