/**
 * End-to-end tests in Debian's Chromium (no browser download is possible
 * here), against the real server on a fresh data directory. The flags give
 * Chromium a SwiftShader WebGPU adapter and keep it off the closed network.
 */
import fs from "node:fs";
import { defineConfig } from "@playwright/test";
import { CHROMIUM_ARGS, CHROMIUM_PATH } from "./e2e/chromium";

if (!fs.existsSync(CHROMIUM_PATH)) {
  throw new Error(
    `playwright.config: no Chromium at ${CHROMIUM_PATH}. Install it (apt-get install -y chromium) or set CHROMIUM_PATH.`,
  );
}

const PORT = Number(process.env.E2E_PORT ?? 3123);

export default defineConfig({
  testDir: "e2e",
  timeout: 60_000,
  expect: { timeout: 10_000 },
  fullyParallel: false,
  workers: 1,
  forbidOnly: !!process.env.CI,
  reporter: [["list"]],
  use: {
    baseURL: `http://127.0.0.1:${PORT}`,
    launchOptions: {
      executablePath: CHROMIUM_PATH,
      args: CHROMIUM_ARGS,
    },
  },
  webServer: {
    command: "rm -rf .tmp/e2e-data && node --import tsx server/main.ts",
    url: `http://127.0.0.1:${PORT}/healthz`,
    reuseExistingServer: false,
    timeout: 120_000,
    stdout: "pipe",
    env: {
      DATA_DIR: ".tmp/e2e-data",
      PORT: String(PORT),
      HOST: "127.0.0.1",
      NODE_ENV: "production",
      SEED_DEMO: "true",
    },
  },
});
