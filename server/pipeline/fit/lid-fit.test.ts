import { beforeAll, describe, expect, it } from "vitest";
import { createHeadModel, createHeadParams, poseVertices, type HeadModel } from "../../../render-core/head";
import type { Camera } from "../../../render-core/math/camera";
import { detectFaces } from "../analyse/detect";
import { faceMesh } from "../analyse/mesh";
import { exclusive, getModels } from "../analyse/models";
import { proceduralIdentity } from "../synthesise/identity";
import { projectPoints, renderPortrait } from "../synthesise/portrait";
import { fitHead } from "./fit-head";
import { FACE_API_CONVENTION } from "./landmark-convention";

let head: HeadModel;

/** Each eye's lid opening in pixels: the projected lid loop's area over its corner-to-corner length (mean height). */
function lidOpeningPx(
  h: HeadModel,
  shape: ArrayLike<number>,
  expression: ArrayLike<number>,
  pose: ArrayLike<number>,
  camera: Camera,
): [number, number] {
  const posed = poseVertices(h, createHeadParams(h, { shape, expression, pose }));
  return h.eyeLoops.map((loop) => {
    const px = projectPoints(
      camera,
      Float32Array.from(Array.from(loop).flatMap((v) => [0, 1, 2].map((k) => posed[v * 3 + k]))),
    );
    let area = 0,
      x0 = Infinity,
      x1 = -Infinity;
    const n = loop.length;
    for (let i = 0, j = n - 1; i < n; j = i++) {
      area += px[j * 2] * px[i * 2 + 1] - px[i * 2] * px[j * 2 + 1];
      x0 = Math.min(x0, px[i * 2]);
      x1 = Math.max(x1, px[i * 2]);
    }
    return Math.abs(area) / 2 / Math.max(1e-6, x1 - x0);
  }) as [number, number];
}

// Known lids (eyeWide is left out: Human draws a wide-open eye as a normal one, nothing on the contour to fit).
const CASES: { seed: number; yaw: number; e: Record<string, number> }[] = [
  { seed: 301, yaw: 0, e: {} },
  { seed: 302, yaw: 10, e: { blinkL: 0.5, blinkR: 0.5 } },
  { seed: 303, yaw: -8, e: { squintL: 0.8, squintR: 0.8, smileL: 0.6, smileR: 0.6 } },
  { seed: 304, yaw: 5, e: { blinkL: 0.3, blinkR: 0.3, smileL: 0.8, smileR: 0.8 } },
  { seed: 305, yaw: -12, e: { squintL: 0.5, squintR: 0.5, blinkL: 0.2, blinkR: 0.2 } },
];

describe("lid opening of the dense fit", () => {
  beforeAll(() => {
    head = createHeadModel();
  });
  it("refitting the blinks on Human's eye contours brings the model's lid opening nearer the truth", async () => {
    const models = await getModels();
    const errs = { before: [] as number[], after: [] as number[] };
    for (const c of CASES) {
      const identity = proceduralIdentity(c.seed, head);
      const expression = new Float32Array(head.expressionNames.length);
      for (const [k, v] of Object.entries(c.e)) expression[head.expressionNames.indexOf(k)] = v;
      const p = await renderPortrait({ head, identity, yawDeg: c.yaw, pitchDeg: 3, size: 512, expression });
      const found = await exclusive(async () => {
        const { faces } = await detectFaces(models, p, { minScore: 0.3, pad: "auto" });
        const main = faces.reduce((a, b) => (b.box.width > a.box.width ? b : a));
        const mesh = await faceMesh(models, p, main.box);
        return { landmarks: main.landmarks, mesh: mesh!.mesh };
      });
      const opts = { convention: FACE_API_CONVENTION, mesh: found.mesh };
      const fit = fitHead(head, found.landmarks, p, opts);
      const f0 = fitHead(head, found.landmarks, p, { ...opts, dense: { refineLids: false } });
      const truth = lidOpeningPx(head, identity.shape, expression, p.pose, p.camera);
      const after = lidOpeningPx(head, fit.shape, fit.expression, fit.pose, fit.camera);
      const before = lidOpeningPx(head, f0.shape, f0.expression, f0.pose, f0.camera);
      for (let e = 0; e < 2; e++) {
        errs.before.push(Math.abs(before[e] - truth[e]));
        errs.after.push(Math.abs(after[e] - truth[e]));
      }
      expect(fit.dense!.lidErrorPx[1]).toBeLessThanOrEqual(fit.dense!.lidErrorPx[0]);
      console.log(
        `${JSON.stringify(c.e)}: opening truth ${truth.map((x) => x.toFixed(1))} px, before ${before.map((x) => x.toFixed(1))}, after ${after.map((x) => x.toFixed(1))}`,
      );
    }
    const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
    console.log(
      `lid opening error: before ${mean(errs.before).toFixed(2)} px, after ${mean(errs.after).toFixed(2)} px`,
    );
    // Measured 2.00 px before, 1.58 px after (eyes 15-25 px wide, openings 7-13 px; Human's contour explains about
    // half of the opening's spread, LID_OPENING_MAP).
    expect(mean(errs.after)).toBeLessThan(1.9);
    expect(mean(errs.after) / mean(errs.before)).toBeLessThan(0.9);
  }, 300_000);
});
