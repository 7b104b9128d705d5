/**
 * The age and style sliders, measured (npm run bench:age, docs/age-and-style.md):
 *
 *   - per portrait: the apparent age (face-api's AgeGenderNet) of the person's
 *     fitted, textured head at the photo's pose at age slider positions
 *     -1 .. 1 (-15 .. +40 years, as the dataset's in-betweens draw them), the
 *     face-api distance of each step to step 0 (the same person: <= 0.6),
 *     and at the oldest step whether the face is still nearer to the
 *     person's other photos than to every other person's;
 *   - the style slider: the share of frames (five yaws, two expressions) in
 *     which a face is still found at style 0, 0.25 .. 1 (towards the cartoon
 *     anchor);
 *   - with a trained bundle that learned age (a compact creation made since
 *     the category exists) the avatar itself at the same slider positions.
 *
 * Portraits are read in place; each gets a quick (tiny) creation in --work
 * for its fit, made once. Pictures made from photos stay under --work.
 *
 *   npm run bench:age -- [--portraits DIR] [--work DIR] [--only a.jpg,b.jpg] [--people P1,P2] [--out FILE]
 *                        [--sheet FILE]   (a contact sheet of the project's own rendered people, no photo)
 *                        [--from FILE]    (the tables again from a run's --out file)
 *
 * --people: file-name prefixes that each mark one person's photos (default the shared folder's README:
 * person-vlado, stock-emotions-a-); every other photo is someone else.
 */
import fs from "node:fs";
import path from "node:path";
import sharp from "sharp";
import { createHeadModel } from "../render-core/head";
import { CpuAvatarRenderer } from "../render-core/avatar/avatar-renderer";
import { sliderLatents } from "../render-core/avatar/latent";
import type { Camera } from "../render-core/math/camera";
import { readAvatarBundleDir } from "../server/avatar/bundle-files";
import { decodePortrait, type RgbImage } from "../server/pipeline/analyse/decode";
import { frontalCamera, toRgbImage } from "../server/pipeline/evaluate/identity";
import { apparentAge } from "../server/pipeline/likeness/apparent-age";
import { locateCreation, readFit, readFitIdentity, identityFile } from "../server/pipeline/likeness/creation";
import { photoWindow, renderFittedScene, windowCamera } from "../server/pipeline/likeness/ladder";
import { embedImage, findFace, RECOGNISERS, type Embeddings } from "../server/pipeline/likeness/recognisers";
import { BACKGROUND, sourceAttributes } from "../server/pipeline/synthesise/dataset";
import { AGE_ANCHORS, STYLE_ANCHORS } from "../server/pipeline/synthesise/face-looks";
import { proceduralIdentity } from "../server/pipeline/synthesise/identity";
import { renderPortrait } from "../server/pipeline/synthesise/portrait";
import { main as create } from "../server/cli/create";
import { parseFlags } from "../server/cli/run-cli";

const flags = parseFlags(process.argv.slice(2), ["portraits", "work", "only", "people", "out", "sheet", "from"]);
const SIZE = 256;
const POSITIONS = [-1, -0.75, -0.5, -0.25, 0, 0.25, 0.5, 0.75, 1];
const STYLE_STEPS = [0, 0.25, 0.5, 0.75, 1];
/** The slider's ends as the dataset's first two anchors draw them. */
const [YOUNGEST, OLDEST] = [AGE_ANCHORS[0]!.years, AGE_ANCHORS[1]!.years];
const CARTOON = STYLE_ANCHORS[1]!.look;
const yearsAt = (s: number) => (s < 0 ? -s * YOUNGEST : s * OLDEST);
const faceApi = RECOGNISERS.find((r) => r.name === "face-api")!;
const head = createHeadModel();

const png = (img: RgbImage) =>
  sharp(Buffer.from(img.rgb), { raw: { width: img.width, height: img.height, channels: 3 } }).png();

if (flags.sheet) {
  await contactSheet(flags.sheet);
  process.exit(0);
}
if (flags.from) {
  report((JSON.parse(fs.readFileSync(flags.from, "utf8")) as { rows: Row[] }).rows, true);
  process.exit(0);
}

const portraitsDir = flags.portraits ?? "../shared/testdata/portraits";
const work = flags.work ?? ".tmp/bench-age";
const people = (flags.people ?? "person-vlado,stock-emotions-a-").split(",").filter(Boolean);
const personOf = (file: string) => people.find((p) => path.basename(file).startsWith(p)) ?? path.basename(file);
if (!fs.existsSync(portraitsDir)) throw new Error(`bench:age: no portraits folder ${portraitsDir}`);
const all = fs
  .readdirSync(portraitsDir)
  .filter((f) => /\.(jpe?g|png|webp)$/i.test(f))
  .sort()
  .map((f) => path.join(portraitsDir, f));
const only = flags.only?.split(",");
const portraits = only ? all.filter((f) => only.includes(path.basename(f))) : all;

const embedCache = new Map<string, Embeddings | null>();
async function photoEmbedding(file: string): Promise<Embeddings | null> {
  if (!embedCache.has(file))
    embedCache.set(file, (await embedImage(await decodePortrait(fs.readFileSync(file)), "auto"))?.embeddings ?? null);
  return embedCache.get(file)!;
}

interface Row {
  portrait: string;
  /** Apparent age at each of POSITIONS (null: no face). */
  ages: Array<number | null>;
  /** face-api distance of each step to step 0. */
  identity: Array<number | null>;
  /** At the oldest step: nearest same-person photo and nearest other person's photo (face-api). */
  oldest: { same: number | null; other: number | null } | null;
  /** Share of frames with a face at each STYLE_STEPS. */
  styleFound: number[];
  trained: { ages: Array<number | null>; identity: Array<number | null> } | null;
}

async function measure(
  images: (s: number) => Promise<RgbImage>,
  picturesDir: string,
): Promise<{ ages: Array<number | null>; identity: Array<number | null>; oldest: Embeddings | null }> {
  const ages: Array<number | null> = [],
    embeds: Array<Embeddings | null> = [];
  for (const s of POSITIONS) {
    const image = await images(s);
    await png(image).toFile(path.join(picturesDir, `age-${s.toFixed(2)}.png`));
    ages.push((await apparentAge(image, "always"))?.age ?? null);
    embeds.push((await embedImage(image, "always"))?.embeddings ?? null);
  }
  const zero = embeds[POSITIONS.indexOf(0)];
  const identity = embeds.map((e) => (e && zero ? faceApi.distance(zero[faceApi.name], e[faceApi.name]) : null));
  return { ages, identity, oldest: embeds.at(-1) ?? null };
}

const rows: Row[] = [];
for (const file of portraits) {
  const name = path.basename(file).replace(/\.[^.]+$/, "");
  const dir = path.join(work, name);
  if (!fs.existsSync(path.join(dir, "job", "fit", "identity.json"))) {
    console.error(`bench:age: ${name}: a quick creation for its fit (once)`);
    try {
      await create(["--portrait", file, "--out", dir, "--config", "tiny"]);
    } catch (err) {
      console.error(`bench:age: ${name}: no creation (${(err as Error).message})`);
      continue;
    }
  }
  const creation = locateCreation(dir);
  const fit = readFit(creation);
  const identity = readFitIdentity(creation, head);
  const camera = windowCamera(fit.camera, photoWindow(fit.camera, frontalCamera(SIZE)), SIZE);
  const own = sourceAttributes(identity);
  const pictures = path.join(dir, "bench-age");
  fs.mkdirSync(pictures, { recursive: true });
  const scene = (attributes: Record<string, Record<string, number>>, cam: Camera, pose = fit) =>
    renderFittedScene(head, identity, identityFile(creation), { ...own, ...attributes }, pose, cam);

  const fitted = await measure((s) => scene({ age: { years: yearsAt(s) } }, camera), pictures);
  let oldest: Row["oldest"] = null;
  const others = all.filter((f) => f !== file);
  if (fitted.oldest && others.some((f) => personOf(f) === personOf(file))) {
    const near = { same: Infinity, other: Infinity };
    for (const f of others) {
      const e = await photoEmbedding(f);
      if (!e) continue;
      const d = faceApi.distance(fitted.oldest[faceApi.name], e[faceApi.name]);
      const k = personOf(f) === personOf(file) ? "same" : "other";
      near[k] = Math.min(near[k], d);
    }
    oldest = { same: near.same, other: near.other };
  }

  // Style: five yaws at the photo's expression and at a neutral face, at each step towards the cartoon.
  const neutral = {
    ...fit,
    expression: new Float32Array(fit.expression.length),
    pose: new Float32Array(fit.pose.length),
  };
  const styleFound: number[] = [];
  for (const t of STYLE_STEPS) {
    const style = { flat: t * CARTOON.flat, outline: t * CARTOON.outline, exaggerate: t * CARTOON.exaggerate };
    let found = 0,
      frames = 0;
    for (const yaw of [-30, -15, 0, 15, 30])
      for (const pose of [fit, neutral]) {
        const image = await scene({ style }, frontalCamera(SIZE, yaw), pose);
        if (yaw === 0 && pose === fit) await png(image).toFile(path.join(pictures, `style-${t.toFixed(2)}.png`));
        frames++;
        if (await findFace(image, "always")) found++;
      }
    styleFound.push(found / frames);
  }

  // The trained avatar, where its bundle learned age.
  let trained: Row["trained"] = null;
  if (creation.bundle) {
    const avatar = await readAvatarBundleDir(creation.bundle, {
      headFaceCount: head.faceCount,
      headShapeCount: head.shapeNames.length,
    });
    if (avatar.config.categories.includes("age")) {
      const renderer = new CpuAvatarRenderer(avatar, head);
      const trainedPictures = path.join(pictures, "trained");
      fs.mkdirSync(trainedPictures, { recursive: true });
      try {
        const m = await measure(async (s) => {
          await renderer.setLatents(sliderLatents(avatar.config, avatar.neutralLatents, avatar.anchors, { age: s }));
          const image = await renderer.render({ expression: fit.expression, pose: fit.pose }, camera, {
            background: BACKGROUND,
          });
          return toRgbImage(image.rgb, SIZE);
        }, trainedPictures);
        trained = { ages: m.ages, identity: m.identity };
      } finally {
        renderer.destroy();
      }
    }
  }
  const row: Row = {
    portrait: path.basename(file),
    ages: fitted.ages,
    identity: fitted.identity,
    oldest,
    styleFound,
    trained,
  };
  rows.push(row);
  report([row], false);
}

report(rows, true);
if (flags.out)
  fs.writeFileSync(flags.out, JSON.stringify({ positions: POSITIONS, styleSteps: STYLE_STEPS, rows }, null, 1));

function report(list: Row[], summary: boolean): void {
  const f = (x: number | null, d = 1) => (x === null ? "-" : (Math.abs(x) < 0.5 * 10 ** -d ? 0 : x).toFixed(d));
  /** Whether xs never goes down (ties allowed; a missing face fails). */
  const rises = (xs: Array<number | null>) => xs.every((x, i) => x !== null && (i === 0 || x >= xs[i - 1]!));
  const z = POSITIONS.indexOf(0);
  const line = (label: string, ages: Array<number | null>, identity: Array<number | null>) => {
    const rise = ages.at(-1) != null && ages[z] != null ? ages.at(-1)! - ages[z]! : null;
    const drop = ages[0] != null && ages[z] != null ? ages[0]! - ages[z]! : null;
    const worst = identity.every((d) => d !== null) ? Math.max(...(identity as number[])) : null;
    return `| ${label} | ${ages.map((a) => f(a, 0)).join(" / ")} | ${f(rise, 0)} | ${f(drop, 0)} | ${rises(ages.slice(z)) ? "yes" : "no"} | ${rises(ages.slice(0, z + 1)) ? "yes" : "no"} | ${f(worst, 2)} |`;
  };
  if (summary) {
    console.log(
      `\nApparent age (face-api AgeGenderNet) at age slider ${POSITIONS.join(", ")} (years ${POSITIONS.map(yearsAt).join(", ")})`,
    );
    console.log(
      "| portrait | ages | oldest - own | youngest - own | older side rises | younger side falls | worst identity (face-api to step 0) |",
    );
    console.log("|---|---|---:|---:|:-:|:-:|---:|");
  }
  for (const r of list) {
    if (!summary) {
      console.log(
        `${r.portrait}: ages ${r.ages.map((a) => f(a, 0)).join(" ")}; identity ${r.identity.map((d) => f(d, 2)).join(" ")}; oldest: same ${f(r.oldest?.same ?? null, 3)} other ${f(r.oldest?.other ?? null, 3)}; style faces ${r.styleFound.map((x) => `${Math.round(x * 100)}%`).join(" ")}${r.trained ? `; trained ages ${r.trained.ages.map((a) => f(a, 0)).join(" ")}` : ""}`,
      );
      continue;
    }
    console.log(line(r.portrait, r.ages, r.identity));
    if (r.trained) console.log(line(`${r.portrait} (trained avatar)`, r.trained.ages, r.trained.identity));
  }
  if (summary) {
    console.log("\n| portrait | oldest step: nearest same-person photo | nearest other person | verified |");
    console.log("|---|---:|---:|:-:|");
    for (const r of list.filter((x) => x.oldest))
      console.log(
        `| ${r.portrait} | ${f(r.oldest!.same, 3)} | ${f(r.oldest!.other, 3)} | ${r.oldest!.same! < r.oldest!.other! ? "yes" : "no"} |`,
      );
    console.log(`\n| portrait | faces found at style ${STYLE_STEPS.join(" / ")} |`);
    console.log("|---|---|");
    for (const r of list)
      console.log(`| ${r.portrait} | ${r.styleFound.map((x) => `${Math.round(x * 100)}%`).join(" / ")} |`);
  }
}

/** The project's own rendered people (procedural identities, no photo) at the age anchors and style steps. */
async function contactSheet(out: string): Promise<void> {
  const looks: Array<[string, Record<string, Record<string, number>>]> = [
    [`${YOUNGEST} years`, { age: { years: YOUNGEST } }],
    ["own age", {}],
    ["+20 years", { age: { years: 20 } }],
    [`+${OLDEST} years`, { age: { years: OLDEST } }],
    ["style 0.5", { style: { flat: 0.5, outline: 0.5, exaggerate: 0.5 } }],
    ["cartoon", { style: { ...CARTOON } }],
  ];
  const seeds = [3, 7, 12];
  const tile = 192;
  const tiles: Buffer[] = [];
  for (const seed of seeds) {
    const identity = proceduralIdentity(seed, head);
    for (const [, attributes] of looks) {
      // The project's own still renderer (synthesise/portrait.ts), turned 15 degrees.
      const portrait = await renderPortrait({
        head,
        identity,
        attributes: { ...sourceAttributes(identity), ...attributes },
        size: tile,
        yawDeg: 15,
        distance: 0.62,
        background: BACKGROUND,
      });
      const image = { width: tile, height: tile, rgb: portrait.rgb };
      tiles.push(await png(image).toBuffer());
    }
  }
  const labels = looks
    .map(
      ([label], i) =>
        `<text x="${i * tile + tile / 2}" y="20" font-size="15" font-family="sans-serif" fill="#ddd" text-anchor="middle">${label}</text>`,
    )
    .join("");
  const header = Buffer.from(
    `<svg width="${looks.length * tile}" height="28"><rect width="100%" height="100%" fill="#292b33"/>${labels}</svg>`,
  );
  await sharp({
    create: { width: looks.length * tile, height: seeds.length * tile + 28, channels: 3, background: "#292b33" },
  })
    .composite([
      { input: header, left: 0, top: 0 },
      ...tiles.map((input, i) => ({
        input,
        left: (i % looks.length) * tile,
        top: 28 + Math.floor(i / looks.length) * tile,
      })),
    ])
    .png()
    .toFile(out);
  console.log(`bench:age: contact sheet of ${seeds.length} rendered people x ${looks.length} looks -> ${out}`);
}
