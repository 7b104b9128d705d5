/**
 * Runs benchmark bundles inside headless Chromium: bundles the entries with
 * esbuild, serves them and any scene files on a loopback port, opens one
 * page with the WebGPU/SwiftShader flags and hands it to the caller.
 */
import http from "node:http";
import path from "node:path";
import fs from "node:fs";
import { build } from "esbuild";
import { chromium, type Page } from "@playwright/test";
import { CHROMIUM_ARGS, CHROMIUM_PATH } from "../../e2e/chromium";

const OUT_DIR = path.resolve(".tmp/bench-web");

/** Bundles `entries` (name -> TS file) into OUT_DIR/<name>.js for the browser. */
export async function bundle(entries: Record<string, string>): Promise<void> {
  fs.mkdirSync(OUT_DIR, { recursive: true });
  await build({
    entryPoints: entries,
    outdir: OUT_DIR,
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    minify: true,
    sourcemap: false,
    logLevel: "warning",
  });
}

export interface BenchSite {
  url: string;
  /** Adds (or replaces) a file served at /files/<name>. */
  addFile(name: string, bytes: Uint8Array): string;
  page: Page;
  close(): Promise<void>;
}

export async function openBenchSite(scripts: string[]): Promise<BenchSite> {
  const files = new Map<string, Uint8Array>();
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    if (url.pathname === "/") {
      res.writeHead(200, { "content-type": "text/html" });
      res.end(
        `<!doctype html><html><body style="margin:0;background:#000">${scripts.map((s) => `<script type="module" src="/${s}.js"></script>`).join("")}</body></html>`,
      );
      return;
    }
    const file = files.get(url.pathname);
    if (file) {
      res.writeHead(200, { "content-type": "application/octet-stream", "content-length": file.byteLength });
      res.end(file);
      return;
    }
    const local = path.join(OUT_DIR, path.basename(url.pathname));
    if (url.pathname.endsWith(".js") && fs.existsSync(local)) {
      res.writeHead(200, { "content-type": "text/javascript" });
      res.end(fs.readFileSync(local));
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
  const page = await browser.newPage();
  page.on("console", (m) => {
    if (m.type() === "error") console.error(`[chromium] ${m.text()}`);
  });
  await page.goto(url);
  await page.waitForFunction(
    (names) => names.every((n) => n in window),
    scripts.map((s) => (s === "spark" ? "benchSpark" : "benchOurs")),
  );
  return {
    url,
    page,
    addFile(name, bytes) {
      files.set(`/files/${name}`, bytes);
      return `/files/${name}`;
    },
    async close() {
      await browser.close();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
