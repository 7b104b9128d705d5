/**
 * npm run create -- --portrait photo.jpg --out data/creations/NAME [--config auto|tiny|compact|paper]
 * The whole portrait pipeline without the server: the same stages a creation
 * job runs (server/pipeline/create/stages.ts), with a progress bar per stage
 * and the time of each. Run again with the same --out to continue after a kill.
 *
 *   out/portraits/cli/portrait.png   the decoded upload
 *   out/job/...                      every stage's outputs
 *   out/avatars/cli/bundle/          the finished avatar bundle
 *   out/timings.json                 seconds per stage
 * (the layout: cliCreation in server/storage/layout.ts)
 */
import fs from "node:fs";
import sharp from "sharp";
import { UsageError, parseFlags, isMainModule, runCli } from "./run-cli";
import { formatEta, progressBar } from "./progress";
import { creationStages } from "../pipeline/create/stages";
import { CREATION_CONFIGS, creationConfigSchema } from "../pipeline/create/configs";
import { CREATION_CONFIG_LABELS } from "../../protocol/creation-configs";
import type { StageContext } from "../pipeline/create/stage";
import { decodePortrait } from "../pipeline/analyse/decode";
import { writeFileAtomicSync } from "../storage/atomic";
import { cliCreation } from "../storage/layout";

const FLAGS = ["portrait", "out", "config"] as const;

export const USAGE = `usage: npm run create -- --portrait FILE --out DIR [--config ${CREATION_CONFIGS.join("|")}]
  --portrait photo.jpg   a JPEG, PNG or WebP portrait of one person
  --out DIR              where every stage writes (run again to continue)
  --config auto          ${CREATION_CONFIGS.map((c) => `${c}: ${CREATION_CONFIG_LABELS[c]}`).join("\n                         ")}`;

export async function main(argv: string[]): Promise<void> {
  const v = parseFlags(argv, FLAGS);
  if (!v.portrait) throw new UsageError("--portrait FILE is required");
  if (!v.out) throw new UsageError("--out DIR is required");
  const parsed = creationConfigSchema.safeParse(v.config ?? "auto");
  if (!parsed.success) throw new UsageError(`--config takes ${CREATION_CONFIGS.join(", ")}, got "${v.config}"`);
  const config = parsed.data;
  if (!fs.existsSync(v.portrait)) throw new UsageError(`--portrait: no file ${v.portrait}`);

  const where = cliCreation(v.out);
  const upload = where.portraitImage;
  // A raw photo: no stored analysis beside it, so the analyse stage analyses it in full.
  if (!fs.existsSync(upload)) {
    const image = await decodePortrait(fs.readFileSync(v.portrait));
    writeFileAtomicSync(
      upload,
      await sharp(Buffer.from(image.rgb), { raw: { width: image.width, height: image.height, channels: 3 } })
        .png()
        .toBuffer(),
    );
  }
  const timingsFile = where.timings;
  const timings: Record<string, number> = fs.existsSync(timingsFile)
    ? JSON.parse(fs.readFileSync(timingsFile, "utf8"))
    : {};
  const controller = new AbortController();
  process.once("SIGINT", () => {
    process.stderr.write("\ncreate: stopping (run the same command to continue)\n");
    controller.abort();
  });
  const t0 = performance.now();
  for (const stage of creationStages()) {
    const bar = progressBar();
    const started = performance.now();
    const ctx: StageContext = {
      jobId: where.jobId,
      avatarId: where.avatarId,
      dataDir: where.dataDir,
      jobDir: where.jobDir,
      input: { portraitId: where.portraitId, config },
      signal: controller.signal,
      progress: (f, eta) =>
        bar.update(
          Math.round(f * 1000),
          1000,
          `${stage.label}: ${(100 * f).toFixed(0)}%${eta !== undefined ? `, ETA ${formatEta(eta)}` : ""}`,
        ),
      log: (line) => {
        bar.end();
        console.log(line);
      },
      publish: () => {},
    };
    await stage.run(ctx);
    bar.end();
    const seconds = (performance.now() - started) / 1000;
    // A stage that found its outputs on disk took no time now: keep the time it took when it ran.
    if (seconds > 1 || timings[stage.name] === undefined) timings[stage.name] = seconds;
    writeFileAtomicSync(timingsFile, JSON.stringify(timings, null, 1));
    console.log(`${stage.name}: ${seconds.toFixed(1)} s`);
  }
  const total = Object.values(timings).reduce((a, b) => a + b, 0);
  console.log(
    `create: done in ${((performance.now() - t0) / 60000).toFixed(1)} min (stages together ${(total / 60).toFixed(1)} min); the avatar is ${where.bundle}`,
  );
}

if (isMainModule(import.meta.url))
  runCli(
    "create",
    USAGE,
    main,
    (err) => /^(The |synthesise:|train:|evaluate:|cancelled$)/.test(err.message) || err.name === "PortraitRefusal",
  );
