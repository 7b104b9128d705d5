import { describe, expect, it } from "vitest";
import { clipFromTake } from "./take";
import { EXPRESSION_CHANNELS, POSE_CHANNELS } from "./clip";

const E = EXPRESSION_CHANNELS.length,
  P = POSE_CHANNELS.length;
const sample = (t: number, v: number) => ({
  t,
  expression: new Float32Array(E).fill(v),
  pose: new Float32Array(P).fill(-v),
});

describe("clipFromTake", () => {
  it("resamples uneven camera samples linearly at the clip's rate", () => {
    // 0 at 0 ms, 1 at 100 ms, 1 at 130 ms, 0 at 200 ms.
    const clip = clipFromTake("take", [sample(1000, 0), sample(1100, 1), sample(1130, 1), sample(1200, 0)], 50);
    expect(clip.frames).toBe(11);
    const at = (f: number) => clip.expression[f * E]!;
    expect(at(0)).toBe(0);
    expect(at(2)).toBeCloseTo(0.4, 6); // 40 ms
    expect(at(5)).toBeCloseTo(1, 6); // 100 ms
    expect(at(8)).toBeCloseTo((200 - 160) / 70, 6); // 160 ms, between 130 and 200
    expect(at(10)).toBe(0);
    expect(clip.pose[2 * P]).toBeCloseTo(-0.4, 6);
  });

  it("makes a one-frame clip of one sample, and refuses an empty take or a wrong sample", () => {
    expect(clipFromTake("one", [sample(5, 0.3)]).frames).toBe(1);
    expect(() => clipFromTake("none", [])).toThrow("clipFromTake: the take holds no samples");
    expect(() => clipFromTake("bad", [{ t: 0, expression: [1], pose: [] }])).toThrow(/must hold 24 expression/);
  });
});
