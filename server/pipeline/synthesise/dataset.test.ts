import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { createHeadModel, type HeadModel } from "../../../render-core/head";
import { generateDataset, type SynthOptions } from "./dataset";
import { main } from "../../cli/synth";

let head: HeadModel;
beforeAll(() => {
  head = createHeadModel();
});

const options: SynthOptions = { identity: "seed:3", perCategory: 2, frames: 3, size: 48, fps: 30, categories: ["hair", "eyewear"], inbetweenPairs: 1, alphas: [0, 0.5, 1], extraCameras: 1 };
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), "synth-"));
const listFiles = (dir: string): string[] => fs.readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name));

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
    expect(files.filter((f) => f.endsWith(".png") && f.includes(`${path.sep}videos${path.sep}`))).toHaveLength(5 * 3 * 3 * 2);
    expect(files.some((f) => f.includes(".tmp-"))).toBe(false);
    expect(fs.existsSync(first.contactSheet)).toBe(true);

    // Every video shares the motion; only its attribute differs.
    const params = m.videos.map((v) => JSON.parse(fs.readFileSync(path.join(out, "videos", v.id, "params.json"), "utf8")));
    for (const p of params) expect(p.frames).toEqual(params[0].frames);
    expect(params[3].attributes.hair).toEqual(params[0].attributes.hair);

    // In-betweens at alpha 0 and 1 are the two end videos, byte for byte.
    const pair = m.inbetween[0]!;
    for (const [alpha, video] of [["0.00", pair.a], ["1.00", pair.b]] as const) {
      for (let f = 0; f < 3; f++) {
        const name = `${String(f).padStart(4, "0")}.png`;
        expect(fs.readFileSync(path.join(out, pair.dir, alpha, name)).equals(fs.readFileSync(path.join(out, "videos", video, "rgb", name)))).toBe(true);
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

  it("refuses a folder that holds another dataset, or one it cannot write", async () => {
    const out = tmp();
    await generateDataset({ ...options, categories: ["hat"], inbetweenPairs: 0, extraCameras: 0, frames: 1 }, { out, gpu: null, head });
    await expect(generateDataset({ ...options, categories: ["hat"], inbetweenPairs: 0, extraCameras: 0, frames: 2 }, { out, gpu: null, head })).rejects.toThrow(/holds a different dataset/);
    const file = path.join(tmp(), "not-a-folder");
    fs.writeFileSync(file, "x");
    await expect(generateDataset(options, { out: path.join(file, "sub"), gpu: null, head })).rejects.toThrow(/cannot write to .*not-a-folder/);
  }, 60_000);

  it("explains bad command lines", async () => {
    await expect(main([])).rejects.toThrow(/--out DIR is required/);
    await expect(main(["--out", "/tmp/x", "--categories", "hair,wings"])).rejects.toThrow(/no category "wings"/);
    await expect(main(["--out", "/tmp/x", "--frames", "0"])).rejects.toThrow(/--frames must be a whole number in \[1, 10000\]/);
    await expect(main(["--out", "/tmp/x", "--identity", "photo.jpg"])).rejects.toThrow(/--identity must be seed:N/);
    await expect(main(["--out", "/tmp/x", "--alphas", "0.5,2"])).rejects.toThrow(/--alphas must be numbers in \[0, 1\]/);
  });
});
