/**
 * Pictures out of the renderers: a RenderImage as PNG, labelled panels and
 * contact sheets (the CLIs, docs/images, the dataset and training reports).
 * sharp ships libvips inside its npm package.
 */
import sharp from "sharp";
import type { RenderImage } from "../../render-core/raster/camera";
import { packRgb8Cpu } from "../../render-core/raster/rasterize.cpu";

/** 8-bit RGB of a render (rgb is premultiplied over the renderer's background already). */
export function imageToRgb8(image: RenderImage): Buffer {
  const rgb = packRgb8Cpu(image.rgb);
  return Buffer.from(rgb.buffer, rgb.byteOffset, rgb.byteLength);
}

export function imageToPng(image: RenderImage): Promise<Buffer> {
  return sharp(imageToRgb8(image), { raw: { width: image.width, height: image.height, channels: 3 } })
    .png()
    .toBuffer();
}

const escapeXml = (s: string) => s.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** A PNG (any size) resized to size x size with a caption in its top-left corner. */
export async function labelledPanel(png: Buffer, size: number, label: string): Promise<Buffer> {
  const small = await sharp(png).resize(size, size, { kernel: "lanczos3", fit: "fill" }).png().toBuffer();
  if (!label) return small;
  const fontSize = Math.max(10, Math.round(size / 15));
  const text = `<svg width="${size}" height="${size}"><text x="${Math.round(fontSize * 0.6)}" y="${Math.round(fontSize * 1.4)}" font-family="sans-serif" font-size="${fontSize}" fill="#f0f0f0">${escapeXml(label)}</text></svg>`;
  return sharp(small)
    .composite([{ input: Buffer.from(text), top: 0, left: 0 }])
    .png()
    .toBuffer();
}

/** Square panels of `size` px in a grid of `cols` columns on a dark background, as PNG. */
export async function contactSheet(panels: Buffer[], cols: number, size: number): Promise<Buffer> {
  if (panels.length === 0) throw new Error("contactSheet: no panels");
  const rows = Math.ceil(panels.length / cols);
  return sharp({
    create: {
      width: Math.min(cols, panels.length) * size,
      height: rows * size,
      channels: 3,
      background: { r: 30, g: 32, b: 36 },
    },
  })
    .composite(panels.map((input, i) => ({ input, left: (i % cols) * size, top: Math.floor(i / cols) * size })))
    .png()
    .toBuffer();
}

export interface ChartSeries {
  name: string;
  colour: string;
  points: Array<[number, number]>;
}

/**
 * A line chart as PNG (the training loss curve): x and y axes with a few ticks,
 * one polyline per series, a legend; `logY` plots log10 of y.
 */
export async function lineChartPng(
  series: ChartSeries[],
  o: { title: string; xLabel: string; yLabel: string; logY?: boolean; width?: number; height?: number },
): Promise<Buffer> {
  const W = o.width ?? 720,
    H = o.height ?? 360,
    left = 64,
    right = 16,
    top = 36,
    bottom = 44;
  const fy = (v: number) => (o.logY ? Math.log10(Math.max(v, 1e-12)) : v);
  const all = series.flatMap((s) => s.points).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(fy(y)));
  if (all.length === 0) throw new Error("lineChartPng: no finite points");
  const x0 = Math.min(...all.map((p) => p[0]));
  let x1 = Math.max(...all.map((p) => p[0]));
  let [y0, y1] = [Math.min(...all.map((p) => fy(p[1]))), Math.max(...all.map((p) => fy(p[1])))];
  if (x1 === x0) x1 = x0 + 1;
  if (y1 === y0) [y0, y1] = [y0 - 0.5, y1 + 0.5];
  const px = (x: number) => left + ((x - x0) / (x1 - x0)) * (W - left - right);
  const py = (y: number) => top + (1 - (fy(y) - y0) / (y1 - y0)) * (H - top - bottom);
  const fmt = (v: number) => (Math.abs(v) >= 1000 ? v.toFixed(0) : Number(v.toPrecision(3)).toString());
  const parts: string[] = [`<rect width="${W}" height="${H}" fill="#1e2024"/>`];
  for (let k = 0; k <= 4; k++) {
    const yv = y0 + ((y1 - y0) * k) / 4,
      y = top + (1 - k / 4) * (H - top - bottom);
    parts.push(`<line x1="${left}" y1="${y}" x2="${W - right}" y2="${y}" stroke="#3a3d44"/>`);
    parts.push(
      `<text x="${left - 6}" y="${y + 4}" text-anchor="end" font-family="sans-serif" font-size="11" fill="#c8c8c8">${fmt(o.logY ? 10 ** yv : yv)}</text>`,
    );
    const xv = x0 + ((x1 - x0) * k) / 4,
      x = px(xv);
    parts.push(
      `<text x="${x}" y="${H - bottom + 16}" text-anchor="middle" font-family="sans-serif" font-size="11" fill="#c8c8c8">${fmt(xv)}</text>`,
    );
  }
  parts.push(
    `<text x="${W / 2}" y="${H - 8}" text-anchor="middle" font-family="sans-serif" font-size="12" fill="#e0e0e0">${escapeXml(o.xLabel)}</text>`,
  );
  parts.push(
    `<text x="14" y="${H / 2}" transform="rotate(-90 14 ${H / 2})" text-anchor="middle" font-family="sans-serif" font-size="12" fill="#e0e0e0">${escapeXml(o.yLabel)}</text>`,
  );
  parts.push(
    `<text x="${left}" y="22" font-family="sans-serif" font-size="14" fill="#f0f0f0">${escapeXml(o.title)}</text>`,
  );
  series.forEach((s, k) => {
    const pts = s.points
      .filter(([x, y]) => Number.isFinite(x) && Number.isFinite(fy(y)))
      .map(([x, y]) => `${px(x).toFixed(1)},${py(y).toFixed(1)}`);
    if (pts.length)
      parts.push(`<polyline points="${pts.join(" ")}" fill="none" stroke="${s.colour}" stroke-width="1.5"/>`);
    parts.push(`<rect x="${W - right - 150}" y="${top + 6 + k * 16}" width="10" height="10" fill="${s.colour}"/>`);
    parts.push(
      `<text x="${W - right - 134}" y="${top + 15 + k * 16}" font-family="sans-serif" font-size="11" fill="#e0e0e0">${escapeXml(s.name)}</text>`,
    );
  });
  return sharp(
    Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}">${parts.join("")}</svg>`),
  )
    .png()
    .toBuffer();
}
