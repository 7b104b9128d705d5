/**
 * The pictures of docs/portrait-pipeline.md: the New avatar page after an
 * upload, and the job page while the avatar trains
 * (docs/images/new-avatar.png). Needs a running server (npm start) and
 * /usr/bin/chromium:
 *   npx tsx scripts/new-avatar-screenshots.ts http://127.0.0.1:3000 [portrait.jpg]
 * It uploads the portrait and starts a quick (tiny) job, which it leaves to finish.
 */
import fs from "node:fs";
import { chromium } from "@playwright/test";
import sharp from "sharp";
import { CHROMIUM_ARGS, CHROMIUM_PATH } from "../e2e/chromium";

const base = process.argv[2] ?? "http://127.0.0.1:3000";
const portrait = process.argv[3] ?? "e2e/fixtures/portrait.jpg";
const out = "docs/images/new-avatar.png";
const [w, h] = [900, 1100];

const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
const page = await (await browser.newContext({ viewport: { width: w, height: h } })).newPage();
await page.goto(`${base}/new`);
await page.getByTestId("portrait-input").setInputFiles(portrait);
await page.getByTestId("create-avatar").waitFor();
await page.waitForTimeout(500);
const analysed = await page.screenshot();

await page.getByTestId("new-avatar-quality").selectOption("tiny");
await page.getByTestId("photo-consent").check();
await page.getByTestId("create-avatar").click();
await page.waitForURL(/\/jobs\//);
// The first loss curve: the dataset's contact sheet and the fit's pictures are on the page by then.
await page.getByTestId("artifact-loss-curve").locator("img").waitFor({ timeout: 180_000 });
await page.waitForTimeout(800);
const progress = await page.screenshot();

await sharp({ create: { width: w * 2 + 16, height: h, channels: 3, background: { r: 12, g: 13, b: 16 } } })
  .composite([analysed, progress].map((input, i) => ({ input, left: i * (w + 16), top: 0 })))
  .png({ palette: true, quality: 90, compressionLevel: 9 })
  .toFile(out);
fs.statSync(out);
console.log(`wrote ${out}`);
await browser.close();
