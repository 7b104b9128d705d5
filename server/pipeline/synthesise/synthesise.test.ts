import { beforeAll, describe, expect, it } from "vitest";
import { createHeadModel, type HeadModel } from "../../../render-core/head";
import { orbitCamera } from "../../../render-core/math/camera";
import { renderMeshCpu } from "../../../render-core/mesh/render.cpu";
import { builtinClip, sampleClip } from "../../../render-core/animation";
import { mulberry32 } from "../../../render-core/math/prng";
import { CATEGORIES, categoryByName, checkParams, lerpParams } from "./attributes";
import { identityColours, proceduralIdentity, type Identity } from "./identity";
import { buildScene, regionFaces } from "./scene";

let head: HeadModel;
let identity: Identity;
let base: Float32Array;
let regions: Map<number, Uint32Array>;
beforeAll(() => {
  head = createHeadModel();
  identity = proceduralIdentity(7, head);
  base = identityColours(identity, head);
  regions = regionFaces(head);
});

const camera = orbitCamera({ width: 96, height: 96, yawDeg: 25, pitchDeg: 5, distance: 0.62, target: [0, 0.01, 0] });
const frame = () => sampleClip(builtinClip("showcase"), 1.2);
function render(attributes: Record<string, Record<string, number>>) {
  return renderMeshCpu(buildScene({ head, identity, baseColours: base, regions, attributes, frame: frame() }), camera, {
    background: [0.5, 0.5, 0.5],
  });
}

describe("synthetic attributes", () => {
  it("makes seeded, labelled variants within each category's ranges", () => {
    for (const c of CATEGORIES) {
      const rand = mulberry32(3);
      for (let i = 0; i < 5; i++) {
        const v = c.variant(rand);
        expect(v.label.length).toBeGreaterThan(2);
        expect(checkParams(c, v.params)).toEqual(v.params);
      }
    }
    expect(() => categoryByName("wings")).toThrow(/unknown category "wings"/);
    expect(() => checkParams(categoryByName("hair"), { shine: 1 })).toThrow(/hair has no parameter "shine"/);
  });

  it("keeps everything but the edited attribute identical: same motion, same face outside the hair", () => {
    const hair = categoryByName("hair");
    const a = render({ hair: hair.variant(mulberry32(1)).params });
    const b = render({ hair: { ...hair.variant(mulberry32(2)).params, coverage: 1, length: 1 } });
    let same = 0,
      checked = 0,
      differs = 0;
    for (let p = 0; p < 96 * 96; p++) {
      const hairA = a.parse[p] === 13,
        hairB = b.parse[p] === 13;
      const d = Math.abs(a.rgb[p * 3]! - b.rgb[p * 3]!) + Math.abs(a.rgb[p * 3 + 1]! - b.rgb[p * 3 + 1]!);
      if (!hairA && !hairB) {
        checked++;
        if (d < 1e-6) same++;
      } else if (d > 0.02) differs++;
    }
    expect(checked).toBeGreaterThan(4000);
    // Without cast shadows, hair changes nothing else: outside both hair masks the pixels are equal, but for
    // the thin rim where strands blend in at under 50% (not labelled hair).
    expect(same / checked).toBeGreaterThan(0.97);
    expect(differs).toBeGreaterThan(100);
  });

  it("renders the in-between at alpha 0 and 1 exactly as the two ends", () => {
    const glasses = categoryByName("eyewear");
    const [pa, pb] = [glasses.none, glasses.variant(mulberry32(5)).params];
    const ends = [render({ eyewear: pa }), render({ eyewear: pb })];
    for (const [alpha, end] of [
      [0, ends[0]!],
      [1, ends[1]!],
    ] as const) {
      const mid = render({ eyewear: lerpParams(pa, pb, alpha) });
      expect(Array.from(mid.rgb)).toEqual(Array.from(end.rgb));
      expect(Array.from(mid.parse)).toEqual(Array.from(end.parse));
    }
  });

  it("labels each attribute's pixels with its class where its geometry is", () => {
    const none = render({});
    for (const [name, classId, seed] of [
      ["eyewear", 16, 5],
      ["hat", 17, 2],
      ["beard", 14, 4],
      ["hair", 13, 1],
    ] as const) {
      const c = categoryByName(name);
      let params = c.variant(mulberry32(seed)).params;
      if (name === "eyewear") params = { ...params, frame: 1, tint: 0.8 };
      const withIt = render({ [name]: params });
      let labelled = 0,
        changedUnlabelled = 0;
      for (let p = 0; p < 96 * 96; p++) {
        const changed = Math.abs(withIt.rgb[p * 3]! - none.rgb[p * 3]!) > 0.03;
        if (withIt.parse[p] === classId) labelled++;
        else if (changed && withIt.parse[p] !== none.parse[p]) changedUnlabelled++;
      }
      expect(labelled, name).toBeGreaterThan(15);
      expect(changedUnlabelled, name).toBe(0);
    }
  });
});
