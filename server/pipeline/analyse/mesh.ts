/**
 * Human's 478-point face mesh (468 MediaPipe points + 2 x 5 iris points),
 * run on a square crop around the face face-api found: BlazeFace misses
 * small faces in large photos, and the crop gives the mesh the same
 * resolution whatever the photo's size. Points come back in the decoded
 * image's pixels; z is MediaPipe's depth (negative toward the camera),
 * converted to the same pixel scale.
 */
import sharp from "sharp";
import type { Box } from "./types";
import type { RgbImage } from "./decode";
import type { Models } from "./models";

/** Side of the crop Human looks at (pixels); Human rounds mesh points to whole crop pixels. */
const CROP_SIDE = 320;
/** Crop side as a multiple of the face box's longer side: BlazeFace wants the whole head with margin. */
const CROP_FACTOR = 2;

/** A square region of the image (replicated border where it leaves the image), resampled to side x side. */
export async function squareCrop(
  image: RgbImage,
  cx: number,
  cy: number,
  half: number,
  side: number,
): Promise<{ rgb: Uint8Array; x0: number; y0: number; scale: number }> {
  const x0 = Math.round(cx - half),
    y0 = Math.round(cy - half),
    size = Math.max(2, Math.round(2 * half));
  const pad = Math.max(0, -x0, -y0, x0 + size - image.width, y0 + size - image.height);
  let img = sharp(Buffer.from(image.rgb.buffer, image.rgb.byteOffset, image.rgb.byteLength), {
    raw: { width: image.width, height: image.height, channels: 3 },
  });
  // sharp applies extract after extend within one pipeline only in this order when materialised in between.
  if (pad > 0)
    img = sharp(
      await img.extend({ top: pad, bottom: pad, left: pad, right: pad, extendWith: "copy" }).raw().toBuffer(),
      { raw: { width: image.width + 2 * pad, height: image.height + 2 * pad, channels: 3 } },
    );
  const { data } = await img
    .extract({ left: x0 + pad, top: y0 + pad, width: size, height: size })
    .resize(side, side, { fit: "fill", kernel: "lanczos3" })
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { rgb: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), x0, y0, scale: side / size };
}

export interface MeshResult {
  /** [478, 3] f32 pixels of the decoded image (z: depth, negative toward the camera). */
  mesh: Float32Array;
  /** Human's own head angles (radians, its sign conventions), kept for comparison. */
  humanAngles: { yaw: number; pitch: number; roll: number } | null;
}

export async function faceMesh(models: Models, image: RgbImage, box: Box): Promise<MeshResult | null> {
  const half = (CROP_FACTOR * Math.max(box.width, box.height)) / 2;
  const crop = await squareCrop(image, box.x + box.width / 2, box.y + box.height / 2, half, CROP_SIDE);
  const t = models.tf.tensor3d(crop.rgb, [CROP_SIDE, CROP_SIDE, 3], "int32");
  try {
    const result = await models.human.detect(t);
    const face = result.face[0];
    if (!face || face.mesh.length !== 478) return null;
    // Human keeps z in the mesh model's input units; its face box is that input's square in crop pixels.
    const meshInput =
      (models.human.models.models as unknown as Record<string, { inputs: Array<{ shape?: number[] }> } | null>).facemesh
        ?.inputs[0]?.shape?.[2] ?? 192;
    const zScale = face.box[2] / meshInput;
    const mesh = new Float32Array(478 * 3);
    face.mesh.forEach((p, i) => {
      mesh[i * 3] = p[0] / crop.scale + crop.x0;
      mesh[i * 3 + 1] = p[1] / crop.scale + crop.y0;
      mesh[i * 3 + 2] = ((p[2] ?? 0) * zScale) / crop.scale;
    });
    return { mesh, humanAngles: face.rotation ? { ...face.rotation.angle } : null };
  } finally {
    t.dispose();
  }
}
