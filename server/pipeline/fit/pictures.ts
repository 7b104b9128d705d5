/**
 * Pictures of the fit stage for the browser and the docs: the photo with the
 * fitted mesh and the landmarks over it, the per-vertex texture unrolled
 * into the head's UV layout, and the UV texture with its sources.
 */
import sharp from "sharp";
import { landmarkPositions, type HeadModel } from "../../../render-core/head";
import { MeshPart } from "../../../render-core/head/mesh";
import { contactSheet, labelledPanel } from "../../images/png";
import type { HeadFit } from "./fit-head";
import { checkImage, type RgbImage } from "./image";
import { cameraPosition, posedHead, projectVertices, rasterDepthAt, rasterizeMesh } from "./mesh-view";
import { TextureSource } from "./texture";
import { UvSource, type UvTexture } from "./uv-texture";

/** Colours of the source panel, by TextureSource. */
export const SOURCE_COLOURS: Record<number, [number, number, number]> = {
  [TextureSource.default]: [0.45, 0.45, 0.5],
  [TextureSource.photo]: [0.2, 0.75, 0.3],
  [TextureSource.mirrored]: [0.25, 0.5, 0.95],
  [TextureSource.skinFill]: [0.95, 0.6, 0.2],
};

/**
 * The photo with the fitted head's wireframe (the faces the camera sees),
 * the input landmarks (green rings), the fitted ones (red dots) and the
 * offset between them (yellow). At most 1024 px on the long side.
 */
export async function fitOverlayPng(image: RgbImage, head: HeadModel, fit: HeadFit): Promise<Buffer> {
  checkImage("fitOverlayPng", image);
  if (fit.camera.width !== image.width || fit.camera.height !== image.height)
    throw new Error(
      `fitOverlayPng: the fit's camera is ${fit.camera.width} x ${fit.camera.height} but the image is ${image.width} x ${image.height}`,
    );
  const { width: W, height: H } = image;
  const view = posedHead(head, fit);
  const raster = rasterizeMesh(view.px, view.depth, head.faces, W, H, Math.min(0.5, 640 / Math.max(W, H)));
  const eye = cameraPosition(fit.camera);
  const seg: string[] = [];
  const f2 = (x: number) => x.toFixed(1);
  for (let f = 0; f < head.faceCount; f++) {
    const a = head.faces[f * 3],
      b = head.faces[f * 3 + 1],
      c = head.faces[f * 3 + 2];
    if (head.vertexPart[a] !== MeshPart.head) continue;
    // Front-facing (normal toward the camera) and not hidden at the centroid.
    const P = view.positions;
    const e1 = [0, 1, 2].map((k) => P[b * 3 + k] - P[a * 3 + k]),
      e2 = [0, 1, 2].map((k) => P[c * 3 + k] - P[a * 3 + k]);
    const n = [e1[1] * e2[2] - e1[2] * e2[1], e1[2] * e2[0] - e1[0] * e2[2], e1[0] * e2[1] - e1[1] * e2[0]];
    if (n[0] * (eye[0] - P[a * 3]) + n[1] * (eye[1] - P[a * 3 + 1]) + n[2] * (eye[2] - P[a * 3 + 2]) <= 0) continue;
    const u = (view.px[a * 2] + view.px[b * 2] + view.px[c * 2]) / 3,
      v = (view.px[a * 2 + 1] + view.px[b * 2 + 1] + view.px[c * 2 + 1]) / 3;
    if ((view.depth[a] + view.depth[b] + view.depth[c]) / 3 > rasterDepthAt(raster, u, v) + 0.003) continue;
    seg.push(
      `M${f2(view.px[a * 2])} ${f2(view.px[a * 2 + 1])}L${f2(view.px[b * 2])} ${f2(view.px[b * 2 + 1])}L${f2(view.px[c * 2])} ${f2(view.px[c * 2 + 1])}Z`,
    );
  }
  const fitted = projectVertices(fit.camera, landmarkPositions(head, view.positions)).px;
  const r = Math.max(2, Math.max(W, H) / 256),
    line = Math.max(1, r / 2);
  const marks: string[] = [];
  for (let i = 0; i < fit.landmarks.length / 2; i++) {
    const [x0, y0, x1, y1] = [fit.landmarks[i * 2], fit.landmarks[i * 2 + 1], fitted[i * 2], fitted[i * 2 + 1]];
    marks.push(
      `<line x1="${f2(x0)}" y1="${f2(y0)}" x2="${f2(x1)}" y2="${f2(y1)}" stroke="#ffe14d" stroke-width="${line}"/>`,
    );
    marks.push(
      `<circle cx="${f2(x0)}" cy="${f2(y0)}" r="${r * 1.4}" fill="none" stroke="#3cff6e" stroke-width="${line}"/>`,
    );
    marks.push(`<circle cx="${f2(x1)}" cy="${f2(y1)}" r="${r * 0.8}" fill="#ff4040"/>`);
  }
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}"><path d="${seg.join("")}" fill="none" stroke="#ffffff" stroke-opacity="0.28" stroke-width="${Math.max(0.4, Math.max(W, H) / 1600)}"/>${marks.join("")}</svg>`;
  const out = sharp(Buffer.from(image.rgb), { raw: { width: W, height: H, channels: 3 } }).composite([
    { input: Buffer.from(svg), top: 0, left: 0 },
  ]);
  const composed = await out.png().toBuffer();
  return Math.max(W, H) > 1024
    ? sharp(composed)
        .resize({ width: Math.round((W * 1024) / Math.max(W, H)) })
        .png()
        .toBuffer()
    : composed;
}

/**
 * Rasterises per-vertex colours ([V, 3] in [0, 1]) into the head's UV layout
 * (uvCoords / faceUvs, seam split), crown at the top and the bag and eyeball
 * islands along the bottom. Returns an RGB image, size x size, dark where no
 * face lands.
 */
export function uvImage(head: HeadModel, colours: Float32Array, size: number): Uint8Array {
  if (colours.length !== head.vertexCount * 3)
    throw new Error(`uvImage: colours need ${head.vertexCount * 3} values ([V, 3]), got ${colours.length}`);
  const img = new Uint8Array(size * size * 3);
  for (let i = 0; i < size * size; i++) img.set([30, 32, 36], i * 3);
  const uv = head.uvCoords;
  for (let f = 0; f < head.faceCount; f++) {
    const t = [0, 1, 2].map((k) => head.faceUvs[f * 3 + k]),
      v = [0, 1, 2].map((k) => head.faces[f * 3 + k]);
    // Faces that join the head to a bag (at the lip and lid slits) span two UV islands: nothing to draw.
    if (head.vertexPart[v[0]] !== head.vertexPart[v[1]] || head.vertexPart[v[0]] !== head.vertexPart[v[2]]) continue;
    const xs = t.map((q) => uv[q * 2] * size),
      ys = t.map((q) => (1 - uv[q * 2 + 1]) * size);
    const area = (xs[1] - xs[0]) * (ys[2] - ys[0]) - (ys[1] - ys[0]) * (xs[2] - xs[0]);
    if (area === 0) continue;
    const x0 = Math.max(0, Math.floor(Math.min(...xs))),
      x1 = Math.min(size - 1, Math.ceil(Math.max(...xs)));
    const y0 = Math.max(0, Math.floor(Math.min(...ys))),
      y1 = Math.min(size - 1, Math.ceil(Math.max(...ys)));
    for (let y = y0; y <= y1; y++)
      for (let x = x0; x <= x1; x++) {
        const px = x + 0.5,
          py = y + 0.5;
        const wa = ((xs[1] - px) * (ys[2] - py) - (ys[1] - py) * (xs[2] - px)) / area;
        const wb = ((xs[2] - px) * (ys[0] - py) - (ys[2] - py) * (xs[0] - px)) / area;
        const wc = 1 - wa - wb;
        // A little slack so the faces' shared edges leave no gaps.
        if (wa < -0.02 || wb < -0.02 || wc < -0.02) continue;
        for (let k = 0; k < 3; k++)
          img[(y * size + x) * 3 + k] = Math.round(
            255 *
              Math.min(
                1,
                Math.max(0, wa * colours[v[0] * 3 + k] + wb * colours[v[1] * 3 + k] + wc * colours[v[2] * 3 + k]),
              ),
          );
      }
  }
  return img;
}

/** The albedo in the UV layout, and beside it (with `source`) where each vertex's colour came from. */
export async function texturePng(
  head: HeadModel,
  albedo: Float32Array,
  source?: Uint8Array,
  size = 512,
): Promise<Buffer> {
  if (!Number.isInteger(size) || size < 32 || size > 4096)
    throw new Error(`texturePng: size must be a whole number in [32, 4096], got ${size}`);
  const png = (rgb: Uint8Array) =>
    sharp(Buffer.from(rgb), { raw: { width: size, height: size, channels: 3 } })
      .png()
      .toBuffer();
  const albedoPng = await png(uvImage(head, albedo, size));
  if (!source) return albedoPng;
  if (source.length !== head.vertexCount)
    throw new Error(`texturePng: source needs ${head.vertexCount} values, got ${source.length}`);
  const coloured = new Float32Array(head.vertexCount * 3);
  for (let v = 0; v < head.vertexCount; v++) {
    const c = SOURCE_COLOURS[source[v]];
    if (!c) throw new Error(`texturePng: source[${v}] is ${source[v]}, not a TextureSource`);
    coloured.set(c, v * 3);
  }
  // A legend in the sources' own colours along the top of the second panel.
  const font = Math.max(10, Math.round(size / 24));
  const names: [number, string][] = [
    [TextureSource.photo, "photo"],
    [TextureSource.mirrored, "mirrored"],
    [TextureSource.skinFill, "skin fill"],
    [TextureSource.default, "default"],
  ];
  const hex = (c: [number, number, number]) =>
    `#${c
      .map((x) =>
        Math.round(x * 255)
          .toString(16)
          .padStart(2, "0"),
      )
      .join("")}`;
  const legend = `<svg xmlns="http://www.w3.org/2000/svg" width="${size}" height="${Math.round(font * 1.8)}"><rect width="100%" height="100%" fill="#1e2024"/>${names.map(([s, name], i) => `<text x="${Math.round(font * 0.5 + (i * size) / 4)}" y="${Math.round(font * 1.3)}" font-family="sans-serif" font-size="${font}" fill="${hex(SOURCE_COLOURS[s])}">${name}</text>`).join("")}</svg>`;
  const sourcePng = await sharp(await png(uvImage(head, coloured, size)))
    .composite([{ input: Buffer.from(legend), top: 0, left: 0 }])
    .png()
    .toBuffer();
  return contactSheet([await labelledPanel(albedoPng, size, "albedo"), sourcePng], 2, size);
}

/** Colours of the UV texture's source panel, by UvSource. */
export const UV_SOURCE_COLOURS: Record<number, [number, number, number]> = {
  ...SOURCE_COLOURS,
  [UvSource.eye]: [0.85, 0.3, 0.8],
  [UvSource.empty]: [0.12, 0.125, 0.14],
};

/**
 * The UV texture as a picture: the albedo with the crown at the top (the
 * texture's row 0 is v = 0, the neck's bottom) and beside it where each texel
 * came from, each panel size x size.
 */
export async function uvTexturePng(
  tex: Pick<UvTexture, "width" | "height" | "data" | "source">,
  size = 512,
): Promise<Buffer> {
  if (!Number.isInteger(size) || size < 32 || size > 4096)
    throw new Error(`uvTexturePng: size must be a whole number in [32, 4096], got ${size}`);
  const { width: W, height: H } = tex;
  if (tex.data.length !== W * H * 4 || tex.source.length !== W * H)
    throw new Error(`uvTexturePng: a ${W} x ${H} texture needs ${W * H * 4} bytes and ${W * H} sources`);
  const albedo = Buffer.alloc(W * H * 3),
    sources = Buffer.alloc(W * H * 3);
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++) {
      const i = (H - 1 - y) * W + x,
        o = (y * W + x) * 3;
      for (let k = 0; k < 3; k++) albedo[o + k] = tex.data[i * 4 + k];
      const c = UV_SOURCE_COLOURS[tex.source[i]];
      if (!c) throw new Error(`uvTexturePng: source[${i}] is ${tex.source[i]}, not a UvSource`);
      for (let k = 0; k < 3; k++) sources[o + k] = Math.round(c[k] * 255);
    }
  const panel = (rgb: Buffer, kernel: "lanczos3" | "nearest") =>
    sharp(rgb, { raw: { width: W, height: H, channels: 3 } })
      .resize(size, size, { kernel })
      .png()
      .toBuffer();
  const font = Math.max(10, Math.round(size / 24));
  const names: [number, string][] = [
    [UvSource.photo, "photo"],
    [UvSource.mirrored, "mirrored"],
    [UvSource.skinFill, "skin fill"],
    [UvSource.eye, "eyes"],
    [UvSource.default, "default"],
  ];
  const hex = (c: [number, number, number]) =>
    `#${c
      .map((x) =>
        Math.round(x * 255)
          .toString(16)
          .padStart(2, "0"),
      )
      .join("")}`;
  const legend = `<svg xmlns="http://www.w3.org/2000/svg" width="${size}" height="${Math.round(font * 1.8)}"><rect width="100%" height="100%" fill="#1e2024"/>${names.map(([s, name], i) => `<text x="${Math.round(font * 0.5 + (i * size) / 5)}" y="${Math.round(font * 1.3)}" font-family="sans-serif" font-size="${font}" fill="${hex(UV_SOURCE_COLOURS[s])}">${name}</text>`).join("")}</svg>`;
  const sourcePng = await sharp(await panel(sources, "nearest"))
    .composite([{ input: Buffer.from(legend), top: 0, left: 0 }])
    .png()
    .toBuffer();
  return contactSheet([await labelledPanel(await panel(albedo, "lanczos3"), size, "albedo"), sourcePng], 2, size);
}
