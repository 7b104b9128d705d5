import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type * as Y from "yjs";
import { startTestServer, waitFor, type TestServer } from "../testing/harness";
import { connectYClient, recordDenials } from "../testing/yjs-client";
import { hashToken, newShareToken } from "../auth/access";
import { driveMap, readDrive } from "../../protocol/shared-state";
import type { StreamFrame } from "../../protocol/messages";
import { greetedSocket } from "../testing/socket-client";

/** A driven face as a page shares it (24 expression coefficients, 15 joint angles). */
const face = (v: number) => ({ expression: new Array(24).fill(v), pose: new Array(15).fill(v / 10) });

/** Writes Ada's face `v` into the drive map, as the driving page does (with its camera frame's time `at`). */
function drive(doc: Y.Doc, v: number, at?: number): void {
  const m = driveMap(doc);
  doc.transact(() => {
    m.set("by", "Ada");
    m.set("client", doc.clientID);
    m.set("expression", face(v).expression);
    m.set("pose", face(v).pose);
    if (at !== undefined) m.set("at", at);
  });
}

describe("a face driven from a camera", () => {
  let server: TestServer;
  let avatarId: string;
  beforeAll(async () => {
    server = await startTestServer();
    avatarId = (await server.db.avatar.create({ data: { name: "Driven" } })).id;
  });
  afterAll(async () => {
    await server?.close();
  });

  it("reaches everyone, and stops when the driving page's connection closes", async () => {
    const driver = await connectYClient(server.url, avatarId);
    const watcher = await connectYClient(server.url, avatarId);
    try {
      drive(driver.doc, 0.5);
      const seen = await waitFor(() => readDrive(watcher.doc), 3000, "the drive to arrive");
      expect(seen).toEqual({ by: "Ada", client: driver.doc.clientID, ...face(0.5) });
      driver.destroy();
      await waitFor(() => readDrive(watcher.doc) === null, 3000, "the drive to end with its page");
      expect([...driveMap(watcher.doc).keys()]).toEqual([]);
    } finally {
      watcher.destroy();
    }
  });

  it("streams frames that say when the camera frame behind their face was taken", async () => {
    const driver = await connectYClient(server.url, avatarId);
    const viewer = await greetedSocket(server.url);
    try {
      const frames: StreamFrame[] = [];
      viewer.on("stream:frame", (f) => {
        frames.push(f);
        viewer.emit("stream:ack", { frameId: f.frameId });
      });
      const camera = { yawDeg: 0, pitchDeg: 0, distance: 0.7 };
      expect((await viewer.emitWithAck("stream:start", { avatarId, width: 32, height: 32, camera })).ok).toBe(true);
      await waitFor(() => frames.length > 0, 20_000, "a first frame");
      expect(frames[0]!.driveAt).toBeUndefined();
      const at = Date.now() - 40;
      drive(driver.doc, 0.3, at);
      await waitFor(() => frames.some((f) => f.driveAt === at), 20_000, "a frame of the driven face");
      expect(readDrive(driver.doc)?.at).toBe(at);
      drive(driver.doc, 0.4, at + 66);
      await waitFor(() => frames.some((f) => f.driveAt === at + 66), 20_000, "a frame of the next face");
    } finally {
      viewer.close();
      driver.destroy();
    }
  }, 60_000);

  it("keeps another page's drive when someone else leaves", async () => {
    const driver = await connectYClient(server.url, avatarId);
    const other = await connectYClient(server.url, avatarId);
    const watcher = await connectYClient(server.url, avatarId);
    try {
      drive(driver.doc, 0.2);
      await waitFor(() => readDrive(watcher.doc), 3000, "the drive to arrive");
      other.destroy();
      await new Promise((r) => setTimeout(r, 500));
      expect(readDrive(watcher.doc)?.by).toBe("Ada");
    } finally {
      driver.destroy();
      watcher.destroy();
    }
  });

  it("refuses a malformed face and a view link's drive", async () => {
    const editor = await connectYClient(server.url, avatarId);
    const denied = recordDenials(editor.provider);
    try {
      driveMap(editor.doc).set("expression", new Array(23).fill(0));
      await waitFor(() => denied.length > 0, 3000, "the refusal");
      expect(denied[0]).toMatch(/^invalid-state: drive\.expression/);
    } finally {
      editor.destroy();
    }
    const clock = await connectYClient(server.url, avatarId);
    const clockDenied = recordDenials(clock.provider);
    try {
      driveMap(clock.doc).set("at", -5);
      await waitFor(() => clockDenied.length > 0, 3000, "the refusal of a time before 1970");
      expect(clockDenied[0]).toMatch(/^invalid-state: drive\.at/);
    } finally {
      clock.destroy();
    }
    const token = newShareToken();
    await server.db.shareLink.create({ data: { avatarId, role: "view", tokenHash: hashToken(token) } });
    const viewer = await connectYClient(server.url, avatarId, token);
    const watcher = await connectYClient(server.url, avatarId);
    const viewDenied = recordDenials(viewer.provider);
    try {
      driveMap(viewer.doc).set("pose", face(0.1).pose);
      await waitFor(() => viewDenied.length > 0, 3000, "the refusal");
      await new Promise((r) => setTimeout(r, 300));
      expect(driveMap(watcher.doc).get("pose")).toBeUndefined();
    } finally {
      viewer.destroy();
      watcher.destroy();
    }
  });
});
