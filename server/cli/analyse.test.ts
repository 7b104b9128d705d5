import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { createHeadModel } from "../../render-core/head";
import { proceduralIdentity } from "../pipeline/synthesise/identity";
import { portraitFile, renderPortrait } from "../pipeline/synthesise/portrait";

const run = (args: string[]) =>
  spawnSync(process.execPath, ["--import", "tsx", "server/cli/analyse.ts", ...args], { encoding: "utf8" });

describe("analyse command", () => {
  it("prints the analysis of a portrait and writes its overlay and JSON", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "analyse-cli-"));
    const head = createHeadModel();
    const photo = path.join(dir, "photo.jpg");
    fs.writeFileSync(
      photo,
      await portraitFile(await renderPortrait({ head, identity: proceduralIdentity(3, head), size: 384 }), "jpeg"),
    );
    const r = run([photo, path.join(dir, "overlay.png"), "--json", path.join(dir, "a.json")]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/photo\.jpg: accepted, 384x384/);
    expect(r.stdout).toMatch(/rotation: \{"yawDeg":-?\d/);
    expect((await sharp(path.join(dir, "overlay.png")).metadata()).width).toBe(384);
    const j = JSON.parse(fs.readFileSync(path.join(dir, "a.json"), "utf8"));
    expect(j.landmarks).toHaveLength(136);
    expect(j.descriptor).toHaveLength(128);
    expect(j.mesh).toHaveLength(478 * 3);
    expect(j.matteCoverage).toBeGreaterThan(0.1);
  });

  it("explains a refused file in one line with exit code 1, and bad arguments with the usage and 2", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "analyse-cli-"));
    const bad = path.join(dir, "notes.jpg");
    fs.writeFileSync(bad, "these are notes, not a photo");
    const r = run([bad, path.join(dir, "o.png")]);
    expect(r.status).toBe(1);
    expect(r.stderr.trim()).toBe(
      "analyse: This file is not a JPEG, PNG or WebP image. Save or export the photo as JPEG and upload that.",
    );
    const usage = run([]);
    expect(usage.status).toBe(2);
    expect(usage.stderr).toMatch(/analyse: give the photo to analyse\nusage: npm run analyse --/);
    expect(run(["no-such.jpg"]).stderr).toMatch(/analyse: no such file: no-such\.jpg/);
  });
});
