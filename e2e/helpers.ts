import fs from "node:fs";
import path from "node:path";
import { expect, test, type APIRequestContext, type Page } from "@playwright/test";

export async function demoAvatarId(request: APIRequestContext): Promise<string> {
  const res = await request.get("/api/trpc/avatars.list");
  expect(res.ok()).toBe(true);
  const body = (await res.json()) as { result: { data: Array<{ id: string; name: string }> } };
  const demo = body.result.data.find((a) => a.name === "Demo avatar");
  expect(demo, "the demo avatar is seeded at first start").toBeTruthy();
  return demo!.id;
}

export async function openSynced(page: Page, path: string): Promise<void> {
  await page.goto(path);
  await expect(page.getByTestId("sync-status")).toHaveText("synced");
}

/** Moves the hair slider to `value` the way a user's drag ends (input events). */
export async function setHair(page: Page, value: number): Promise<void> {
  await page.getByTestId("slider-hair").fill(String(value));
}

/** Moves the hair slider in one page, then in the other, and expects each change in the other page within 1 s. */
export async function expectHairBothWays(a: Page, b: Page, where: string): Promise<void> {
  for (const [from, to, value] of [
    [a, b, 0.37],
    [b, a, -0.61],
  ] as const) {
    const started = Date.now();
    await setHair(from, value);
    await expect(to.getByTestId("value-hair")).toHaveText(value.toFixed(2), { timeout: 1000 });
    const elapsed = Date.now() - started;
    console.log(`slider change seen ${where} in ${elapsed} ms`);
    expect(elapsed).toBeLessThan(1000);
  }
}

/**
 * Closes every browser context after each test of the file: a page left open keeps its stream, and the server
 * streams to at most STREAM_MAX_VIEWERS (16) viewers at once, so later tests would be refused as busy.
 */
export function closePagesAfterEachTest(): void {
  test.afterEach(async ({ browser }) => {
    await Promise.all(browser.contexts().map((c) => c.close()));
  });
}

/** Drops a file onto the drop zone as a drag from the desktop does. */
async function dropFile(page: Page, file: string, mimeType: string): Promise<void> {
  const bytes = fs.readFileSync(file).toString("base64");
  const dataTransfer = await page.evaluateHandle(
    ({ bytes, name, mimeType }) => {
      const dt = new DataTransfer();
      dt.items.add(new File([Uint8Array.from(atob(bytes), (c) => c.charCodeAt(0))], name, { type: mimeType }));
      return dt;
    },
    { bytes, name: path.basename(file), mimeType },
  );
  await page.getByTestId("drop-zone").dispatchEvent("drop", { dataTransfer });
}

/** Puts a photo on /new (picked in the file dialog, or dropped) and waits for the server's answer. */
export async function upload(page: Page, file: string, how: "pick" | "drop" = "pick"): Promise<void> {
  await page.goto("/new");
  if (how === "drop") await dropFile(page, file, "image/jpeg");
  else await page.getByTestId("portrait-input").setInputFiles(file);
  await expect(page.getByTestId("portrait-analysed").or(page.getByTestId("portrait-refused"))).toBeVisible({
    timeout: 60_000,
  });
}

/** Uploads the portrait and starts a job (confirming the right to use the photo); returns the job's id from the page it lands on. */
export async function startJob(page: Page, portrait: string, name: string, quality: "tiny" | "auto"): Promise<string> {
  await upload(page, portrait);
  await page.getByTestId("new-avatar-name").fill(name);
  await page.getByTestId("new-avatar-quality").selectOption(quality);
  await page.getByTestId("photo-consent").check();
  await page.getByTestId("create-avatar").click();
  await page.waitForURL(/\/jobs\/[^/]+$/);
  return decodeURIComponent(new URL(page.url()).pathname.split("/").pop()!);
}
