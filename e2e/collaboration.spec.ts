import { expect, test } from "@playwright/test";
import * as Y from "yjs";
import * as encoding from "lib0/encoding";
import * as syncProtocol from "y-protocols/sync";
import { closePagesAfterEachTest, demoAvatarId, expectHairBothWays, openSynced, setHair } from "./helpers";

closePagesAfterEachTest();

test("two browsers on one avatar see each other's slider change within 1 s", async ({ browser, request }) => {
  const id = await demoAvatarId(request);
  const a = await (await browser.newContext()).newPage();
  const b = await (await browser.newContext()).newPage();
  await openSynced(a, `/avatars/${id}`);
  await openSynced(b, `/avatars/${id}`);
  await expect(a.getByTestId("peer")).toHaveCount(2);
  await expect(b.getByTestId("peer")).toHaveCount(2);

  await expectHairBothWays(a, b, "by the other browser");
});

test("a view link sees changes live but cannot make any, not even with a forged Yjs update", async ({
  browser,
  request,
}) => {
  const id = await demoAvatarId(request);
  const owner = await (await browser.newContext()).newPage();
  await openSynced(owner, `/avatars/${id}`);
  await setHair(owner, 0.25);

  // The owner makes a view link through the share dialog.
  await owner.getByTestId("open-share").click();
  await owner.getByTestId("share-role").selectOption("view");
  await owner.getByTestId("share-create").click();
  const url = (await owner.getByTestId("share-url").textContent())!;
  expect(url).toMatch(/\/s\/[A-Za-z0-9_-]{32}$/);
  const token = url.split("/s/")[1]!;
  await owner.getByLabel("Close").click();

  const viewer = await (await browser.newContext()).newPage();
  await openSynced(viewer, new URL(url).pathname);
  await expect(viewer.getByTestId("role-badge")).toHaveText("View only");
  await expect(viewer.getByTestId("value-hair")).toHaveText("0.25");
  await expect(viewer.getByTestId("slider-hair")).toBeDisabled();

  // Live: the owner's change reaches the viewer.
  await setHair(owner, 0.5);
  await expect(viewer.getByTestId("value-hair")).toHaveText("0.50", { timeout: 1000 });

  // Forged: a raw websocket from the viewer's page carrying a hand-made update.
  const scratch = new Y.Doc();
  scratch.getMap("attributes").set("hair", -1);
  const enc = encoding.createEncoder();
  encoding.writeVarUint(enc, 0);
  syncProtocol.writeUpdate(enc, Y.encodeStateAsUpdate(scratch));
  const forged = Array.from(encoding.toUint8Array(enc));
  const reply = await viewer.evaluate(
    async ({ id, token, forged }) => {
      const ws = new WebSocket(`ws://${location.host}/yjs/${id}?token=${token}`);
      ws.binaryType = "arraybuffer";
      const types: number[] = [];
      await new Promise((r) => (ws.onopen = r));
      ws.onmessage = (e) => types.push(new Uint8Array(e.data as ArrayBuffer)[0]!);
      ws.send(new Uint8Array(forged));
      await new Promise((r) => setTimeout(r, 800));
      ws.close();
      return types;
    },
    { id, token, forged },
  );
  expect(reply, "the server answers with an auth (permission denied) message").toContain(2);
  await owner.waitForTimeout(300);
  await expect(owner.getByTestId("value-hair")).toHaveText("0.50");
  await expect(viewer.getByTestId("value-hair")).toHaveText("0.50");

  // tRPC refuses too.
  const rename = await viewer.request.post("/api/trpc/avatars.rename", {
    headers: { "x-share-token": token, "content-type": "application/json" },
    data: { id, name: "Renamed by a viewer" },
  });
  expect(rename.status()).toBe(403);
});

test("a revoked link stops working at once", async ({ browser, request }) => {
  const id = await demoAvatarId(request);
  const owner = await (await browser.newContext()).newPage();
  await openSynced(owner, `/avatars/${id}`);
  await owner.getByTestId("open-share").click();
  await owner.getByTestId("share-role").selectOption("edit");
  await owner.getByTestId("share-create").click();
  const url = (await owner.getByTestId("share-url").textContent())!;

  const guest = await (await browser.newContext()).newPage();
  await openSynced(guest, new URL(url).pathname);
  await expect(guest.getByTestId("role-badge")).toHaveText("Can edit");
  await expect(guest.getByTestId("slider-hair")).toBeEnabled();

  const rows = owner.getByTestId("share-link-row");
  const before = await rows.count();
  await owner.getByTestId("share-revoke").first().click();
  await expect(owner.locator('[data-testid="share-link-row"][data-state="revoked"]')).toHaveCount(1);
  expect(await rows.count()).toBe(before);

  const response = await guest.goto(new URL(url).pathname);
  expect(response?.status()).toBe(410);
  await expect(guest.getByTestId("error-message")).toContainText("revoked");
});

test("the page reports whether navigator.gpu gave an adapter", async ({ page, request }) => {
  const id = await demoAvatarId(request);
  await page.goto(`/avatars/${id}`);
  const status = page.getByTestId("gpu-status");
  await expect(status).not.toHaveAttribute("data-adapter", "pending");
  const hasAdapter = await page.evaluate(
    async () => !!(await (navigator as Navigator & { gpu?: GPU }).gpu?.requestAdapter()),
  );
  await expect(status).toHaveAttribute("data-adapter", String(hasAdapter));
  // Chromium runs with the SwiftShader WebGPU flags (playwright.config.ts): an adapter is expected.
  expect(hasAdapter).toBe(true);
  await expect(status).toContainText("WebGPU: adapter");
});

test("the home page lists the demo avatar and creates a new one", async ({ page }) => {
  await page.goto("/");
  await expect(page.getByTestId("avatar-card").filter({ hasText: "Demo avatar" })).toHaveCount(1);
  await page.getByLabel("Avatar name").fill("E2E avatar");
  await page.getByRole("button", { name: "Create avatar" }).click();
  await expect(page.getByTestId("avatar-card").filter({ hasText: "E2E avatar" })).toHaveCount(1);
});

test("the demo avatar opens trained: sliders named after its training videos, with thumbnails, none for the source", async ({
  page,
  request,
}) => {
  const id = await demoAvatarId(request);
  await openSynced(page, `/avatars/${id}`);
  const hair = page.getByTestId("attribute-hair");
  await expect(hair).toContainText("bald");
  await expect(hair).toContainText("medium grey");
  await expect(page.getByTestId("attribute-source")).toHaveCount(0);
  await expect(page.getByTestId("attribute-earrings")).toHaveCount(1);
  const thumbs = hair.locator("img.thumb");
  await expect(thumbs).toHaveCount(2);
  await expect.poll(() => thumbs.first().evaluate((img: HTMLImageElement) => img.naturalWidth)).toBe(96);
  await expect(page.getByTestId("stream-status")).toContainText("STREAM", { timeout: 60_000 });
  await expect(page.getByTestId("stream-status")).not.toContainText("placeholder");
});
