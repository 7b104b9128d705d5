// The licence check of `npm run lint` (docs/licences.md): walks the RUNTIME dependency closure
// (package.json "dependencies", then each package's dependencies, optionalDependencies and
// non-optional peerDependencies, found in node_modules the way Node resolves them: the nearest
// node_modules first), reads each package's licence and fails on copyleft (GPL, AGPL, LGPL, SSPL,
// EUPL, OSL, CC-BY-SA), non-commercial (CC-BY-NC) and missing, UNLICENSED or unrecognised
// licences, except the reviewed ALLOWLIST below. Model weights are not npm licences: they are
// listed in THIRD-PARTY.md; this script only refuses the one known GPL model (RVM) by name.
//   node scripts/check-licences.mjs          summary; exit 1 with every problem and its chain
//   node scripts/check-licences.mjs --json   the table (name, version, licence, verdict, chain)
// Runs in the current folder (the repository root; its test runs it on scratch trees too).
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";

/** Permissive licences (SPDX ids): no conditions beyond keeping the notice (Apache-2.0 also: state changes). */
export const PERMISSIVE = new Set([
  "0BSD",
  "Apache-2.0",
  "BlueOak-1.0.0",
  "BSD-2-Clause",
  "BSD-3-Clause",
  "CC-BY-3.0",
  "CC-BY-4.0",
  "CC0-1.0",
  "ISC",
  "MIT",
  "MIT-0",
  "Python-2.0",
  "Unlicense",
  "Zlib",
]);

/**
 * Weak, file-level copyleft, allowed by rule: MPL-2.0 asks for the source of the MPL-covered
 * files themselves (as shipped, they are unmodified in node_modules and public), never of the
 * code around them, so using and shipping an unmodified package is fine. Changing such a file
 * means publishing that file's changes.
 */
export const WEAK_COPYLEFT = new Set(["MPL-2.0"]);

/** Strong copyleft, network copyleft, share-alike and non-commercial families: refused. */
const REFUSED = [/^A?GPL/i, /^LGPL/i, /^SSPL/i, /^EUPL/i, /^OSL/i, /^CC-BY(-NC)?-SA/i, /^CC-BY-NC/i];

/**
 * Reviewed exceptions, each with its reason. `name` is a package name, or a prefix ending in `*`
 * (one entry for every platform build of the same package); `licence` must match the package's
 * licence exactly, so a changed licence is reviewed again. See docs/licences.md for how to add one.
 */
export const ALLOWLIST = [
  {
    name: "@img/sharp-libvips-*",
    licence: "LGPL-3.0-or-later",
    reason:
      "sharp's prebuilt libvips (and its LGPL libraries: glib, pango, librsvg, libheif, ...), an unmodified shared " +
      "library that sharp's native addon links dynamically: the LGPL allows shipping it so, with its notices and " +
      "the user's right to replace the library (it is a separate file in its own npm package).",
  },
];

// ---------------------------------------------------------------- SPDX expressions

/** Splits an SPDX expression into tokens: "(", ")", "AND", "OR", "WITH" (any case) and licence ids. */
function tokenize(expression) {
  const tokens = [];
  for (const raw of expression.replace(/[()]/g, " $& ").split(/\s+/)) {
    if (!raw) continue;
    const upper = raw.toUpperCase();
    tokens.push(upper === "AND" || upper === "OR" || upper === "WITH" ? upper : raw);
  }
  return tokens;
}

/**
 * Parses an SPDX licence expression: OR binds loosest, then AND, then WITH.
 * Returns { op: "OR" | "AND", args } or { id, exception? }; throws on malformed input.
 */
export function parseSpdx(expression) {
  const tokens = tokenize(expression);
  let i = 0;
  const peek = () => tokens[i];
  const binary = (op, next) => () => {
    const args = [next()];
    while (peek() === op) {
      i++;
      args.push(next());
    }
    return args.length === 1 ? args[0] : { op, args };
  };
  const primary = () => {
    const t = tokens[i++];
    if (t === "(") {
      const inner = or();
      if (tokens[i++] !== ")") throw new Error(`unbalanced parentheses in "${expression}"`);
      return inner;
    }
    if (t === undefined || t === ")" || t === "AND" || t === "OR" || t === "WITH")
      throw new Error(`malformed licence expression "${expression}"`);
    if (peek() === "WITH") {
      i++;
      const exception = tokens[i++];
      if (!exception || exception === "(" || exception === ")") throw new Error(`malformed WITH in "${expression}"`);
      return { id: t, exception };
    }
    return { id: t };
  };
  const and = binary("AND", primary);
  const or = binary("OR", and);
  const tree = or();
  if (i !== tokens.length) throw new Error(`unexpected "${tokens[i]}" in "${expression}"`);
  return tree;
}

/** One licence id: "permissive", "weak-copyleft", "copyleft" or "unknown". */
export function classifyId(id) {
  const base = id.replace(/\+$/, "").toLowerCase();
  const has = (set) => [...set].some((known) => known.toLowerCase() === base);
  if (has(PERMISSIVE)) return "permissive";
  if (has(WEAK_COPYLEFT)) return "weak-copyleft";
  if (REFUSED.some((r) => r.test(base))) return "copyleft";
  return "unknown";
}

/** Whether a parsed expression is acceptable: OR needs one acceptable branch, AND needs all. */
function acceptable(node) {
  if (node.op === "OR") return node.args.some(acceptable);
  if (node.op === "AND") return node.args.every(acceptable);
  // An exception (e.g. Classpath) narrows a licence's conditions but is judged with it here: review it.
  if (node.exception) return false;
  const c = classifyId(node.id);
  return c === "permissive" || c === "weak-copyleft";
}

/**
 * A package.json's licence as one SPDX expression, or null when it has none: `license` (a string,
 * or the legacy { type } object), else the legacy `licenses` array (alternatives: joined with OR).
 */
export function licenceOf(pkg) {
  const text = (l) => (typeof l === "string" ? l : l && typeof l.type === "string" ? l.type : null);
  const single = text(pkg.license);
  if (single && single.trim()) return single.trim();
  if (Array.isArray(pkg.licenses)) {
    const all = pkg.licenses.map(text).filter((t) => t && t.trim());
    if (all.length) return all.length === 1 ? all[0].trim() : all.map((t) => `(${t.trim()})`).join(" OR ");
  }
  return null;
}

const allowEntry = (name, licence, allowlist) =>
  allowlist.find(
    (e) => e.licence === licence && (e.name.endsWith("*") ? name.startsWith(e.name.slice(0, -1)) : e.name === name),
  );

/**
 * The verdict on one package's licence expression (null: none given):
 * { ok: true, rule: "permissive" | "weak-copyleft" | "allowlist", reason? } or { ok: false, problem }.
 */
export function judge(name, licence, allowlist = ALLOWLIST) {
  const listed = licence ? allowEntry(name, licence, allowlist) : undefined;
  if (listed) return { ok: true, rule: "allowlist", reason: listed.reason };
  if (!licence) return { ok: false, problem: "no licence given" };
  if (/^UNLICENSED$/i.test(licence)) return { ok: false, problem: "UNLICENSED (all rights reserved)" };
  if (/^SEE LICEN[CS]E IN /i.test(licence)) return { ok: false, problem: `a custom licence (${licence}): review it` };
  let tree;
  try {
    tree = parseSpdx(licence);
  } catch (err) {
    return { ok: false, problem: `unreadable licence: ${err.message}` };
  }
  if (!acceptable(tree)) {
    const bad = [];
    const collect = (n) => (n.args ? n.args.forEach(collect) : acceptable(n) || bad.push(n));
    collect(tree);
    const copyleft = bad.filter((n) => classifyId(n.id) === "copyleft");
    const names = (list) => list.map((n) => (n.exception ? `${n.id} WITH ${n.exception}` : n.id)).join(", ");
    return copyleft.length
      ? { ok: false, problem: `copyleft (${names(copyleft)})` }
      : { ok: false, problem: `not a licence this check knows (${names(bad)}): review it` };
  }
  // Weak copyleft when no acceptable reading avoids it: every acceptable OR branch, or one AND term, is MPL.
  const onlyWeak = (n) =>
    n.op === "OR"
      ? n.args.filter(acceptable).every(onlyWeak)
      : n.op
        ? n.args.some(onlyWeak)
        : classifyId(n.id) === "weak-copyleft";
  return { ok: true, rule: onlyWeak(tree) ? "weak-copyleft" : "permissive" };
}

// ---------------------------------------------------------------- the dependency walk

const readJson = (file) => JSON.parse(fs.readFileSync(file, "utf8"));

/** Where Node finds package `name` from a package in `fromDir`: the nearest node_modules first, up to `root`. */
export function resolvePackage(name, fromDir, root) {
  let dir = fromDir;
  for (;;) {
    if (path.basename(dir) !== "node_modules") {
      const candidate = path.join(dir, "node_modules", name, "package.json");
      if (fs.existsSync(candidate)) return path.dirname(candidate);
    }
    if (dir === root) return null;
    const parent = path.dirname(dir);
    if (parent === dir) return null;
    dir = parent;
  }
}

/**
 * The runtime closure of the package in `root`, breadth first (so each chain is a shortest one):
 * [{ name, version, licence, dir, chain: [names from a direct dependency to it] }], and the
 * required dependencies that were not installed.
 */
export function walk(root) {
  const top = readJson(path.join(root, "package.json"));
  const seen = new Map(); // real directory -> entry
  const missing = [];
  const queue = Object.keys(top.dependencies ?? {}).map((name) => ({ name, from: root, chain: [], optional: false }));
  while (queue.length) {
    const { name, from, chain, optional } = queue.shift();
    const found = resolvePackage(name, from, root);
    if (!found) {
      if (!optional) missing.push([...chain, name].join(" > "));
      continue;
    }
    const dir = fs.realpathSync(found);
    if (seen.has(dir)) continue;
    const pkg = readJson(path.join(dir, "package.json"));
    const entry = {
      name: pkg.name ?? name,
      version: pkg.version ?? "?",
      licence: licenceOf(pkg),
      dir,
      chain: [...chain, name],
    };
    seen.set(dir, entry);
    const optionalPeers = new Set(
      Object.entries(pkg.peerDependenciesMeta ?? {})
        .filter(([, m]) => m && m.optional)
        .map(([n]) => n),
    );
    const next = [
      ...Object.keys(pkg.dependencies ?? {}).map((n) => [n, false]),
      ...Object.keys(pkg.optionalDependencies ?? {}).map((n) => [n, true]),
      ...Object.keys(pkg.peerDependencies ?? {})
        .filter((n) => !optionalPeers.has(n))
        .map((n) => [n, true]),
    ];
    for (const [n, opt] of next) queue.push({ name: n, from: dir, chain: entry.chain, optional: opt });
  }
  return { packages: [...seen.values()], missing };
}

/** A cheap guard: no server code names RVM (GPL-3.0 weights, THIRD-PARTY.md) as a model to load. */
export function rvmReferences(root) {
  const hits = [];
  const dir = path.join(root, "server");
  if (!fs.existsSync(dir)) return hits;
  for (const rel of fs.readdirSync(dir, { recursive: true })) {
    const file = String(rel);
    if (!/\.(ts|tsx|mjs|js)$/.test(file) || /\.test\.tsx?$/.test(file)) continue;
    const lines = fs.readFileSync(path.join(dir, file), "utf8").split("\n");
    // A quoted string that names rvm (comments saying why it is not loaded stay allowed).
    lines.forEach((line, i) => {
      if (/(["'`])[^"'`\n]*\brvm\b[^"'`\n]*\1/i.test(line)) hits.push(`server/${file}:${i + 1}`);
    });
  }
  return hits;
}

// ---------------------------------------------------------------- the command

function main() {
  // Real paths throughout: the walk compares folders with the root on its way up.
  const root = fs.realpathSync(process.cwd());
  if (!fs.existsSync(path.join(root, "node_modules"))) {
    console.error("check-licences: no node_modules here: run npm ci first");
    process.exit(1);
  }
  const { packages, missing } = walk(root);
  const rows = packages
    .map((p) => ({ ...p, verdict: judge(p.name, p.licence) }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.version < b.version ? -1 : 1));

  if (process.argv.includes("--json")) {
    const table = rows.map((r) => ({
      name: r.name,
      version: r.version,
      licence: r.licence,
      ok: r.verdict.ok,
      rule: r.verdict.rule ?? null,
      problem: r.verdict.problem ?? null,
      chain: r.chain.join(" > "),
    }));
    console.log(JSON.stringify(table, null, 2));
  }

  const problems = rows
    .filter((r) => !r.verdict.ok)
    .map((r) => `  ${r.name}@${r.version}: ${r.licence ?? "(none)"}: ${r.verdict.problem}; via ${r.chain.join(" > ")}`);
  const rvm = rvmReferences(root).map(
    (h) => `  ${h}: names rvm (Robust Video Matting, GPL-3.0 weights): see THIRD-PARTY.md`,
  );

  // One line of counts: distinct name@version, by licence expression.
  const unique = new Map(rows.map((r) => [`${r.name}@${r.version}`, r]));
  const byLicence = new Map();
  for (const r of unique.values())
    byLicence.set(r.licence ?? "(none)", (byLicence.get(r.licence ?? "(none)") ?? 0) + 1);
  const counts = [...byLicence].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([l, n]) => `${l} ${n}`);
  const allowed = [...unique.values()].filter(
    (r) => r.verdict.rule === "allowlist" || r.verdict.rule === "weak-copyleft",
  );
  const summary =
    `check-licences: ${unique.size} runtime packages checked (${counts.join(", ")}); ` +
    `${allowed.length} allowed by rule or allowlist${allowed.length ? ` (${allowed.map((r) => `${r.name}@${r.version} ${r.verdict.rule}`).join(", ")})` : ""}; ` +
    `${problems.length + rvm.length} problems`;
  // With --json the table owns stdout; the summary goes to stderr.
  (process.argv.includes("--json") ? console.error : console.log)(summary);
  if (missing.length) console.error(`check-licences: required but not installed (not checked): ${missing.join(", ")}`);
  if (problems.length || rvm.length) {
    console.error(
      "check-licences: refused (a reviewed exception goes in ALLOWLIST in scripts/check-licences.mjs, docs/licences.md):",
    );
    for (const line of [...problems, ...rvm]) console.error(line);
    process.exit(1);
  }
}

// Run as a command, not when imported (its test imports the functions above).
if (process.argv[1] && pathToFileURL(path.resolve(process.argv[1])).href === import.meta.url) main();
