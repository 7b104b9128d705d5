/**
 * Pictures out of the renderers: a RenderImage as PNG, labelled panels and
 * contact sheets (the CLIs, docs/images, the dataset and training reports).
 * sharp ships libvips inside its npm package.
 */
import sharp from "sharp";
import type { RenderImage } from "../../render-core/raster/camera";

/** 8-bit RGB of a render (rgb is premultiplied over the renderer's background already). */
export function imageToRgb8(image: RenderImage): Buffer {
  const px = Buffer.alloc(image.width * image.height * 3);
  for (let i = 0; i < px.length; i++) px[i] = Math.round(Math.min(1, Math.max(0, image.rgb[i]!)) * 255);
  return px;
}

export function imageToPng(image: RenderImage): Promise<Buffer> {
  return sharp(imageToRgb8(image), { raw: { width: image.width, height: image.height, channels: 3 } }).png().toBuffer();
}

const escapeXml = (s: string) => s.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** A PNG (any size) resized to size x size with a caption in its top-left corner. */
export async function labelledPanel(png: Buffer, size: number, label: string): Promise<Buffer> {
  const small = await sharp(png).resize(size, size, { kernel: "lanczos3", fit: "fill" }).png().toBuffer();
  if (!label) return small;
  const fontSize = Math.max(10, Math.round(size / 15));
  const text = `<svg width="${size}" height="${size}"><text x="${Math.round(fontSize * 0.6)}" y="${Math.round(fontSize * 1.4)}" font-family="sans-serif" font-size="${fontSize}" fill="#f0f0f0">${escapeXml(label)}</text></svg>`;
  return sharp(small).composite([{ input: Buffer.from(text), top: 0, left: 0 }]).png().toBuffer();
}

/** Square panels of `size` px in a grid of `cols` columns on a dark background, as PNG. */
export async function contactSheet(panels: Buffer[], cols: number, size: number): Promise<Buffer> {
  if (panels.length === 0) throw new Error("contactSheet: no panels");
  const rows = Math.ceil(panels.length / cols);
  return sharp({ create: { width: Math.min(cols, panels.length) * size, height: rows * size, channels: 3, background: { r: 30, g: 32, b: 36 } } })
    .composite(panels.map((input, i) => ({ input, left: (i % cols) * size, top: Math.floor(i / cols) * size })))
    .png()
    .toBuffer();
}
