/**
 * Identities for the synthetic dataset: the person every video of a dataset
 * shows. A procedural identity comes from a seed (head shape, skin tone,
 * freckles, eye, lip and brow colours); a portrait-based one (later issue)
 * fills the same fields from a photo.
 *
 * The skin is coloured per head-model vertex (about 7,600 of them: enough at
 * 256-512 px); skin-tone and lip edits of the attribute categories act on
 * these colours (attributes.ts). A portrait identity carries its colours
 * (taken from the photo) and its own attributes (hair, brows, ... estimated
 * from the photo) instead of drawing them from the seed, and a UV texture
 * (the photo at 1024 x 1024, fit/uv-texture.ts) that the head is drawn with;
 * its per-vertex colours stay the reference that colour edits tint it by
 * (scene.ts).
 */
import fs from "node:fs";
import path from "node:path";
import sharp from "sharp";
import { z } from "zod";
import { STUDIO_LIGHTS, type MeshLights, type MeshTexture } from "../../../render-core/mesh/scene";
import { Region, type HeadModel } from "../../../render-core/head";
import { MeshPart } from "../../../render-core/head/mesh";
import { gaussian, mulberry32 } from "../../../render-core/math/prng";

export type Rgb = [number, number, number];

export const identitySchema = z.object({
  kind: z.enum(["procedural", "portrait"]),
  seed: z.number().int().min(0),
  /** Head-model shape coefficients. */
  shape: z.array(z.number().finite()),
  skin: z.tuple([z.number(), z.number(), z.number()]),
  lips: z.tuple([z.number(), z.number(), z.number()]),
  brows: z.tuple([z.number(), z.number(), z.number()]),
  iris: z.tuple([z.number(), z.number(), z.number()]),
  /** 0 none to 1 many. */
  freckles: z.number().min(0).max(1),
  /** Portrait identities: per-vertex albedo [V, 3] taken from the photo (replaces the colours made from the fields above). */
  albedo: z.array(z.number().min(0).max(1)).optional(),
  /**
   * Portrait identities: the photo's light (server/pipeline/fit/photo-light.ts), world space: `sh` the 27
   * irradiance coefficients (render-core/light/sh.ts), `direction` where its shading peaks (the key light's
   * highlight). The dataset is rendered under it, attributes included, so the person looks as photographed.
   */
  light: z
    .object({
      sh: z.array(z.number().finite()).length(27),
      direction: z.tuple([z.number().finite(), z.number().finite(), z.number().finite()]),
    })
    .optional(),
  /** Portrait identities: the person's own attribute parameters per category (the "source" video shows them). */
  source: z.record(z.string(), z.record(z.string(), z.number().finite())).optional(),
  /** Portrait identities: the UV albedo texture, a PNG file beside identity.json (relative path; row 0 at v = 0). */
  texture: z
    .string()
    .regex(/^[\w.-]+(\/[\w.-]+)*$/, "a relative path without '..'")
    .refine((p) => !p.split("/").includes(".."), "a relative path without '..'")
    .optional(),
  /**
   * Portrait identities with hair: the hair's UV texture from the photo (fit/hair-texture.ts), a PNG beside
   * identity.json like `texture`; the source hair and hair edits take their colours from it (attributes.ts).
   */
  hairTexture: z
    .string()
    .regex(/^[\w.-]+(\/[\w.-]+)*$/, "a relative path without '..'")
    .refine((p) => !p.split("/").includes(".."), "a relative path without '..'")
    .optional(),
});
export type Identity = z.infer<typeof identitySchema>;

/** Skin tones from light to deep (linear-ish RGB in [0, 1]), blended by the seed. */
const SKIN_TONES: Rgb[] = [
  [0.93, 0.78, 0.68],
  [0.85, 0.66, 0.54],
  [0.72, 0.52, 0.4],
  [0.55, 0.38, 0.27],
  [0.36, 0.24, 0.17],
];
const IRISES: Rgb[] = [
  [0.33, 0.2, 0.1],
  [0.2, 0.35, 0.55],
  [0.3, 0.42, 0.25],
  [0.45, 0.33, 0.18],
];

export function mixRgb(a: Rgb, b: Rgb, t: number): Rgb {
  return [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t];
}

/** The lights an identity's scenes are rendered under: the photo's own light for a portrait, else the studio's. */
export function identityLights(identity: Identity): MeshLights {
  if (!identity.light) return STUDIO_LIGHTS;
  const [x, y, z] = identity.light.direction;
  const n = Math.hypot(x, y, z) || 1;
  return { ...STUDIO_LIGHTS, sh: identity.light.sh, keyDir: [x / n, y / n, z / n] };
}

/** A plausible person from a seed: moderate shape coefficients, a skin tone between two neighbours of the range. */
export function proceduralIdentity(seed: number, head: HeadModel): Identity {
  const rand = mulberry32(seed * 7919 + 17);
  const normal = gaussian(rand);
  const t = rand() * (SKIN_TONES.length - 1);
  const k = Math.min(SKIN_TONES.length - 2, Math.floor(t));
  const skin = mixRgb(SKIN_TONES[k]!, SKIN_TONES[k + 1]!, t - k);
  const lips = mixRgb(skin, [0.62, 0.25, 0.25], 0.45 + 0.2 * rand());
  const brows = mixRgb([0.1, 0.07, 0.05], [0.45, 0.33, 0.2], rand() * (1 - k / SKIN_TONES.length));
  return {
    kind: "procedural",
    seed,
    shape: Array.from({ length: head.shapeNames.length }, () => Math.max(-1.5, Math.min(1.5, 0.5 * normal()))),
    skin,
    lips,
    brows,
    iris: IRISES[Math.floor(rand() * IRISES.length)]!,
    freckles: k < 2 ? rand() * 0.6 : 0,
  };
}

/** Per-vertex albedo [V, 3] of the head for an identity (skin, lips, brows, eyes, mouth interior, freckles). */
export function identityColours(identity: Identity, head: HeadModel): Float32Array {
  const V = head.vertexCount;
  if (identity.albedo) {
    if (identity.albedo.length !== V * 3)
      throw new Error(
        `synthesise: the identity's albedo has ${identity.albedo.length / 3} vertices, the head model ${V}`,
      );
    return Float32Array.from(identity.albedo);
  }
  const out = new Float32Array(V * 3);
  const rand = mulberry32(identity.seed + 1);
  // Eyeball centres and radii, to put the iris where each eye looks (+z at rest).
  const balls = head.eyeballs.map(({ start, count }) => {
    const c = [0, 0, 0];
    for (let v = start; v < start + count; v++) for (let k = 0; k < 3; k++) c[k]! += head.template[v * 3 + k]! / count;
    let r = 0;
    for (let v = start; v < start + count; v++)
      r = Math.max(r, Math.hypot(...[0, 1, 2].map((k) => head.template[v * 3 + k]! - c[k]!)));
    return { start, count, c, r };
  });
  for (let v = 0; v < V; v++) {
    const region = head.vertexRegion[v]!;
    const part = head.vertexPart[v]!;
    let c: Rgb = identity.skin;
    if (region === Region.upperLip || region === Region.lowerLip) c = identity.lips;
    else if (region === Region.mouthInterior) c = [0.45, 0.15, 0.15];
    else if (region === Region.leftBrow || region === Region.rightBrow) c = mixRgb(identity.skin, identity.brows, 0.85);
    else if (part === MeshPart.eyeballLeft || part === MeshPart.eyeballRight) {
      const ball = balls.find((b) => v >= b.start && v < b.start + b.count)!;
      const forward = (head.template[v * 3 + 2]! - ball.c[2]!) / ball.r;
      c = forward > 0.93 ? [0.05, 0.04, 0.04] : forward > 0.8 ? identity.iris : [0.92, 0.9, 0.88];
    } else if (
      identity.freckles > 0 &&
      (region === Region.skin || region === Region.nose) &&
      rand() < 0.08 * identity.freckles
    )
      c = mixRgb(identity.skin, [0.45, 0.28, 0.18], 0.5);
    out.set(c, v * 3);
  }
  return out;
}

/** A MeshTexture (RGBA8) as a PNG file. */
export function texturePngBytes(texture: MeshTexture): Promise<Buffer> {
  const { width, height, data } = texture;
  if (!(width > 0 && height > 0) || data.length !== width * height * 4)
    throw new Error(`texturePngBytes: texture data must be ${width} x ${height} RGBA8, got ${data.length} bytes`);
  return sharp(Buffer.from(data.buffer, data.byteOffset, data.length), { raw: { width, height, channels: 4 } })
    .png()
    .toBuffer();
}

/** The identity's UV texture (identity.texture, or `field`, beside identityFile), or null when it has none. */
export async function loadIdentityTexture(
  identity: Identity,
  identityFile: string,
  field: "texture" | "hairTexture" = "texture",
): Promise<MeshTexture | null> {
  const name = identity[field];
  if (!name) return null;
  const file = path.join(path.dirname(identityFile), name);
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (err) {
    throw new Error(
      `synthesise: cannot read the identity's texture ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
    );
  }
  const { data, info } = await sharp(bytes)
    .ensureAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true })
    .catch((err: Error) => {
      throw new Error(`synthesise: the identity's texture ${file} is not an image (${err.message})`);
    });
  return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.length) };
}
