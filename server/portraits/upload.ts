/**
 * POST /api/portraits: the owner's portrait upload. The body is the image
 * itself (Content-Type image/jpeg, image/png or image/webp) or
 * multipart/form-data with one file field "portrait". The size limit holds
 * while the body streams in. The image is decoded and analysed at once (on
 * the analysis worker thread, analysis-thread.ts), so the person learns right
 * away whether the photo will do:
 *   201 { id, width, height, analysis, imageUrl, overlayUrl }   files under DATA_DIR/portraits/<id>/
 *   422 { error: { code: RefusalCode, message }, overlayUrl? }  nothing kept; the overlay (when the
 *       image could be decoded) comes inline as a data: URL (JPEG, at most 1024 px)
 *   413 { error: { code: "too-large", message } }  too many bytes, or too many pixels in the header
 *   415 / 400 { error: { code, message } }
 *   500 { error: { code: "analysis-failed", message } }  the analysis itself broke (logged)
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { sniffFormat } from "../pipeline/analyse/decode";
import { toStoredAnalysis } from "../pipeline/analyse/stored-analysis";
import { originalFileName, PORTRAIT_FOLDER } from "../storage/layout";
import { analyseUploadOnWorker, type UploadAnalysis } from "./analysis-thread";
import { newPortraitId, writePortraitFolder } from "./store";

export interface UploadOptions {
  dataDir: string;
  /** Largest accepted image file, bytes (MAX_UPLOAD_BYTES). */
  maxBytes: number;
  log?: (line: string) => void;
}

/** What the browser gets for an accepted portrait. */
export interface PortraitUploaded {
  id: string;
  width: number;
  height: number;
  analysis: {
    box: { x: number; y: number; width: number; height: number };
    /** [68 x 2] pixels of the decoded image, x then y. */
    landmarks: number[];
    rotation: { yawDeg: number; pitchDeg: number; rollDeg: number };
    interocularPx: number;
    sharpness: number;
    score: number;
    faces: number;
  };
  imageUrl: string;
  overlayUrl: string;
}

const RAW_TYPES = ["image/jpeg", "image/png", "image/webp"];
/** Room for a multipart envelope around the file. */
const MULTIPART_OVERHEAD = 64 * 1024;
/** After a 413, this much more of the body is read and dropped so browsers see the answer; then the socket closes. */
const DRAIN_AFTER_REFUSAL = 8 * 1024 * 1024;

export class HttpFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export function sendJsonError(
  res: ServerResponse,
  status: number,
  code: string,
  message: string,
  extra: Record<string, unknown> = {},
): void {
  if (res.headersSent) return void res.destroy();
  res.writeHead(status, { "content-type": "application/json", "cache-control": "no-store" });
  res.end(JSON.stringify({ error: { code, message }, ...extra }));
}

const mb = (n: number) => `${(n / (1024 * 1024)).toFixed(n < 10 * 1024 * 1024 ? 1 : 0)} MB`;

export async function uploadPortrait(req: IncomingMessage, res: ServerResponse, options: UploadOptions): Promise<void> {
  // As sent: a multipart boundary is case-sensitive; only the MIME type is compared without case.
  const contentType = req.headers["content-type"] ?? "";
  const mime = contentType.split(";")[0]!.trim().toLowerCase();
  const multipart = mime === "multipart/form-data";
  if (!multipart && !RAW_TYPES.includes(mime)) {
    req.resume();
    return sendJsonError(
      res,
      415,
      "unsupported-type",
      `Send the photo as image/jpeg, image/png or image/webp (or multipart/form-data with a "portrait" file), not "${mime || "no Content-Type"}".`,
    );
  }
  const tooLarge = `The photo is larger than ${mb(options.maxBytes)}. Upload a smaller JPEG (a phone's "large" or "medium" size is plenty).`;
  const body = await readLimited(req, options.maxBytes + (multipart ? MULTIPART_OVERHEAD : 0));
  if (body === null) return refuseTooLarge(req, res, tooLarge);
  let bytes: Buffer;
  try {
    bytes = multipart ? multipartFile(body, contentType, "portrait") : body;
  } catch (err) {
    if (err instanceof HttpFailure) return sendJsonError(res, err.status, err.code, err.message);
    throw err;
  }
  if (bytes.length > options.maxBytes) return sendJsonError(res, 413, "too-large", tooLarge);

  const sniffed = sniffFormat(bytes);
  const ext = "format" in sniffed ? (sniffed.format === "jpeg" ? "jpg" : sniffed.format) : "bin";
  const size = bytes.length;
  let result: UploadAnalysis;
  try {
    result = await analyseUploadOnWorker(bytes, { maxBytes: options.maxBytes }); // bytes' buffer moves to the worker
  } catch (err) {
    options.log?.(
      `portraits: the analysis of an upload (${size} bytes) failed: ${(err as Error).stack ?? String(err)}`,
    );
    return sendJsonError(
      res,
      500,
      "analysis-failed",
      "The server could not analyse this photo because of an internal error (it has been logged). Try again in a moment.",
    );
  }
  if (result.type === "refused") {
    const overlay = result.overlayJpeg
      ? {
          overlayUrl: `data:image/jpeg;base64,${Buffer.from(result.overlayJpeg.buffer, result.overlayJpeg.byteOffset, result.overlayJpeg.byteLength).toString("base64")}`,
        }
      : {};
    return sendJsonError(res, result.code === "too-large" ? 413 : 422, result.code, result.message, overlay);
  }

  const { analysis } = result;
  const id = newPortraitId();
  const original = originalFileName(ext);
  const stored = {
    ...toStoredAnalysis(analysis),
    original: { file: original, bytes: size, contentType: mime },
    uploadedAt: new Date().toISOString(),
  };
  await writePortraitFolder(options.dataDir, id, [
    [PORTRAIT_FOLDER.image, result.portraitPng],
    [original, result.original],
    [PORTRAIT_FOLDER.overlay, result.overlayPng],
    [PORTRAIT_FOLDER.thumbnail, result.thumbnailJpg],
    // Last: its presence marks a complete upload (portraitExists).
    [PORTRAIT_FOLDER.analysis, JSON.stringify(stored)],
  ]);
  options.log?.(`portraits: stored ${id} (${analysis.width} x ${analysis.height}, ${size} bytes)`);

  const base = `/api/portraits/${id}`;
  const reply: PortraitUploaded = {
    id,
    width: analysis.width,
    height: analysis.height,
    analysis: {
      box: analysis.box,
      landmarks: Array.from(analysis.landmarks, (v) => Math.round(v * 100) / 100),
      rotation: analysis.rotation,
      interocularPx: analysis.interocularPx,
      sharpness: analysis.sharpness,
      score: analysis.score,
      faces: analysis.faces,
    },
    imageUrl: `${base}/${PORTRAIT_FOLDER.image}`,
    overlayUrl: `${base}/${PORTRAIT_FOLDER.overlay}`,
  };
  res.writeHead(201, { "content-type": "application/json", "cache-control": "no-store", location: base });
  res.end(JSON.stringify(reply));
}

/** The whole body, or null as soon as it passes `limit` bytes (declared or counted). */
function readLimited(req: IncomingMessage, limit: number): Promise<Buffer | null> {
  const declared = Number(req.headers["content-length"]);
  if (Number.isFinite(declared) && declared > limit) return Promise.resolve(null);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = () => {
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("error", onError);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        cleanup();
        chunks.length = 0;
        resolve(null);
      } else chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(Buffer.concat(chunks, size));
    };
    const onError = (err: Error) => {
      cleanup();
      reject(err);
    };
    req.on("data", onData);
    req.on("end", onEnd);
    req.on("error", onError);
  });
}

/**
 * 413, then: the rest of the body is read and dropped (up to a bound) so the
 * client, still sending, reads the answer; the connection closes after it.
 */
function refuseTooLarge(req: IncomingMessage, res: ServerResponse, message: string): void {
  res.shouldKeepAlive = false;
  res.writeHead(413, { "content-type": "application/json", "cache-control": "no-store", connection: "close" });
  res.end(JSON.stringify({ error: { code: "too-large", message } }));
  let dropped = 0;
  const close = () => req.socket.destroy();
  const timer = setTimeout(close, 10_000);
  timer.unref();
  req.on("data", (chunk: Buffer) => {
    dropped += chunk.length;
    if (dropped > DRAIN_AFTER_REFUSAL) close();
  });
  req.on("end", () => clearTimeout(timer));
  req.on("close", () => clearTimeout(timer));
  req.resume();
}

/** The bytes of the file field `field` of a multipart/form-data body; `contentType` as sent (the boundary is case-sensitive). */
export function multipartFile(body: Buffer, contentType: string, field: string): Buffer {
  const m = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  const boundary = m?.[1] ?? m?.[2];
  if (!boundary) throw new HttpFailure(400, "bad-request", "The multipart upload has no boundary in its Content-Type.");
  const delimiter = Buffer.from(`--${boundary}`);
  const incomplete = new HttpFailure(
    400,
    "bad-request",
    "The multipart upload is incomplete: it ends in the middle of a part. Upload the photo again.",
  );
  let at = body.indexOf(delimiter);
  if (at < 0)
    throw new HttpFailure(
      400,
      "bad-request",
      "The multipart upload has no parts: its body does not contain the boundary named in its Content-Type.",
    );
  for (;;) {
    const partStart = at + delimiter.length;
    if (body.subarray(partStart, partStart + 2).toString() === "--") break; // closing delimiter
    const headerEnd = body.indexOf("\r\n\r\n", partStart);
    if (headerEnd < 0) throw incomplete;
    const headers = body.subarray(partStart, headerEnd).toString("utf8");
    const next = body.indexOf(Buffer.from(`\r\n--${boundary}`), headerEnd + 4);
    if (next < 0) throw incomplete;
    const disposition = /content-disposition:[^\r\n]*/i.exec(headers)?.[0] ?? "";
    const name = /\bname="([^"]*)"/i.exec(disposition)?.[1];
    if (name === field) return body.subarray(headerEnd + 4, next);
    at = next + 2;
  }
  throw new HttpFailure(400, "bad-request", `The multipart upload has no file field named "${field}".`);
}
