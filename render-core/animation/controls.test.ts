import { describe, expect, it } from "vitest";
import { CLIP_CHANNELS } from "./clip";
import { poseFromControls } from "./controls";

describe("manual pose controls", () => {
  it("map the editor's knobs to expressions and joint angles, clamped to their ranges", () => {
    const p = poseFromControls({ smile: 0.5, blink: 2, turn: 30, nod: -10, jawOpen: 1 });
    const e = (name: string) => p.expression[CLIP_CHANNELS.indexOf(name)];
    expect([e("smileL"), e("smileR"), e("blinkL"), e("blinkR")]).toEqual([0.5, 0.5, 1, 1]);
    expect(p.pose[1]! + p.pose[4]!).toBeCloseTo((30 * Math.PI) / 180, 6); // whole-head + neck yaw
    expect(p.pose[0]).toBeCloseTo((-10 * Math.PI) / 180, 6);
    expect(p.pose[6]).toBeCloseTo(0.35, 6);
    expect(
      poseFromControls({ turn: 500, smile: Number.NaN }).pose[1]! + poseFromControls({ turn: 500 }).pose[4]!,
    ).toBeCloseTo((40 * Math.PI) / 180, 6);
    expect(Array.from(poseFromControls({}).pose).every((v) => v === 0)).toBe(true);
  });
});
