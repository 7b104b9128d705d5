// The npm registry reachable here lacks next's macOS and Windows compiler
// builds (@next/swc-darwin-*, -win32-*), so `npm install` leaves them out of
// package-lock.json, and `npm ci` then refuses the lock ("Missing: ... from
// lock file"). This adds their entries (optional, os/cpu-limited: npm ci never
// fetches them on Linux). Idempotent; run it after any `npm install`.
import fs from "node:fs";

const file = "package-lock.json";
const lock = JSON.parse(fs.readFileSync(file, "utf8"));
const nextPkg = lock.packages["node_modules/next"];
let added = 0;
for (const [name, version] of Object.entries(nextPkg?.optionalDependencies ?? {})) {
  const key = `node_modules/${name}`;
  if (lock.packages[key]) continue;
  const m = /-(darwin|linux|win32)-(arm64|x64)/.exec(name);
  if (!m) throw new Error(`lockfile-platforms: cannot tell the platform of ${name}`);
  lock.packages[key] = { version, cpu: [m[2]], license: "MIT", optional: true, os: [m[1]], engines: { node: ">= 10" } };
  added++;
}
if (added) {
  const sorted = Object.fromEntries(
    Object.entries(lock.packages).sort(([a], [b]) => (a === "" ? -1 : b === "" ? 1 : a < b ? -1 : 1)),
  );
  lock.packages = sorted;
  fs.writeFileSync(file, JSON.stringify(lock, null, 2) + "\n");
}
console.log(`lockfile-platforms: ${added} entries added`);
