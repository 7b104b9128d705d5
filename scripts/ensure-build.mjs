// Builds the Next.js app when no production build exists or when a source
// file is newer than the build, so `npm start` works on a fresh clone.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

const buildId = path.join(".next", "BUILD_ID");
const sources = ["app", "protocol", "render-core", "shaders", "next.config.ts", "package.json", "tsconfig.json"];

function newestMtime(p) {
  if (!fs.existsSync(p)) return 0;
  const st = fs.statSync(p);
  if (!st.isDirectory()) return st.mtimeMs;
  let newest = st.mtimeMs;
  for (const entry of fs.readdirSync(p)) newest = Math.max(newest, newestMtime(path.join(p, entry)));
  return newest;
}

const built = fs.existsSync(buildId) ? fs.statSync(buildId).mtimeMs : 0;
const changed = Math.max(...sources.map(newestMtime));
if (built && built >= changed) process.exit(0);

console.log(
  built
    ? "Sources changed since the last build: building the app…"
    : "No build yet: building the app (about a minute)…",
);
const r = spawnSync("npx", ["--no-install", "next", "build"], { stdio: "inherit" });
process.exit(r.status ?? 1);
