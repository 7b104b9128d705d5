import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { createHeadModel, type HeadModel } from "../../../render-core/head";
import sharp from "sharp";
import { Region } from "../../../render-core/head";
import { generateDataset, parseIdentity, planDataset, type SynthOptions } from "./dataset";
import { TrainingData } from "../train/training-data";
import { shAmbient } from "../../../render-core/light/sh";
import { categoryByName } from "./attributes";
import { proceduralIdentity } from "./identity";
import { main } from "../../cli/synth";

let head: HeadModel;
beforeAll(() => {
  head = createHeadModel();
});

const options: SynthOptions = {
  identity: "seed:3",
  perCategory: 2,
  frames: 3,
  size: 48,
  fps: 30,
  categories: ["hair", "eyewear"],
  inbetweenPairs: 1,
  alphas: [0, 0.5, 1],
  extraCameras: 1,
};
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), "synth-"));
const listFiles = (dir: string): string[] =>
  fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.join(e.parentPath, e.name));

describe("synthetic dataset", () => {
  it("writes every video's frames, masks, parsing maps and parameters, exact in-betweens and a contact sheet; a rerun continues", async () => {
    const out = tmp();
    const first = await generateDataset(options, { out, gpu: null, head });
    const m = first.manifest;
    expect(m.videos.map((v) => v.category)).toEqual(["source", "hair", "hair", "eyewear", "eyewear"]);
    expect(m.videos[1]!.label).toBe("bald");
    expect(m.cameras.map((c) => c.name)).toEqual(["main", "held-out-1"]);
    expect(first.rendered).toBe(5 * 3 + 2 * 3 * 3); // video frames + in-between frames
    const files = listFiles(out);
    expect(files.filter((f) => f.endsWith(".png") && f.includes(`${path.sep}videos${path.sep}`))).toHaveLength(
      5 * 3 * 3 * 2,
    );
    expect(files.some((f) => f.includes(".tmp-"))).toBe(false);
    expect(fs.existsSync(first.contactSheet)).toBe(true);

    // Every video shares the motion; only its attribute differs.
    const params = m.videos.map((v) =>
      JSON.parse(fs.readFileSync(path.join(out, "videos", v.id, "params.json"), "utf8")),
    );
    for (const p of params) expect(p.frames).toEqual(params[0].frames);
    expect(params[3].attributes.hair).toEqual(params[0].attributes.hair);

    // In-betweens at alpha 0 and 1 are the two end videos, byte for byte.
    const pair = m.inbetween[0]!;
    for (const [alpha, video] of [
      ["0.00", pair.a],
      ["1.00", pair.b],
    ] as const) {
      for (let f = 0; f < 3; f++) {
        const name = `${String(f).padStart(4, "0")}.png`;
        expect(
          fs
            .readFileSync(path.join(out, pair.dir, alpha, name))
            .equals(fs.readFileSync(path.join(out, "videos", video, "rgb", name))),
        ).toBe(true);
      }
    }
    const mid = fs.readFileSync(path.join(out, pair.dir, "0.50", "0001.png"));
    expect(mid.equals(fs.readFileSync(path.join(out, "videos", pair.a, "rgb", "0001.png")))).toBe(false);

    // A killed run left one frame incomplete: the rerun renders that frame only.
    fs.rmSync(path.join(out, "videos", m.videos[2]!.id, "mask", "0001.png"));
    const again = await generateDataset(options, { out, gpu: null, head });
    expect(again.rendered).toBe(1);
    expect(again.skipped).toBe(first.rendered - 1);
  }, 120_000);

  it("lets view cameras take turns seeing the frames; they are trained on, the extra camera stays held out", async () => {
    const small = { ...options, categories: ["hat"], perCategory: 1, inbetweenPairs: 0, frames: 4, size: 32 };
    const one = tmp(),
      three = tmp();
    await generateDataset({ ...small, viewCameras: 1 }, { out: one, gpu: null, head });
    const run = await generateDataset({ ...small, viewCameras: 3 }, { out: three, gpu: null, head });
    const m = run.manifest;
    expect(m.cameras.map((c) => c.name)).toEqual(["main", "view-1", "view-2", "held-out-1"]);
    // The cameras take turns, shifted by one each round so that the held-out frames (every 5th) visit every camera.
    expect(m.frameCameras).toEqual(["main", "view-1", "view-2", "view-1"]);
    const yaw = (name: string) => {
      const w = m.cameras.find((c) => c.name === name)!.camera.worldToCamera;
      return Math.round((Math.atan2(w[2]!, w[0]!) * 180) / Math.PI);
    };
    expect([yaw("view-1"), yaw("view-2")].map(Math.abs)).toEqual([20, 20]);
    expect(Math.sign(yaw("view-1"))).toBe(-Math.sign(yaw("view-2")));
    const frame = (dir: string, f: number) =>
      fs.readFileSync(path.join(dir, "videos", m.videos[0]!.id, "rgb", `000${f}.png`));
    expect(frame(three, 0).equals(frame(one, 0))).toBe(true); // main camera: the same picture
    expect(frame(three, 1).equals(frame(one, 1))).toBe(false); // view-1: another side of the person
    expect(fs.existsSync(path.join(three, "videos", m.videos[0]!.id, "views", "view-1"))).toBe(false);
    expect(fs.existsSync(path.join(three, "videos", m.videos[0]!.id, "views", "held-out-1", "rgb", "0003.png"))).toBe(
      true,
    );
    const data = TrainingData.open(three);
    const same = (a: ArrayLike<number>, b: ArrayLike<number>) =>
      expect(Array.from(a, (x) => x + 0)).toEqual(Array.from(b, (x) => x + 0)); // -0 == 0
    expect(data.split.heldOutCameras).toEqual(["held-out-1"]);
    same(data.viewCamera(1).worldToCamera, m.cameras[1]!.camera.worldToCamera);
    same(data.viewCamera(1, "held-out-1").worldToCamera, m.cameras[3]!.camera.worldToCamera);
    expect(() => planDataset({ ...small, viewCameras: 6 }, head)).toThrow(
      /viewCameras must be a whole number from 1 to 5/,
    );
  }, 120_000);

  it("refuses a folder that holds another dataset, or one it cannot write", async () => {
    const out = tmp();
    await generateDataset(
      { ...options, categories: ["hat"], inbetweenPairs: 0, extraCameras: 0, frames: 1 },
      { out, gpu: null, head },
    );
    await expect(
      generateDataset(
        { ...options, categories: ["hat"], inbetweenPairs: 0, extraCameras: 0, frames: 2 },
        { out, gpu: null, head },
      ),
    ).rejects.toThrow(/holds a different dataset/);
    const file = path.join(tmp(), "not-a-folder");
    fs.writeFileSync(file, "x");
    await expect(generateDataset(options, { out: path.join(file, "sub"), gpu: null, head })).rejects.toThrow(
      /cannot write to .*not-a-folder/,
    );
  }, 60_000);

  it("renders a portrait identity: its own colours and its own attributes in the source video", async () => {
    const dir = tmp();
    // A green person with auburn hair: nothing a seed would draw.
    const albedo = Array.from({ length: head.vertexCount * 3 }, (_, i) => [0.2, 0.7, 0.25][i % 3]!);
    const hair = {
      ...categoryByName("hair").none,
      coverage: 1,
      length: 0.6,
      volume: 0.5,
      colourR: 0.42,
      colourG: 0.17,
      colourB: 0.08,
    };
    const identity = { ...proceduralIdentity(1, head), kind: "portrait", albedo, source: { hair } };
    const file = path.join(dir, "identity.json");
    fs.writeFileSync(file, JSON.stringify(identity));
    const out = path.join(dir, "data");
    const run = await generateDataset(
      {
        ...options,
        identity: `portrait:${file}`,
        categories: ["hat"],
        perCategory: 1,
        frames: 1,
        size: 64,
        inbetweenPairs: 0,
        extraCameras: 0,
      },
      { out, gpu: null, head },
    );
    expect(run.manifest.identity.kind).toBe("portrait");
    expect(run.manifest.videos[0]!.attributes.hair).toEqual(hair);
    expect(run.manifest.videos[1]!.attributes.hair).toEqual(hair);
    const frameFile = (what: string) => path.join(out, "videos", run.manifest.videos[0]!.id, what, "0000.png");
    const rgb = await sharp(frameFile("rgb")).removeAlpha().raw().toBuffer();
    const parse = await sharp(frameFile("parse")).extractChannel(0).raw().toBuffer();
    const skin = [0, 0, 0];
    let n = 0,
      hairPixels = 0;
    for (let i = 0; i < parse.length; i++) {
      if (parse[i] === Region.skin) {
        for (let k = 0; k < 3; k++) skin[k]! += rgb[i * 3 + k]!;
        n++;
      }
      if (parse[i] === 13) hairPixels++;
    }
    expect(n).toBeGreaterThan(100);
    expect(skin[1]! / n).toBeGreaterThan(1.5 * (skin[0]! / n)); // green skin
    expect(hairPixels).toBeGreaterThan(50);
  }, 60_000);

  it("renders a portrait identity under the photo's light (identity.light), attributes included", async () => {
    const dir = tmp();
    const skinAndHair = async (shade: number) => {
      const identity = {
        ...proceduralIdentity(2, head),
        kind: "portrait",
        source: { hair: { ...categoryByName("hair").none, coverage: 1, length: 0.4, volume: 0.4 } },
        light: { sh: Array.from(shAmbient([shade, shade, shade])), direction: [0, 0, 1] },
      };
      const file = path.join(dir, `identity-${shade}.json`);
      fs.writeFileSync(file, JSON.stringify(identity));
      const out = path.join(dir, `data-${shade}`);
      const small = { ...options, categories: ["hat"], perCategory: 1, frames: 1, size: 48, inbetweenPairs: 0 };
      const run = await generateDataset(
        { ...small, identity: `portrait:${file}`, extraCameras: 0 },
        { out, gpu: null, head },
      );
      const frame = (what: string) => path.join(out, "videos", run.manifest.videos[0]!.id, what, "0000.png");
      const rgb = await sharp(frame("rgb")).removeAlpha().raw().toBuffer();
      const parse = await sharp(frame("parse")).extractChannel(0).raw().toBuffer();
      const mean = (cls: number) => {
        let sum = 0,
          n = 0;
        for (let i = 0; i < parse.length; i++) {
          if (parse[i] !== cls) continue;
          sum += rgb[i * 3 + 1]!;
          n++;
        }
        return sum / n;
      };
      return { skin: mean(Region.skin), hair: mean(13) };
    };
    const dim = await skinAndHair(0.35),
      bright = await skinAndHair(0.7);
    // Twice the light, about twice the diffuse colour (a little specular and 8-bit rounding on top), hair too.
    expect(bright.skin / dim.skin).toBeGreaterThan(1.7);
    expect(bright.skin / dim.skin).toBeLessThan(2.05);
    expect(bright.hair / dim.hair).toBeGreaterThan(1.6);
  }, 60_000);

  it("refuses a portrait identity that does not fit the head model", () => {
    const dir = tmp();
    const write = (x: unknown) => {
      const file = path.join(dir, `${Math.random()}.json`);
      fs.writeFileSync(file, JSON.stringify(x));
      return `portrait:${file}`;
    };
    const good = { ...proceduralIdentity(1, head), kind: "portrait" };
    expect(() => parseIdentity(`portrait:${path.join(dir, "missing.json")}`, head)).toThrow(
      /cannot read the identity .*missing.json \(ENOENT\)/,
    );
    expect(() => parseIdentity(write({ ...good, shape: [1, 2] }), head)).toThrow(
      /has 2 shape coefficients, the head model 24/,
    );
    expect(() => parseIdentity(write({ ...good, albedo: [0.5, 0.5, 0.5] }), head)).toThrow(/albedo has 1 vertices/);
    expect(() => parseIdentity(write({ ...good, source: { hair: { wings: 1 } } }), head)).toThrow(
      /hair has no parameter "wings"/,
    );
    expect(() => parseIdentity(write({ ...good, skin: "pink" }), head)).toThrow(/is not an identity: skin/);
  });

  it("explains bad command lines", async () => {
    await expect(main([])).rejects.toThrow(/--out DIR is required/);
    await expect(main(["--out", "/tmp/x", "--categories", "hair,wings"])).rejects.toThrow(/no category "wings"/);
    await expect(main(["--out", "/tmp/x", "--frames", "0"])).rejects.toThrow(
      /--frames must be a whole number in \[1, 10000\]/,
    );
    await expect(main(["--out", "/tmp/x", "--identity", "photo.jpg"])).rejects.toThrow(/--identity must be seed:N/);
    await expect(main(["--out", "/tmp/x", "--alphas", "0.5,2"])).rejects.toThrow(
      /--alphas must be numbers in \[0, 1\]/,
    );
  });
});
