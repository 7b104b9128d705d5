/**
 * The licence check of `npm run lint` (scripts/check-licences.mjs, docs/licences.md): its SPDX
 * rule on single expressions, its walk and messages on scratch trees, and the real
 * node_modules passing.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";

const ROOT = path.resolve(import.meta.dirname, "..");
const SCRIPT = path.join(ROOT, "scripts", "check-licences.mjs");

type Verdict =
  { ok: true; rule: "permissive" | "weak-copyleft" | "allowlist"; reason?: string } | { ok: false; problem: string };
interface Licences {
  judge(
    name: string,
    licence: string | null,
    allowlist?: Array<{ name: string; licence: string; reason: string }>,
  ): Verdict;
  licenceOf(pkg: object): string | null;
}
// A computed specifier: the script is plain JavaScript with no type declarations.
const lic = (await import(pathToFileURL(SCRIPT).href)) as Licences;

function tree(packages: Record<string, object>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "check-licences-"));
  for (const [where, pkg] of Object.entries(packages)) {
    fs.mkdirSync(path.join(dir, where), { recursive: true });
    fs.writeFileSync(path.join(dir, where, "package.json"), JSON.stringify(pkg));
  }
  return dir;
}

function check(dir: string, ...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [SCRIPT, ...args], { cwd: dir, encoding: "utf8" });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("scripts/check-licences.mjs", () => {
  it("passes an OR expression with one allowed branch and refuses copyleft, missing and unknown licences", () => {
    expect(lic.judge("a", "(MIT OR GPL-3.0)")).toMatchObject({ ok: true, rule: "permissive" });
    expect(lic.judge("a", "MIT or Apache-2.0")).toMatchObject({ ok: true });
    expect(lic.judge("a", "GPL-3.0")).toMatchObject({ ok: false });
    expect(lic.judge("a", "AGPL-3.0-only")).toMatchObject({ ok: false });
    expect(lic.judge("a", "MIT AND GPL-2.0")).toMatchObject({ ok: false });
    expect(lic.judge("a", "(MIT AND (GPL-2.0 OR BSD-3-Clause))")).toMatchObject({ ok: true });
    expect(lic.judge("a", "CC-BY-NC-4.0")).toMatchObject({ ok: false });
    expect(lic.judge("a", null)).toMatchObject({ ok: false, problem: "no licence given" });
    expect(lic.judge("a", "UNLICENSED")).toMatchObject({ ok: false });
    expect(lic.judge("a", "SEE LICENSE IN LICENSE.txt")).toMatchObject({ ok: false });
    expect(lic.judge("a", "Some-Custom-1.0")).toMatchObject({ ok: false });
    expect(lic.judge("a", "(MIT OR")).toMatchObject({ ok: false });
    expect(lic.judge("a", "MPL-2.0")).toMatchObject({ ok: true, rule: "weak-copyleft" });
  });

  it("refuses LGPL unless the package is on the reviewed allowlist with that licence", () => {
    expect(lic.judge("some-lib", "LGPL-3.0-or-later")).toMatchObject({ ok: false });
    expect(lic.judge("@img/sharp-libvips-linux-x64", "LGPL-3.0-or-later")).toMatchObject({
      ok: true,
      rule: "allowlist",
    });
    // A changed licence is reviewed again.
    expect(lic.judge("@img/sharp-libvips-linux-x64", "GPL-3.0-or-later")).toMatchObject({ ok: false });
  });

  it("reads the legacy licence forms", () => {
    expect(lic.licenceOf({ license: { type: "MIT" } })).toBe("MIT");
    expect(lic.licenceOf({ licenses: [{ type: "MIT" }, { type: "GPL-2.0" }] })).toBe("(MIT) OR (GPL-2.0)");
    expect(lic.licenceOf({})).toBeNull();
  });

  it("walks nested node_modules first, skips optional packages not installed, and names the chain", () => {
    const dir = tree({
      ".": { name: "root", dependencies: { a: "1", b: "1" } },
      "node_modules/a": { name: "a", version: "1.0.0", license: "MIT", dependencies: { c: "2" } },
      // a's own c (nested) is GPL; the top-level c that b gets is MIT.
      "node_modules/a/node_modules/c": { name: "c", version: "2.0.0", license: "GPL-3.0-only" },
      "node_modules/b": {
        name: "b",
        version: "1.0.0",
        license: "ISC",
        dependencies: { c: "1" },
        optionalDependencies: { gone: "1" },
      },
      "node_modules/c": { name: "c", version: "1.0.0", license: "MIT" },
    });
    const r = check(dir);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("c@2.0.0: GPL-3.0-only");
    expect(r.stderr).toContain("via a > c");
    expect(r.stderr).not.toContain("c@1.0.0");
    expect(r.stderr).not.toContain("gone");
    expect(r.stdout).toContain("4 runtime packages checked");

    const table = JSON.parse(check(dir, "--json").stdout) as Array<{
      name: string;
      version: string;
      ok: boolean;
      chain: string;
    }>;
    expect(table.map((t) => `${t.name}@${t.version} ${t.ok} ${t.chain}`)).toEqual([
      "a@1.0.0 true a",
      "b@1.0.0 true b",
      "c@1.0.0 true b > c",
      "c@2.0.0 false a > c",
    ]);

    fs.writeFileSync(
      path.join(dir, "node_modules/a/node_modules/c/package.json"),
      JSON.stringify({ name: "c", version: "2.0.0", license: "MIT" }),
    );
    expect(check(dir).status).toBe(0);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("refuses server code that names the RVM model", () => {
    const dir = tree({ ".": { name: "root", dependencies: {} } });
    fs.mkdirSync(path.join(dir, "node_modules"));
    fs.mkdirSync(path.join(dir, "server"));
    fs.writeFileSync(
      path.join(dir, "server/ok.ts"),
      "// rvm.json is GPL-3.0: never loaded\nexport const m = 'selfie.json';\n",
    );
    expect(check(dir).status).toBe(0);
    fs.writeFileSync(path.join(dir, "server/bad.ts"), "export const m = 'rvm.json';\n");
    const r = check(dir);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("server/bad.ts:1");
    expect(r.stderr).toContain("THIRD-PARTY.md");
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("passes on the project's own node_modules", () => {
    const r = spawnSync(process.execPath, [SCRIPT], { cwd: ROOT, encoding: "utf8" });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^check-licences: \d+ runtime packages checked/);
  });
});
