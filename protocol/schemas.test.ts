import { describe, expect, it } from "vitest";
import * as Y from "yjs";
import { sharedStateProblem, SHARED_LIMITS } from "./schemas";
import { endsMap, presetsMap } from "./shared-state";

describe("sharedStateProblem: slider ends", () => {
  const withEnds = (value: unknown) => {
    const doc = new Y.Doc();
    (endsMap(doc) as Y.Map<unknown>).set("hair", value);
    return sharedStateProblem(doc);
  };

  it("accepts two anchor indices per category", () => {
    expect(withEnds([0, 5])).toBeNull();
    expect(withEnds([3, 3])).toBeNull();
    expect(withEnds([SHARED_LIMITS.maxAnchorsPerCategory - 1, 0])).toBeNull();
  });

  it("refuses anything but two whole indices in range", () => {
    for (const bad of [[1], [0, 1, 2], [0.5, 1], [-1, 2], [0, SHARED_LIMITS.maxAnchorsPerCategory], "0,1", 3, null])
      expect(withEnds(bad), JSON.stringify(bad)).toMatch(/^ends\.hair/);
  });

  it("keeps a preset's ends, and refuses malformed ones", () => {
    const doc = new Y.Doc();
    const preset = { attributes: { hair: 1 }, ends: { hair: [2, 5] }, savedBy: "a", savedAt: 1 };
    presetsMap(doc).set("long", preset as never);
    expect(sharedStateProblem(doc)).toBeNull();
    presetsMap(doc).set("bad", { ...preset, ends: { hair: [2, "x"] } } as never);
    expect(sharedStateProblem(doc)).toMatch(/^presets\.bad\.ends\.hair/);
  });
});
