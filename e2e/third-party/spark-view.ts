/**
 * Opens Spark in a page of the test's browser: the entry bundled once with
 * esbuild (into .tmp), served with the file to show through request
 * interception on a made-up origin, so nothing else needs a server.
 */
import fs from "node:fs";
import path from "node:path";
import { build } from "esbuild";
import type { Page } from "@playwright/test";
import type { SparkViewRequest } from "./spark-view-entry";

const ORIGIN = "http://third-party.test";
const BUNDLE = path.resolve(".tmp/third-party/spark-view.js");

async function bundle(): Promise<string> {
  if (!fs.existsSync(BUNDLE))
    await build({
      entryPoints: [path.resolve("e2e/third-party/spark-view-entry.ts")],
      outfile: BUNDLE,
      bundle: true,
      format: "esm",
      platform: "browser",
      target: "es2022",
      minify: true,
      logLevel: "warning",
    });
  return fs.readFileSync(BUNDLE, "utf8");
}

/** Spark's picture of `file` ([height, width, 3] RGB, top row first). */
export async function sparkPicture(
  page: Page,
  file: Uint8Array,
  view: Omit<SparkViewRequest, "fileUrl">,
): Promise<Uint8Array> {
  const script = await bundle();
  await page.route(`${ORIGIN}/**`, (route) => {
    const url = new URL(route.request().url());
    if (url.pathname === "/")
      route.fulfill({
        contentType: "text/html",
        body: `<!doctype html><body style="margin:0"><script type="module" src="/spark-view.js"></script></body>`,
      });
    else if (url.pathname === "/spark-view.js") route.fulfill({ contentType: "text/javascript", body: script });
    else if (url.pathname === "/scene")
      route.fulfill({ contentType: "application/octet-stream", body: Buffer.from(file) });
    else route.fulfill({ status: 404, body: "" });
  });
  await page.goto(`${ORIGIN}/`);
  await page.waitForFunction(() => "sparkView" in window);
  const rgb = await page.evaluate(
    (req) => (window as unknown as { sparkView: (r: SparkViewRequest) => Promise<number[]> }).sparkView(req),
    { ...view, fileUrl: `${ORIGIN}/scene` },
  );
  return Uint8Array.from(rgb);
}
