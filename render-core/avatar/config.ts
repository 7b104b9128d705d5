/**
 * The avatar model's sizes and layout, validated with zod so that the CLI,
 * tRPC and stored bundles share one definition. Two presets: PAPER (the
 * reference's sizes, PERSE-METHOD.md section 2) and COMPACT (small enough to
 * train on a 2-core CPU at 128 px).
 */
import { z } from "zod";

export const ACTIVATIONS = ["softplus100", "relu"] as const;

const mlpSize = z.object({
  /** Hidden layers. */
  depth: z.number().int().min(1).max(16),
  /** Units per hidden layer. */
  width: z.number().int().min(4).max(1024),
});

export const avatarModelConfigSchema = z
  .object({
    /** Attribute categories, in conditioning order. */
    categories: z
      .array(z.string().regex(/^[a-z][a-z0-9_-]*$/, "category names are lower-case words"))
      .min(1)
      .max(32),
    /** Latent numbers per category. */
    latentDim: z.number().int().min(1).max(256),
    /** Expression coefficients the deformer predicts blendshapes for. */
    expressionCount: z.number().int().min(0).max(200),
    /** Pose-corrective inputs (9 rotation-matrix entries minus identity per non-global joint: 4 x 9 = 36). */
    poseCorrectiveCount: z.number().int().min(0).max(200),
    /** Skinning joints (global, neck, jaw, left eye, right eye). */
    jointCount: z.number().int().min(1).max(16),
    /** Positional-encoding frequencies for the canonical point (6 -> 3 + 3*2*6 = 39 inputs). */
    peFrequencies: z.number().int().min(0).max(16),
    geometry: mlpSize.extend({
      /** Hidden layer after which the input is concatenated again. */ skipAt: z.number().int().min(0),
    }),
    deformer: mlpSize,
    gaussian: mlpSize,
    activation: z.enum(ACTIVATIONS),
    /** Softmax temperature of the skinning weights. */
    skinningTemperature: z.number().positive(),
    /** Scale activation: sigmoid(x) * scaleMax (world units). */
    scaleMax: z.number().positive(),
  })
  .refine((c) => c.geometry.skipAt < c.geometry.depth, {
    message: "geometry.skipAt must be below geometry.depth",
    path: ["geometry", "skipAt"],
  })
  .refine((c) => new Set(c.categories).size === c.categories.length, {
    message: "categories must be unique",
    path: ["categories"],
  });

export type AvatarModelConfig = z.infer<typeof avatarModelConfigSchema>;

export const DEFAULT_CATEGORIES = [
  "source",
  "hair",
  "beard",
  "eyebrows",
  "eyewear",
  "hat",
  "earrings",
  "skin",
  "lips",
] as const;

/** The reference's sizes (PERSE-METHOD.md section 2). */
export const PAPER: AvatarModelConfig = {
  categories: [...DEFAULT_CATEGORIES],
  latentDim: 32,
  expressionCount: 50,
  poseCorrectiveCount: 36,
  jointCount: 5,
  peFrequencies: 6,
  geometry: { depth: 9, width: 512, skipAt: 4 },
  deformer: { depth: 4, width: 128 },
  gaussian: { depth: 3, width: 128 },
  activation: "softplus100",
  skinningTemperature: 20,
  scaleMax: 0.0175,
};

/**
 * CPU-sized: about 1/60 of PAPER's geometry trunk's multiply-adds per point, so a
 * bake of 20k Gaussians stays well under a second in TypeScript. The head model
 * has 24 expression coefficients, so the deformer predicts 24 blendshapes.
 */
export const COMPACT: AvatarModelConfig = {
  ...PAPER,
  expressionCount: 24,
  geometry: { depth: 4, width: 64, skipAt: 2 },
  deformer: { depth: 3, width: 64 },
  gaussian: { depth: 2, width: 32 },
};

/** Validates an untrusted config (from a bundle or an API call); throws with every problem listed. */
export function parseAvatarModelConfig(input: unknown): AvatarModelConfig {
  const r = avatarModelConfigSchema.safeParse(input);
  if (!r.success) {
    throw new Error(
      `parseAvatarModelConfig: ${r.error.issues.map((i) => `${i.path.join(".") || "config"}: ${i.message}`).join("; ")}`,
    );
  }
  return r.data;
}

/** Numbers in the conditioning vector: per category [one-hot, latent] (PERSE: 10 x (10 + 32) = 420). */
export function conditioningSize(c: AvatarModelConfig): number {
  return c.categories.length * (c.categories.length + c.latentDim);
}

/** Inputs of the geometry network's first layer: positional encoding of the point + conditioning. */
export function positionalEncodingSize(c: AvatarModelConfig): number {
  return 3 + 3 * 2 * c.peFrequencies;
}
