/**
 * Test support for the job runner's HTTP, tRPC and socket surface: a real
 * server (as server/testing/harness.ts makes one) running small, controllable
 * stages instead of the creation pipeline, and a portrait folder that needs
 * no upload.
 */
import fs from "node:fs/promises";
import path from "node:path";
import type { ServerConfig } from "../config";
import type { StageContext, StageDef } from "../pipeline/create/stage";
import { newPortraitId, writePortraitFolder } from "../portraits/store";
import { avatarBundleDir, PORTRAIT_FOLDER } from "../storage/layout";
import { startTestServer, type TestServer } from "../testing/harness";
import type { TestSocket } from "../testing/socket-client";
import type { JobView, SocketResult } from "../../protocol/messages";

export function startServerWithStages(
  stages: readonly StageDef[],
  overrides: Partial<ServerConfig> = {},
): Promise<TestServer> {
  return startTestServer(overrides, { creationStages: stages });
}

/** A stored portrait as far as the runner cares (its analysis.json), without running the analysis. */
export async function fakePortrait(dataDir: string): Promise<string> {
  const id = newPortraitId();
  await writePortraitFolder(dataDir, id, [[PORTRAIT_FOLDER.analysis, "{}"]]);
  return id;
}

/** The avatar bundle the last stage must leave. */
export async function writeFakeBundle(ctx: StageContext): Promise<void> {
  const dir = avatarBundleDir(ctx.dataDir, ctx.avatarId);
  await fs.mkdir(dir, { recursive: true });
  await fs.writeFile(path.join(dir, "manifest.json"), "{}");
}

/** A valid 1 x 1 PNG (sharp reads it), so artifacts are real images. */
export const ONE_PIXEL_PNG = Buffer.from(
  "89504e470d0a1a0a0000000d4948445200000001000000010806000000" +
    "1f15c4890000000d49444154789c6360f8cfc0f01f0005000201b2" +
    "1f6d590000000049454e44ae426082",
  "hex",
);

/**
 * Stages that take their time in steps: each step reports progress and a
 * log line, and stops when the job's signal aborts. `steps` x `stepMs` per stage.
 */
export function steppingStages(o: { steps: number; stepMs: number; failIn?: () => string | null }): StageDef[] {
  const stepping = (name: string, label: string): StageDef => ({
    name,
    label,
    weight: 1,
    async run(ctx) {
      if (o.failIn?.() === name) throw new Error(`${label} broke on purpose.`);
      for (let i = 1; i <= o.steps; i++) {
        if (ctx.signal.aborted) throw new Error("aborted");
        await new Promise((r) => setTimeout(r, o.stepMs));
        ctx.progress(i / o.steps, ((o.steps - i) * o.stepMs) / 1000);
        ctx.log(`${name} step ${i}`);
      }
      if (name === "first") {
        await fs.writeFile(path.join(ctx.jobDir, "overlay.png"), ONE_PIXEL_PNG);
        ctx.publish("overlay", "overlay.png");
      }
    },
  });
  return [
    stepping("first", "First"),
    stepping("second", "Second"),
    { name: "bundle", label: "Bundle", weight: 1, run: writeFakeBundle },
  ];
}

/** Creates a job on `server` (from a fake portrait) and watches it through `socket` as the job page does. */
export async function watchNewJob(
  server: TestServer,
  socket: TestSocket,
  name: string,
): Promise<{ jobId: string; avatarId: string; watched: SocketResult<JobView>; updates: JobView[] }> {
  const updates: JobView[] = [];
  socket.on("job:update", (v) => updates.push(v));
  const portraitId = await fakePortrait(server.dataDir);
  const { jobId, avatarId } = await server.jobs.createAvatarJob({ portraitId, name, config: "tiny" });
  const watched = await socket.emitWithAck("job:watch", { jobId });
  return { jobId, avatarId, watched, updates };
}
