import { describe, expect, it } from "vitest";
import fs from "node:fs";

describe("package-lock.json", () => {
  it("lists every platform build of next's compiler, or npm ci refuses it on a fresh machine", () => {
    const lock = JSON.parse(fs.readFileSync("package-lock.json", "utf8")) as {
      packages: Record<string, { optionalDependencies?: Record<string, string> }>;
    };
    const optional = Object.keys(lock.packages["node_modules/next"]!.optionalDependencies ?? {});
    expect(optional.length).toBeGreaterThan(0);
    const missing = optional.filter((name) => !lock.packages[`node_modules/${name}`]);
    expect(missing, "run: node scripts/lockfile-platforms.mjs").toEqual([]);
  });
});
