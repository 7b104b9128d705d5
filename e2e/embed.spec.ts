import http from "node:http";
import type { AddressInfo } from "node:net";
import { expect, test, type APIRequestContext, type Page } from "@playwright/test";
import { closePagesAfterEachTest, openSynced, setHair } from "./helpers";

closePagesAfterEachTest();

/** Another site: a page on another origin (127.0.0.1 and a port of its own) holding `body`. */
async function otherSite(body: string): Promise<{ url: string; close: () => Promise<void> }> {
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { "content-type": "text/html" });
    res.end(`<!doctype html><html><body><h1>Someone's blog</h1>${body}</body></html>`);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

async function newAvatar(request: APIRequestContext, name: string): Promise<string> {
  const res = await request.post("/api/trpc/avatars.create", { data: { name } });
  return ((await res.json()) as { result: { data: { id: string } } }).result.data.id;
}

/** A share link made through the owner's share dialog; for a view link also the embed snippet it shows. */
async function makeLink(owner: Page, role: "view" | "edit"): Promise<{ url: string; snippet: string | null }> {
  await owner.getByTestId("open-share").click();
  await owner.getByTestId("share-role").selectOption(role);
  await owner.getByTestId("share-create").click();
  const url = (await owner.getByTestId("share-url").textContent())!;
  const snippet = role === "view" ? await owner.getByTestId("embed-snippet").inputValue() : null;
  if (role === "edit") await expect(owner.getByTestId("embed-snippet")).toHaveCount(0);
  await owner.getByLabel("Close").click();
  return { url, snippet };
}

test("a view link's player embedded in another site plays live, labelled as AI-generated; the editor cannot be framed", async ({
  browser,
  request,
}) => {
  test.setTimeout(120_000);
  const id = await newAvatar(request, "Embed e2e");
  const owner = await (await browser.newContext()).newPage();
  await openSynced(owner, `/avatars/${id}`);
  const view = await makeLink(owner, "view");
  const token = view.url.split("/s/")[1]!;
  expect(view.snippet).toBe(
    `<iframe src="${new URL(view.url).origin}/embed/${token}" width="480" height="480" style="border:0" allow="fullscreen" title="AI-generated avatar"></iframe>`,
  );
  // The oEmbed answer gives the same player.
  const oembed = await request.get(`/api/oembed?url=${encodeURIComponent(view.url)}`);
  expect(((await oembed.json()) as { html: string }).html).toContain(`/embed/${token}"`);

  const blog = await otherSite(view.snippet!);
  const edit = await makeLink(owner, "edit");
  const hostile = await otherSite(`<iframe src="${edit.url}" width="400" height="400"></iframe>`);
  try {
    const reader = await (await browser.newContext()).newPage();
    await reader.goto(blog.url);
    const player = reader.frameLocator("iframe");
    await expect(player.getByTestId("ai-label")).toHaveText("AI-generated avatar");
    await expect(player.getByTestId("embed-credit")).toHaveText("Embed e2e · PERSE Studio");
    const canvas = player.getByTestId("stream-canvas");
    const state = () =>
      canvas.evaluate((c: HTMLCanvasElement) => ({
        frames: Number(c.dataset.frames),
        version: Number(c.dataset.version),
      }));
    await expect.poll(async () => (await state()).frames, { timeout: 60_000 }).toBeGreaterThan(0);
    // No editor chrome in the frame, and the embed is not one of the people in the room.
    await expect(player.getByTestId("slider-hair")).toHaveCount(0);
    await expect(player.locator(".topbar")).toBeHidden();
    await expect(owner.getByTestId("peer")).toHaveCount(1);

    // Live: the owner's edit reaches the embedded player's frames.
    const before = (await state()).version;
    await setHair(owner, 0.9);
    await expect.poll(async () => (await state()).version, { timeout: 30_000 }).toBeGreaterThan(before);

    // The editor of an edit link refuses to be framed by another site: the browser shows nothing of it.
    const victim = await (await browser.newContext()).newPage();
    await victim.goto(hostile.url);
    await victim.waitForTimeout(2000);
    const framed = victim.frames().find((f) => f !== victim.mainFrame())!;
    // Chromium replaces a frame whose page refuses to be framed with its own error page.
    expect(framed.url()).toMatch(/^chrome-error:/);
    expect(await framed.locator("[data-testid=avatar-name]").count()).toBe(0);
    expect(await framed.locator("[data-testid=sync-status]").count()).toBe(0);
  } finally {
    await blog.close();
    await hostile.close();
  }
});
