/**
 * Test harness: a real server (Next production build, SQLite file, real
 * websockets) on a random port in a fresh data directory.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { loadConfig, type ServerConfig } from "../config";
import { startServer, type RunningServer } from "../http/app-server";
import type { StageDef } from "../pipeline/create/stage";
import { defaultDatabaseUrl } from "../storage/layout";

export interface TestServer extends RunningServer {
  dataDir: string;
  config: ServerConfig;
}

export function tempDataDir(prefix = "perse-test-"): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** `creationStages` replaces the creation pipeline (server/jobs/testing.ts runs small, controllable stages). */
export async function startTestServer(
  overrides: Partial<ServerConfig> = {},
  options: { creationStages?: readonly StageDef[] } = {},
): Promise<TestServer> {
  const dataDir = overrides.dataDir ?? tempDataDir();
  const config = loadConfig(
    {
      port: 0,
      host: "127.0.0.1",
      dev: false,
      seedDemo: false,
      ownerKey: null,
      databaseUrl: defaultDatabaseUrl(dataDir),
      ...overrides,
      dataDir,
    },
    [],
  );
  const server = await startServer({ config, log: () => undefined, ...options });
  return { ...server, dataDir, config };
}

/** Polls until `check` returns a truthy value or the time runs out. */
export async function waitFor<T>(
  check: () => T | Promise<T>,
  timeoutMs = 5000,
  what = "condition",
): Promise<NonNullable<T>> {
  const start = Date.now();
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() - start > timeoutMs) throw new Error(`waitFor: ${what} not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
