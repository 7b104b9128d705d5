/**
 * Apparent age (and gender) of the largest face in an image, for measuring
 * the age slider on rendered faces: face-api's AgeGenderNet (MIT; its
 * weights ship in the @vladmandic/face-api npm package) on the face crop
 * aligned from the 68 landmarks, the face found as findFace (recognisers.ts)
 * finds it (detect.ts, the analysis' minimum score, the same border rule).
 * Returns null when no face is found.
 */
import { ANALYSE_THRESHOLDS } from "../analyse/analyse";
import { checkRgbImage, type RgbImage } from "../analyse/decode";
import { detectFaces } from "../analyse/detect";
import { exclusive, getModels } from "../analyse/models";
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

/** face-api's apparent age and gender of the largest face in `image`, or null when there is none. */
export async function apparentAge(image: RgbImage, pad: FindPad = "auto"): Promise<ApparentAge | null> {
  checkRgbImage(image, "apparentAge");
  const models = await getModels();
  return exclusive(async () => {
    const { faces } = await detectFaces(models, image, {
      minScore: ANALYSE_THRESHOLDS.minScore,
      pad,
      ageAndGender: true,
    });
    if (faces.length === 0) return null;
    const area = (f: (typeof faces)[number]) => f.box.width * f.box.height;
    const f = faces.reduce((a, b) => (area(b) > area(a) ? b : a));
    return { age: f.age!.years, gender: f.age!.gender, genderProbability: f.age!.genderProbability, box: f.box };
  });
}
