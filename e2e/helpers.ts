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
