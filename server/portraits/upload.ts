/**
 * POST /api/portraits: the owner's portrait upload. The body is the image
 * itself (Content-Type image/jpeg, image/png or image/webp) or
 * multipart/form-data with one file field "portrait". The size limit holds
 * while the body streams in. The image is decoded and analysed at once, so
 * the person learns right away whether the photo will do:
 *   201 { id, width, height, analysis, imageUrl, overlayUrl }   files under DATA_DIR/portraits/<id>/
 *   422 { error: { code: RefusalCode, message }, overlayUrl? }  nothing kept; the overlay (when the
 *       image could be decoded) comes inline as a data: URL (JPEG, at most 1024 px)
 *   413 / 415 / 400 { error: { code, message } }
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import sharp from "sharp";
import { decodePortrait, sniffFormat, type RgbImage } from "../pipeline/analyse/decode";
import { analysePortrait, analysisOverlayPng, refusalOverlayPng, type PortraitAnalysis } from "../pipeline/analyse/analyse";
import { isPortraitRefusal } from "../pipeline/analyse/refusal";
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
const THUMBNAIL_SIDE = 256;
const REFUSAL_OVERLAY_SIDE = 1024;

export class HttpFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export function sendJsonError(res: ServerResponse, status: number, code: string, message: string, extra: Record<string, unknown> = {}): void {
  if (res.headersSent) return void res.destroy();
  res.writeHead(status, { "content-type": "application/json", "cache-control": "no-store" });
  res.end(JSON.stringify({ error: { code, message }, ...extra }));
}

const mb = (n: number) => `${(n / (1024 * 1024)).toFixed(n < 10 * 1024 * 1024 ? 1 : 0)} MB`;

export async function uploadPortrait(req: IncomingMessage, res: ServerResponse, options: UploadOptions): Promise<void> {
  const contentType = (req.headers["content-type"] ?? "").toLowerCase();
  const mime = contentType.split(";")[0]!.trim();
  const multipart = mime === "multipart/form-data";
  if (!multipart && !RAW_TYPES.includes(mime)) {
    req.resume();
    return sendJsonError(res, 415, "unsupported-type", `Send the photo as image/jpeg, image/png or image/webp (or multipart/form-data with a "portrait" file), not "${mime || "no Content-Type"}".`);
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

  let image: RgbImage;
  let analysis: PortraitAnalysis;
  try {
    image = await decodePortrait(bytes, { maxBytes: options.maxBytes });
  } catch (err) {
    if (isPortraitRefusal(err)) return sendJsonError(res, 422, err.code, err.message);
    throw err;
  }
  try {
    analysis = await analysePortrait(image);
  } catch (err) {
    if (!isPortraitRefusal(err)) throw err;
    const overlay = await refusalOverlayPng(image, err);
    const small = await sharp(overlay).resize({ width: REFUSAL_OVERLAY_SIDE, height: REFUSAL_OVERLAY_SIDE, fit: "inside", withoutEnlargement: true }).jpeg({ quality: 85 }).toBuffer();
    return sendJsonError(res, 422, err.code, err.message, { overlayUrl: `data:image/jpeg;base64,${small.toString("base64")}` });
  }

  const id = newPortraitId();
  const sniffed = sniffFormat(bytes);
  const ext = "format" in sniffed ? (sniffed.format === "jpeg" ? "jpg" : sniffed.format) : "bin";
  const raw = () => sharp(Buffer.from(image.rgb.buffer, image.rgb.byteOffset, image.rgb.byteLength), { raw: { width: image.width, height: image.height, channels: 3 } });
  const stored = {
    ...analysis,
    matte: undefined,
    landmarks: Array.from(analysis.landmarks),
    descriptor: Array.from(analysis.descriptor),
    mesh: analysis.mesh ? Array.from(analysis.mesh) : null,
    original: { file: `original.${ext}`, bytes: bytes.length, contentType: mime },
    uploadedAt: new Date().toISOString(),
  };
  await writePortraitFolder(options.dataDir, id, [
    ["portrait.png", await raw().png().toBuffer()],
    [`original.${ext}`, bytes],
    ["overlay.png", await analysisOverlayPng(image, analysis)],
    ["thumbnail.jpg", await thumbnail(raw(), image, analysis.box)],
    // Last: its presence marks a complete upload (portraitExists).
    ["analysis.json", JSON.stringify(stored)],
  ]);
  options.log?.(`portraits: stored ${id} (${image.width} x ${image.height}, ${bytes.length} bytes)`);

  const base = `/api/portraits/${id}`;
  const reply: PortraitUploaded = {
    id,
    width: image.width,
    height: image.height,
    analysis: {
      box: analysis.box,
      landmarks: Array.from(analysis.landmarks, (v) => Math.round(v * 100) / 100),
      rotation: analysis.rotation,
      interocularPx: analysis.interocularPx,
      sharpness: analysis.sharpness,
      score: analysis.score,
      faces: analysis.faces,
    },
    imageUrl: `${base}/portrait.png`,
    overlayUrl: `${base}/overlay.png`,
  };
  res.writeHead(201, { "content-type": "application/json", "cache-control": "no-store", location: base });
  res.end(JSON.stringify(reply));
}

/** A square around the face (twice its box, inside the image), 256 px. */
async function thumbnail(img: ReturnType<typeof sharp>, image: RgbImage, box: PortraitAnalysis["box"]): Promise<Buffer> {
  const side = Math.max(1, Math.round(Math.min(image.width, image.height, 2 * Math.max(box.width, box.height))));
  const cx = box.x + box.width / 2;
  const cy = box.y + box.height / 2;
  const left = Math.round(Math.min(Math.max(cx - side / 2, 0), image.width - side));
  const top = Math.round(Math.min(Math.max(cy - side / 2, 0), image.height - side));
  return img.extract({ left, top, width: side, height: side }).resize(THUMBNAIL_SIDE, THUMBNAIL_SIDE).jpeg({ quality: 85 }).toBuffer();
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

/** The bytes of the file field `field` of a multipart/form-data body. */
export function multipartFile(body: Buffer, contentType: string, field: string): Buffer {
  const m = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  const boundary = m?.[1] ?? m?.[2];
  if (!boundary) throw new HttpFailure(400, "bad-request", "The multipart upload has no boundary in its Content-Type.");
  const delimiter = Buffer.from(`--${boundary}`);
  let at = body.indexOf(delimiter);
  while (at >= 0) {
    const partStart = at + delimiter.length;
    if (body.subarray(partStart, partStart + 2).toString() === "--") break; // closing delimiter
    const headerEnd = body.indexOf("\r\n\r\n", partStart);
    if (headerEnd < 0) break;
    const headers = body.subarray(partStart, headerEnd).toString("utf8");
    const next = body.indexOf(Buffer.from(`\r\n--${boundary}`), headerEnd + 4);
    if (next < 0) break;
    const disposition = /content-disposition:[^\r\n]*/i.exec(headers)?.[0] ?? "";
    const name = /\bname="([^"]*)"/i.exec(disposition)?.[1];
    if (name === field) return body.subarray(headerEnd + 4, next);
    at = next + 2;
  }
  throw new HttpFailure(400, "bad-request", `The multipart upload has no file field named "${field}".`);
}
