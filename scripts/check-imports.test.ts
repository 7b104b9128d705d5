/**
 * The import check of `npm run lint` on scratch trees: it must fail on a file
 * cycle, on a cycle between folders, on a value import from server/ in app/
 * and on render-core reaching up, and pass the same tree once they are gone.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = path.resolve(import.meta.dirname, "..");
const SCRIPT = path.join(ROOT, "scripts", "check-imports.mjs");

function tree(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "check-imports-"));
  fs.copyFileSync(path.join(ROOT, ".dependency-cruiser.cjs"), path.join(dir, ".dependency-cruiser.cjs"));
  fs.writeFileSync(
    path.join(dir, "tsconfig.json"),
    JSON.stringify({ compilerOptions: { module: "esnext", moduleResolution: "bundler", strict: true } }),
  );
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), text);
  }
  return dir;
}

function check(dir: string): { status: number | null; output: string } {
  const r = spawnSync(process.execPath, [SCRIPT], { cwd: dir, encoding: "utf8" });
  return { status: r.status, output: r.stdout + r.stderr };
}

const clean = {
  "server/jobs/run.ts": 'import { dir } from "../storage/layout";\nexport const run = () => dir;\n',
  "server/storage/layout.ts": "export const dir = 'data';\n",
  "app/page.ts":
    'import type { Job } from "../server/jobs/types";\nimport { VIEW } from "../protocol/view";\nexport const page = (j: Job) => [j, VIEW];\n',
  "server/jobs/types.ts": "export interface Job { id: string }\n",
  "protocol/view.ts": 'import { math } from "../render-core/math/m";\nexport const VIEW = math;\n',
  "render-core/math/m.ts": "export const math = 1;\n",
};

describe("scripts/check-imports.mjs", () => {
  it("passes a tree whose imports follow the layers", () => {
    const r = check(tree(clean));
    expect(r.output).toMatch(/no cycles, layers respected/);
    expect(r.status).toBe(0);
  });

  it("fails on a cycle between two folders even when no file reaches itself", () => {
    const r = check(
      tree({
        ...clean,
        "server/storage/layout.ts": 'import { other } from "../jobs/other";\nexport const dir = other;\n',
        "server/jobs/other.ts": "export const other = 'x';\n",
      }),
    );
    expect(r.status).toBe(1);
    expect(r.output).toMatch(/folder cycle: server\/jobs, server\/storage/);
  });

  it("fails on a file cycle, type-only imports included", () => {
    const r = check(
      tree({
        ...clean,
        "server/jobs/types.ts":
          'import type { run } from "./run";\nexport interface Job { id: string; r?: typeof run }\n',
        "server/jobs/run.ts": 'import type { Job } from "./types";\nexport const run = (j?: Job) => j;\n',
      }),
    );
    expect(r.status).toBe(1);
    expect(r.output).toMatch(/no-circular: server\/jobs\//);
  });

  it("fails on a value import from server/ in app/ and on render-core importing the server", () => {
    const r = check(
      tree({
        ...clean,
        "app/page.ts": 'import { run } from "../server/jobs/run";\nexport const page = run;\n',
        "render-core/math/m.ts": 'import { dir } from "../../server/storage/layout";\nexport const math = dir;\n',
      }),
    );
    expect(r.status).toBe(1);
    expect(r.output).toMatch(/app-imports-only-types-from-server: app\/page\.ts -> server\/jobs\/run\.ts/);
    expect(r.output).toMatch(/render-core-stays-below: render-core\/math\/m\.ts -> server\/storage\/layout\.ts/);
  });
});
