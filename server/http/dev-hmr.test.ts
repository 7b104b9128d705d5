import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { startTestServer, type TestServer } from "../testing/harness";
import { connectYClient } from "../testing/yjs-client";

// Next attaches its own upgrade handling on the first request; our router must
// keep HMR working AND keep Next away from the other websockets (ENVIRONMENT.md).
describe("development mode", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ dev: true, seedDemo: true });
    // First request compiles the page (slow on two cores) and wires Next's upgrade handler.
    const res = await fetch(`${server.url}/`);
    expect(res.status).toBe(200);
  }, 240_000);
  afterAll(async () => {
    await server?.close();
  });

  it("keeps Next's HMR websocket and the Yjs websocket open side by side", async () => {
    const avatarId = (await server.db.avatar.findFirstOrThrow()).id;
    const hmr = new WebSocket(`${server.url.replace("http", "ws")}/_next/hmr`);
    const hmrMessages: string[] = [];
    let hmrClosed = false;
    hmr.on("message", (d: Buffer) => hmrMessages.push(d.toString()));
    hmr.on("close", () => (hmrClosed = true));
    await new Promise<void>((resolve, reject) => {
      hmr.once("open", () => resolve());
      hmr.once("error", reject);
    });
    const y = await connectYClient(server.url, avatarId);
    let yCloses = 0;
    y.provider.on("connection-close", () => yCloses++);
    await fetch(`${server.url}/avatars/${avatarId}`);
    await new Promise((r) => setTimeout(r, 3000));
    expect(hmrClosed).toBe(false);
    expect(hmrMessages.length).toBeGreaterThan(0);
    expect(yCloses).toBe(0);
    y.destroy();
    hmr.close();
  });
});
