/**
 * The README's picture of two browsers editing one avatar together
 * (docs/images/two-browsers.png). Needs a running server (npm start) and
 * /usr/bin/chromium: `npx tsx scripts/readme-screenshot.ts http://127.0.0.1:3000`.
 */
import fs from "node:fs";
import { chromium, type Page } from "@playwright/test";
import sharp from "sharp";
import { CHROMIUM_ARGS, CHROMIUM_PATH } from "../e2e/chromium";

const base = process.argv[2] ?? "http://127.0.0.1:3000";
const out = process.argv[3] ?? "docs/images/two-browsers.png";

const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
const list = (await (await fetch(`${base}/api/trpc/avatars.list`)).json()) as {
  result: { data: Array<{ id: string; name: string }> };
};
const id = list.result.data[0]!.id;
const pages: Page[] = [];
for (const name of ["Ada", "Grace"]) {
  const context = await browser.newContext({ viewport: { width: 900, height: 1040 } });
  await context.addInitScript((n) => localStorage.setItem("perse-name", n), name);
  const page = await context.newPage();
  await page.goto(`${base}/avatars/${id}`);
  await page.getByTestId("sync-status").filter({ hasText: "synced" }).waitFor();
  pages.push(page);
}
const frames = (p: Page) => p.getByTestId("stream-canvas").evaluate((c: HTMLCanvasElement) => Number(c.dataset.frames));
for (const p of pages) while ((await frames(p)) < 1) await p.waitForTimeout(200);
await pages[0]!.getByTestId("slider-hair").fill("-0.8");
await pages[1]!.getByTestId("slider-hat").fill("0.6");
// Grace is dragging the lips slider while the picture is taken: Ada sees her ring on it.
await pages[1]!.evaluate(() =>
  document
    .querySelector<HTMLInputElement>("[data-testid=slider-lips]")
    ?.dispatchEvent(new PointerEvent("pointerdown", { bubbles: true })),
);
await pages[0]!.waitForTimeout(4000);
const shots = await Promise.all(pages.map((p) => p.screenshot()));
const [w, h] = [900, 1040];
await sharp({ create: { width: w * 2 + 16, height: h, channels: 3, background: { r: 12, g: 13, b: 16 } } })
  .composite(shots.map((input, i) => ({ input, left: i * (w + 16), top: 0 })))
  .png()
  .toFile(out);
fs.statSync(out);
console.log(`wrote ${out}`);
await browser.close();
