import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { CpuAvatarRenderer } from "../../../render-core/avatar/avatar-renderer";
import { createHeadModel } from "../../../render-core/head";
import { readAvatarBundleDir } from "../../avatar/bundle-files";
import { DEMO_BUNDLE_DIR } from "../../db/seed";
import { descriptorDistance, faceDescriptor } from "../analyse/analyse";
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
    expect(
      planDataset(
        {
          identity: "seed:7",
          perCategory: 1,
          frames: 1,
          size: 64,
          fps: 30,
          categories: ["hair"],
          inbetweenPairs: 0,
          alphas: [],
          extraCameras: 0,
        },
        head,
      ).identity.seed,
    ).toBe(7);
    const avatar = await readAvatarBundleDir(DEMO_BUNDLE_DIR, { headFaceCount: head.faceCount });
    // Three anchors keep the test short: a hair, a hat and a lips edit.
    avatar.anchors = ["hair", "hat", "lips"].map((c) => avatar.anchors.find((a) => a.category === c)!);
    const portrait = await descriptorOf(7);
    let impostors: Float32Array[] = [];
    const result = await measureIdentity({
      avatar,
      head,
      portraitDescriptor: portrait,
      impostorDescriptors: async () => (impostors = [await descriptorOf(101), await descriptorOf(102)]),
      makeRenderer: (a, h) => new CpuAvatarRenderer(a, h),
      size: 160,
    });
    const f = result.figures;
    console.log(formatIdentity(f));
    expect(f.edits.map((e) => e.category)).toEqual(["hair", "hat", "lips"]);
    expect(f.source).not.toBeNull();
    expect(f.source!).toBeLessThan(SAME_PERSON);
    expect(f.impostors.count).toBe(2);
    // The impostor figures are distances from the avatar's own source render (its PNG holds the same 8-bit
    // pixels the measure saw) to the other people: not from the portrait, and min / median, not max / first.
    const { data, info } = await sharp(result.renders[0]!.png).raw().toBuffer({ resolveWithObject: true });
    const rendered = await faceDescriptor({ width: info.width, height: info.height, rgb: new Uint8Array(data) });
    const others = impostors.map((d) => descriptorDistance(rendered!.descriptor, d)).sort((p, q) => p - q);
    // Same pixels through the same model give the same descriptor; 6 decimals leave room for float summation
    // order only (the two impostors lie 0.007 apart).
    expect(f.impostors.nearest!).toBeCloseTo(others[0]!, 6);
    expect(f.impostors.median!).toBeCloseTo((others[0]! + others[1]!) / 2, 6);
    expect(f.source!).toBeCloseTo(descriptorDistance(portrait, rendered!.descriptor), 6);
    // Every edit of the demo avatar shows a face (measured 0.40-0.43), so worst and median are numbers to check, not null.
    const found = f.edits.filter((e) => e.distance !== null);
    expect(found).toHaveLength(3);
    const sorted = found.map((e) => e.distance!).sort((p, q) => p - q);
    expect(f.worst).toBe(sorted[2]);
    expect(f.median).toBe(sorted[1]);
    expect(f.fractionSame).toBeCloseTo(sorted.filter((d) => d < SAME_PERSON).length / 3, 10);
    expect(result.renders).toHaveLength(4);
    expect(formatIdentity(f)).toMatch(/^identity: source 0\.\d{3}; edits median .*; other people: median 0\.\d{3}/);
    const sheet = await identitySheet(Buffer.from(result.renders[0]!.png), [], result.renders, 14, 96);
    expect(sheet.subarray(1, 4).toString()).toBe("PNG");
  }, 120_000);
});
