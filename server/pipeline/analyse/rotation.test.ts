import { beforeAll, describe, expect, it } from "vitest";
import {
  createHeadModel,
  createHeadParams,
  landmarkPositions,
  poseVertices,
  type HeadModel,
} from "../../../render-core/head";
import { mulberry32 } from "../../../render-core/math/prng";
import { proceduralIdentity } from "../synthesise/identity";
import { renderPortrait } from "../synthesise/portrait";
import { eulerMatrix, fitHeadRotation } from "./rotation";

let head: HeadModel;
let model3d: Float32Array;
beforeAll(() => {
  head = createHeadModel();
  model3d = landmarkPositions(head, poseVertices(head, createHeadParams(head, {})));
});

describe("fitHeadRotation", () => {
  it("recovers yaw, pitch and roll exactly from a weak-perspective projection of the model", () => {
    const rand = mulberry32(3);
    for (let trial = 0; trial < 6; trial++) {
      const [yaw, pitch, roll] = [(rand() - 0.5) * 120, (rand() - 0.5) * 60, (rand() - 0.5) * 60];
      const m = eulerMatrix((yaw * Math.PI) / 180, (pitch * Math.PI) / 180, (roll * Math.PI) / 180);
      const [s, tx, ty] = [2000 + rand() * 2000, 100 + rand() * 300, 100 + rand() * 300];
      const pts = new Float32Array(136);
      for (let k = 0; k < 68; k++) {
        const [x, y, z] = [model3d[k * 3]!, model3d[k * 3 + 1]!, model3d[k * 3 + 2]!];
        pts[k * 2] = s * (m[0]! * x + m[1]! * y + m[2]! * z) + tx;
        pts[k * 2 + 1] = -s * (m[3]! * x + m[4]! * y + m[5]! * z) + ty;
      }
      const fit = fitHeadRotation(pts, model3d);
      // Float32 points: a few thousandths of a degree.
      expect(Math.abs(fit.yawDeg - yaw)).toBeLessThan(0.05);
      expect(Math.abs(fit.pitchDeg - pitch)).toBeLessThan(0.05);
      expect(Math.abs(fit.rollDeg - roll)).toBeLessThan(0.05);
      expect(fit.rmsRelative).toBeLessThan(1e-3);
    }
  });

  it("reads the renderer's yaw, pitch and roll from a portrait's true landmarks, with the right signs", async () => {
    const identity = proceduralIdentity(5, head);
    for (const [yaw, pitch, roll] of [
      [20, 0, 0],
      [-20, 0, 0],
      [0, 15, 0],
      [0, -15, 0],
      [0, 0, 15],
      [0, 0, -15],
    ] as const) {
      const p = await renderPortrait({ head, identity, size: 256, yawDeg: yaw, pitchDeg: pitch, rollDeg: roll });
      const fit = fitHeadRotation(p.landmarks, model3d);
      // The renders are perspective (0.75 m, 30 degree field) and the head turns about the neck:
      // a 20 degree yaw reads about 26 with a weak-perspective fit, a 15 degree roll adds about 5 of yaw.
      const got = [fit.yawDeg, fit.pitchDeg, fit.rollDeg];
      [yaw, pitch, roll].forEach((want, i) => {
        if (want !== 0)
          expect(Math.sign(got[i]!), `axis ${i} of ${[yaw, pitch, roll]}: got ${got.map((v) => v.toFixed(1))}`).toBe(
            Math.sign(want),
          );
        expect(
          Math.abs(got[i]! - want),
          `axis ${i} of ${[yaw, pitch, roll]}: got ${got.map((v) => v.toFixed(1))}`,
        ).toBeLessThan(8);
      });
      // roll > 0 lifts the subject's left eye (landmark 45, image right) above the right one (36).
      if (roll !== 0) expect(Math.sign(p.landmarks[36 * 2 + 1]! - p.landmarks[45 * 2 + 1]!)).toBe(Math.sign(roll));
    }
  });

  it("rejects point arrays of the wrong size", () => {
    expect(() => fitHeadRotation(new Float32Array(10), model3d)).toThrow(
      /fitHeadRotation: need \[68, 2\] points and \[68, 3\] model landmarks, got 10 and 204 numbers/,
    );
  });
});
