/**
 * Pictures of an analysis for the UI, the CLI and the docs: the portrait with
 * the person matte tinted, the face box and the 68 landmarks (mesh points
 * faint), or a refused portrait with the faces found and the reason written
 * on it. Drawn as SVG composited by sharp; line widths and text scale with
 * the image.
 */
import sharp, { type Sharp } from "sharp";
import type { PortraitAnalysis, Box } from "./types";
import type { RgbImage } from "./decode";
import type { PortraitRefusal } from "./refusal";

const escapeXml = (s: string) => s.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);

function rawToSharp(rgb: Uint8Array, width: number, height: number): Sharp {
  return sharp(Buffer.from(rgb.buffer, rgb.byteOffset, rgb.byteLength), { raw: { width, height, channels: 3 } });
}

/** Greedy word wrap for an approximate average glyph width of 0.55 em. */
function wrap(text: string, maxChars: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/)) {
    if (line && line.length + 1 + word.length > maxChars) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines;
}

const boxSvg = (b: Box, colour: string, lw: number) =>
  `<rect x="${b.x.toFixed(1)}" y="${b.y.toFixed(1)}" width="${b.width.toFixed(1)}" height="${b.height.toFixed(1)}" fill="none" stroke="${colour}" stroke-width="${lw}"/>`;

/** Matte colour: the person is tinted toward it by MATTE_TINT_STRENGTH x coverage. */
const MATTE_TINT: [number, number, number] = [40, 200, 255];
const MATTE_TINT_STRENGTH = 0.4;

export async function analysisOverlayPng(image: RgbImage, analysis: PortraitAnalysis): Promise<Buffer> {
  const { width: W, height: H } = image;
  if (analysis.width !== W || analysis.height !== H)
    throw new Error(
      `analysisOverlayPng: the analysis is of a ${analysis.width} x ${analysis.height} image, this image is ${W} x ${H}`,
    );
  const rgb = Uint8Array.from(image.rgb);
  if (analysis.matte) {
    for (let i = 0; i < W * H; i++) {
      const a = MATTE_TINT_STRENGTH * analysis.matte[i]!;
      for (let c = 0; c < 3; c++) rgb[i * 3 + c] = Math.round(rgb[i * 3 + c]! * (1 - a) + MATTE_TINT[c]! * a);
    }
  }
  const lw = Math.max(1, Math.round(Math.max(W, H) / 400));
  const r = Math.max(1.5, analysis.interocularPx / 45);
  const parts: string[] = [];
  if (analysis.mesh)
    for (let i = 0; i < analysis.mesh.length / 3; i++)
      parts.push(
        `<circle cx="${analysis.mesh[i * 3]!.toFixed(1)}" cy="${analysis.mesh[i * 3 + 1]!.toFixed(1)}" r="${(r * 0.4).toFixed(2)}" fill="#ffffff" fill-opacity="0.55"/>`,
      );
  parts.push(boxSvg(analysis.box, "#ffd21f", lw));
  for (let k = 0; k < 68; k++)
    parts.push(
      `<circle cx="${analysis.landmarks[k * 2]!.toFixed(1)}" cy="${analysis.landmarks[k * 2 + 1]!.toFixed(1)}" r="${r.toFixed(2)}" fill="#ff3b30"/>`,
    );
  const { yawDeg, pitchDeg, rollDeg } = analysis.rotation;
  const font = Math.max(11, Math.round(Math.max(W, H) / 40));
  const deg = (v: number) => Math.round(v) || 0; // no "-0"
  const caption = `yaw ${deg(yawDeg)}  pitch ${deg(pitchDeg)}  roll ${deg(rollDeg)}  |  eyes ${analysis.interocularPx.toFixed(0)} px  |  sharpness ${analysis.sharpness.toFixed(2)}  |  score ${analysis.score.toFixed(2)}`;
  parts.push(`<rect x="0" y="0" width="${W}" height="${Math.round(font * 1.7)}" fill="#000000" fill-opacity="0.55"/>`);
  parts.push(
    `<text x="${Math.round(font * 0.5)}" y="${Math.round(font * 1.2)}" font-family="sans-serif" font-size="${font}" fill="#ffffff">${escapeXml(caption)}</text>`,
  );
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}">${parts.join("")}</svg>`;
  return rawToSharp(rgb, W, H)
    .composite([{ input: Buffer.from(svg), top: 0, left: 0 }])
    .png()
    .toBuffer();
}

export async function refusalOverlayPng(image: RgbImage, refusal: PortraitRefusal): Promise<Buffer> {
  const { width: W, height: H } = image;
  const rgb = Uint8Array.from(image.rgb, (v) => Math.round(v * 0.6)); // dimmed: the text and boxes must read
  const lw = Math.max(2, Math.round(Math.max(W, H) / 300));
  const font = Math.max(12, Math.round(Math.min(W, H) / 22));
  const lines = wrap(refusal.message, Math.max(16, Math.floor((W - font) / (font * 0.55))));
  const bannerH = Math.round(font * (1.6 + 1.3 * lines.length) + font * 0.6);
  const parts = refusal.boxes.map((b) => boxSvg(b, "#ff3b30", lw));
  parts.push(`<rect x="0" y="${H - bannerH}" width="${W}" height="${bannerH}" fill="#000000" fill-opacity="0.7"/>`);
  parts.push(
    `<text x="${Math.round(font * 0.5)}" y="${H - bannerH + Math.round(font * 1.4)}" font-family="sans-serif" font-size="${font}" font-weight="bold" fill="#ff6b60">${escapeXml(`Not usable: ${refusal.code}`)}</text>`,
  );
  lines.forEach((line, i) =>
    parts.push(
      `<text x="${Math.round(font * 0.5)}" y="${H - bannerH + Math.round(font * (2.8 + 1.3 * i))}" font-family="sans-serif" font-size="${font}" fill="#ffffff">${escapeXml(line)}</text>`,
    ),
  );
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}">${parts.join("")}</svg>`;
  return rawToSharp(rgb, W, H)
    .composite([{ input: Buffer.from(svg), top: 0, left: 0 }])
    .png()
    .toBuffer();
}
