/**
 * writeFileAtomicSync from two threads of one process at once (they share a
 * pid, as render and training threads do): every write lands whole, none
 * fails, and no temporary file is left behind.
 */
import fs from "node:fs";
import path from "node:path";
import { Worker } from "node:worker_threads";
import { describe, expect, it } from "vitest";
import { tempDataDir } from "../testing/harness";

const WRITES = 300;

// Plain JavaScript that registers tsx and imports atomic.ts, as server/render/cpu-worker-boot.mjs does.
const writer = `
  const { workerData, parentPort } = await import("node:worker_threads");
  const { register } = await import("tsx/esm/api");
  register();
  const { writeFileAtomicSync } = await import(workerData.module);
  let failures = 0;
  for (let i = 0; i < workerData.writes; i++) {
    try { writeFileAtomicSync(workerData.file, workerData.text.repeat(2000)); } catch { failures++; }
  }
  parentPort.postMessage(failures);
`;

function writeFrom(file: string, text: string): Promise<number> {
  const module = new URL("./atomic.ts", import.meta.url).href;
  const worker = new Worker(writer, { eval: true, workerData: { file, text, writes: WRITES, module } });
  return new Promise((resolve, reject) => {
    worker.once("message", resolve);
    worker.once("error", reject);
  });
}

describe("writeFileAtomicSync", () => {
  it("two threads writing one file: no write fails, the file ends as one of them whole, no temporary is left", async () => {
    const dir = tempDataDir("perse-atomic-");
    try {
      const file = path.join(dir, "frame.bin");
      const failures = await Promise.all([writeFrom(file, "a"), writeFrom(file, "b")]);
      expect(failures).toEqual([0, 0]);
      const text = fs.readFileSync(file, "utf8");
      expect([..."ab"].map((c) => c.repeat(2000))).toContain(text);
      expect(fs.readdirSync(dir)).toEqual(["frame.bin"]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
