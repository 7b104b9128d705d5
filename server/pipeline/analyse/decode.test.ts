import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { mulberry32 } from "../../../render-core/math/prng";
import { DEFAULT_DECODE_LIMITS, decodePortrait, sniffFormat } from "./decode";
import { PortraitRefusal } from "./refusal";

/** A 60 x 40 test card: red left half, blue right half, a green bar along the top rows. */
async function card(): Promise<Buffer> {
  const [w, h] = [60, 40];
  const px = Buffer.alloc(w * h * 3);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const i = (y * w + x) * 3;
      if (y < 6) px.set([0, 200, 0], i);
      else px.set(x < w / 2 ? [220, 20, 20] : [20, 20, 220], i);
    }
  return sharp(px, { raw: { width: w, height: h, channels: 3 } })
    .png()
    .toBuffer();
}

const rgbAt = (img: { width: number; rgb: Uint8Array }, x: number, y: number) =>
  Array.from(img.rgb.subarray((y * img.width + x) * 3, (y * img.width + x) * 3 + 3));

async function refusal(p: Promise<unknown>): Promise<PortraitRefusal> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(PortraitRefusal);
  return err as PortraitRefusal;
}

describe("decodePortrait", () => {
  it("decodes PNG, JPEG and WebP to the same 8-bit RGB picture", async () => {
    const png = await card();
    for (const bytes of [
      png,
      await sharp(png).jpeg({ quality: 95 }).toBuffer(),
      await sharp(png).webp({ lossless: true }).toBuffer(),
    ]) {
      const img = await decodePortrait(bytes);
      expect([img.width, img.height, img.rgb.length]).toEqual([60, 40, 60 * 40 * 3]);
      // JPEG's chroma subsampling blurs colour edges: compare away from them, within 30 levels.
      for (const [x, y, want] of [
        [10, 20, [220, 20, 20]],
        [50, 20, [20, 20, 220]],
        [30, 2, [0, 200, 0]],
      ] as const)
        rgbAt(img, x, y).forEach((v, c) => expect(Math.abs(v - want[c]!)).toBeLessThan(30));
    }
  });

  it("applies the EXIF orientation: a sideways JPEG tagged 6 comes out upright", async () => {
    const png = await card();
    // What a phone stores: the pixels turned 90 degrees counter-clockwise, plus "rotate 90 clockwise to display".
    const sideways = await sharp(await sharp(png).rotate(270).toBuffer())
      .withMetadata({ orientation: 6 })
      .jpeg({ quality: 95 })
      .toBuffer();
    expect((await sharp(sideways).metadata()).orientation).toBe(6);
    const img = await decodePortrait(sideways);
    expect([img.width, img.height]).toEqual([60, 40]);
    expect(rgbAt(img, 30, 2)[1]).toBeGreaterThan(150); // the green bar is on top again
    expect(rgbAt(img, 10, 20)[0]).toBeGreaterThan(150); // red on the left
    expect(rgbAt(img, 50, 20)[2]).toBeGreaterThan(150);
  });

  it("flattens transparency on white and turns grey and 16-bit images into 8-bit RGB", async () => {
    const rgba = Buffer.alloc(4 * 4 * 4); // fully transparent black
    const clear = await decodePortrait(
      await sharp(rgba, { raw: { width: 4, height: 4, channels: 4 } })
        .png()
        .toBuffer(),
    );
    expect(Array.from(clear.rgb.subarray(0, 6))).toEqual([255, 255, 255, 255, 255, 255]);
    const grey16 = await sharp(await card())
      .toColourspace("grey16")
      .png()
      .toBuffer();
    expect((await sharp(grey16).metadata()).depth).toBe("ushort");
    const g = await decodePortrait(grey16);
    expect(g.rgb.length).toBe(60 * 40 * 3);
    const [r, gg, b] = rgbAt(g, 10, 20);
    expect(r).toBe(gg);
    expect(gg).toBe(b);
  });

  it("scales images larger than maxSide down to it, keeping the aspect", async () => {
    const img = await decodePortrait(await card(), { maxSide: 30 });
    expect([img.width, img.height]).toEqual([30, 20]);
    expect((await decodePortrait(await card(), { maxSide: 100 })).width).toBe(60); // never enlarged
  });

  it("refuses random bytes, a truncated JPEG and formats it cannot read, saying which", async () => {
    const rand = mulberry32(8);
    const noise = Uint8Array.from({ length: 5000 }, () => Math.floor(rand() * 256));
    const r1 = await refusal(decodePortrait(noise));
    expect(r1.code).toBe("bad-image");
    expect(r1.message).toBe(
      "This file is not a JPEG, PNG or WebP image. Save or export the photo as JPEG and upload that.",
    );
    const jpeg = await sharp(await card())
      .jpeg()
      .toBuffer();
    const r2 = await refusal(decodePortrait(jpeg.subarray(0, Math.floor(jpeg.length * 0.6))));
    expect(r2.code).toBe("bad-image");
    expect(r2.message).toMatch(/damaged or incomplete \(.*premature end/i);
    const gif = await refusal(
      decodePortrait(
        await sharp(await card())
          .gif()
          .toBuffer(),
      ),
    );
    expect(gif.message).toMatch(/This file is a GIF, not a JPEG, PNG or WebP image/);
    const heic = Uint8Array.from([0, 0, 0, 24, ...Buffer.from("ftypheic"), 0, 0, 0, 0]);
    expect((await refusal(decodePortrait(heic))).message).toMatch(/HEIC\/HEIF photo/);
    expect((await refusal(decodePortrait(new Uint8Array(0)))).message).toMatch(/empty/);
    expect(sniffFormat(jpeg)).toEqual({ format: "jpeg" });
  });

  it("refuses files and images over the limits with the measured size and the limit", async () => {
    const png = await card();
    const px = await refusal(decodePortrait(png, { maxPixels: 1000 }));
    expect(px.code).toBe("too-large");
    expect(px.message).toBe(
      "The image is 60 x 40 pixels (0.0024 MP); the limit is 0.001 MP. Upload a smaller copy (2000 pixels on the long side is plenty).",
    );
    expect(px.details).toEqual({ width: 60, height: 40, maxPixels: 1000 });
    const bytes = await refusal(decodePortrait(png, { maxBytes: 100 }));
    expect(bytes.code).toBe("too-large");
    expect(bytes.message).toMatch(/^The file is \d KB; the limit is 1 KB\. Upload a smaller JPEG/);
    expect(DEFAULT_DECODE_LIMITS).toEqual({ maxBytes: 20 * 1024 * 1024, maxPixels: 50_000_000, maxSide: 2048 });
    await expect(decodePortrait(png, { maxSide: 0 })).rejects.toThrow(
      /decodePortrait: limit maxSide must be a number >= 1, got 0/,
    );
  });
});
