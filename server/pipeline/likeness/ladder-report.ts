/**
 * The ladder for people: a printed table, the picture sheet
 * (photo | L1 | L2 | L3 photo's pose | L3 frontal | L3 3/4 | four edits, each
 * with both recognisers' distances), and the figures the evaluate stage keeps.
 */
import sharp from "sharp";
import { contactSheet, labelledPanel } from "../../images/png";
import type { LadderReport, LadderResult, LadderRow } from "./ladder";
import { RECOGNISERS } from "./recognisers";

const d3 = (v: number | null) => (v === null ? "-" : v.toFixed(3));

/** "0.741 no" / "0.312 same": a distance and what the recogniser's threshold says. */
function verdict(v: number | null, threshold: number): string {
  return v === null ? "-" : `${v.toFixed(3)} ${v < threshold ? "same" : "no"}`;
}

/** The ladder as the lines the CLI prints. */
export function formatLadder(r: LadderReport): string {
  const names = RECOGNISERS.map((x) => x.name);
  const head = `  ${"rung".padEnd(5)}${"view".padEnd(42)}${names.map((n) => `${n} (< ${r.thresholds[n]})`.padStart(24)).join("")}`;
  const line = (row: LadderRow) =>
    `  ${row.rung.padEnd(5)}${row.view.slice(0, 41).padEnd(42)}${
      row.status === "missing" || row.status === "error"
        ? `  ${row.status}: ${row.reason}`
        : row.status === "no-face"
          ? "no face found".padStart(24)
          : names.map((n) => verdict(row.distances[n], r.thresholds[n]).padStart(24)).join("")
    }`;
  const out = [
    `likeness ladder: ${r.portrait} against ${r.creation}` +
      (r.window
        ? ` (photo window ${r.window.side} px at (${r.window.x0}, ${r.window.y0}), shown at ${r.window.shownAt} px; dataset ${r.datasetSize} px)`
        : ""),
    head,
    ...r.rows.filter((row) => row.rung !== "L4").map(line),
  ];
  const l4 = r.rows.filter((row) => row.rung === "L4");
  if (r.edits)
    out.push(
      `  L4   every anchor (${l4.length})`.padEnd(49) +
        names
          .map((n) => {
            const e = r.edits![n];
            return `med ${d3(e.median)} worst ${d3(e.worst)} ${e.underThreshold}/${e.count}`.padStart(24);
          })
          .join(""),
      `       faces found: ${names.map((n) => `${n} ${r.edits![n].found} of ${r.edits![n].count}`).join(", ")}`,
    );
  else out.push(...l4.map(line));
  if (r.verification) {
    out.push("", "  verification (nearer to every --same photo than to every --others photo):");
    for (const p of r.verification.photos)
      out.push(
        `    ${p.kind.padEnd(6)}${p.file.split("/").pop()!.padEnd(26)}${
          p.found
            ? Object.entries(p.distances)
                .map(([s, ds]) => `${s}: ${names.map((n) => d3(ds[n])).join(" / ")}`)
                .join("; ")
            : "no face found"
        }`,
      );
    for (const v of r.verification.verdicts)
      out.push(
        `    ${v.subject.padEnd(26)}${names.map((n) => `${n} ${v.verified[n] === null ? "-" : v.verified[n] ? "verified" : "NOT verified"}`).join(", ")}`,
      );
    out.push(`    (distances: ${names.join(" / ")})`);
  }
  out.push(`  ${r.seconds.toFixed(0)} s`);
  return out.join("\n");
}

const SHEET_VIEWS = [
  ["photo", "photo"],
  ["L1 fitted head, photo's pose", "L1"],
  ["L2 dataset's source scene, photo's pose", "L2"],
  ["L3 photo's pose", "L3 pose"],
  ["L3 frontal", "L3 front"],
] as const;

/** `n` items spread evenly over `xs` (first and last included). */
function spread<T>(xs: T[], n: number): T[] {
  if (xs.length <= n) return xs;
  return Array.from({ length: n }, (_, k) => xs[Math.round((k * (xs.length - 1)) / Math.max(1, n - 1))]!);
}

/**
 * The picture sheet: photo | L1 | L2 | L3 photo's pose | L3 frontal | L3 3/4 |
 * four edits, labelled "name  faceapi | faceres" (distances to the photo); "-"
 * where no face was found, a dark panel where the rung is missing.
 */
export async function ladderSheet(result: LadderResult, panel = 192): Promise<Buffer> {
  const { report, pictures } = result;
  const names = RECOGNISERS.map((x) => x.name);
  const rowOf = (key: string) => report.rows.find((r) => `${r.rung} ${r.view}` === key);
  const blank = await sharp({
    create: { width: panel, height: panel, channels: 3, background: { r: 30, g: 32, b: 36 } },
  })
    .png()
    .toBuffer();
  const label = (short: string, row: LadderRow | undefined) =>
    !row
      ? short
      : row.status === "ok" || row.status === "no-face"
        ? `${short}  ${names.map((n) => d3(row.distances[n]).replace(/^0/, "")).join(" | ")}`
        : `${short}: ${row.status}`;
  const threeQuarter = report.rows.find((r) => r.rung === "L3" && r.view.startsWith("3/4"));
  const keys: Array<[string, string]> = [
    ...SHEET_VIEWS.map(([k, s]) => [k, s] as [string, string]),
    [threeQuarter ? `L3 ${threeQuarter.view}` : "L3 3/4", "L3 3/4"],
    ...spread(
      report.rows.filter((r) => r.rung === "L4" && pictures.has(`L4 ${r.view}`)),
      4,
    ).map((r) => [`L4 ${r.view}`, r.view.replace(/^[a-z]+: /, "")] as [string, string]),
  ];
  const panels: Buffer[] = [];
  for (const [key, short] of keys) {
    const pic = pictures.get(key);
    panels.push(await labelledPanel(pic ?? blank, panel, key === "photo" ? "photo" : label(short, rowOf(key))));
  }
  return contactSheet(panels, 5, panel);
}

/** The ladder's L1 and L3 figures as the evaluate stage keeps them (identity.json `likeness`). */
export function ladderFigures(r: LadderReport): Record<string, Record<string, number | null> | string> {
  const out: Record<string, Record<string, number | null> | string> = {};
  for (const row of r.rows.filter((x) => x.rung === "L1" || x.rung === "L3"))
    out[`${row.rung} ${row.view}`] =
      row.status === "missing" || row.status === "error" ? `${row.status}: ${row.reason}` : { ...row.distances };
  return out;
}
