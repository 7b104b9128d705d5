import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { headerImageSize } from "./image-size";

/** A w x h picture with some detail (a gradient), so encoders write ordinary files. */
function picture(w: number, h: number, channels: 3 | 4 = 3) {
  const px = Buffer.alloc(w * h * channels);
  for (let i = 0; i < px.length; i++) px[i] = (i * 7) % 251;
  return sharp(px, { raw: { width: w, height: h, channels } });
}

describe("headerImageSize", () => {
  it("reads the true size of real PNG, JPEG and WebP files of every kind sharp writes", async () => {
    const files: [string, Buffer, number, number][] = [
      ["PNG", await picture(37, 23).png().toBuffer(), 37, 23],
      ["PNG, 16-bit grey", await picture(37, 23).toColourspace("grey16").png().toBuffer(), 37, 23],
      ["PNG with alpha, palette", await picture(300, 2, 4).png({ palette: true }).toBuffer(), 300, 2],
      ["JPEG baseline", await picture(37, 23).jpeg().toBuffer(), 37, 23],
      ["JPEG progressive", await picture(1000, 7).jpeg({ progressive: true }).toBuffer(), 1000, 7],
      // EXIF and ICC segments come before the frame header and must be skipped by their lengths.
      [
        "JPEG with EXIF and ICC",
        await picture(23, 37).withMetadata({ orientation: 6 }).withIccProfile("srgb").jpeg().toBuffer(),
        23,
        37,
      ],
      ["WebP lossy (VP8)", await picture(37, 23).webp().toBuffer(), 37, 23],
      ["WebP lossless (VP8L)", await picture(37, 23).webp({ lossless: true }).toBuffer(), 37, 23],
      ["WebP with alpha (VP8X)", await picture(37, 23, 4).webp().toBuffer(), 37, 23],
      ["WebP large lossless", await picture(4001, 3).webp({ lossless: true }).toBuffer(), 4001, 3],
    ];
    const chunks = new Set(files.filter(([n]) => n.startsWith("WebP")).map(([, b]) => b.subarray(12, 16).toString()));
    expect([...chunks].sort()).toEqual(["VP8 ", "VP8L", "VP8X"]); // each WebP kind is really covered
    for (const [name, bytes, w, h] of files) {
      const meta = await sharp(bytes).metadata();
      expect([meta.width, meta.height], name).toEqual([w, h]);
      expect(headerImageSize(bytes), name).toEqual({ width: w, height: h });
    }
  });

  it("reads a JPEG frame header after fill bytes and finds none in a file cut before it", async () => {
    const jpeg = await picture(37, 23).jpeg().toBuffer();
    const sof = jpeg.indexOf(Buffer.from([0xff, 0xc0]));
    // Any number of 0xff may stand before a marker.
    const filled = Buffer.concat([jpeg.subarray(0, sof), Buffer.from([0xff, 0xff, 0xff]), jpeg.subarray(sof)]);
    expect(headerImageSize(filled)).toEqual({ width: 37, height: 23 });
    expect(headerImageSize(jpeg.subarray(0, sof + 6))).toBeNull(); // frame header cut before the width
    expect(headerImageSize(jpeg.subarray(0, sof))).toBeNull();
    // Height 0: the size comes later (DNL marker), so the header does not say it.
    const dnl = Buffer.from(jpeg);
    dnl.writeUInt16BE(0, sof + 5);
    expect(headerImageSize(dnl)).toBeNull();
  });

  it("says null for other formats, truncated headers and garbage", async () => {
    const png = await picture(37, 23).png().toBuffer();
    const webp = await picture(37, 23).webp().toBuffer();
    expect(headerImageSize(png.subarray(0, 20))).toBeNull();
    expect(headerImageSize(webp.subarray(0, 25))).toBeNull();
    expect(headerImageSize(await picture(37, 23).gif().toBuffer())).toBeNull();
    expect(headerImageSize(await picture(37, 23).tiff().toBuffer())).toBeNull();
    expect(headerImageSize(new Uint8Array(0))).toBeNull();
    expect(headerImageSize(Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(100, 0x33)]))).toBeNull();
  });

  it("reports the size a doctored header claims, however large", async () => {
    const png = Buffer.from(await picture(8, 8).png().toBuffer());
    png.writeUInt32BE(100_000, 16);
    png.writeUInt32BE(70_000, 20);
    expect(headerImageSize(png.subarray(0, 24))).toEqual({ width: 100_000, height: 70_000 });
    const jpeg = Buffer.from(await picture(8, 8).jpeg().toBuffer());
    const sof = jpeg.indexOf(Buffer.from([0xff, 0xc0]));
    jpeg.writeUInt16BE(65_000, sof + 5);
    jpeg.writeUInt16BE(60_000, sof + 7);
    expect(headerImageSize(jpeg)).toEqual({ width: 60_000, height: 65_000 });
  });
});
