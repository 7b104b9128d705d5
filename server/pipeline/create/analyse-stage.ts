/**
 * Stage 1 of a creation: the portrait's analysis, kept in the job's analyse/
 * folder (portrait.png, analysis.json, matte.png, overlay.png) so the job
 * does not depend on the upload's files afterwards. An upload was analysed
 * when it arrived and stored everything but the image-sized matte, so only
 * the matte is computed here; a portrait without a whole stored analysis
 * (`npm run create` on a photo, an older upload) is analysed in full.
 */
import fs from "node:fs";
import path from "node:path";
import sharp from "sharp";
import { analysePortrait, analysisOverlayPng, portraitMatte } from "../analyse/analyse";
import { decodePortrait, type RgbImage } from "../analyse/decode";
import {
  fromStoredAnalysis,
  parseStoredAnalysis,
  toStoredAnalysis,
  type StoredAnalysis,
} from "../analyse/stored-analysis";
import type { PortraitAnalysis } from "../analyse/types";
import { writeFileAtomicSync } from "../../storage/atomic";
import { PORTRAIT_FOLDER, portraitDir, type CreationFolders } from "../../storage/layout";
import { readJson, resumableStage } from "./resumable-stage";
import type { StageDef } from "./stage";

/** What the analyse stage runs on the portrait (a test counts the calls). */
export interface PortraitAnalyser {
  /** Everything: face detection, landmarks, descriptor, rotation, mesh and matte. */
  analyse(image: RgbImage): Promise<PortraitAnalysis>;
  /** Only the person matte. */
  matte(image: RgbImage): Promise<Float32Array>;
}

export const MODEL_ANALYSER: PortraitAnalyser = { analyse: (image) => analysePortrait(image), matte: portraitMatte };

/** The files of the job's analyse/ folder; analysis.json is written last and marks the stage done. */
export const analyseFiles = (d: CreationFolders) => ({
  portrait: path.join(d.analyse, PORTRAIT_FOLDER.image),
  analysis: path.join(d.analyse, PORTRAIT_FOLDER.analysis),
  matte: path.join(d.analyse, "matte.png"),
  overlay: path.join(d.analyse, PORTRAIT_FOLDER.overlay),
});

export const readAnalysis = (d: CreationFolders): StoredAnalysis => readJson<StoredAnalysis>(analyseFiles(d).analysis);

/** The matte as an 8-bit PNG (it is [H, W] floats in memory). */
async function mattePng(matte: Float32Array, width: number, height: number): Promise<Buffer> {
  const px = Buffer.alloc(width * height);
  for (let i = 0; i < px.length; i++) px[i] = Math.round(Math.min(1, Math.max(0, matte[i]!)) * 255);
  return sharp(px, { raw: { width, height, channels: 1 } })
    .png()
    .toBuffer();
}

/** The job's matte, or null when the analysis found none. */
export async function readMatte(d: CreationFolders): Promise<Float32Array | null> {
  const file = analyseFiles(d).matte;
  if (!fs.existsSync(file)) return null;
  const { data } = await sharp(file).extractChannel(0).raw().toBuffer({ resolveWithObject: true });
  return Float32Array.from(data, (v) => v / 255);
}

/** The upload's stored analysis when it is whole and of this image, else null. */
function storedAnalysis(uploadDir: string, image: RgbImage): StoredAnalysis | null {
  const file = path.join(uploadDir, PORTRAIT_FOLDER.analysis);
  return fs.existsSync(file) ? parseStoredAnalysis(fs.readFileSync(file, "utf8"), image) : null;
}

export function analyseStage(analyser: PortraitAnalyser): StageDef {
  return resumableStage({
    name: "analyse",
    label: "Analyse the portrait",
    weight: 1,
    done: (d) => fs.existsSync(analyseFiles(d).analysis),
    artifacts: (d) => [["overlay", analyseFiles(d).overlay]],
    async make(ctx, d) {
      const files = analyseFiles(d);
      const upload = portraitDir(ctx.dataDir, ctx.input.portraitId);
      const source = path.join(upload, PORTRAIT_FOLDER.image);
      if (!fs.existsSync(source))
        throw new Error(
          `The uploaded portrait ${ctx.input.portraitId} is gone from the server (no ${path.relative(ctx.dataDir, source)}).`,
        );
      const image = await decodePortrait(fs.readFileSync(source));
      ctx.progress(0.2);
      const stored = storedAnalysis(upload, image);
      const a = stored ? fromStoredAnalysis(stored, await analyser.matte(image)) : await analyser.analyse(image);
      if (stored) ctx.log("analyse: the upload's analysis, with the person matte added");
      ctx.log(
        `analyse: face at ${a.box.x.toFixed(0)},${a.box.y.toFixed(0)} (${a.box.width.toFixed(0)} px wide), inter-ocular ${a.interocularPx.toFixed(0)} px, yaw ${a.rotation.yawDeg.toFixed(0)} pitch ${a.rotation.pitchDeg.toFixed(0)} roll ${a.rotation.rollDeg.toFixed(0)} degrees`,
      );
      writeFileAtomicSync(
        files.portrait,
        await sharp(Buffer.from(image.rgb), { raw: { width: image.width, height: image.height, channels: 3 } })
          .png()
          .toBuffer(),
      );
      if (a.matte) writeFileAtomicSync(files.matte, await mattePng(a.matte, image.width, image.height));
      writeFileAtomicSync(files.overlay, await analysisOverlayPng(image, a));
      writeFileAtomicSync(files.analysis, JSON.stringify(toStoredAnalysis(a)));
    },
  });
}
