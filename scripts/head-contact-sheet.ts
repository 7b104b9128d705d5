/**
 * Contact sheet of the procedural head model (render-core/head):
 * neutral (front, 3/4 with landmarks), 6 expressions, 4 shapes, 3 poses,
 * rendered by a tiny CPU z-buffer rasteriser (smooth Lambert shading,
 * region colours, 2x supersampling). Not the product renderer.
 *
 *   npx tsx scripts/head-contact-sheet.ts [out.png]   (default docs/images/head-contact-sheet.png)
 *
 * Also writes head-regions.png beside it: flat region colours, front and side.
 */
import sharp from "sharp";
import fs from "node:fs";
import { contactSheet, labelledPanel } from "../server/images/png";
import { createHeadModel, type HeadModel } from "../render-core/head/head-model";
import { createHeadParams, landmarkPositions, poseVertices, type HeadParams } from "../render-core/head/lbs.cpu";
import { Region } from "../render-core/head/regions";

const PANEL = 320;
const SS = 2;

const REGION_RGB: Record<number, [number, number, number]> = {
  [Region.skin]: [0.88, 0.71, 0.61],
  [Region.nose]: [0.9, 0.68, 0.58],
  [Region.leftEye]: [0.95, 0.95, 0.93],
  [Region.rightEye]: [0.95, 0.95, 0.93],
  [Region.leftBrow]: [0.36, 0.26, 0.19],
  [Region.rightBrow]: [0.36, 0.26, 0.19],
  [Region.leftEar]: [0.86, 0.66, 0.57],
  [Region.rightEar]: [0.86, 0.66, 0.57],
  [Region.mouthInterior]: [0.42, 0.1, 0.12],
  [Region.upperLip]: [0.76, 0.4, 0.4],
  [Region.lowerLip]: [0.8, 0.45, 0.44],
  [Region.neck]: [0.84, 0.68, 0.58],
};
/** Distinct flat colours for the region map. */
const REGION_FLAT: Record<number, [number, number, number]> = {
  1: [0.9, 0.75, 0.6],
  2: [0.95, 0.5, 0.2],
  3: [0.2, 0.6, 1],
  4: [0.1, 0.3, 0.8],
  5: [0.5, 0.3, 0.1],
  6: [0.35, 0.2, 0.05],
  7: [0.3, 0.8, 0.3],
  8: [0.1, 0.5, 0.1],
  9: [0.3, 0.0, 0.1],
  10: [0.9, 0.2, 0.3],
  11: [0.7, 0.1, 0.5],
  12: [0.7, 0.7, 0.75],
};

interface View {
  yaw: number;
  pitch: number;
}

/** Per-vertex colours ([V, 3] f32): region colour, eyeballs with iris and pupil by their rest direction. */
function vertexColours(model: HeadModel, flat: boolean): Float32Array {
  const V = model.vertexCount;
  const out = new Float32Array(V * 3);
  for (let i = 0; i < V; i++) out.set((flat ? REGION_FLAT : REGION_RGB)[model.vertexRegion[i]] ?? [1, 0, 1], i * 3);
  if (flat) return out;
  for (const eb of model.eyeballs) {
    const c = [0, 1, 2].map(
      (a) => (model.template[eb.start * 3 + a] + model.template[(eb.start + eb.count - 1) * 3 + a]) / 2,
    );
    for (let i = eb.start; i < eb.start + eb.count; i++) {
      const d = [0, 1, 2].map((a) => model.template[i * 3 + a] - c[a]);
      const cos = d[2] / Math.hypot(d[0], d[1], d[2]);
      if (cos > 0.93) out.set([0.05, 0.05, 0.06], i * 3);
      else if (cos > 0.8) out.set([0.25, 0.42, 0.55], i * 3);
    }
  }
  return out;
}

/** Renders [n, n, 3] u8. positions [V, 3] f32, colours [V, 3] f32. Returns also the depth buffer and projector. */
function rasterize(
  model: HeadModel,
  positions: Float32Array,
  colours: Float32Array,
  view: View,
  n: number,
  shade: boolean,
) {
  const dist = 1.2,
    span = 0.3,
    f = (n / span) * dist;
  const target = [0, -0.03, 0];
  const cy = Math.cos(view.yaw),
    sy = Math.sin(view.yaw),
    cp = Math.cos(view.pitch),
    sp = Math.sin(view.pitch);
  const V = model.vertexCount;
  const cam = new Float32Array(V * 3),
    scr = new Float32Array(V * 3);
  const toCam = (p: ArrayLike<number>, o: Float32Array, k: number) => {
    const x = p[0] - target[0],
      y = p[1] - target[1],
      z = p[2] - target[2];
    // The camera orbits the head: yaw about y then pitch about x, looking along -z.
    const x1 = cy * x - sy * z,
      z1 = sy * x + cy * z;
    o[k] = x1;
    o[k + 1] = cp * y + sp * z1;
    o[k + 2] = -sp * y + cp * z1;
  };
  const project = (c: ArrayLike<number>, o: Float32Array, k: number) => {
    const depth = dist - c[2];
    o[k] = n / 2 + (f * c[0]) / depth;
    o[k + 1] = n / 2 - (f * c[1]) / depth;
    o[k + 2] = depth;
  };
  for (let i = 0; i < V; i++) {
    toCam(positions.subarray(i * 3, i * 3 + 3), cam, i * 3);
    project(cam.subarray(i * 3, i * 3 + 3), scr, i * 3);
  }
  // Area-weighted vertex normals in camera space.
  const nrm = new Float32Array(V * 3);
  const F = model.faceCount,
    T = model.faces;
  for (let t = 0; t < F; t++) {
    const a = T[t * 3] * 3,
      b = T[t * 3 + 1] * 3,
      c = T[t * 3 + 2] * 3;
    const u = [cam[b] - cam[a], cam[b + 1] - cam[a + 1], cam[b + 2] - cam[a + 2]],
      v = [cam[c] - cam[a], cam[c + 1] - cam[a + 1], cam[c + 2] - cam[a + 2]];
    const cr = [u[1] * v[2] - u[2] * v[1], u[2] * v[0] - u[0] * v[2], u[0] * v[1] - u[1] * v[0]];
    for (const idx of [a, b, c]) for (let k = 0; k < 3; k++) nrm[idx + k] += cr[k];
  }
  const light = [-0.4, 0.5, 0.77];
  const zbuf = new Float32Array(n * n).fill(Infinity);
  const img = new Uint8Array(n * n * 3);
  for (let i = 0; i < n * n; i++) img.set([58, 62, 70], i * 3);
  for (let t = 0; t < F; t++) {
    const ia = T[t * 3],
      ib = T[t * 3 + 1],
      ic = T[t * 3 + 2];
    const [ax, ay] = [scr[ia * 3], scr[ia * 3 + 1]],
      [bx, by] = [scr[ib * 3], scr[ib * 3 + 1]],
      [cx, cyy] = [scr[ic * 3], scr[ic * 3 + 1]];
    const area = (bx - ax) * (cyy - ay) - (cx - ax) * (by - ay);
    if (area >= 0) continue; // image y points down: front faces have negative area
    const x0 = Math.max(0, Math.floor(Math.min(ax, bx, cx))),
      x1 = Math.min(n - 1, Math.ceil(Math.max(ax, bx, cx)));
    const y0 = Math.max(0, Math.floor(Math.min(ay, by, cyy))),
      y1 = Math.min(n - 1, Math.ceil(Math.max(ay, by, cyy)));
    for (let py = y0; py <= y1; py++) {
      for (let px = x0; px <= x1; px++) {
        const qx = px + 0.5,
          qy = py + 0.5;
        const w0 = ((bx - qx) * (cyy - qy) - (cx - qx) * (by - qy)) / area;
        const w1 = ((cx - qx) * (ay - qy) - (ax - qx) * (cyy - qy)) / area;
        const w2 = 1 - w0 - w1;
        if (w0 < 0 || w1 < 0 || w2 < 0) continue;
        const z = w0 * scr[ia * 3 + 2] + w1 * scr[ib * 3 + 2] + w2 * scr[ic * 3 + 2];
        const pi = py * n + px;
        if (z >= zbuf[pi]) continue;
        zbuf[pi] = z;
        let lum = 1;
        if (shade) {
          const nn = [0, 1, 2].map((k) => w0 * nrm[ia * 3 + k] + w1 * nrm[ib * 3 + k] + w2 * nrm[ic * 3 + k]);
          const l = Math.hypot(nn[0], nn[1], nn[2]) || 1;
          lum = 0.28 + 0.8 * Math.max(0, (nn[0] * light[0] + nn[1] * light[1] + nn[2] * light[2]) / l);
        }
        for (let k = 0; k < 3; k++) {
          const col = w0 * colours[ia * 3 + k] + w1 * colours[ib * 3 + k] + w2 * colours[ic * 3 + k];
          img[pi * 3 + k] = Math.max(0, Math.min(255, Math.round(255 * col * lum)));
        }
      }
    }
  }
  /** Draws points ([N, 3] f32 world) that are not hidden, as small dots. */
  const dots = (pts: Float32Array, rgb: [number, number, number], r: number) => {
    const c = new Float32Array(3),
      s = new Float32Array(3);
    for (let i = 0; i < pts.length / 3; i++) {
      toCam(pts.subarray(i * 3, i * 3 + 3), c, 0);
      project(c, s, 0);
      const px = Math.floor(s[0]),
        py = Math.floor(s[1]);
      if (px < 0 || py < 0 || px >= n || py >= n || s[2] > zbuf[py * n + px] + 0.004) continue;
      for (let dy = -r; dy <= r; dy++)
        for (let dx = -r; dx <= r; dx++) {
          const x = px + dx,
            y = py + dy;
          if (x >= 0 && y >= 0 && x < n && y < n && dx * dx + dy * dy <= r * r) img.set(rgb, (y * n + x) * 3);
        }
    }
  };
  return { img, dots };
}

async function panel(
  model: HeadModel,
  params: HeadParams,
  view: View,
  label: string,
  opts: { landmarks?: boolean; flat?: boolean } = {},
): Promise<Buffer> {
  const n = PANEL * SS;
  const verts = poseVertices(model, params);
  const r = rasterize(model, verts, vertexColours(model, opts.flat === true), view, n, opts.flat !== true);
  if (opts.landmarks) r.dots(landmarkPositions(model, verts), [40, 230, 90], SS * 2);
  const big = await sharp(Buffer.from(r.img), { raw: { width: n, height: n, channels: 3 } })
    .png()
    .toBuffer();
  return labelledPanel(big, PANEL, label);
}

async function sheet(panels: Buffer[], cols: number, out: string): Promise<void> {
  fs.writeFileSync(out, await contactSheet(panels, cols, PANEL));
}

const out = process.argv[2] ?? "docs/images/head-contact-sheet.png";
const t0 = performance.now();
const model = createHeadModel();
console.log(
  `model: ${model.vertexCount} vertices, ${model.faceCount} faces in ${(performance.now() - t0).toFixed(0)} ms`,
);
const P = (init: {
  shape?: Record<string, number>;
  expression?: Record<string, number>;
  pose?: Record<number, number>;
}): HeadParams => {
  const p = createHeadParams(model);
  for (const [k, v] of Object.entries(init.shape ?? {})) p.shape[model.shapeNames.indexOf(k)] = v;
  for (const [k, v] of Object.entries(init.expression ?? {})) p.expression[model.expressionNames.indexOf(k)] = v;
  for (const [k, v] of Object.entries(init.pose ?? {})) p.pose[Number(k)] = v;
  return p;
};
const front: View = { yaw: 0, pitch: 0 };
const threeQ: View = { yaw: 0.6, pitch: 0.05 };
const specs: [HeadParams, View, string, { landmarks?: boolean }?][] = [
  [P({}), front, "neutral", { landmarks: true }],
  [P({}), threeQ, "neutral 3/4"],
  [P({ expression: { smileL: 1, smileR: 1 } }), front, "smile L+R"],
  [P({ pose: { 6: 0.3 } }), threeQ, "jaw open 0.3 rad"],
  [P({ expression: { blinkL: 1, blinkR: 1 } }), front, "blink L+R"],
  [
    P({
      expression: {
        browInnerRaiseL: 1,
        browInnerRaiseR: 1,
        browOuterRaiseL: 1,
        browOuterRaiseR: 1,
        eyeWideL: 1,
        eyeWideR: 1,
      },
    }),
    front,
    "brows up, eyes wide",
  ],
  [P({ expression: { lipPucker: 1, cheekPuff: 0.5 } }), threeQ, "pucker + cheek puff"],
  [
    P({ expression: { frown: 1, browFurrow: 1, squintL: 1, squintR: 1, noseWrinkle: 1 } }),
    front,
    "frown, furrow, squint",
  ],
  [P({ shape: { headWidth: 2, jawWidth: 2, noseWidth: 2, cheekFullness: 2, neckWidth: 2 } }), front, "shape: broad"],
  [P({ shape: { headWidth: -2, faceLength: 2, chinHeight: 2, noseLength: 2, jawWidth: -1.5 } }), front, "shape: long"],
  [
    P({ shape: { eyeSize: 2, eyeSpacing: 1.5, lipFullness: 2, noseTipUp: 2, browRidge: -1 } }),
    threeQ,
    "shape: eyes, lips, nose",
  ],
  [
    P({ shape: { chinProtrusion: 2, noseBridge: 2, browRidge: 2, foreheadSlope: -2, earSize: 2, earProtrusion: 2 } }),
    { yaw: 1.2, pitch: 0 },
    "shape: profile",
  ],
  [P({ pose: { 4: 0.5 } }), front, "neck yaw 0.5 rad"],
  [P({ pose: { 3: 0.35, 5: 0.2 } }), front, "neck pitch 0.35, roll 0.2"],
  [P({ pose: { 10: 0.35, 13: 0.35, 9: -0.15, 12: -0.15 } }), front, "eyes gaze left-up"],
];
const panels: Buffer[] = [];
for (const [p, v, label, o] of specs) panels.push(await panel(model, p, v, label, o));
await sheet(panels, 5, out);
const regionsOut = out.replace(/head-contact-sheet\.png$/, "head-regions.png");
if (regionsOut !== out) {
  const neutral = P({});
  await sheet(
    [
      await panel(model, neutral, front, "regions", { flat: true }),
      await panel(model, neutral, { yaw: 1.3, pitch: 0 }, "regions side", { flat: true }),
      await panel(model, neutral, { yaw: 0, pitch: 0 }, "landmarks", { landmarks: true }),
    ],
    3,
    regionsOut,
  );
}
console.log(`wrote ${out} in ${(performance.now() - t0).toFixed(0)} ms`);
