import { describe, expect, it } from "vitest";
import { COMPACT, PAPER, conditioningSize, parseAvatarModelConfig, positionalEncodingSize } from "./config";
import { buildConditioning, lerpCategory } from "./latent";
import { foldLayer, initMlp, mlpForward, mlpLayers, softplus100, type MlpSpec } from "./mlp";
import { positionalEncoding } from "./positional-encoding";
import { applyAppearanceHeads, applySkinningSoftmax, deformerSpec, geometrySpec } from "./networks";
import { mulberry32 } from "../math/prng";

describe("avatar model config", () => {
  it("lays out the conditioning as PERSE does: 10 categories of 32 give 420 numbers", () => {
    const ten = { ...PAPER, categories: ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"] };
    expect(conditioningSize(ten)).toBe(420);
    expect(positionalEncodingSize(PAPER)).toBe(39);
    expect(parseAvatarModelConfig(COMPACT)).toEqual(COMPACT);
  });

  it("refuses an invalid config and names every problem", () => {
    expect(() => parseAvatarModelConfig({ ...PAPER, latentDim: 0, categories: ["hair", "hair"] })).toThrow(
      /latentDim.*categories: categories must be unique|categories must be unique/,
    );
    expect(() => parseAvatarModelConfig({ ...PAPER, geometry: { depth: 3, width: 64, skipAt: 5 } })).toThrow(
      /skipAt must be below geometry.depth/,
    );
    expect(() => parseAvatarModelConfig("paper")).toThrow(/parseAvatarModelConfig/);
  });

  it("builds each category's block as [one-hot, latent] and moves only the edited category", () => {
    const C = COMPACT.categories.length,
      L = COMPACT.latentDim;
    const latents = new Float32Array(C * L).map((_, i) => i);
    const cond = buildConditioning(COMPACT, latents);
    const hair = COMPACT.categories.indexOf("hair");
    const block = cond.subarray(hair * (C + L), (hair + 1) * (C + L));
    expect(Array.from(block.subarray(0, C))).toEqual(Array.from({ length: C }, (_, k) => (k === hair ? 1 : 0)));
    expect(block[C]).toBe(hair * L);
    const a = new Float32Array(L).fill(-1),
      b = new Float32Array(L).fill(1);
    const moved = lerpCategory(COMPACT, latents, "hair", a, b, 0.25);
    expect(moved[hair * L]).toBe(-0.5);
    expect(moved[0]).toBe(latents[0]);
    expect(() => lerpCategory(COMPACT, latents, "wings", a, b, 0)).toThrow(/unknown category "wings"/);
  });
});

describe("avatar networks (CPU)", () => {
  it("encodes positions as (p, sin 2^k pi p, cos 2^k pi p)", () => {
    const pe = positionalEncoding(Float32Array.of(0.25, -0.5, 0), 2);
    expect(pe.length).toBe(15);
    expect(pe[0]).toBeCloseTo(0.25, 7);
    expect(pe[3]).toBeCloseTo(Math.sin(Math.PI * 0.25), 6);
    expect(pe[7]).toBeCloseTo(Math.cos(Math.PI * -0.5), 6);
    expect(pe[9 + 1]).toBeCloseTo(Math.sin(2 * Math.PI * -0.5), 6);
  });

  it("gives the same output with weight norm folded as unfolded", () => {
    const spec: MlpSpec = { inputs: 5, hidden: 8, depth: 3, skipAt: 1, outputs: 4, activation: "softplus100" };
    const params = initMlp(spec, 3);
    // Change g so folding actually scales the rows.
    for (const l of mlpLayers(spec)) for (let o = 0; o < l.out; o++) params[l.g + o] = 0.5 + o * 0.1;
    const x = Float32Array.of(0.1, -0.2, 0.3, 0.4, -0.5);
    const got = mlpForward(spec, params, x, 1);
    // Unfolded by hand: y = g (v . x) / ||v|| + b, layer by layer, with the skip.
    let h = Array.from(x);
    mlpLayers(spec).forEach((l, idx) => {
      const next: number[] = [];
      for (let o = 0; o < l.out; o++) {
        let dot = 0,
          norm = 0;
        for (let i = 0; i < l.in; i++) {
          dot += params[l.v + o * l.in + i]! * h[i]!;
          norm += params[l.v + o * l.in + i]! ** 2;
        }
        const s = (params[l.g + o]! * dot) / Math.sqrt(norm) + params[l.b + o]!;
        next.push(l.activated ? softplus100(s) : s);
      }
      h = idx === spec.skipAt ? [...next, ...Array.from(x)] : next;
    });
    for (let k = 0; k < 4; k++) expect(got[k]).toBeCloseTo(h[k]!, 5);
    expect(foldLayer(params, mlpLayers(spec)[0]!).length).toBe(8 * 5);
  });

  it("produces appearance in range and skinning weights that sum to one", () => {
    const rand = mulberry32(9);
    const g = geometrySpec(COMPACT),
      d = deformerSpec(COMPACT);
    const B = 50;
    const app = applyAppearanceHeads(
      COMPACT,
      mlpForward(
        g,
        initMlp(g, 1),
        new Float32Array(B * g.inputs).map(() => rand() * 2 - 1),
        B,
      ),
    );
    for (let n = 0; n < B; n++) {
      const o = n * 11;
      for (const k of [0, 1, 2, 10]) expect(app[o + k]! > 0 && app[o + k]! < 1).toBe(true);
      for (const k of [3, 4, 5]) expect(app[o + k]! > 0 && app[o + k]! < COMPACT.scaleMax).toBe(true);
      expect(Math.hypot(app[o + 6]!, app[o + 7]!, app[o + 8]!, app[o + 9]!)).toBeCloseTo(1, 5);
    }
    const def = applySkinningSoftmax(
      COMPACT,
      mlpForward(
        d,
        initMlp(d, 2),
        new Float32Array(B * d.inputs).map(() => rand() - 0.5),
        B,
      ),
    );
    for (let n = 0; n < B; n++) {
      let sum = 0;
      for (let j = 0; j < COMPACT.jointCount; j++) sum += def[(n + 1) * d.outputs - COMPACT.jointCount + j]!;
      expect(sum).toBeCloseTo(1, 5);
    }
  });
});
