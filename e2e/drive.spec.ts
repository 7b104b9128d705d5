import fs from "node:fs";
import { chromium, expect, test, type APIRequestContext } from "@playwright/test";
import { CHROMIUM_ARGS, CHROMIUM_PATH } from "./chromium";
import { DRIVE_VIDEO, JAW_MAX, driveVideo, drivenFace } from "./fixtures/drive-video";
import { closePagesAfterEachTest, openSynced } from "./helpers";
import { connectYClient } from "../server/testing/yjs-client";
import { driveMap, readDrive } from "../protocol/shared-state";
import { EXPRESSION_NAMES } from "../render-core/head";
import { parseClipJson } from "../render-core/animation";
import { pearson } from "../render-core/math/correlation";
import { percentile } from "../render-core/math/arrays";

closePagesAfterEachTest();

async function newAvatar(request: APIRequestContext, name: string): Promise<string> {
  const res = await request.post("/api/trpc/avatars.create", { data: { name } });
  return ((await res.json()) as { result: { data: { id: string } } }).result.data.id;
}

test("Drive with camera: the avatar follows a face the project rendered with known expressions, for everyone", async ({
  request,
  baseURL,
  browser,
}) => {
  test.setTimeout(240_000);
  const video = await driveVideo();
  const id = await newAvatar(request, "Drive e2e");
  // The driver's browser: Chromium's fake camera plays the rendered face, looping.
  const camBrowser = await chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: [
      ...CHROMIUM_ARGS,
      "--use-fake-device-for-media-stream",
      "--use-fake-ui-for-media-stream",
      `--use-file-for-fake-video-capture=${video}`,
    ],
  });
  // What everyone in the session receives: the shared drive, as it arrives.
  const watcher = await connectYClient(baseURL!, id);
  const received: Array<{ t: number; expression: number[]; pose: number[]; ageMs: number | null }> = [];
  driveMap(watcher.doc).observe(() => {
    const d = readDrive(watcher.doc);
    // Every process here shares this machine's clock, so the camera frame's time needs no offset.
    const ageMs = d?.at === undefined ? null : Date.now() - d.at;
    if (d) received.push({ t: performance.now(), expression: d.expression, pose: d.pose, ageMs });
  });
  try {
    const driver = await (await camBrowser.newContext({ baseURL, permissions: ["camera"] })).newPage();
    await openSynced(driver, `/avatars/${id}`);
    // Another person watching the streamed avatar.
    const viewer = await (await browser.newContext()).newPage();
    await openSynced(viewer, `/avatars/${id}`);
    const streamed = () =>
      viewer.getByTestId("stream-canvas").evaluate((c: HTMLCanvasElement) => Number(c.dataset.version));
    await expect.poll(streamed, { timeout: 60_000 }).toBeGreaterThanOrEqual(0);

    await driver.getByTestId("drive-start").click();
    await expect(driver.getByTestId("drive-status")).toContainText("Driving", { timeout: 90_000 });
    const before = await streamed();
    // Two loops of the video, and more.
    const started = performance.now();
    // Meanwhile, how old the face on the other viewer's screen is when a frame arrives: camera to screen.
    const screenAges = new Map<number, number>();
    while (performance.now() - started < 14_000) {
      const seen = await viewer
        .getByTestId("stream-canvas")
        .evaluate((c: HTMLCanvasElement) => ({ frame: Number(c.dataset.frames), age: c.dataset.driveAge ?? "" }));
      if (seen.age !== "") screenAges.set(seen.frame, Number(seen.age));
      await driver.waitForTimeout(100);
    }
    const status = (await driver.getByTestId("drive-status").textContent()) ?? "";
    const fps = Number(/([\d.]+) fps/.exec(status)?.[1]);
    const frameMs = Number(/(\d+) ms a frame/.exec(status)?.[1]);
    const solveMs = Number(/solve ([\d.]+) ms/.exec(status)?.[1]);
    console.log(`driver: ${status}`);
    const during = received.filter((r) => r.t >= started);
    console.log(`shared drive updates in 14 s: ${during.length}`);
    // The rate is a figure (printed above; docs/animation.md), not a target here: a loaded CI machine tracked at 10 fps
    // and shared 60 updates in 14 s. Two a second over two loops of the video are enough for the correlations below.
    expect(during.length).toBeGreaterThanOrEqual(14 * 2);
    // Everyone's stream follows.
    expect(await streamed()).toBeGreaterThan(before + 20);
    // End to end: the driver's camera frame to the shared update, and to the other viewer's streamed frame.
    const quantiles = (xs: number[]) => [50, 95].map((p) => Math.round(percentile(xs, p)));
    const sharedAges = during.flatMap((r) => (r.ageMs === null ? [] : [r.ageMs]));
    const ages = [...screenAges.values()];
    console.log(
      `camera to shared update p50/p95 ${quantiles(sharedAges).join(" / ")} ms (${sharedAges.length}); camera to the other viewer's screen p50/p95 ${quantiles(ages).join(" / ")} ms (${ages.length} frames sampled)`,
    );
    expect(sharedAges.length).toBe(during.length);
    expect(ages.length).toBeGreaterThanOrEqual(10);
    // A frame cannot show a face from before its camera frame, nor (on any machine that streams at all) one older than 10 s.
    expect(Math.min(...ages, ...sharedAges)).toBeGreaterThan(0);
    expect(quantiles(ages)[0]).toBeLessThan(10_000);

    // The recovered face against the known one, at the best alignment of the video's loop (its start is unknown).
    const E = (name: (typeof EXPRESSION_NAMES)[number]) => EXPRESSION_NAMES.indexOf(name);
    const got = {
      jaw: during.map((r) => r.pose[6]! / JAW_MAX),
      smile: during.map((r) => (r.expression[E("smileL")]! + r.expression[E("smileR")]!) / 2),
      brows: during.map(
        (r) =>
          (r.expression[E("browInnerRaiseL")]! +
            r.expression[E("browInnerRaiseR")]! +
            r.expression[E("browOuterRaiseL")]! +
            r.expression[E("browOuterRaiseR")]!) /
          4,
      ),
      yaw: during.map((r) => ((r.pose[1]! + r.pose[4]!) * 180) / Math.PI),
    };
    const loop = DRIVE_VIDEO.seconds;
    let best = { offset: 0, score: -Infinity, r: {} as Record<string, number> };
    for (let offset = 0; offset < loop; offset += 1 / 30) {
      const known = during.map((r) => drivenFace(((((r.t - started) / 1000 + offset) % loop) + loop) % loop));
      const r = {
        jaw: pearson(
          got.jaw,
          known.map((k) => k.jaw),
        ),
        smile: pearson(
          got.smile,
          known.map((k) => k.smile),
        ),
        brows: pearson(
          got.brows,
          known.map((k) => k.brows),
        ),
        yaw: pearson(
          got.yaw,
          known.map((k) => k.yawDeg),
        ),
      };
      const score = r.jaw + r.smile + r.brows + r.yaw;
      if (score > best.score) best = { offset, score, r };
    }
    console.log(
      `recovered against known (correlation, ${during.length} shared samples): ${Object.entries(best.r)
        .map(([k, v]) => `${k} ${v.toFixed(2)}`)
        .join(", ")}; ${fps.toFixed(1)} fps, ${frameMs} ms a camera frame of which ${solveMs} ms the solve`,
    );
    // Measured over runs on this 2-core machine (everything on it at once): jaw 0.58-0.87, smile 0.31-0.87, yaw
    // 0.99-1.00, brows -0.16-0.57 (the head's brow shapes move its points about 2 mm: docs/animation.md). A driver
    // that does not follow scores about 0.
    expect(best.r.jaw).toBeGreaterThanOrEqual(0.4);
    expect(best.r.smile).toBeGreaterThanOrEqual(0.2);
    expect(best.r.yaw).toBeGreaterThanOrEqual(0.9);

    // The tracker's own rate once the other person has left (the server still streams to the driver).
    await viewer.close();
    await driver.waitForTimeout(6000);
    console.log(`driver alone: ${await driver.getByTestId("drive-status").textContent()}`);

    // "I'm neutral now" takes the next frames as the neutral face again.
    await driver.getByTestId("drive-recalibrate").click();
    await expect(driver.getByTestId("drive-status")).toContainText("learning your neutral face");
    await expect(driver.getByTestId("drive-status")).not.toContainText("learning your neutral face", {
      timeout: 15_000,
    });

    // A take records and saves as a clip file.
    await driver.getByTestId("take-record").click();
    await driver.waitForTimeout(3000);
    const [download] = await Promise.all([driver.waitForEvent("download"), driver.getByTestId("take-save").click()]);
    const clip = parseClipJson(fs.readFileSync(await download.path(), "utf8"));
    console.log(`take: ${clip.frames} frames at ${clip.fps} fps`);
    expect(clip.frames).toBeGreaterThan(60);

    // Stopping gives the avatar back to everyone's controls.
    await driver.getByTestId("drive-stop").click();
    await expect.poll(() => readDrive(watcher.doc), { timeout: 5000 }).toBeNull();
  } finally {
    watcher.destroy();
    await camBrowser.close();
  }
});
