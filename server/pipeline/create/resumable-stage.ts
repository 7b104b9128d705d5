/**
 * The shape every creation stage shares: its outputs under the creation's
 * folders (server/storage/layout.ts), a test for "already done" (a rerun
 * after a kill, or `npm run create` run again, skips it) and the pictures it
 * shows, published whether it ran now or earlier.
 */
import fs from "node:fs";
import path from "node:path";
import { creationFolders, type CreationFolders } from "../../storage/layout";
import type { ArtifactName, StageContext, StageDef } from "./stage";

export interface ResumableStage {
  name: string;
  label: string;
  weight: number;
  /** Whether the stage's outputs are all on disk. */
  done(d: CreationFolders): boolean;
  /** Pictures for the browser (absolute paths inside the job folder), in publishing order. */
  artifacts?(d: CreationFolders): ReadonlyArray<readonly [ArtifactName, string]>;
  make(ctx: StageContext, d: CreationFolders): Promise<void>;
}

export function resumableStage(s: ResumableStage): StageDef {
  return {
    name: s.name,
    label: s.label,
    weight: s.weight,
    async run(ctx) {
      const d = creationFolders(ctx);
      if (!s.done(d)) await s.make(ctx, d);
      for (const [name, file] of s.artifacts?.(d) ?? []) ctx.publish(name, path.relative(ctx.jobDir, file));
    },
  };
}

export const readJson = <T>(file: string): T => JSON.parse(fs.readFileSync(file, "utf8")) as T;

export const throwIfCancelled = (ctx: StageContext): void => {
  if (ctx.signal.aborted) throw new Error("cancelled");
};
