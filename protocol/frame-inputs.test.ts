import { describe, expect, it } from "vitest";
import { createRandomAvatar } from "../render-core/avatar/avatar";
import { COMPACT } from "../render-core/avatar/config";
import { createHeadModel } from "../render-core/head";
import { sliderLatents } from "../render-core/avatar/latent";
import { builtinClip, poseFromControls, sampleClip } from "../render-core/animation";
import { ClipCache, frameInputs, viewCamera } from "./frame-inputs";
import { parseRefusal } from "./yjs";
import { VIEW } from "./shared-state";

describe("frameInputs", () => {
  const avatar = createRandomAvatar(COMPACT, createHeadModel(), { count: 50, seed: 3 });

  it("moves the latents with the sliders and poses the face with the manual controls when no clip plays", () => {
    const state = {
      attributes: { [avatar.config.categories[0]!]: 0.5 },
      ends: {},
      pose: { smile: 0.8, turn: 10 },
      playback: null,
      drive: null,
    };
    const inputs = frameInputs(avatar, state, 1_000, new ClipCache());
    expect(inputs.playing).toBe(false);
    expect(Array.from(inputs.latents)).toEqual(
      Array.from(sliderLatents(avatar.config, avatar.neutralLatents, avatar.anchors, state.attributes)),
    );
    expect(Array.from(inputs.latents)).not.toEqual(Array.from(avatar.neutralLatents));
    expect(Array.from(inputs.pose.expression)).toEqual(Array.from(poseFromControls(state.pose).expression));
  });

  it("reaches every anchor of every category through the slider ends", () => {
    // Four anchors per category: the random avatar's two and two more.
    const anchors = avatar.config.categories.flatMap((category, c) => [
      ...avatar.anchors.filter((a) => a.category === category),
      ...[2, 3].map((k) => ({
        category,
        label: `extra ${k}`,
        latent: new Float32Array(avatar.config.latentDim).map((_, i) => c + k + i / 100),
      })),
    ]);
    const rich = { ...avatar, anchors };
    const L = avatar.config.latentDim;
    avatar.config.categories.forEach((category, c) => {
      const list = anchors.filter((a) => a.category === category);
      for (let k = 0; k < list.length; k++)
        for (const [side, s] of [
          [0, -1],
          [1, 1],
        ] as const) {
          const ends: Record<string, [number, number]> = { [category]: side === 0 ? [k, 0] : [0, k] };
          const inputs = frameInputs(
            rich,
            { attributes: { [category]: s }, ends, pose: {}, playback: null, drive: null },
            0,
            new ClipCache(),
          );
          expect(Array.from(inputs.latents.subarray(c * L, (c + 1) * L))).toEqual(Array.from(list[k]!.latent));
          // The other categories stay neutral.
          expect(inputs.latents[((c + 1) % avatar.config.categories.length) * L]).toBe(
            avatar.neutralLatents[((c + 1) % avatar.config.categories.length) * L],
          );
        }
    });
    // Without ends, and with an index the category does not have, the slider goes to its first two anchors.
    const category = avatar.config.categories[1]!;
    const second = anchors.filter((a) => a.category === category)[1]!.latent;
    for (const ends of [{}, { [category]: [9, 7] as [number, number] }]) {
      const inputs = frameInputs(
        rich,
        { attributes: { [category]: 1 }, ends, pose: {}, playback: null, drive: null },
        0,
        new ClipCache(),
      );
      expect(Array.from(inputs.latents.subarray(L, 2 * L))).toEqual(Array.from(second));
    }
    // Half way to the last anchor is half way from the neutral latent.
    const last = anchors.filter((a) => a.category === category)[3]!.latent;
    const half = frameInputs(
      rich,
      { attributes: { [category]: 0.5 }, ends: { [category]: [0, 3] }, pose: {}, playback: null, drive: null },
      0,
      new ClipCache(),
    );
    for (let k = 0; k < L; k++)
      expect(half.latents[L + k]).toBeCloseTo((avatar.neutralLatents[L + k]! + last[k]!) / 2, 5);
  });

  it("samples a playing clip at the server's time since it started, whatever the manual controls say", () => {
    const state = {
      attributes: {},
      ends: {},
      pose: { smile: 1 },
      playback: { clip: "talk", startedAt: 10_000 },
      drive: null,
    };
    const inputs = frameInputs(avatar, state, 11_500, new ClipCache());
    expect(inputs.playing).toBe(true);
    const expected = sampleClip(builtinClip("talk"), 1.5, { loop: true });
    expect(Array.from(inputs.pose.expression)).toEqual(Array.from(expected.expression));
    expect(Array.from(inputs.pose.pose)).toEqual(Array.from(expected.pose));
  });

  it("shows a driven face before a playing clip and the manual controls", () => {
    const expression = Array.from({ length: 24 }, (_, i) => (i % 5) / 10);
    const pose = Array.from({ length: 15 }, (_, i) => (i - 7) / 100);
    const inputs = frameInputs(
      avatar,
      {
        attributes: {},
        ends: {},
        pose: { smile: 1 },
        playback: { clip: "talk", startedAt: 0 },
        drive: { by: "Ada", client: 7, expression, pose },
      },
      1_000,
      new ClipCache(),
    );
    expect(inputs.playing).toBe(false);
    expect(Array.from(inputs.pose.expression)).toEqual(Array.from(Float32Array.from(expression)));
    expect(Array.from(inputs.pose.pose)).toEqual(Array.from(Float32Array.from(pose)));
  });

  it("treats an unknown clip name as no clip", () => {
    const inputs = frameInputs(
      avatar,
      { attributes: {}, ends: {}, pose: {}, playback: { clip: "nope", startedAt: 0 }, drive: null },
      5,
      new ClipCache(),
    );
    expect(inputs.playing).toBe(false);
  });

  it("frames every viewer's camera on the same target", () => {
    const a = viewCamera({ yawDeg: 0, pitchDeg: 0, distance: VIEW.camera.distance }, 64, 48);
    expect([a.width, a.height]).toEqual([64, 48]);
    // Looking straight at the target: it projects to the image centre.
    const m = a.worldToCamera;
    const [x, y, z] = VIEW.target;
    const cx = m[0]! * x + m[1]! * y + m[2]! * z + m[3]!;
    const cy = m[4]! * x + m[5]! * y + m[6]! * z + m[7]!;
    const cz = m[8]! * x + m[9]! * y + m[10]! * z + m[11]!;
    expect((a.fx * cx) / cz + a.cx).toBeCloseTo(32, 4);
    expect((a.fy * cy) / cz + a.cy).toBeCloseTo(24, 4);
    expect(cz).toBeCloseTo(VIEW.camera.distance, 4);
  });
});

describe("parseRefusal", () => {
  it("splits a known code from its sentence and leaves unknown ones whole", () => {
    expect(parseRefusal("invalid-state: attributes.hair: Too big")).toEqual({
      code: "invalid-state",
      message: "attributes.hair: Too big",
    });
    expect(parseRefusal("revoked: This share link was revoked.")).toEqual({
      code: "revoked",
      message: "This share link was revoked.",
    });
    expect(parseRefusal("something: else")).toEqual({ code: null, message: "something: else" });
  });
});
