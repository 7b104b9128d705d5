/**
 * The worker side of analysis-thread.ts: decodes and analyses uploaded
 * portraits one at a time and draws their pictures, with the models loaded
 * once in this thread.
 */
import { parentPort } from "node:worker_threads";
import sharp, { type Sharp } from "sharp";
import {
  analysePortrait,
  analysisOverlayPng,
  refusalOverlayPng,
  type PortraitAnalysis,
} from "../pipeline/analyse/analyse";
import { decodePortrait, type RgbImage } from "../pipeline/analyse/decode";
import { isPortraitRefusal } from "../pipeline/analyse/refusal";
import type { FromAnalysisWorker, ToAnalysisWorker, UploadAnalysis } from "./analysis-thread";

const THUMBNAIL_SIDE = 256;
const REFUSAL_OVERLAY_SIDE = 1024;

const port = parentPort!;

/** The bytes as a Uint8Array that owns its whole ArrayBuffer, so it can be transferred (sharp's output usually does already). */
const own = (b: Uint8Array) => (b.byteOffset === 0 && b.byteLength === b.buffer.byteLength ? b : new Uint8Array(b));

async function analyseUpload(bytes: Uint8Array, maxBytes: number): Promise<UploadAnalysis> {
  let image: RgbImage;
  try {
    image = await decodePortrait(bytes, { maxBytes });
  } catch (err) {
    if (isPortraitRefusal(err))
      return { type: "refused", code: err.code, message: err.message, details: err.details, overlayJpeg: null };
    throw err;
  }
  let analysis: PortraitAnalysis;
  try {
    analysis = await analysePortrait(image);
  } catch (err) {
    if (!isPortraitRefusal(err)) throw err;
    const overlay = await refusalOverlayPng(image, err);
    const small = await sharp(overlay)
      .resize({ width: REFUSAL_OVERLAY_SIDE, height: REFUSAL_OVERLAY_SIDE, fit: "inside", withoutEnlargement: true })
      .jpeg({ quality: 85 })
      .toBuffer();
    return { type: "refused", code: err.code, message: err.message, details: err.details, overlayJpeg: own(small) };
  }
  const raw = () =>
    sharp(Buffer.from(image.rgb.buffer, image.rgb.byteOffset, image.rgb.byteLength), {
      raw: { width: image.width, height: image.height, channels: 3 },
    });
  // The matte is the size of the image and nothing downstream of the upload reads it. The arrays are
  // copied because a view would take its whole underlying buffer along through postMessage.
  const { matte: _matte, landmarks, descriptor, mesh, ...rest } = analysis;
  return {
    type: "accepted",
    analysis: {
      ...rest,
      landmarks: landmarks.slice(),
      descriptor: descriptor.slice(),
      mesh: mesh ? mesh.slice() : null,
    },
    original: own(bytes),
    portraitPng: own(await raw().png().toBuffer()),
    overlayPng: own(await analysisOverlayPng(image, analysis)),
    thumbnailJpg: own(await thumbnail(raw(), image, analysis.box)),
  };
}

/** A square around the face (twice its box, inside the image), 256 px. */
async function thumbnail(img: Sharp, image: RgbImage, box: PortraitAnalysis["box"]): Promise<Buffer> {
  const side = Math.max(1, Math.round(Math.min(image.width, image.height, 2 * Math.max(box.width, box.height))));
  const cx = box.x + box.width / 2;
  const cy = box.y + box.height / 2;
  const left = Math.round(Math.min(Math.max(cx - side / 2, 0), image.width - side));
  const top = Math.round(Math.min(Math.max(cy - side / 2, 0), image.height - side));
  return img
    .extract({ left, top, width: side, height: side })
    .resize(THUMBNAIL_SIDE, THUMBNAIL_SIDE)
    .jpeg({ quality: 85 })
    .toBuffer();
}

const transferables = (r: UploadAnalysis): ArrayBuffer[] =>
  (r.type === "accepted"
    ? [r.original, r.portraitPng, r.overlayPng, r.thumbnailJpg]
    : r.overlayJpeg
      ? [r.overlayJpeg]
      : []
  ).map((b) => b.buffer as ArrayBuffer);

// One upload at a time: the models share one tfjs engine, and a queue keeps memory to one image.
let chain: Promise<void> = Promise.resolve();
port.on("message", (m: ToAnalysisWorker) => {
  chain = chain.then(async () => {
    try {
      const result = await analyseUpload(m.bytes, m.maxBytes);
      port.postMessage({ id: m.id, result } satisfies FromAnalysisWorker, transferables(result));
    } catch (err) {
      const e = err instanceof Error ? err : new Error(String(err));
      port.postMessage({
        id: m.id,
        failed: { message: e.message, ...(e.stack ? { stack: e.stack } : {}) },
      } satisfies FromAnalysisWorker);
    }
  });
});
