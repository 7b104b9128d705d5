import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import sharp from "sharp";
import { beforeAll, describe, expect, it } from "vitest";
import { createHeadModel } from "../../../render-core/head";
import { readAvatarBundleDir } from "../../avatar/bundle-files";
import { categoryByName } from "../synthesise/attributes";
import { proceduralIdentity } from "../synthesise/identity";
import { portraitFile, renderPortrait } from "../synthesise/portrait";
import { readPortraitIdentity } from "../synthesise/dataset";
import { analysePortrait } from "../analyse/analyse";
import { decodePortrait } from "../analyse/decode";
import { toStoredAnalysis } from "../analyse/stored-analysis";
import { MODEL_ANALYSER, type PortraitAnalyser } from "./analyse-stage";
import { creationPlan, creationStages } from "./stages";
import type { ArtifactName, StageContext } from "./stage";

const head = createHeadModel();
let dataDir: string;

/** The models' analyser, counting what it is asked to do. */
function countingAnalyser() {
  const calls = { analyse: 0, matte: 0 };
  const analyser: PortraitAnalyser = {
    analyse: (image) => (calls.analyse++, MODEL_ANALYSER.analyse(image)),
    matte: (image) => (calls.matte++, MODEL_ANALYSER.matte(image)),
  };
  return { calls, analyser };
}

/** Runs the stages like the job runner does, recording what they publish and log. */
async function runStages(
  names?: string[],
  o: { analyser?: PortraitAnalyser; portraitId?: string; jobId?: string; dir?: string } = {},
) {
  const published = new Map<ArtifactName, string>();
  const logs: string[] = [];
  const progress: number[] = [];
  const root = o.dir ?? dataDir;
  const jobId = o.jobId ?? "job1";
  for (const stage of creationStages(o.analyser ? { analyser: o.analyser } : {}).filter(
    (s) => !names || names.includes(s.name),
  )) {
    const ctx: StageContext = {
      jobId,
      avatarId: "avatar1",
      dataDir: root,
      jobDir: path.join(root, "jobs", jobId),
      input: { portraitId: o.portraitId ?? "p1", config: "tiny" },
      signal: new AbortController().signal,
      progress: (f) => progress.push(f),
      log: (line) => logs.push(line),
      publish: (name, rel) => published.set(name, rel),
    };
    await stage.run(ctx);
  }
  return { published, logs, progress };
}

beforeAll(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "create-"));
  // A person with blond hair and dark skin, looking slightly aside: the "upload".
  const identity = proceduralIdentity(21, head);
  const hair = {
    ...categoryByName("hair").none,
    coverage: 0.95,
    length: 0.5,
    volume: 0.5,
    curl: 0.2,
    colourR: 0.75,
    colourG: 0.6,
    colourB: 0.35,
  };
  const portrait = await renderPortrait({
    head,
    identity: { ...identity, skin: [0.45, 0.3, 0.22] },
    attributes: { hair },
    size: 512,
    yawDeg: 10,
  });
  const dir = path.join(dataDir, "portraits", "p1");
  fs.mkdirSync(dir, { recursive: true });
  await sharp(await portraitFile(portrait, "png")).toFile(path.join(dir, "portrait.png"));
}, 60_000);

describe("creation stages (tiny plan)", () => {
  it("turns a portrait into a bundle with the person's look, the portrait thumbnail and identity figures; a rerun skips finished stages", async () => {
    const counting = countingAnalyser();
    const first = await runStages(undefined, { analyser: counting.analyser });
    // A photo without a stored analysis (npm run create) is analysed in full, once.
    expect(counting.calls).toEqual({ analyse: 1, matte: 0 });
    const job = path.join(dataDir, "jobs", "job1");
    expect([...first.published.keys()].sort()).toEqual([
      "contact-sheet",
      "fit",
      "identity-sheet",
      "loss-curve",
      "overlay",
      "texture",
    ]);
    for (const rel of first.published.values()) expect(fs.existsSync(path.join(job, rel)), rel).toBe(true);
    expect(first.progress.every((f) => f >= 0 && f <= 1)).toBe(true);

    // The dataset's person is the fitted one: photo colours on the head, blond hair as the source look.
    const identity = readPortraitIdentity(path.join(job, "fit", "identity.json"), head);
    expect(identity.kind).toBe("portrait");
    expect(identity.albedo).toHaveLength(head.vertexCount * 3);
    const hair = identity.source!.hair!;
    expect(hair.coverage).toBeGreaterThan(0.3);
    expect(hair.colourR! + hair.colourG!).toBeGreaterThan(0.8); // blond, not black

    const fit = JSON.parse(fs.readFileSync(path.join(job, "fit", "fit.json"), "utf8"));
    expect(fit.landmarkErrorPx / fit.interocularPx).toBeLessThan(0.1);

    const bundleDir = path.join(dataDir, "avatars", "avatar1", "bundle");
    const avatar = await readAvatarBundleDir(bundleDir, {
      headFaceCount: head.faceCount,
      headShapeCount: head.shapeNames.length,
    });
    expect(avatar.portrait).toBeDefined();
    expect((await sharp(Buffer.from(avatar.portrait!)).metadata()).width).toBe(192);
    expect(fs.existsSync(path.join(bundleDir, "thumbnail.png"))).toBe(true);
    // Training wrote the bundle (with the portrait) and the bundle stage moved it: no second copy stays in the job.
    expect(fs.existsSync(path.join(job, "train", "bundle"))).toBe(false);
    expect(JSON.parse(fs.readFileSync(path.join(bundleDir, "manifest.json"), "utf8")).name).toBe("portrait p1");
    expect(new Set(avatar.anchors.map((a) => a.category))).toEqual(new Set(creationPlan("tiny").dataset.categories));

    const figures = JSON.parse(fs.readFileSync(path.join(job, "evaluate", "identity.json"), "utf8"));
    expect(figures.edits).toHaveLength(avatar.anchors.length);
    // Every render has a distance or counts as "no face"; the share under 0.6 agrees with the rows.
    expect(figures.notFound).toBe(
      [figures.source, ...figures.edits.map((e: { distance: number | null }) => e.distance)].filter((d) => d === null)
        .length,
    );
    expect(figures.fractionSame).toBe(
      figures.edits.filter((e: { distance: number | null }) => e.distance !== null && e.distance < 0.6).length /
        figures.edits.length,
    );
    expect(first.logs.some((l) => /^identity: source/.test(l))).toBe(true);

    const again = await runStages();
    expect(again.logs).toEqual([]);
    expect(again.published.size).toBe(first.published.size);
  }, 300_000);

  it("says clearly when the upload is gone", async () => {
    fs.rmSync(path.join(dataDir, "jobs", "job1", "analyse"), { recursive: true, force: true });
    fs.renameSync(path.join(dataDir, "portraits", "p1"), path.join(dataDir, "portraits", "p1-moved"));
    await expect(runStages(["analyse"])).rejects.toThrow(/The uploaded portrait p1 is gone from the server/);
  });
});

describe("creation stages on a worker thread", () => {
  it("report progress, log lines and pictures through messages, and stop when cancelled", async () => {
    const { onWorkerThread } = await import("./stage-thread");
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "create-thread-"));
    fs.mkdirSync(path.join(dir, "portraits", "p2"), { recursive: true });
    fs.copyFileSync(
      path.join(
        dataDir,
        "portraits",
        fs.existsSync(path.join(dataDir, "portraits", "p1")) ? "p1" : "p1-moved",
        "portrait.png",
      ),
      path.join(dir, "portraits", "p2", "portrait.png"),
    );
    const stages = creationStages().map(onWorkerThread);
    const logs: string[] = [],
      published: string[] = [],
      progress: number[] = [];
    const ctx = (signal: AbortSignal): StageContext => ({
      jobId: "j2",
      avatarId: "a2",
      dataDir: dir,
      jobDir: path.join(dir, "jobs", "j2"),
      input: { portraitId: "p2", config: "tiny" },
      signal,
      progress: (f) => progress.push(f),
      log: (l) => logs.push(l),
      publish: (n) => published.push(n),
    });
    for (const name of ["analyse", "fit"])
      await stages.find((s) => s.name === name)!.run(ctx(new AbortController().signal));
    expect(published).toEqual(["overlay", "fit", "texture"]);
    expect(logs.some((l) => /^fit \((68 landmarks|Human.s 478 points)\): landmark error [0-9.]+ px/.test(l))).toBe(
      true,
    );
    expect(progress.length).toBeGreaterThan(0);

    // Cancelled while it renders: the worker stops the stage, which rejects.
    const controller = new AbortController();
    const running = stages.find((s) => s.name === "synthesise")!.run(ctx(controller.signal));
    setTimeout(() => controller.abort(), 1500);
    await expect(running).rejects.toThrow(/cancelled/);
    expect(fs.existsSync(path.join(dir, "jobs", "j2", "dataset", "contact-sheet.png"))).toBe(false);
  }, 120_000);
});

describe("creation from an uploaded portrait", () => {
  it("reuses the upload's stored analysis: no second face detection, only the matte it lacks", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "create-upload-"));
    const upload = path.join(dir, "portraits", "uploaded1");
    fs.mkdirSync(upload, { recursive: true });
    const source = path.join(
      dataDir,
      "portraits",
      fs.existsSync(path.join(dataDir, "portraits", "p1")) ? "p1" : "p1-moved",
      "portrait.png",
    );
    fs.copyFileSync(source, path.join(upload, "portrait.png"));
    // What the upload stores (server/portraits/upload.ts): the analysis without the matte, and the upload's own fields.
    const analysis = await analysePortrait(await decodePortrait(fs.readFileSync(source)));
    const stored = {
      ...toStoredAnalysis(analysis),
      original: { file: "original.png", bytes: 1, contentType: "image/png" },
      uploadedAt: new Date().toISOString(),
    };
    fs.writeFileSync(path.join(upload, "analysis.json"), JSON.stringify(stored));

    const counting = countingAnalyser();
    const run = await runStages(["analyse"], {
      analyser: counting.analyser,
      portraitId: "uploaded1",
      jobId: "j3",
      dir,
    });
    expect(counting.calls).toEqual({ analyse: 0, matte: 1 });
    expect([...run.published.keys()]).toEqual(["overlay"]);
    const analyse = path.join(dir, "jobs", "j3", "analyse");
    const kept = JSON.parse(fs.readFileSync(path.join(analyse, "analysis.json"), "utf8"));
    expect(kept.landmarks).toEqual(stored.landmarks);
    expect(kept.descriptor).toEqual(stored.descriptor);
    expect(kept.uploadedAt).toBeUndefined();
    expect((await sharp(path.join(analyse, "matte.png")).metadata()).width).toBe(analysis.width);

    // An analysis.json that is not a whole analysis (an older upload, a test fixture) is not trusted.
    fs.writeFileSync(path.join(upload, "analysis.json"), "{}");
    const again = countingAnalyser();
    await runStages(["analyse"], { analyser: again.analyser, portraitId: "uploaded1", jobId: "j4", dir });
    expect(again.calls).toEqual({ analyse: 1, matte: 0 });
  }, 120_000);
});
