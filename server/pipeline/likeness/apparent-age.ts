/**
 * Apparent age (and gender) of the largest face in an image, for measuring
 * an "age slider" on rendered faces. It is face-api's AgeGenderNet (MIT; its
 * weights ship in the @vladmandic/face-api npm package), run the way
 * face-api's own `withAgeAndGender()` runs it: on the face crop aligned from
 * the 68 landmarks of each face SSD-MobileNet finds. Returns null when no
 * face is found.
 *
 * The face is looked for like findFace (recognisers.ts) looks for it: the
 * analysis' minimum detector score, and a replicated border (detect.ts's
 * padImage) first with pad "always", or as a second try when the plain image
 * shows no face.
 */
import { ANALYSE_THRESHOLDS } from "../analyse/analyse";
import { checkRgbImage, type RgbImage } from "../analyse/decode";
import { padImage } from "../analyse/detect";
import { exclusive, getModels, type Models } from "../analyse/models";
import type { Box } from "../analyse/types";
import type { FindPad } from "./recognisers";

export interface ApparentAge {
  /** Estimated age, years. */
  age: number;
  gender: "male" | "female";
  /** The probability of `gender` (0.5-1). */
  genderProbability: number;
  /** The face's detector box, in `image`'s pixels (may reach a little outside it when found with the border). */
  box: Box;
}

/** The border detect.ts adds by default: a quarter of the longer side on each side. */
const borderFor = (image: RgbImage) => Math.max(8, Math.round(0.25 * Math.max(image.width, image.height)));

/** Every face in `image` with its estimate, as plain objects (face-api's boxes are classes with getters, which spreading loses). */
async function agedFaces(models: Models, image: RgbImage): Promise<ApparentAge[]> {
  const { tf, faceapi } = models;
  const t = tf.tensor3d(image.rgb, [image.height, image.width, 3], "int32");
  try {
    const found = await faceapi
      .detectAllFaces(
        t,
        new faceapi.SsdMobilenetv1Options({ minConfidence: ANALYSE_THRESHOLDS.minScore, maxResults: 50 }),
      )
      .withFaceLandmarks()
      .withAgeAndGender();
    return found.map((f) => {
      const { x, y, width, height } = f.detection.box;
      return { age: f.age, gender: f.gender, genderProbability: f.genderProbability, box: { x, y, width, height } };
    });
  } finally {
    t.dispose();
  }
}

/** Faces found in `image` with a border of `border` pixels, their boxes mapped back to `image`. */
async function agedFacesWithBorder(models: Models, image: RgbImage, border: number): Promise<ApparentAge[]> {
  const faces = await agedFaces(models, await padImage(image, border));
  return faces.map((f) => ({ ...f, box: { ...f.box, x: f.box.x - border, y: f.box.y - border } }));
}

/** face-api's apparent age and gender of the largest face in `image`, or null when there is none. */
export async function apparentAge(image: RgbImage, pad: FindPad = "auto"): Promise<ApparentAge | null> {
  checkRgbImage(image, "apparentAge");
  const models = await getModels();
  return exclusive(async () => {
    const border = borderFor(image);
    let faces = pad === "always" ? await agedFacesWithBorder(models, image, border) : await agedFaces(models, image);
    if (faces.length === 0 && pad === "auto") faces = await agedFacesWithBorder(models, image, border);
    if (faces.length === 0) return null;
    const area = (f: ApparentAge) => f.box.width * f.box.height;
    return faces.reduce((a, b) => (area(b) > area(a) ? b : a));
  });
}
