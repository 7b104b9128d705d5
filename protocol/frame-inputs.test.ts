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
      pose: { smile: 0.8, turn: 10 },
      playback: null,
    };
    const inputs = frameInputs(avatar, state, 1_000, new ClipCache());
    expect(inputs.playing).toBe(false);
    expect(Array.from(inputs.latents)).toEqual(
      Array.from(sliderLatents(avatar.config, avatar.neutralLatents, avatar.anchors, state.attributes)),
    );
    expect(Array.from(inputs.latents)).not.toEqual(Array.from(avatar.neutralLatents));
    expect(Array.from(inputs.pose.expression)).toEqual(Array.from(poseFromControls(state.pose).expression));
  });

  it("samples a playing clip at the server's time since it started, whatever the manual controls say", () => {
    const state = { attributes: {}, pose: { smile: 1 }, playback: { clip: "talk", startedAt: 10_000 } };
    const inputs = frameInputs(avatar, state, 11_500, new ClipCache());
    expect(inputs.playing).toBe(true);
    const expected = sampleClip(builtinClip("talk"), 1.5, { loop: true });
    expect(Array.from(inputs.pose.expression)).toEqual(Array.from(expected.expression));
    expect(Array.from(inputs.pose.pose)).toEqual(Array.from(expected.pose));
  });

  it("treats an unknown clip name as no clip", () => {
    const inputs = frameInputs(
      avatar,
      { attributes: {}, pose: {}, playback: { clip: "nope", startedAt: 0 } },
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
