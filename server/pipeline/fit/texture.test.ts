import { beforeAll, describe, expect, it } from "vitest";
import { Region, createHeadModel, type HeadModel } from "../../../render-core/head";
import { MeshPart } from "../../../render-core/head/mesh";
import { identityColours, proceduralIdentity, type Identity } from "../synthesise/identity";
import { renderPortrait, type Portrait } from "../synthesise/portrait";
import { fitHead, type HeadFit } from "./fit-head";
import { TextureSource, textureFromPhoto } from "./texture";

let head: HeadModel;
interface Shot {
  identity: Identity;
  portrait: Portrait;
  fit: HeadFit;
  truth: Float32Array;
}
const shots: Shot[] = [];
let hairy: Shot;

async function shot(seed: number, yawDeg: number, attributes = {}): Promise<Shot> {
  const identity = proceduralIdentity(seed, head);
  const portrait = await renderPortrait({ head, identity, yawDeg, pitchDeg: 5, size: 512, attributes });
  return {
    identity,
    portrait,
    fit: fitHead(head, portrait.landmarks, portrait),
    truth: identityColours(identity, head),
  };
}

const sorted = (xs: number[]) => xs.slice().sort((a, b) => a - b);
const quantile = (xs: number[], q: number) => sorted(xs)[Math.floor(q * (xs.length - 1))];
const maxDiff = (a: ArrayLike<number>, i: number, b: ArrayLike<number>, j: number) =>
  Math.max(...[0, 1, 2].map((k) => Math.abs(a[i * 3 + k] - b[j * 3 + k])));

beforeAll(async () => {
  head = createHeadModel();
  // Seeds 4 and 9 have no freckles (one-vertex spots that a 512 px photo blurs); one turned each way.
  shots.push(await shot(4, 20), await shot(9, -10));
  hairy = await shot(4, 10, {
    hair: { coverage: 1, length: 0.6, volume: 0.4, curl: 0, colourR: 0.1, colourG: 0.07, colourB: 0.05 },
  });
});

describe("textureFromPhoto", () => {
  it("recovers the known albedo of visible skin from a shaded render, and mirrors it onto the unseen side", () => {
    for (const s of shots) {
      const tex = textureFromPhoto(head, s.fit, s.portrait, s.portrait.mask);
      const photo: number[] = [],
        mirrored: number[] = [];
      for (let v = 0; v < head.vertexCount; v++) {
        if (head.vertexRegion[v] !== Region.skin) continue;
        if (tex.source[v] === TextureSource.photo) photo.push(maxDiff(tex.albedo, v, s.truth, v));
        // Compared with the truth of the vertex it copied.
        if (tex.source[v] === TextureSource.mirrored) mirrored.push(maxDiff(tex.albedo, v, s.truth, v));
      }
      expect(photo.length).toBeGreaterThan(1500);
      expect(mirrored.length).toBeGreaterThan(300);
      // Measured: median 0.005-0.006, 90 % within 0.023-0.029 (the rest: region borders, the silhouette, 1 px of fit).
      expect(quantile(photo, 0.5)).toBeLessThan(0.015);
      expect(quantile(photo, 0.9)).toBeLessThan(0.05);
      expect(quantile(mirrored, 0.5)).toBeLessThan(0.015);
      expect(quantile(mirrored, 0.9)).toBeLessThan(0.05);
      // Skin tone and iris: medians of many samples (measured within 0.01 and 0.07).
      for (let k = 0; k < 3; k++) expect(Math.abs(tex.skinTone[k] - s.identity.skin[k])).toBeLessThan(0.02);
      for (let k = 0; k < 3; k++) expect(Math.abs(tex.iris[k] - s.identity.iris[k])).toBeLessThan(0.1);
    }
  });

  it("de-shading is what makes the albedo right: without it the same vertices are off by the studio light", () => {
    const s = shots[0];
    const off = textureFromPhoto(head, s.fit, s.portrait, s.portrait.mask, { deshade: false });
    const on = textureFromPhoto(head, s.fit, s.portrait, s.portrait.mask);
    const errOn: number[] = [],
      errOff: number[] = [];
    for (let v = 0; v < head.vertexCount; v++) {
      if (
        head.vertexRegion[v] !== Region.skin ||
        on.source[v] !== TextureSource.photo ||
        off.source[v] !== TextureSource.photo
      )
        continue;
      errOn.push(maxDiff(on.albedo, v, s.truth, v));
      errOff.push(maxDiff(off.albedo, v, s.truth, v));
    }
    expect(quantile(errOff, 0.5)).toBeGreaterThan(3 * quantile(errOn, 0.5));
  });

  it("leaves no vertex unset: every head vertex has a source, eyeballs and mouth keep their layout", () => {
    const s = shots[1];
    const tex = textureFromPhoto(head, s.fit, s.portrait, s.portrait.mask);
    expect(tex.albedo.length).toBe(head.vertexCount * 3);
    expect(tex.albedo.every((c) => Number.isFinite(c) && c >= 0 && c <= 1)).toBe(true);
    const counts = [0, 0, 0, 0];
    for (let v = 0; v < head.vertexCount; v++) {
      counts[tex.source[v]]++;
      if (head.vertexPart[v] === MeshPart.head) expect(tex.source[v]).toBeGreaterThan(0);
      else expect(tex.source[v]).toBe(TextureSource.default);
    }
    expect(counts.reduce((a, b) => a + b)).toBe(head.vertexCount);
    // The back of the head and the neck's back are never seen: the skin fill, equal to the tone there.
    expect(counts[TextureSource.skinFill]).toBeGreaterThan(1500);
    const back = Array.from({ length: head.vertexCount }, (_, v) => v).filter(
      (v) => head.vertexPart[v] === MeshPart.head && head.template[v * 3 + 2] < -0.06,
    );
    for (const v of back) expect(tex.source[v]).toBe(TextureSource.skinFill);
    expect(
      Math.max(
        ...back.map((v) => Math.max(...[0, 1, 2].map((k) => Math.abs(tex.albedo[v * 3 + k] - tex.skinTone[k])))),
      ),
    ).toBeLessThan(0.02);
    // The pupil stays dark and the sclera light, as in identityColours.
    const eye = head.eyeballs[0];
    const lum = Array.from({ length: eye.count }, (_, i) => tex.albedo[(eye.start + i) * 3]);
    expect(Math.min(...lum)).toBeLessThan(0.1);
    expect(Math.max(...lum)).toBeGreaterThan(0.85);
  });

  it("does not paint hair onto the scalp: covered skin falls back to the skin tone", () => {
    const tex = textureFromPhoto(head, hairy.fit, hairy.portrait, hairy.portrait.mask);
    const scalp = Array.from({ length: head.vertexCount }, (_, v) => v).filter(
      (v) =>
        head.vertexPart[v] === MeshPart.head && head.template[v * 3 + 1] > 0.085 && head.template[v * 3 + 2] > 0.02,
    );
    expect(scalp.filter((v) => tex.seen[v]).length).toBeGreaterThan(100);
    // Seen, but dark hair: none of it is taken as skin.
    expect(scalp.filter((v) => tex.source[v] === TextureSource.photo).length).toBeLessThan(0.05 * scalp.length);
    for (const v of scalp)
      for (let k = 0; k < 3; k++) expect(Math.abs(tex.albedo[v * 3 + k] - hairy.identity.skin[k])).toBeLessThan(0.06);
  });

  it("refuses an image that does not match the fit", () => {
    const s = shots[0];
    expect(() =>
      textureFromPhoto(head, s.fit, { width: 256, height: 256, rgb: new Uint8Array(256 * 256 * 3) }),
    ).toThrow(/fit's camera is 512 x 512 but the image is 256 x 256/);
    expect(() => textureFromPhoto(head, s.fit, { width: 512, height: 512, rgb: new Uint8Array(10) })).toThrow(
      /image.rgb must be a Uint8Array of 786432 bytes/,
    );
    expect(() => textureFromPhoto(head, s.fit, s.portrait, new Float32Array(5))).toThrow(/matte needs 262144 values/);
  });
});
