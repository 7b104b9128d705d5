// The import checks of `npm run lint`: dependency-cruiser's rules (.dependency-cruiser.cjs:
// file cycles, layer rules), then cycles between folders (server/jobs <-> server/portraits
// is a cycle even when no single file reaches itself). Tests and test helpers are left out
// of the folder graph: they import from everywhere and nothing imports them.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import { fileURLToPath } from "node:url";

const ROOTS = ["app", "server", "render-core", "shaders", "protocol", "scripts", "bench", "e2e"];
// The project's own dependency-cruiser, whatever folder this runs in (its test runs it on a scratch tree).
const DEPCRUISE = fileURLToPath(
  new URL("../node_modules/dependency-cruiser/bin/dependency-cruise.mjs", import.meta.url),
);
let json;
try {
  json = execFileSync(
    process.execPath,
    [
      DEPCRUISE,
      "--config",
      ".dependency-cruiser.cjs",
      "--output-type",
      "json",
      ...ROOTS.filter((r) => fs.existsSync(r)),
    ],
    {
      maxBuffer: 1 << 28,
      stdio: ["ignore", "pipe", "inherit"],
    },
  ).toString();
} catch (err) {
  // depcruise exits non-zero when a rule is broken; its JSON is still on stdout.
  json = err.stdout?.toString() ?? "";
  if (!json) throw err;
}
const { modules, summary } = JSON.parse(json);
const problems = [];
for (const v of summary.violations) {
  const via = v.cycle ? ` (${[v.from, ...v.cycle.map((c) => c.name ?? c)].join(" -> ")})` : ` -> ${v.to}`;
  problems.push(`${v.rule.name}: ${v.from}${via}`);
}

const isTestCode = (f) => /\.test\.tsx?$/.test(f) || /(^|\/)testing(\/|\.ts$)/.test(f) || f.startsWith("e2e/");
/** The folder a file belongs to in the data-flow picture: a pipeline stage, a server or render-core folder, or a top-level one. */
function folderOf(file) {
  const m = /^(server\/pipeline\/[^/]+|server\/[^/]+|render-core\/[^/]+|protocol|app|shaders|scripts|bench)(\/|$)/.exec(
    file,
  );
  return m ? m[1].replace(/\.(ts|tsx|mjs)$/, "") : null;
}
const edges = new Map(); // folder -> folder -> one example import
for (const m of modules) {
  if (isTestCode(m.source)) continue;
  const a = folderOf(m.source);
  if (!a) continue;
  for (const d of m.dependencies) {
    const b = folderOf(d.resolved);
    if (!b || a === b) continue;
    if (!edges.has(a)) edges.set(a, new Map());
    if (!edges.get(a).has(b)) edges.get(a).set(b, `${m.source} -> ${d.resolved}`);
  }
}
for (const component of stronglyConnected(edges)) {
  const examples = component.flatMap((a) =>
    component.filter((b) => edges.get(a)?.has(b)).map((b) => `    ${edges.get(a).get(b)}`),
  );
  problems.push(`folder cycle: ${component.join(", ")}\n${examples.join("\n")}`);
}

if (problems.length) {
  console.error(`check-imports: ${problems.length} problem(s)\n${problems.join("\n")}`);
  process.exit(1);
}
console.log(`check-imports: ${modules.length} modules, no cycles, layers respected`);

/** Tarjan's strongly connected components with more than one folder. */
function stronglyConnected(graph) {
  const index = new Map(),
    low = new Map(),
    stack = [],
    onStack = new Set(),
    out = [];
  let next = 0;
  const nodes = new Set([...graph.keys(), ...[...graph.values()].flatMap((e) => [...e.keys()])]);
  const visit = (v) => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v)?.keys() ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v), low.get(w)));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v), index.get(w)));
    }
    if (low.get(v) !== index.get(v)) return;
    const component = [];
    let w;
    do {
      w = stack.pop();
      onStack.delete(w);
      component.push(w);
    } while (w !== v);
    if (component.length > 1) out.push(component.sort());
  };
  for (const v of nodes) if (!index.has(v)) visit(v);
  return out;
}
