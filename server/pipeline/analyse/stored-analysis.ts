/**
 * A portrait analysis as analysis.json holds it (the upload's portrait folder
 * and a creation job's analyse/ folder): plain JSON lists for the arrays, and
 * no matte (image-sized; the job keeps it as matte.png).
 */
import { z } from "zod";
import type { PortraitAnalysis } from "./types";

export type StoredAnalysis = Omit<PortraitAnalysis, "landmarks" | "descriptor" | "matte" | "mesh"> & {
  landmarks: number[];
  descriptor: number[];
  mesh: number[] | null;
};

/** The analysis as JSON-ready lists; a matte, when the analysis still has one, is left out. */
export function toStoredAnalysis(a: Omit<PortraitAnalysis, "matte">): StoredAnalysis {
  const { landmarks, descriptor, mesh, ...rest } = a;
  const { matte: _matte, ...plain } = rest as typeof rest & { matte?: unknown };
  return {
    ...plain,
    landmarks: Array.from(landmarks),
    descriptor: Array.from(descriptor),
    mesh: mesh ? Array.from(mesh) : null,
  };
}

// zod 4 numbers are finite: NaN and Infinity fail.
const finite = z.number();
const box = z.object({ x: finite, y: finite, width: finite, height: finite });

/** Everything the later stages read; other fields (the upload's own, such as uploadedAt) are dropped. */
const storedAnalysisSchema = z.object({
  width: z.number().int().positive(),
  height: z.number().int().positive(),
  box,
  score: finite,
  faces: z.number().int(),
  landmarks: z.array(finite).length(68 * 2),
  descriptor: z.array(finite).length(128),
  rotation: z.object({ yawDeg: finite, pitchDeg: finite, rollDeg: finite }),
  interocularPx: finite,
  sharpness: finite,
  mesh: z.array(finite).nullable(),
  timings: z.record(z.string(), z.number()),
});

/** The stored analysis of an image of this size, or null when the text is not a whole one (an older or partial file). */
export function parseStoredAnalysis(text: string, size: { width: number; height: number }): StoredAnalysis | null {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return null;
  }
  const parsed = storedAnalysisSchema.safeParse(json);
  if (!parsed.success || parsed.data.width !== size.width || parsed.data.height !== size.height) return null;
  return parsed.data;
}

/** Back to typed arrays, with the matte the caller has (drawing and fitting want the in-memory form). */
export function fromStoredAnalysis(s: StoredAnalysis, matte: Float32Array | null): PortraitAnalysis {
  return {
    ...s,
    landmarks: Float32Array.from(s.landmarks),
    descriptor: Float32Array.from(s.descriptor),
    mesh: s.mesh ? Float32Array.from(s.mesh) : null,
    matte,
  };
}
