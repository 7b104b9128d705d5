import sharp from "sharp";
import { beforeAll, describe, expect, it } from "vitest";
import { createHeadModel, Region, type HeadModel } from "../../../render-core/head";
import { proceduralIdentity } from "../synthesise/identity";
import { renderPortrait, type Portrait } from "../synthesise/portrait";
import { fitHead, type HeadFit } from "./fit-head";
import { SOURCE_COLOURS, fitOverlayPng, texturePng, uvImage } from "./pictures";
import { TextureSource, textureFromPhoto } from "./texture";

let head: HeadModel;
let portrait: Portrait;
let fit: HeadFit;
beforeAll(async () => {
  head = createHeadModel();
  portrait = await renderPortrait({ head, identity: proceduralIdentity(9, head), yawDeg: 12, size: 256 });
  fit = fitHead(head, portrait.landmarks, portrait);
});

const raw = async (png: Buffer) => sharp(png).raw().toBuffer({ resolveWithObject: true });

describe("fit pictures", () => {
  it("draws the photo with the landmarks and the fitted mesh over it", async () => {
    const { data, info } = await raw(await fitOverlayPng(portrait, head, fit));
    expect([info.width, info.height]).toEqual([256, 256]);
    // The ring around the nose tip's input landmark is green; far from the head the photo is untouched.
    const at = (x: number, y: number) =>
      [0, 1, 2].map((k) => data[(Math.round(y) * info.width + Math.round(x)) * info.channels + k]);
    const [nx, ny] = [fit.landmarks[30 * 2], fit.landmarks[30 * 2 + 1]];
    const ring = [
      [-3, 0],
      [3, 0],
      [0, -3],
      [0, 3],
    ].map(([dx, dy]) => at(nx + dx, ny + dy));
    // Skin is reddish: a pixel much greener than red and blue is the ring.
    expect(ring.filter(([r, g, b]) => g > r + 60 && g > b + 60).length).toBeGreaterThanOrEqual(2);
    expect(at(5, 5)).toEqual(Array.from(portrait.rgb.subarray((5 * 256 + 5) * 3, (5 * 256 + 5) * 3 + 3)));
    // The wireframe lightens the face: the mean over the head's box is brighter than the photo's.
    let over = 0,
      under = 0;
    for (let y = 90; y < 170; y++)
      for (let x = 100; x < 160; x++) {
        over += at(x, y)[1];
        under += portrait.rgb[(y * 256 + x) * 3 + 1];
      }
    expect(over).toBeGreaterThan(under * 1.02);
  });

  it("unrolls per-vertex colours into the UV layout, with a source panel beside", async () => {
    const tex = textureFromPhoto(head, fit, portrait, portrait.mask);
    const size = 256;
    const img = uvImage(head, tex.albedo, size);
    // A lip vertex's UV spot carries its colour (crown at the top: row = (1 - v) * size).
    const lip = Array.from({ length: head.vertexCount }, (_, v) => v).filter(
      (v) => head.vertexRegion[v] === Region.lowerLip && head.uvs[v * 2 + 1] > 0.1,
    )[10];
    const [x, y] = [Math.floor(head.uvs[lip * 2] * size), Math.floor((1 - head.uvs[lip * 2 + 1]) * size)];
    for (let k = 0; k < 3; k++)
      expect(Math.abs(img[(y * size + x) * 3 + k] / 255 - tex.albedo[lip * 3 + k])).toBeLessThan(0.12);
    const { data, info } = await raw(await texturePng(head, tex.albedo, tex.source, size));
    expect([info.width, info.height]).toEqual([2 * size, size]);
    // The back of the head (u near 0 and 1, mid height) is skin fill in the source panel.
    const fill = SOURCE_COLOURS[TextureSource.skinFill].map((c) => Math.round(c * 255));
    const px = (size + 8) * info.channels + Math.round(size * 0.5) * info.width * info.channels;
    expect(Array.from(data.subarray(px, px + 3))).toEqual(fill);
    await expect(texturePng(head, tex.albedo, new Uint8Array(3))).rejects.toThrow(/source needs 7634 values/);
    expect(() => uvImage(head, new Float32Array(6), 64)).toThrow(/colours need 22902 values/);
  });
});
