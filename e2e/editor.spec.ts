import fs from "node:fs";
import { expect, test, type APIRequestContext, type Browser, type Page } from "@playwright/test";
import sharp from "sharp";
import { VIEW } from "../protocol/shared-state";
import { poseFromControls } from "../render-core/animation";
import { CpuAvatarRenderer } from "../render-core/avatar/avatar-renderer";
import { sliderLatents } from "../render-core/avatar/latent";
import { readAvatarBundle } from "../render-core/formats/avatar-bundle";
import { readSplatFile } from "../render-core/formats";
import { renderCpu } from "../render-core/raster/render.cpu";
import { createHeadModel, type HeadModel } from "../render-core/head";
import { orbitCamera } from "../render-core/math/camera";
import { mse, psnrFromMse } from "../render-core/math/image-metrics";
import { imageToRgb8 } from "../server/images/png";
import { closePagesAfterEachTest, demoAvatarId, openSynced, setHair } from "./helpers";
import { sparkPicture } from "./third-party/spark-view";

closePagesAfterEachTest();

/** The page's view size (VIEW_SIZE in app/components/AvatarRoom.tsx): the stream's frames are this square. */
const SIZE = 384;
/** The lowest JPEG quality the server's stream adapts down to (server/realtime/stream.ts). */
const LOWEST_QUALITY = 40;

async function newAvatar(request: APIRequestContext, name: string): Promise<string> {
  const res = await request.post("/api/trpc/avatars.create", { data: { name } });
  expect(res.ok()).toBe(true);
  return ((await res.json()) as { result: { data: { id: string } } }).result.data.id;
}

/** The streamed canvas: how many frames it has drawn and the document version of the last (cheap to poll). */
async function streamed(page: Page): Promise<{ frames: number; version: number }> {
  return page
    .getByTestId("stream-canvas")
    .evaluate((c: HTMLCanvasElement) => ({ frames: Number(c.dataset.frames), version: Number(c.dataset.version) }));
}

/** The canvas's RGBA pixels, every 4th row and column (enough to compare frames, small to transfer). */
async function pixels(page: Page): Promise<number[]> {
  return page.getByTestId("stream-canvas").evaluate((c: HTMLCanvasElement) => {
    const d = c.getContext("2d")!.getImageData(0, 0, c.width, c.height).data;
    const out: number[] = [];
    for (let y = 0; y < c.height; y += 4)
      for (let x = 0; x < c.width; x += 4) for (let k = 0; k < 4; k++) out.push(d[(y * c.width + x) * 4 + k]!);
    return out;
  });
}

function meanAbsDiff(a: number[], b: number[]): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i]! - b[i]!);
  return s / a.length;
}

/** The whole canvas as 8-bit RGB [SIZE, SIZE, 3]: the last frame as the browser decoded it. */
async function canvasRgb(page: Page): Promise<Uint8Array> {
  const rgba = await page
    .getByTestId("stream-canvas")
    .evaluate((c: HTMLCanvasElement) => Array.from(c.getContext("2d")!.getImageData(0, 0, c.width, c.height).data));
  return Uint8Array.from({ length: (rgba.length / 4) * 3 }, (_, i) => rgba[Math.floor(i / 3) * 4 + (i % 3)]!);
}

let head: HeadModel | null = null;

/**
 * The reference frame: the avatar rendered in this process by the CPU twins, from its bundle (downloaded as the
 * page's LOCAL mode does), at the stream's default camera and size, for the given sliders and pose controls.
 */
async function referenceRgb(
  request: APIRequestContext,
  avatarId: string,
  positions: Record<string, number>,
  controls: Record<string, number>,
  ends: Record<string, [number, number]> = {},
): Promise<Uint8Array> {
  head ??= createHeadModel();
  const read = async (name: string) => {
    const url = `/api/avatars/${encodeURIComponent(avatarId)}/bundle/${name}`;
    // A kept-alive socket the server closed while idle (a loaded machine stretches the gaps) resets once: ask again.
    const res = await request.get(url).catch((err: Error) => {
      if (!/ECONNRESET/.test(err.message)) throw err;
      return request.get(url);
    });
    expect(res.ok(), `bundle file ${name}`).toBe(true);
    return new Uint8Array(await res.body());
  };
  const avatar = await readAvatarBundle(read, {
    headFaceCount: head.faceCount,
    headShapeCount: head.shapeNames.length,
  });
  const renderer = new CpuAvatarRenderer(avatar, head);
  try {
    await renderer.setLatents(sliderLatents(avatar.config, avatar.neutralLatents, avatar.anchors, positions, ends));
    const camera = orbitCamera({ width: SIZE, height: SIZE, ...VIEW.camera, target: VIEW.target });
    return new Uint8Array(
      imageToRgb8(await renderer.render(poseFromControls(controls), camera, { background: VIEW.background })),
    );
  } finally {
    renderer.destroy();
  }
}

/** `rgb` [SIZE, SIZE, 3] through a JPEG encoder set as the server's is, at `quality`, and decoded again. */
async function jpegRoundTrip(rgb: Uint8Array, quality: number): Promise<Uint8Array> {
  const jpeg = await sharp(rgb, { raw: { width: SIZE, height: SIZE, channels: 3 } })
    .jpeg({ quality, mozjpeg: false })
    .toBuffer();
  return new Uint8Array(await sharp(jpeg).raw().toBuffer());
}

/** PSNR in dB of two 8-bit images of the same size. */
const psnr = (a: Uint8Array, b: Uint8Array) => psnrFromMse(mse(a, b) / 255 ** 2);

/**
 * The lowest PSNR a streamed frame of `expected` may score against it. The server's JPEG at the lowest quality it
 * adapts to costs what is measured here on `expected` itself (40-43 dB on these avatars). Allowed on top: as much
 * squared error again for the server rendering with WebGPU where the reference uses the CPU twins, and for the
 * browser's JPEG decoder (together about a third of the q80 error: frames score 45-47 dB at q80-82). Twice the
 * squared error is 3 dB less. A frame of the state before scores 28-31 dB (hair 0 instead of 0.9); the jaw shut
 * instead of open scores 36-38.5 dB, near the tolerance, so that test also compares with the shut jaw.
 */
async function psnrTolerance(expected: Uint8Array): Promise<number> {
  return psnr(expected, await jpegRoundTrip(expected, LOWEST_QUALITY)) - 10 * Math.log10(2);
}

/**
 * The largest change of any 8 x 8 block's mean brightness (JPEG's luma blocks, BT.601 weights), in 8-bit levels.
 * JPEG keeps that mean (the block's DC coefficient) to about a level at any quality; motion moves it by many.
 */
function largestBlockChange(a: Uint8Array, b: Uint8Array): number {
  let largest = 0;
  for (let by = 0; by < SIZE; by += 8)
    for (let bx = 0; bx < SIZE; bx += 8) {
      let d = 0;
      for (let y = by; y < by + 8; y++)
        for (let x = bx; x < bx + 8; x++) {
          const i = (y * SIZE + x) * 3;
          d += 0.299 * (a[i]! - b[i]!) + 0.587 * (a[i + 1]! - b[i + 1]!) + 0.114 * (a[i + 2]! - b[i + 2]!);
        }
      largest = Math.max(largest, Math.abs(d) / 64);
    }
  return largest;
}

/** A new avatar open in two browsers (separate contexts, so separate people), both synced. */
async function twoEditors(
  browser: Browser,
  request: APIRequestContext,
  name: string,
): Promise<{ id: string; a: Page; b: Page }> {
  const id = await newAvatar(request, name);
  const [a, b] = [await (await browser.newContext()).newPage(), await (await browser.newContext()).newPage()];
  await openSynced(a, `/avatars/${id}`);
  await openSynced(b, `/avatars/${id}`);
  return { id, a, b };
}

async function firstFrame(page: Page): Promise<void> {
  await expect.poll(async () => (await streamed(page)).frames, { timeout: 30_000 }).toBeGreaterThan(0);
}

test("a slider moved in one browser changes the frames the server streams to another", async ({ browser, request }) => {
  test.setTimeout(90_000);
  const { id, a, b } = await twoEditors(browser, request, "Stream e2e");
  await firstFrame(a);
  await firstFrame(b);
  // The head fills the middle of the picture, on the server's background colour elsewhere.
  const before = await streamed(b);
  const beforePx = await pixels(b);
  expect(
    meanAbsDiff(
      beforePx.slice(0, 400),
      new Array(400).fill(0).map((_, i) => [41, 43, 51, 255][i % 4]!),
    ),
  ).toBeLessThan(8);
  const expected = await referenceRgb(request, id, { hair: 0.9 }, {});
  const tolerance = await psnrTolerance(expected);

  const started = Date.now();
  await setHair(a, 0.9);
  // Polled every 50 ms, so that the time below is the stream's and not the poll's.
  await expect
    .poll(async () => (await streamed(b)).version, { timeout: 15_000, intervals: [50] })
    .toBeGreaterThan(before.version);
  const elapsed = Date.now() - started;
  console.log(
    `hair change streamed to the other browser in ${elapsed} ms (${await a.getByTestId("stream-status").textContent()})`,
  );
  // The first frame of the new version shows the avatar with hair 0.9: not any change, that one.
  const got = psnr(await canvasRgb(b), expected);
  console.log(
    `the other browser's frame against the reference: ${got.toFixed(1)} dB (at least ${tolerance.toFixed(1)})`,
  );
  expect(got).toBeGreaterThanOrEqual(tolerance);
  await expect(a.getByTestId("stream-status")).toContainText(/STREAM · [\d.]+ fps/);
  await expect(a.getByTestId("stream-status")).toContainText(/change to frame \d+ ms/);
  // One frame on this machine, now: the editor's own change-to-frame time (sync, bake, deform, rasterise, read
  // back, JPEG, decode): 0.9 s on the 2 cores with the two browsers, up to 5.4 s while other work shares them too
  // (a 512 px frame alone takes 0.5 s, docs/benchmarks.md). The server renders one frame at a time, so B's can
  // queue behind A's: at most one frame more, plus the page's 50 ms flush and the fill's and this poll's round
  // trips (500 ms). Measured 1.2-1.5 times A's (1.4 s against 0.9 s).
  const editorMs = Number(
    /change to frame (\d+) ms/.exec((await a.getByTestId("stream-status").textContent()) ?? "")![1],
  );
  expect(elapsed).toBeLessThan(2 * editorMs + 500);
});

test("a playing clip changes the frames; undo restores the previous state for everyone", async ({
  browser,
  request,
}) => {
  test.setTimeout(90_000);
  const { a, b } = await twoEditors(browser, request, "Clip e2e");
  await firstFrame(b);

  await a.getByTestId("clip-select").selectOption("talk");
  await a.getByTestId("clip-play").click();
  await expect(b.getByTestId("clip-stop")).toHaveText("Stop talk");
  // From a frame that already shows the playing state, three more frames come without any document change.
  // (a frame being rendered when play arrived may still show the version before it: skip two)
  const seen = (await streamed(b)).frames;
  await expect.poll(async () => (await streamed(b)).frames, { timeout: 30_000 }).toBeGreaterThan(seen + 1);
  const start = await streamed(b);
  const startRgb = await canvasRgb(b);
  // The server changes the JPEG quality from frame to frame (40-90), so the same picture sent again differs
  // too: the start frame re-encoded at those qualities moves some 8 x 8 block's brightness by `requant`
  // (measured 1.6 levels). A frame of the clip moving moves the mouth's blocks by more than twice that
  // (measured 30 levels on the first frame polled).
  let requant = 0;
  for (const q of [40, 50, 60, 70, 80, 90])
    requant = Math.max(requant, largestBlockChange(await jpegRoundTrip(startRgb, q), startRgb));
  await expect
    .poll(async () => largestBlockChange(await canvasRgb(b), startRgb), { timeout: 30_000 })
    .toBeGreaterThan(2 * requant);
  await expect.poll(async () => (await streamed(b)).frames, { timeout: 30_000 }).toBeGreaterThan(start.frames + 2);
  expect((await streamed(b)).version).toBe(start.version);
  await a.getByTestId("clip-stop").click();
  await expect(b.getByTestId("clip-play")).toBeVisible();

  await setHair(a, 0.4);
  await expect(b.getByTestId("value-hair")).toHaveText("0.40");
  await a.waitForTimeout(600); // a separate undo step
  await setHair(a, -0.7);
  await expect(b.getByTestId("value-hair")).toHaveText("-0.70");
  await a.getByTestId("undo").click();
  await expect(b.getByTestId("value-hair")).toHaveText("0.40");
  await expect(a.getByTestId("value-hair")).toHaveText("0.40");
  await a.getByTestId("redo").click();
  await expect(b.getByTestId("value-hair")).toHaveText("-0.70");
});

test("a view link watches the stream with every control disabled", async ({ browser, request }) => {
  test.setTimeout(60_000);
  const id = await newAvatar(request, "View e2e");
  const res = await request.post("/api/trpc/shareLinks.create", { data: { avatarId: id, role: "view" } });
  const url = ((await res.json()) as { result: { data: { url: string } } }).result.data.url;
  const viewer = await (await browser.newContext()).newPage();
  await viewer.goto(new URL(url).pathname);
  await expect(viewer.getByTestId("role-badge")).toHaveText("View only");
  await firstFrame(viewer);
  for (const control of ["slider-hair", "reset", "random", "undo", "clip-play", "clip-select"])
    await expect(viewer.getByTestId(control)).toBeDisabled();
});

test("the page's own render (LOCAL) and the server's stream (STREAM) show the same picture", async ({
  browser,
  request,
}) => {
  test.setTimeout(120_000);
  const { a, b } = await twoEditors(browser, request, "Local e2e");
  await a.getByTestId("mode-local").click();
  await expect(a.getByTestId("stream-status")).toContainText("LOCAL", { timeout: 60_000 });
  await expect
    .poll(() => a.getByTestId("local-canvas").evaluate((c: HTMLCanvasElement) => Number(c.dataset.frames)), {
      timeout: 60_000,
    })
    .toBeGreaterThan(0);
  await firstFrame(b);

  const before = (await streamed(b)).version;
  await setHair(a, -0.8);
  await expect(b.getByTestId("value-hair")).toHaveText("-0.80");
  const localFrames = await a.getByTestId("local-canvas").evaluate((c: HTMLCanvasElement) => Number(c.dataset.frames));
  await expect
    .poll(() => a.getByTestId("local-canvas").evaluate((c: HTMLCanvasElement) => Number(c.dataset.frames)), {
      timeout: 60_000,
    })
    .toBeGreaterThan(localFrames);
  // B's stream shows the change (the slider is one document update).
  await expect.poll(async () => (await streamed(b)).version, { timeout: 30_000 }).toBeGreaterThan(before);
  const local = await a
    .getByTestId("local-canvas")
    .evaluate((c: HTMLCanvasElement) => Array.from(c.getContext("2d")!.getImageData(0, 0, c.width, c.height).data));
  const remote = await b
    .getByTestId("stream-canvas")
    .evaluate((c: HTMLCanvasElement) => Array.from(c.getContext("2d")!.getImageData(0, 0, c.width, c.height).data));
  const rgb = (rgba: number[]) => Uint8Array.from(rgba.filter((_, i) => i % 4 !== 3));
  const picture = psnr(rgb(local), rgb(remote));
  console.log(`LOCAL vs STREAM picture: PSNR ${picture.toFixed(1)} dB`);
  expect(picture).toBeGreaterThanOrEqual(30);
});

test("a saved preset is shared, and the expression controls move the streamed face", async ({ browser, request }) => {
  test.setTimeout(90_000);
  const { id, a, b } = await twoEditors(browser, request, "Preset e2e");
  await setHair(a, 0.55);
  await a.getByTestId("preset-name").fill("long");
  await a.getByTestId("preset-save").click();
  await expect(b.getByTestId("preset")).toHaveCount(1);
  await setHair(b, -0.3);
  await expect(a.getByTestId("value-hair")).toHaveText("-0.30");
  await b.getByTestId("preset-apply-long").click();
  await expect(a.getByTestId("value-hair")).toHaveText("0.55");

  await firstFrame(b);
  const [open, shut] = [
    await referenceRgb(request, id, { hair: 0.55 }, { jawOpen: 1 }),
    await referenceRgb(request, id, { hair: 0.55 }, {}),
  ];
  const tolerance = await psnrTolerance(open);
  await a.getByTestId("pose-jawOpen").fill("1");
  // B's stream comes to show the preset's hair with the jaw open. (Waiting for a newer document version is not
  // enough: the first newer frame can still be the preset's, jaw shut.) The jaw moves this placeholder's picture
  // little (open against shut: 36-39.5 dB, about the tolerance), so a frame counts only when it is also nearer the
  // open jaw than the shut one, by 3 dB (half the squared error): measured open frames score 46.5-46.9 dB against
  // the open jaw and 36.6-38.2 against the shut one; a shut frame scores the other way round and keeps the poll
  // waiting until the open jaw arrives (or fails it after 30 s).
  let frame: Uint8Array = new Uint8Array();
  const margin = (f: Uint8Array) => psnr(f, open) - Math.max(tolerance, psnr(f, shut) + 3);
  await expect.poll(async () => margin((frame = await canvasRgb(b))), { timeout: 30_000 }).toBeGreaterThanOrEqual(0);
  console.log(
    `jaw open: the other browser's frame scores ${psnr(frame, open).toFixed(1)} dB against the open jaw, ${psnr(frame, shut).toFixed(1)} against the shut one`,
  );
});

test("following another viewer shows what they see; each camera is otherwise one's own", async ({
  browser,
  request,
}) => {
  test.setTimeout(90_000);
  const { a, b } = await twoEditors(browser, request, "Follow e2e");
  await firstFrame(a);
  await firstFrame(b);
  // A turns its own camera by dragging; B's view does not move.
  const box = (await a.getByTestId("stream-canvas").boundingBox())!;
  const aFrames = (await streamed(a)).frames;
  await a.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await a.mouse.down();
  await a.mouse.move(box.x + box.width / 2 - 200, box.y + box.height / 2, { steps: 8 });
  await a.mouse.up();
  await expect.poll(async () => (await streamed(a)).frames, { timeout: 30_000 }).toBeGreaterThan(aFrames + 1);
  await b.waitForTimeout(1500);
  expect(meanAbsDiff(await pixels(a), await pixels(b))).toBeGreaterThan(2);
  // B follows A: its next frames show A's view.
  await b.getByTestId("follow").click();
  await expect(b.getByTestId("follow")).toHaveText("following");
  await expect.poll(async () => meanAbsDiff(await pixels(a), await pixels(b)), { timeout: 30_000 }).toBeLessThan(1.5);
});

test("every anchor of every category is reachable: the last one, picked at a slider's end, is what the stream shows", async ({
  browser,
  request,
}) => {
  test.setTimeout(240_000);
  // The demo avatar has six anchors per category (a new avatar's placeholder has two).
  const id = await demoAvatarId(request);
  const page = await (await browser.newContext()).newPage();
  await openSynced(page, `/avatars/${id}`);
  await page.getByTestId("reset").click();
  await firstFrame(page);
  const categories = await page.locator('[data-testid^="end-"][data-testid$="-1"]').evaluateAll((list) =>
    list.map((el) => ({
      name: el.getAttribute("data-testid")!.slice("end-".length, -"-1".length),
      last: (el as HTMLSelectElement).options.length - 1,
    })),
  );
  expect(categories.map((c) => c.name)).toEqual([
    "skin",
    "lips",
    "eyebrows",
    "hair",
    "beard",
    "eyewear",
    "hat",
    "earrings",
  ]);
  const positions: Record<string, number> = {};
  const ends: Record<string, [number, number]> = {};
  // The picture before the category moves (at first, every slider at 0).
  let before = await referenceRgb(request, id, {}, {});
  try {
    // One category after another, each to its last anchor (the earlier ones stay there).
    for (const { name, last } of categories) {
      expect(last).toBeGreaterThanOrEqual(2);
      const secondAnchor = await referenceRgb(request, id, { ...positions, [name]: 1 }, {}, ends);
      positions[name] = 1;
      ends[name] = [0, last];
      const expected = await referenceRgb(request, id, positions, {}, ends);
      await page.getByTestId(`end-${name}-1`).selectOption(String(last));
      await expect(page.getByTestId(`attribute-${name}`).locator("img").last()).toHaveAttribute(
        "src",
        new RegExp(`thumbs/${name}-${last}\\.png`),
      );
      await page.getByTestId(`slider-${name}`).fill("1");
      // Some anchors differ little in the whole picture (earrings against the second anchor: 50 dB; eyewear
      // against none: 40 dB, above the PSNR tolerance), so the frame is also compared on the pixels where the
      // last anchor's reference differs from another state's by more than 24 levels summed over RGB: there it
      // must be at least 1.5 times as near the last anchor's picture as the other's. The other states: the
      // second anchor (where the slider's end was) and the picture before this category moved. Measured on the
      // references through JPEG at quality 40: earrings (182 pixels) 12.4 levels from the right picture and 29.6
      // from the second anchor; the other categories 7-8 against 32-77.
      const contrasts = [
        { label: "anchor 1", other: secondAnchor },
        { label: "before", other: before },
      ].map(({ label, other }) => {
        const mask: number[] = [];
        for (let i = 0; i < expected.length; i += 3) {
          let d = 0;
          for (let k = 0; k < 3; k++) d += Math.abs(expected[i + k]! - other[i + k]!);
          if (d > 24) mask.push(i);
        }
        expect(mask.length, `${name}: the last anchor changes the picture from ${label}`).toBeGreaterThan(20);
        const near = (a: Uint8Array, b: Uint8Array) => {
          let d = 0;
          for (const i of mask) for (let k = 0; k < 3; k++) d += Math.abs(a[i + k]! - b[i + k]!);
          return d / mask.length;
        };
        return {
          margin: (f: Uint8Array) => near(f, other) - 1.5 * near(f, expected),
          describe: (f: Uint8Array) =>
            `on the ${mask.length} pixels that tell it from ${label}, ${near(f, expected).toFixed(1)} levels from it and ${near(f, other).toFixed(1)} from ${label}`,
        };
      });
      const tolerance = await psnrTolerance(expected);
      let frame: Uint8Array = new Uint8Array();
      const margin = (f: Uint8Array) => Math.min(psnr(f, expected) - tolerance, ...contrasts.map((c) => c.margin(f)));
      const sent = () => page.getByTestId("stream-canvas").getAttribute("data-frame-size");
      const report = async () =>
        `${name} at anchor ${last}: ${psnr(frame, expected).toFixed(1)} dB (at least ${tolerance.toFixed(1)}); ${contrasts.map((c) => c.describe(frame)).join("; ")}; sent as ${await sent()}`;
      try {
        await expect
          .poll(async () => margin((frame = await canvasRgb(page))), { timeout: 60_000 })
          .toBeGreaterThanOrEqual(0);
      } catch (err) {
        throw new Error(`${await report()}\n${(err as Error).message}`);
      }
      before = expected;
      console.log(await report());
    }
  } finally {
    // The demo avatar is shared by the other tests.
    await page.getByTestId("reset").click();
  }
});

test("the avatar as it looks now downloads as .glb, .ply and .splat, and each renders as the editor shows it", async ({
  browser,
  request,
}) => {
  test.setTimeout(180_000);
  const { id, a } = await twoEditors(browser, request, "Export e2e");
  await setHair(a, 0.7);
  await a.getByTestId("pose-jawOpen").fill("0.8");
  const positions = { hair: 0.7 };
  const controls = { jawOpen: 0.8 };
  const expected = await referenceRgb(request, id, positions, controls);
  const tolerance = await psnrTolerance(expected);
  // The editor's own stream shows the state first (so the export is taken of the same state).
  await expect
    .poll(async () => psnr(await canvasRgb(a), expected), { timeout: 60_000 })
    .toBeGreaterThanOrEqual(tolerance);
  const editorFrame = await canvasRgb(a);
  const camera = orbitCamera({ width: SIZE, height: SIZE, ...VIEW.camera, target: VIEW.target });
  await a.getByTestId("export-menu").locator("summary").click();
  const files = new Map<string, Uint8Array>();
  for (const format of ["glb", "ply", "splat"]) {
    const [download] = await Promise.all([a.waitForEvent("download"), a.getByTestId(`export-${format}`).click()]);
    expect(download.suggestedFilename()).toBe(`Export-e2e.${format}`);
    const bytes = new Uint8Array(fs.readFileSync(await download.path()));
    const cloud = readSplatFile(bytes, download.suggestedFilename());
    const rendered = new Uint8Array(imageToRgb8(renderCpu(cloud, camera, { background: VIEW.background })));
    const vsReference = psnr(rendered, expected);
    const vsEditor = psnr(rendered, editorFrame);
    console.log(
      `${format} (${bytes.length} bytes, ${cloud.count} Gaussians): its render scores ${vsReference.toFixed(1)} dB against the reference, ${vsEditor.toFixed(1)} against the editor's streamed frame (at least ${tolerance.toFixed(1)})`,
    );
    // .ply and .glb hold the posed Gaussians in float32: the same picture (measured: identical). The .splat
    // rounds colours and rotations to 8 bits (measured 63.9 dB against the reference).
    expect(vsReference).toBeGreaterThanOrEqual(format === "splat" ? 50 : 80);
    expect(vsEditor).toBeGreaterThanOrEqual(tolerance);
    files.set(format, bytes);
  }

  // A third-party viewer: Spark (three.js, WebGL2) draws the .ply and the .splat at the editor's camera, on black;
  // its picture against the project's CPU render of the same file at the same camera.
  const viewer = await (await browser.newContext()).newPage();
  const { yawDeg, pitchDeg, distance } = VIEW.camera;
  const [yaw, pitch] = [(yawDeg * Math.PI) / 180, (pitchDeg * Math.PI) / 180];
  const [tx, ty, tz] = VIEW.target;
  const eye: [number, number, number] = [
    tx + distance * Math.cos(pitch) * Math.sin(yaw),
    ty + distance * Math.sin(pitch),
    tz + distance * Math.cos(pitch) * Math.cos(yaw),
  ];
  for (const format of ["ply", "splat"] as const) {
    const bytes = files.get(format)!;
    const ours = new Uint8Array(
      imageToRgb8(renderCpu(readSplatFile(bytes, `x.${format}`), camera, { background: [0, 0, 0] })),
    );
    const spark = await sparkPicture(viewer, bytes, {
      fileType: format,
      width: SIZE,
      height: SIZE,
      fovYDeg: 30,
      eye,
      target: [tx, ty, tz],
    });
    const agreement = psnr(ours, spark);
    console.log(`Spark's picture of the ${format} against ours: ${agreement.toFixed(1)} dB`);
    // Measured 38.5 (.ply) and 38.6 dB (.splat): two rasterisers of one cloud. A file Spark read wrongly (axes, log
    // scales, colours) shows another picture, tens of dB lower.
    expect(agreement).toBeGreaterThanOrEqual(30);
  }
});
