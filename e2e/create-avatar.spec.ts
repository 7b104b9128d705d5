/**
 * Creating an avatar from a photo, through the browser, against the real
 * server: the upload and its analysis, the refusal of a photo without a
 * face, the whole tiny pipeline up to the editor, and cancelling a job.
 * The photos are rendered by scripts/make-test-portraits.ts.
 */
import { fileURLToPath } from "node:url";
import { expect, test, type APIRequestContext, type Page } from "@playwright/test";
import { PHOTO_CONSENT } from "../protocol/consent";
import { closePagesAfterEachTest, startJob, upload } from "./helpers";

closePagesAfterEachTest();

const PORTRAIT = fileURLToPath(new URL("./fixtures/portrait.jpg", import.meta.url));
const NO_FACE = fileURLToPath(new URL("./fixtures/no-face.jpg", import.meta.url));

async function trpcQuery<T>(request: APIRequestContext, name: string, input?: unknown): Promise<T> {
  const query = input === undefined ? "" : `?input=${encodeURIComponent(JSON.stringify(input))}`;
  const res = await request.get(`/api/trpc/${name}${query}`);
  expect(res.ok(), `${name} answers`).toBe(true);
  return ((await res.json()) as { result: { data: T } }).result.data;
}

const avatarIds = async (request: APIRequestContext) =>
  (await trpcQuery<Array<{ id: string }>>(request, "avatars.list")).map((a) => a.id).sort();
const jobIds = async (request: APIRequestContext) =>
  (await trpcQuery<Array<{ id: string }>>(request, "jobs.list")).map((j) => j.id).sort();

const progressOf = async (page: Page) =>
  Number(await page.getByTestId("job-progress").getAttribute("data-progress", { timeout: 5000 }));

test("a file that is not a photo is refused in the browser, without an upload", async ({ page }) => {
  const uploads: string[] = [];
  page.on("request", (r) => r.url().includes("/api/portraits") && uploads.push(r.url()));
  await page.goto("/new");
  await page
    .getByTestId("portrait-input")
    .setInputFiles({ name: "notes.txt", mimeType: "text/plain", buffer: Buffer.from("not a photo") });
  await expect(page.getByTestId("file-error")).toContainText("must be a JPEG, PNG or WebP");
  expect(uploads).toEqual([]);
});

test("a photo without a face is refused with a clear message, and nothing is created", async ({ page, request }) => {
  const avatarsBefore = await avatarIds(request);
  const jobsBefore = await jobIds(request);
  await upload(page, NO_FACE, "drop");
  const refused = page.getByTestId("portrait-refused");
  await expect(refused).toHaveAttribute("data-code", "no-face");
  await expect(refused.getByRole("heading")).toHaveText("No face found");
  await expect(page.getByTestId("refusal-message")).toContainText(/no face|not find a face/i);
  await expect(page.getByTestId("create-avatar")).toHaveCount(0);
  // The refused photo is shown back (the server's overlay, or the photo itself).
  await expect
    .poll(() => page.getByTestId("refusal-overlay").evaluate((img: HTMLImageElement) => img.naturalWidth))
    .toBeGreaterThan(0);
  expect(await avatarIds(request)).toEqual(avatarsBefore);
  expect(await jobIds(request)).toEqual(jobsBefore);

  await page.getByTestId("try-another").click();
  await expect(page.getByTestId("drop-zone")).toBeVisible();
});

test("a portrait becomes a trained avatar: analysis, a quick job with live progress, then the editor", async ({
  page,
  request,
}) => {
  test.setTimeout(6 * 60_000);
  await page.goto("/");
  await page.getByTestId("new-avatar").click();
  await expect(page).toHaveURL(/\/new$/);

  await upload(page, PORTRAIT);
  const overlay = page.getByTestId("portrait-overlay");
  await expect.poll(() => overlay.evaluate((img: HTMLImageElement) => img.naturalWidth)).toBeGreaterThan(0);
  await expect(page.getByTestId("portrait-summary")).toContainText("Face found");
  await expect(page.getByTestId("new-avatar-name")).toHaveValue("My avatar");

  await page.getByTestId("new-avatar-name").fill("E2E portrait avatar");
  await page.getByTestId("new-avatar-quality").selectOption({ label: "Quick preview (a few minutes, low detail)" });
  // Creating waits for the uploader to confirm they may use the photo.
  await expect(page.getByTestId("photo-consent")).not.toBeChecked();
  await expect(page.getByTestId("create-avatar")).toBeDisabled();
  await expect(page.getByTestId("photo-consent-hint")).toBeVisible();
  await page.getByTestId("photo-consent").check();
  await expect(page.getByTestId("create-avatar")).toBeEnabled();
  await expect(page.getByTestId("photo-consent-hint")).toHaveCount(0);
  await page.getByTestId("create-avatar").click();
  await page.waitForURL(/\/jobs\/[^/]+$/);
  const jobId = decodeURIComponent(new URL(page.url()).pathname.split("/").pop()!);

  await expect(page.getByTestId("job-avatar-name")).toHaveText("E2E portrait avatar");
  await expect.poll(() => page.getByTestId("stage-row").count()).toBeGreaterThanOrEqual(3);
  await expect
    .poll(() => page.getByTestId("job-portrait").evaluate((img: HTMLImageElement) => img.naturalWidth))
    .toBeGreaterThan(0);

  // Sample the page once a second while the job runs: the overall bar climbs and never goes back,
  // the ETA and the log show up, and the pictures the stages publish load.
  const samples: number[] = [];
  const pictures = new Set<string>();
  const etas = new Set<string>();
  let logLines = 0;
  const look = async () => {
    const loaded = await page
      .locator('[data-testid^="artifact-"]')
      .evaluateAll((figs) =>
        figs
          .filter((f) => (f.querySelector("img")?.naturalWidth ?? 0) > 0)
          .map((f) => f.getAttribute("data-testid")!.slice("artifact-".length)),
      );
    loaded.forEach((name) => pictures.add(name));
    const eta = await page
      .getByTestId("job-eta")
      .textContent({ timeout: 100 })
      .catch(() => null);
    if (eta) etas.add(eta);
    const log =
      (await page
        .getByTestId("job-log")
        .textContent({ timeout: 1000 })
        .catch(() => "")) ?? "";
    if (log !== "No output yet.") logLines = Math.max(logLines, log.split("\n").length);
  };
  let status = "";
  const deadline = Date.now() + 5.5 * 60_000;
  while (Date.now() < deadline) {
    status =
      (await page
        .getByTestId("job-status")
        .getAttribute("data-status", { timeout: 5000 })
        .catch(() => null)) ?? "left the page";
    if (status !== "queued" && status !== "running") break;
    samples.push(await progressOf(page));
    await look();
    await page.waitForTimeout(1000);
  }
  console.log(
    `job ${jobId}: ${samples.length} progress samples, ${samples.slice(0, 3).join(", ")} … ${samples.slice(-3).join(", ")}; ended ${status}`,
  );
  expect(
    status,
    `the job ends done (the page says: ${await page
      .getByTestId("job-failure")
      .textContent({ timeout: 1000 })
      .catch(() => status)})`,
  ).toBe("done");
  expect(samples.length).toBeGreaterThan(2);
  for (let i = 1; i < samples.length; i++)
    expect(samples[i]!, `progress sample ${i}`).toBeGreaterThanOrEqual(samples[i - 1]!);
  expect(samples[samples.length - 1]!).toBeGreaterThan(samples[0]!);

  // "Ready", every stage done, then the editor opens on its own.
  await expect(page.getByTestId("job-ready")).toContainText("Your avatar is ready");
  await expect(page.getByTestId("job-percent")).toHaveText("100%");
  const stageStates = await page
    .getByTestId("stage-row")
    .evaluateAll((rows) => rows.map((r) => r.getAttribute("data-status")));
  expect(
    stageStates.every((st) => st === "done" || st === "skipped"),
    `stage states ${stageStates.join(", ")}`,
  ).toBe(true);
  await look();
  console.log(`pictures seen: ${[...pictures].join(", ")}; ETAs: ${[...etas].join(" / ")}; log lines: ${logLines}`);
  for (const name of ["overlay", "fit", "texture", "contact-sheet", "loss-curve"])
    expect(pictures, `the "${name}" picture was shown`).toContain(name);
  expect(etas.size, "an ETA was shown while the job ran").toBeGreaterThan(0);
  for (const eta of etas) expect(eta).toMatch(/^(about \d+ (h|min)( \d+ min)? left|under a minute left)$/);
  expect(logLines).toBeGreaterThan(3);
  await page.waitForURL(/\/avatars\/[^/]+$/, { timeout: 15_000 });
  const avatarId = decodeURIComponent(new URL(page.url()).pathname.split("/").pop()!);
  const avatars = await trpcQuery<Array<{ id: string; name: string; status: string }>>(request, "avatars.list");
  expect(avatars.find((a) => a.id === avatarId)).toMatchObject({ name: "E2E portrait avatar", status: "ready" });
  // The confirmation is stored with the avatar, in the words the page showed.
  const got = await trpcQuery<{ photoConsent: { at: string; text: string } | null }>(request, "avatars.get", {
    id: avatarId,
  });
  expect(got.photoConsent?.text).toBe(PHOTO_CONSENT.text);

  await expect(page.getByTestId("avatar-name")).toHaveText("E2E portrait avatar");
  await expect(page.getByTestId("sync-status")).toHaveText("synced");
  await expect(page.getByTestId("creating-banner")).toHaveCount(0);
  await expect(page.getByTestId("stream-status")).toContainText("fps", { timeout: 60_000 });
  await expect(page.getByTestId("stream-status")).not.toContainText("placeholder");
});

test("a running job can be cancelled from its page; its avatar leaves the list", async ({ page, browser, request }) => {
  const jobId = await startJob(page, PORTRAIT, "E2E cancel me", "auto");
  await expect(page.getByTestId("job-status")).toHaveAttribute("data-status", /queued|running/);

  // Meanwhile the list shows the avatar as being created, linking to its job.
  const list = await (await browser.newContext()).newPage();
  await list.goto("/");
  const card = list.getByTestId("avatar-card").filter({ hasText: "E2E cancel me" });
  await expect(card).toHaveAttribute("data-status", "creating");
  await expect(card).toHaveAttribute("href", `/jobs/${jobId}`);
  await expect(card.getByTestId("avatar-card-progress")).toContainText("Creating");
  // Its editor, opened meanwhile, points to the job too.
  const creating = (
    await trpcQuery<Array<{ id: string; name: string; jobId: string | null }>>(request, "avatars.list")
  ).find((a) => a.name === "E2E cancel me");
  expect(creating?.jobId).toBe(jobId);
  await list.goto(`/avatars/${creating!.id}`);
  await expect(list.getByTestId("creating-job-link")).toHaveAttribute("href", `/jobs/${jobId}`);

  await page.getByTestId("job-cancel").click();
  await page.getByTestId("job-cancel-confirm").click();
  await expect(page.getByTestId("job-status")).toHaveAttribute("data-status", "cancelled");
  await expect(page.getByTestId("job-cancelled")).toBeVisible();
  await expect(page.getByTestId("job-cancel")).toHaveCount(0);

  const names = (await trpcQuery<Array<{ name: string }>>(request, "avatars.list")).map((a) => a.name);
  expect(names).not.toContain("E2E cancel me");
  await list.goto("/");
  await expect(list.getByTestId("avatar-card").filter({ hasText: "Demo avatar" })).toHaveCount(1);
  await expect(list.getByTestId("avatar-card").filter({ hasText: "E2E cancel me" })).toHaveCount(0);
});
