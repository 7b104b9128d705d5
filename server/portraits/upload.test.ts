import { afterAll, beforeAll, describe, expect, it } from "vitest";
import fs from "node:fs";
import path from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import zlib from "node:zlib";
import sharp from "sharp";
import { startTestServer, waitFor, type TestServer } from "../testing/harness";
import { analysePortrait, refusalOverlayPng } from "../pipeline/analyse/analyse";
import { decodePortrait } from "../pipeline/analyse/decode";
import { isPortraitRefusal } from "../pipeline/analyse/refusal";
import { closePortraitAnalysis, portraitAnalysisState } from "./analysis-thread";
import type { PortraitUploaded } from "./upload";

/** The e2e test portrait: a rendered head that face-api accepts (scripts/make-test-portraits.ts). */
const PORTRAIT = fs.readFileSync(new URL("../../e2e/fixtures/portrait.jpg", import.meta.url));
const OWNER_KEY = "upload-test-owner";

type ErrorBody = { error: { code: string; message: string }; overlayUrl?: string };

const tooManyPixels = (w: number, h: number, mp: string) =>
  `The image is ${w} x ${h} pixels (${mp} MP); the limit is 50.0 MP. Upload a smaller copy (2000 pixels on the long side is plenty).`;

/** A real small PNG whose IHDR is rewritten to claim w x h (CRC fixed, so only the size lies). */
async function pngBomb(w: number, h: number): Promise<Buffer> {
  const png = Buffer.from(
    await sharp({ create: { width: 8, height: 8, channels: 3, background: "#808080" } })
      .png()
      .toBuffer(),
  );
  png.writeUInt32BE(w, 16);
  png.writeUInt32BE(h, 20);
  png.writeUInt32BE(zlib.crc32(png.subarray(12, 29)), 29);
  return png;
}

/** A real small JPEG whose baseline frame header (SOF0) claims w x h. */
async function jpegBomb(w: number, h: number): Promise<{ bytes: Buffer; sofEnd: number }> {
  const jpeg = Buffer.from(
    await sharp({ create: { width: 8, height: 8, channels: 3, background: "#808080" } })
      .jpeg()
      .toBuffer(),
  );
  const sof = jpeg.indexOf(Buffer.from([0xff, 0xc0]));
  jpeg.writeUInt16BE(h, sof + 5);
  jpeg.writeUInt16BE(w, sof + 7);
  return { bytes: jpeg, sofEnd: sof + 2 + jpeg.readUInt16BE(sof + 2) };
}

const riff = (chunks: Buffer) =>
  Buffer.concat([
    Buffer.from("RIFF"),
    Buffer.from(new Uint32Array([chunks.length + 4]).buffer),
    Buffer.from("WEBP"),
    chunks,
  ]);

/** Real small WebP files claiming w x h: lossy (VP8, 14-bit sides), lossless (VP8L, 14-bit sides - 1) and extended (VP8X canvas, 24-bit sides - 1). */
async function webpBombs(): Promise<{ name: string; bytes: Buffer; w: number; h: number; mp: string }[]> {
  const img = sharp({ create: { width: 8, height: 8, channels: 3, background: "#808080" } });
  const lossy = Buffer.from(await img.clone().webp().toBuffer());
  lossy.writeUInt16LE(16383, 26);
  lossy.writeUInt16LE(16383, 28);
  const lossless = Buffer.from(await img.clone().webp({ lossless: true }).toBuffer());
  lossless.writeUInt32LE((16383 | (16383 << 14)) >>> 0, 21);
  const vp8x = Buffer.alloc(18);
  vp8x.write("VP8X", 0);
  vp8x.writeUInt32LE(10, 4);
  vp8x.writeUIntLE(100_000 - 1, 12, 3);
  vp8x.writeUIntLE(100_000 - 1, 15, 3);
  const extended = riff(Buffer.concat([vp8x, (await img.clone().webp().toBuffer()).subarray(12)]));
  return [
    { name: "lossy", bytes: lossy, w: 16383, h: 16383, mp: "268.4" },
    { name: "lossless", bytes: lossless, w: 16384, h: 16384, mp: "268.4" },
    { name: "extended", bytes: extended, w: 100_000, h: 100_000, mp: "10000.0" },
  ];
}

/** A multipart/form-data body with one file part, written out by hand so the boundary is exactly `boundary`. */
function multipartBody(boundary: string, field: string, file: Buffer): Buffer {
  const head = `--${boundary}\r\nContent-Disposition: form-data; name="${field}"; filename="me.jpg"\r\nContent-Type: image/jpeg\r\n\r\n`;
  return Buffer.concat([Buffer.from(head), file, Buffer.from(`\r\n--${boundary}--\r\n`)]);
}

/** Mean absolute difference of two images' pixels (same size), 0-255. */
async function meanAbsDiff(a: Buffer, b: Buffer): Promise<number> {
  const [ra, rb] = await Promise.all([a, b].map((x) => sharp(x).removeAlpha().raw().toBuffer()));
  expect(ra!.length).toBe(rb!.length);
  let s = 0;
  for (let i = 0; i < ra!.length; i++) s += Math.abs(ra![i]! - rb![i]!);
  return s / ra!.length;
}

describe("POST /api/portraits", () => {
  let server: TestServer;
  let cookie: string;

  const folders = () =>
    fs.existsSync(path.join(server.dataDir, "portraits"))
      ? fs.readdirSync(path.join(server.dataDir, "portraits")).filter((f) => !f.startsWith("."))
      : [];
  const post = (body: Uint8Array | string, type: string | null) =>
    fetch(`${server.url}/api/portraits`, {
      method: "POST",
      body: typeof body === "string" ? body : new Uint8Array(body),
      headers: { cookie, ...(type === null ? {} : { "content-type": type }) },
    });

  beforeAll(async () => {
    server = await startTestServer({ ownerKey: OWNER_KEY });
    cookie = (await fetch(`${server.url}/?owner_key=${OWNER_KEY}`, { redirect: "manual" })).headers
      .get("set-cookie")!
      .split(";")[0]!;
  });
  afterAll(async () => {
    await server?.close();
    await closePortraitAnalysis();
  });

  // First in the file: the worker starts and loads its models during this upload, the heaviest case.
  it("keeps the server's event loop responsive while a 49-megapixel photo is decoded and analysed", async () => {
    const big = await sharp(PORTRAIT).resize(7000, 7000, { kernel: "cubic" }).jpeg({ quality: 85 }).toBuffer();
    expect((await sharp(big).metadata()).width).toBe(7000);
    const delay = monitorEventLoopDelay({ resolution: 10 });
    delay.enable();
    const started = performance.now();
    const res = await post(big, "image/jpeg");
    const body = (await res.json()) as PortraitUploaded;
    delay.disable();
    const tookMs = performance.now() - started;
    const worstMs = delay.max / 1e6;
    console.log(`event loop: worst delay ${worstMs.toFixed(0)} ms during the ${tookMs.toFixed(0)} ms upload`);

    expect(res.status).toBe(201);
    expect([body.width, body.height]).toEqual([2048, 2048]); // scaled down to maxSide
    expect(body.analysis.faces).toBe(1);
    expect(fs.readFileSync(path.join(server.dataDir, "portraits", body.id, "original.jpg")).equals(big)).toBe(true);
    // The upload took seconds (worker start, models, decode, analysis), so the probe saw them all.
    expect(tookMs).toBeGreaterThan(1000);
    // With decoding and analysis on the server's thread this was 1.4 s warm and 3.4 s cold on this
    // 2-core machine (3.6-6.1 s in the report); on the worker it measured 50-80 ms, the thread only
    // reading the body and writing files, and 432 ms once with the machine's load at 10. 700 ms leaves
    // room for that and still fails if the analysis (about 1 s here) comes back to the server's thread.
    expect(worstMs).toBeLessThan(700);
  });

  it("reads a multipart boundary with upper-case letters as sent, and compares the MIME type without case", async () => {
    const boundary = "----WebKitFormBoundaryAbCdEf123";
    const res = await post(multipartBody(boundary, "portrait", PORTRAIT), `Multipart/Form-Data; boundary=${boundary}`);
    expect(res.status).toBe(201);
    const body = (await res.json()) as PortraitUploaded;
    expect([body.width, body.height]).toEqual([512, 512]);
    expect(fs.readFileSync(path.join(server.dataDir, "portraits", body.id, "original.jpg")).equals(PORTRAIT)).toBe(
      true,
    );
    // The boundary in other case is another boundary: the body does not contain it.
    const wrongCase = await post(
      multipartBody(boundary, "portrait", PORTRAIT),
      `multipart/form-data; boundary=${boundary.toLowerCase()}`,
    );
    expect(wrongCase.status).toBe(400);
    expect(((await wrongCase.json()) as ErrorBody).error.message).toMatch(/does not contain the boundary/);
  });

  it("refuses pixel bombs from their header with 413 too-large, before any decoder reads them", async () => {
    const before = folders();
    const png = await pngBomb(100_000, 100_000);
    const jpeg = await jpegBomb(60_000, 60_000);
    const cases = [
      { name: "PNG", bytes: png, type: "image/png", w: 100_000, h: 100_000, mp: "10000.0" },
      // Cut after IHDR: sharp cannot read even its metadata, so only the header says what it is.
      { name: "PNG header only", bytes: png.subarray(0, 33), type: "image/png", w: 100_000, h: 100_000, mp: "10000.0" },
      { name: "JPEG", bytes: jpeg.bytes, type: "image/jpeg", w: 60_000, h: 60_000, mp: "3600.0" },
      {
        name: "JPEG cut after its frame header",
        bytes: jpeg.bytes.subarray(0, jpeg.sofEnd),
        type: "image/jpeg",
        w: 60_000,
        h: 60_000,
        mp: "3600.0",
      },
      ...(await webpBombs()).map((b) => ({ ...b, name: `WebP ${b.name}`, type: "image/webp" })),
    ];
    for (const c of cases) {
      expect(c.bytes.length, c.name).toBeLessThan(1000);
      const res = await post(c.bytes, c.type);
      expect(res.status, c.name).toBe(413);
      expect(await res.json(), c.name).toEqual({
        error: { code: "too-large", message: tooManyPixels(c.w, c.h, c.mp) },
      });
    }
    expect(folders()).toEqual(before);
  });

  it("answers malformed uploads with a 4xx and a plain message, never a 500", async () => {
    const before = folders();
    const boundary = "XyZ123boundary";
    const complete = multipartBody(boundary, "portrait", PORTRAIT);
    const cases: {
      name: string;
      body: Uint8Array | string;
      type: string | null;
      status: number;
      code: string;
      message: string | RegExp;
    }[] = [
      {
        name: "empty body",
        body: new Uint8Array(0),
        type: "image/jpeg",
        status: 422,
        code: "bad-image",
        message: "The file is empty: upload the photo again.",
      },
      {
        name: "no Content-Type",
        body: PORTRAIT,
        type: null,
        status: 415,
        code: "unsupported-type",
        message: /not "no Content-Type"\.$/,
      },
      {
        name: "JSON",
        body: '{"portrait":"me.jpg"}',
        type: "application/json",
        status: 415,
        code: "unsupported-type",
        message: /not "application\/json"\.$/,
      },
      {
        name: "multipart without a boundary",
        body: complete,
        type: "multipart/form-data",
        status: 400,
        code: "bad-request",
        message: "The multipart upload has no boundary in its Content-Type.",
      },
      {
        name: "empty multipart",
        body: new Uint8Array(0),
        type: `multipart/form-data; boundary=${boundary}`,
        status: 400,
        code: "bad-request",
        message: "The multipart upload has no parts: its body does not contain the boundary named in its Content-Type.",
      },
      {
        name: "multipart cut inside the file",
        body: complete.subarray(0, 5000),
        type: `multipart/form-data; boundary=${boundary}`,
        status: 400,
        code: "bad-request",
        message: "The multipart upload is incomplete: it ends in the middle of a part. Upload the photo again.",
      },
      {
        name: "multipart cut inside the part's headers",
        body: complete.subarray(0, 40),
        type: `multipart/form-data; boundary=${boundary}`,
        status: 400,
        code: "bad-request",
        message: "The multipart upload is incomplete: it ends in the middle of a part. Upload the photo again.",
      },
      {
        name: "multipart with an empty file",
        body: multipartBody(boundary, "portrait", Buffer.alloc(0)),
        type: `multipart/form-data; boundary=${boundary}`,
        status: 422,
        code: "bad-image",
        message: "The file is empty: upload the photo again.",
      },
      {
        name: "PNG signature, then garbage",
        body: Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(200, 0x5a)]),
        type: "image/png",
        status: 422,
        code: "bad-image",
        message: /^The PNG file could not be read \(.+\)\. It may be damaged/,
      },
      {
        name: "JPEG start, then garbage",
        body: Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(500, 0x33)]),
        type: "image/jpeg",
        status: 422,
        code: "bad-image",
        message: /^The JPEG file could not be read/,
      },
    ];
    for (const c of cases) {
      const res = await post(c.body, c.type);
      expect(res.status, c.name).toBe(c.status);
      const body = (await res.json()) as ErrorBody;
      expect(body.error.code, c.name).toBe(c.code);
      if (typeof c.message === "string") expect(body.error.message, c.name).toBe(c.message);
      else expect(body.error.message, c.name).toMatch(c.message);
      expect(body.overlayUrl, c.name).toBeUndefined();
    }
    expect(folders()).toEqual(before);
  });

  it("brings a refusal back from the worker as the server's own analysis makes it: code, message and overlay", async () => {
    // Two people side by side: refused as many-faces, with both boxes drawn on the overlay.
    const pair = await sharp({ create: { width: 1024, height: 512, channels: 3, background: "#ffffff" } })
      .composite([
        { input: PORTRAIT, left: 0, top: 0 },
        { input: PORTRAIT, left: 512, top: 0 },
      ])
      .jpeg({ quality: 92 })
      .toBuffer();
    const expected = await analysePortrait(await decodePortrait(pair)).then(
      () => null,
      (e: unknown) => e,
    );
    if (!isPortraitRefusal(expected)) throw new Error(`the pair was not refused: ${String(expected)}`);
    expect(expected.code).toBe("many-faces");
    const expectedOverlay = await sharp(await refusalOverlayPng(await decodePortrait(pair), expected))
      .jpeg({ quality: 85 })
      .toBuffer();

    const res = await post(pair, "image/jpeg");
    expect(res.status).toBe(422);
    const body = (await res.json()) as ErrorBody;
    expect(body.error).toEqual({ code: "many-faces", message: expected.message });
    expect(body.overlayUrl).toMatch(/^data:image\/jpeg;base64,/);
    const overlay = Buffer.from(body.overlayUrl!.split(",")[1]!, "base64");
    expect((({ width, height, format }) => [width, height, format])(await sharp(overlay).metadata())).toEqual([
      1024,
      512,
      "jpeg",
    ]);
    // Same picture (JPEG may differ in the last bits only); a missing box or caption would differ by far more.
    expect(await meanAbsDiff(overlay, expectedOverlay)).toBeLessThan(1);
    expect(await meanAbsDiff(overlay, pair)).toBeGreaterThan(2);
  });

  it("answers 500 analysis-failed when the worker dies mid-analysis, and analyses the next upload on a fresh worker", async () => {
    const before = folders();
    const big = await sharp(PORTRAIT).resize(6000, 6000).jpeg({ quality: 85 }).toBuffer();
    const pending = post(big, "image/jpeg");
    const { worker } = await waitFor(
      () => (portraitAnalysisState().busy ? portraitAnalysisState() : null),
      10_000,
      "the worker to take the upload",
    );
    const deadId = worker!.threadId;
    await worker!.terminate();
    const res = await pending;
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({
      error: {
        code: "analysis-failed",
        message:
          "The server could not analyse this photo because of an internal error (it has been logged). Try again in a moment.",
      },
    });
    expect(folders()).toEqual(before);

    const next = await post(PORTRAIT, "image/jpeg");
    expect(next.status).toBe(201);
    const fresh = portraitAnalysisState().worker;
    expect(fresh).not.toBeNull();
    expect(fresh!.threadId).not.toBe(deadId);
  });
});
