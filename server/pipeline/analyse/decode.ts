/**
 * Upload bytes -> 8-bit RGB the models can read: only JPEG, PNG and WebP,
 * EXIF orientation applied (phones store portraits sideways plus a flag),
 * transparency flattened on white, any colour space converted to sRGB,
 * large images scaled down. Every way this can fail is a PortraitRefusal
 * ("bad-image" or "too-large") with a message for the person uploading.
 * The pixel limit is checked on the size the header declares before any
 * decoder runs (a decompression bomb is refused as too large, not damaged).
 */
import sharp, { type Metadata } from "sharp";
import { headerImageSize } from "./image-size";
import { PortraitRefusal } from "./refusal";

/** [H, W, 3] u8 sRGB, rows top to bottom. */
export interface RgbImage {
  width: number;
  height: number;
  rgb: Uint8Array;
}

export interface DecodeLimits {
  /** Largest accepted file, bytes. Default 20 MB. */
  maxBytes: number;
  /** Largest accepted image, pixels (width x height before scaling; guards against decompression bombs). Default 50 MP. */
  maxPixels: number;
  /** Longer side of the decoded image, pixels: larger images are scaled down to it (the models look at 512 px or less anyway). Default 2048. */
  maxSide: number;
}

export const DEFAULT_DECODE_LIMITS: DecodeLimits = Object.freeze({
  maxBytes: 20 * 1024 * 1024,
  maxPixels: 50_000_000,
  maxSide: 2048,
});

type Format = "jpeg" | "png" | "webp";

const startsWith = (b: Uint8Array, sig: number[], at = 0) =>
  b.length >= at + sig.length && sig.every((v, i) => b[at + i] === v);
const ascii = (s: string) => Array.from(s, (c) => c.charCodeAt(0));

/** The format from the file's first bytes (a file name or MIME type can lie); a name for formats we recognise but refuse ("" for unknown bytes). */
export function sniffFormat(bytes: Uint8Array): { format: Format } | { other: string } {
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return { format: "jpeg" };
  if (startsWith(bytes, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return { format: "png" };
  if (startsWith(bytes, ascii("RIFF")) && startsWith(bytes, ascii("WEBP"), 8)) return { format: "webp" };
  if (startsWith(bytes, ascii("GIF8"))) return { other: "a GIF" };
  if (startsWith(bytes, ascii("ftyp"), 4)) {
    const brand = String.fromCharCode(...bytes.subarray(8, 12));
    return {
      other: /^(heic|heix|hevc|mif1|msf1)$/.test(brand)
        ? "a HEIC/HEIF photo"
        : /^avi[fs]$/.test(brand)
          ? "an AVIF image"
          : "a video or MP4-family file",
    };
  }
  if (startsWith(bytes, ascii("BM"))) return { other: "a BMP" };
  if (startsWith(bytes, [0x49, 0x49, 0x2a, 0x00]) || startsWith(bytes, [0x4d, 0x4d, 0x00, 0x2a]))
    return { other: "a TIFF (or camera RAW)" };
  if (startsWith(bytes, ascii("%PDF"))) return { other: "a PDF document" };
  if (startsWith(bytes, ascii("<svg")) || startsWith(bytes, ascii("<?xml")))
    return { other: "a vector drawing (SVG/XML)" };
  return { other: "" };
}

const MB = 1024 * 1024;
const fmtMb = (bytes: number) => (bytes >= MB ? `${(bytes / MB).toFixed(1)} MB` : `${Math.ceil(bytes / 1024)} KB`);
const fmtMp = (px: number) => `${px >= 1e6 ? (px / 1e6).toFixed(1) : Number((px / 1e6).toPrecision(2))} MP`;

function resolveLimits(limits: Partial<DecodeLimits> | undefined): DecodeLimits {
  const l = { ...DEFAULT_DECODE_LIMITS, ...limits };
  for (const [k, v] of Object.entries(l))
    if (!(Number.isFinite(v) && v >= 1)) throw new Error(`decodePortrait: limit ${k} must be a number >= 1, got ${v}`);
  return l;
}

export async function decodePortrait(bytes: Uint8Array, limits?: Partial<DecodeLimits>): Promise<RgbImage> {
  const l = resolveLimits(limits);
  if (bytes.length === 0) throw new PortraitRefusal("bad-image", "The file is empty: upload the photo again.");
  if (bytes.length > l.maxBytes)
    throw new PortraitRefusal(
      "too-large",
      `The file is ${fmtMb(bytes.length)}; the limit is ${fmtMb(l.maxBytes)}. Upload a smaller JPEG (a phone's "large" or "medium" size is plenty).`,
      [],
      { bytes: bytes.length, maxBytes: l.maxBytes },
    );
  const sniffed = sniffFormat(bytes);
  if ("other" in sniffed)
    throw new PortraitRefusal(
      "bad-image",
      `This file is ${sniffed.other ? `${sniffed.other}, ` : ""}not a JPEG, PNG or WebP image. Save or export the photo as JPEG and upload that.`,
    );
  const tooManyPixels = (w: number, h: number) =>
    new PortraitRefusal(
      "too-large",
      `The image is ${w} x ${h} pixels (${fmtMp(w * h)}); the limit is ${fmtMp(l.maxPixels)}. Upload a smaller copy (2000 pixels on the long side is plenty).`,
      [],
      { width: w, height: h, maxPixels: l.maxPixels },
    );
  const declared = headerImageSize(bytes);
  if (declared && declared.width * declared.height > l.maxPixels) throw tooManyPixels(declared.width, declared.height);
  const input = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

  let meta: Metadata;
  try {
    // No pixel limit here: metadata reads only the header, and the limit below then names the size.
    meta = await sharp(input, { limitInputPixels: false }).metadata();
  } catch (err) {
    throw new PortraitRefusal(
      "bad-image",
      `The ${sniffed.format.toUpperCase()} file could not be read (${(err as Error).message}). It may be damaged: export the photo again and upload that.`,
    );
  }
  const [w, h] = [meta.width ?? 0, meta.height ?? 0];
  if (w < 1 || h < 1)
    throw new PortraitRefusal(
      "bad-image",
      `The ${sniffed.format.toUpperCase()} file has no picture in it (size ${w} x ${h}): export the photo again and upload that.`,
    );
  if (w * h > l.maxPixels) throw tooManyPixels(w, h);

  try {
    // failOn "warning": a truncated or corrupt file is refused rather than decoded half grey.
    const { data, info } = await sharp(input, { limitInputPixels: l.maxPixels, failOn: "warning" })
      .rotate() // EXIF orientation
      .resize({ width: l.maxSide, height: l.maxSide, fit: "inside", withoutEnlargement: true, kernel: "lanczos3" })
      .flatten({ background: "#ffffff" })
      .toColourspace("srgb")
      .removeAlpha()
      .raw({ depth: "uchar" })
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3)
      throw new Error(`decodePortrait: expected 3 channels after conversion, got ${info.channels}`);
    return {
      width: info.width,
      height: info.height,
      rgb: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
    };
  } catch (err) {
    if (err instanceof PortraitRefusal || /^decodePortrait:/.test((err as Error).message)) throw err;
    throw new PortraitRefusal(
      "bad-image",
      `The ${sniffed.format.toUpperCase()} file is damaged or incomplete (${(err as Error).message}). Upload it again, or export the photo afresh.`,
    );
  }
}

/** Checks an RgbImage handed in by code (not an upload): a programming error, not a refusal. */
export function checkRgbImage(image: RgbImage, owner: string): void {
  const { width, height, rgb } = image;
  if (!(Number.isInteger(width) && Number.isInteger(height) && width >= 1 && height >= 1))
    throw new Error(`${owner}: image size must be whole numbers >= 1, got ${width} x ${height}`);
  if (!(rgb instanceof Uint8Array) || rgb.length !== width * height * 3)
    throw new Error(
      `${owner}: rgb must be a Uint8Array of ${width} x ${height} x 3 = ${width * height * 3} bytes, got ${rgb?.length}`,
    );
}
