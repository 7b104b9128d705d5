/**
 * An image's pixel size as its header declares it, read from the bytes
 * themselves: PNG's IHDR, JPEG's SOFn marker, WebP's VP8 / VP8L / VP8X
 * chunk. decodePortrait refuses a decompression bomb with it before any
 * decoder runs, also when the file is cut short right after its header
 * (sharp then cannot even read the metadata and would call it damaged).
 */

export interface ImageSize {
  width: number;
  height: number;
}

const u16be = (b: Uint8Array, at: number) => (b[at]! << 8) | b[at + 1]!;
const u32be = (b: Uint8Array, at: number) =>
  ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
const u16le = (b: Uint8Array, at: number) => b[at]! | (b[at + 1]! << 8);
const u24le = (b: Uint8Array, at: number) => b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16);
const tag = (b: Uint8Array, at: number) => String.fromCharCode(...b.subarray(at, at + 4));
const sized = (width: number, height: number): ImageSize | null =>
  width >= 1 && height >= 1 ? { width, height } : null;

/** Width and height from a PNG, JPEG or WebP header; null when the bytes say no size (another format, cut off before it, or a JPEG whose height comes later in a DNL marker). */
export function headerImageSize(bytes: Uint8Array): ImageSize | null {
  if (bytes.length >= 24 && u32be(bytes, 0) === 0x89504e47 && u32be(bytes, 4) === 0x0d0a1a0a)
    return tag(bytes, 12) === "IHDR" ? sized(u32be(bytes, 16), u32be(bytes, 20)) : null;
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return jpegSize(bytes);
  if (bytes.length >= 16 && tag(bytes, 0) === "RIFF" && tag(bytes, 8) === "WEBP") return webpSize(bytes);
  return null;
}

/** Walks the marker segments up to the first SOFn (frame header: precision, height, width); stops at the scan data. */
function jpegSize(b: Uint8Array): ImageSize | null {
  let at = 2;
  while (at + 1 < b.length) {
    if (b[at] !== 0xff) return null; // not a marker: a damaged file
    const marker = b[at + 1]!;
    if (marker === 0xff) {
      at++; // fill byte
      continue;
    }
    at += 2;
    // Markers without a length: TEM, RSTn, SOI, EOI.
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd9)) continue;
    if (at + 2 > b.length) return null;
    const length = u16be(b, at);
    // SOF0-SOF15, except DHT (C4), JPG (C8) and DAC (CC).
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc)
      return at + 7 <= b.length ? sized(u16be(b, at + 5), u16be(b, at + 3)) : null;
    if (marker === 0xda || length < 2) return null; // scan data before any frame header
    at += length;
  }
  return null;
}

/** The first chunk after "WEBP" says it all: VP8X (extended: the canvas), VP8 (lossy key frame) or VP8L (lossless). */
function webpSize(b: Uint8Array): ImageSize | null {
  const chunk = tag(b, 12);
  const d = 20; // chunk data
  if (chunk === "VP8X" && b.length >= d + 10) return sized(u24le(b, d + 4) + 1, u24le(b, d + 7) + 1);
  // Frame tag (3 bytes), start code 9d 01 2a, then 14-bit width and height (2 scale bits above each).
  if (chunk === "VP8 " && b.length >= d + 10 && b[d + 3] === 0x9d && b[d + 4] === 0x01 && b[d + 5] === 0x2a)
    return sized(u16le(b, d + 6) & 0x3fff, u16le(b, d + 8) & 0x3fff);
  // Signature 0x2f, then width - 1 and height - 1 in 14 bits each, little-endian bit order.
  if (chunk === "VP8L" && b.length >= d + 5 && b[d] === 0x2f) {
    const bits = (b[d + 1]! | (b[d + 2]! << 8) | (b[d + 3]! << 16) | (b[d + 4]! << 24)) >>> 0;
    return sized((bits & 0x3fff) + 1, ((bits >>> 14) & 0x3fff) + 1);
  }
  return null;
}
