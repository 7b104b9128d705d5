import { expect, test } from "@playwright/test";
import sharp from "sharp";

test("the splat viewer renders the sample head with WebGPU in the page", async ({ page }) => {
  await page.goto("/viewer?splats=8000");
  await expect(page.getByTestId("viewer-status")).toContainText("WebGPU:", { timeout: 20_000 });
  await page.getByTestId("load-sample").click();
  await expect(page.getByTestId("viewer-status")).toContainText("8,000 splats", { timeout: 60_000 });
  await expect(page.getByTestId("viewer-error")).toHaveCount(0);
  const shot = await page.getByTestId("splat-canvas").screenshot();
  const { data, info } = await sharp(shot).raw().toBuffer({ resolveWithObject: true });
  const at = (x: number, y: number) =>
    Array.from(data.subarray((y * info.width + x) * info.channels, (y * info.width + x) * info.channels + 3));
  // Corner: the background (0.06, 0.07, 0.09) -> about (15, 18, 23). Centre: the head's skin, much brighter and red.
  const corner = at(2, 2);
  const centre = at(Math.floor(info.width / 2), Math.floor(info.height * 0.45));
  expect(corner[0]).toBeLessThan(30);
  expect(centre[0]).toBeGreaterThan(90);
  expect(centre[0]).toBeGreaterThan(centre[2]!);
});

test("the splat viewer refuses a file that is not a splat file, with the reason", async ({ page }) => {
  await page.goto("/viewer");
  await expect(page.getByTestId("viewer-status")).toContainText("WebGPU:", { timeout: 20_000 });
  const dataTransfer = await page.evaluateHandle(() => {
    const dt = new DataTransfer();
    dt.items.add(new File([new Uint8Array([1, 2, 3, 4, 5])], "notes.txt"));
    return dt;
  });
  await page.getByTestId("splat-canvas").dispatchEvent("drop", { dataTransfer });
  await expect(page.getByTestId("viewer-error")).toContainText("neither a PLY");
});
