import { describe, expect, it } from "vitest";
import { CpuAvatarRenderer } from "../../../render-core/avatar/avatar-renderer";
import { createHeadModel } from "../../../render-core/head";
import { readAvatarBundleDir } from "../../avatar/bundle-files";
import { DEMO_BUNDLE_DIR } from "../../db/seed";
import { faceDescriptor } from "../analyse/analyse";
import { planDataset, sourceAttributes } from "../synthesise/dataset";
import { proceduralIdentity } from "../synthesise/identity";
import { renderPortrait } from "../synthesise/portrait";
import { formatIdentity, identitySheet, measureIdentity, SAME_PERSON } from "./identity";

const head = createHeadModel();

async function descriptorOf(seed: number): Promise<Float32Array> {
  const identity = proceduralIdentity(seed, head);
  const p = await renderPortrait({ head, identity, attributes: sourceAttributes(identity), size: 384 });
  const found = await faceDescriptor({ width: p.width, height: p.height, rgb: p.rgb });
  expect(found, `a face in the portrait of seed ${seed}`).not.toBeNull();
  return found!.descriptor;
}

describe("identity figures", () => {
  it("find the demo avatar's person in its renders, and report other people's distances beside", async () => {
    // The shipped demo avatar was trained on seed 7's synthetic person (scripts/make-demo-avatar.sh).
    expect(planDataset({ identity: "seed:7", perCategory: 1, frames: 1, size: 64, fps: 30, categories: ["hair"], inbetweenPairs: 0, alphas: [], extraCameras: 0 }, head).identity.seed).toBe(7);
    const avatar = await readAvatarBundleDir(DEMO_BUNDLE_DIR, { headFaceCount: head.faceCount });
    // Three anchors keep the test short: a hair, a hat and a lips edit.
    avatar.anchors = ["hair", "hat", "lips"].map((c) => avatar.anchors.find((a) => a.category === c)!);
    const result = await measureIdentity({
      avatar,
      head,
      portraitDescriptor: await descriptorOf(7),
      impostorDescriptors: async () => [await descriptorOf(101), await descriptorOf(102)],
      makeRenderer: (a, h) => new CpuAvatarRenderer(a, h),
      size: 160,
    });
    const f = result.figures;
    expect(f.edits.map((e) => e.category)).toEqual(["hair", "hat", "lips"]);
    expect(f.source).not.toBeNull();
    expect(f.source!).toBeLessThan(SAME_PERSON);
    expect(f.impostors.count).toBe(2);
    expect(f.impostors.nearest!).toBeLessThanOrEqual(f.impostors.median!);
    const found = f.edits.filter((e) => e.distance !== null);
    expect(f.fractionSame).toBeCloseTo(found.filter((e) => e.distance! < SAME_PERSON).length / 3, 10);
    if (found.length) expect(f.worst).toBe(Math.max(...found.map((e) => e.distance!)));
    expect(result.renders).toHaveLength(4);
    expect(formatIdentity(f)).toMatch(/^identity: source 0\.\d{3}; edits median .*; other people: median 0\.\d{3}/);
    const sheet = await identitySheet(Buffer.from(result.renders[0]!.png), [], result.renders, 14, 96);
    expect(sheet.subarray(1, 4).toString()).toBe("PNG");
  }, 120_000);
});
