/**
 * What a client may write into an avatar's shared state and presence, as
 * zod schemas shared by the server (which refuses anything else before it is
 * stored or broadcast: server/realtime/shared-state-guard.ts) and the app
 * (whose types come from them). The layout itself is in shared-state.ts.
 */
import * as Y from "yjs";
import { z } from "zod";
import { POSE_CONTROLS } from "../render-core/animation/controls";
import { EXPRESSION_NAMES } from "../render-core/head/expression";
import { BUILTIN_CLIP_NAMES } from "../render-core/animation";
import { SharedKeys } from "./shared-state";

/** Bounds of the shared state; generous for people, small for an attacker. */
export const SHARED_LIMITS = {
  /** Attribute categories (and attributes of a preset). */
  maxAttributes: 64,
  /** Anchors a category may have: slider ends index below this. */
  maxAnchorsPerCategory: 64,
  /** Longest attribute category name, characters. */
  maxKeyLength: 64,
  maxPresets: 100,
  /** Longest preset name, characters (the editor allows 40). */
  maxPresetName: 40,
  /** Longest peer name, characters. */
  maxUserName: 40,
  /** Yjs client ids one connection may write changes and presence under (a page uses one). */
  maxClientIdsPerConnection: 4,
  /** Largest presence state, bytes of JSON. */
  maxPresenceBytes: 2048,
} as const;

const key = z.string().min(1).max(SHARED_LIMITS.maxKeyLength);
const sliderValue = z.number().finite().min(-1).max(1);
const attributeRecord = z.record(key, sliderValue).refine((r) => Object.keys(r).length <= SHARED_LIMITS.maxAttributes, {
  message: `at most ${SHARED_LIMITS.maxAttributes} attributes`,
});
const anchorIndex = z
  .number()
  .int()
  .min(0)
  .max(SHARED_LIMITS.maxAnchorsPerCategory - 1);
const endsRecord = z
  .record(key, z.tuple([anchorIndex, anchorIndex]))
  .refine((r) => Object.keys(r).length <= SHARED_LIMITS.maxAttributes, {
    message: `at most ${SHARED_LIMITS.maxAttributes} attributes`,
  });
const poseShape = Object.fromEntries(
  POSE_CONTROLS.map(({ name, min, max }) => [name, z.number().finite().min(min).max(max).optional()]),
);

/** One value per top-level map of the document; `.strict()` refuses unknown keys. */
export const sharedStateSchema = z
  .object({
    [SharedKeys.attributes]: attributeRecord,
    [SharedKeys.ends]: endsRecord,
    [SharedKeys.playback]: z
      .object({
        clip: z.union([z.literal(""), z.enum(BUILTIN_CLIP_NAMES as [string, ...string[]])]).optional(),
        startedAt: z.number().finite().min(0).optional(),
      })
      .strict(),
    [SharedKeys.pose]: z.object(poseShape).strict(),
    [SharedKeys.drive]: z
      .object({
        by: z.string().max(SHARED_LIMITS.maxUserName).optional(),
        client: z.number().int().min(0).optional(),
        // The clip files' bounds (clip-files.ts CLIP_LIMITS): coefficients within 3, angles within pi.
        expression: z.array(z.number().finite().min(-3).max(3)).length(EXPRESSION_NAMES.length).optional(),
        pose: z.array(z.number().finite().min(-Math.PI).max(Math.PI)).length(15).optional(),
        at: z.number().finite().min(0).optional(),
      })
      .strict(),
    [SharedKeys.presets]: z
      .record(
        z.string().min(1).max(SHARED_LIMITS.maxPresetName),
        z
          .object({
            attributes: attributeRecord,
            ends: endsRecord.optional(),
            savedBy: z.string().max(SHARED_LIMITS.maxUserName),
            savedAt: z.number().finite().min(0),
          })
          .strict(),
      )
      .refine((r) => Object.keys(r).length <= SHARED_LIMITS.maxPresets, {
        message: `at most ${SHARED_LIMITS.maxPresets} presets`,
      }),
  })
  .strict();

const ROOTS = Object.values(SharedKeys) as string[];

/** Why a document state is not allowed, or null when it is. */
export function sharedStateProblem(doc: Y.Doc): string | null {
  const state: Record<string, Record<string, unknown>> = {};
  for (const [name, type] of doc.share) {
    if (!ROOTS.includes(name)) return `unknown top-level type "${name.slice(0, 40)}"`;
    // A map root holds entries only; list content under it would be invisible state.
    if (type._start !== null) return `"${name}" holds list content; it is a map`;
    const values: Record<string, unknown> = {};
    for (const [k, item] of type._map) {
      if (item.deleted) continue;
      const content = item.content.getContent();
      const value = content[content.length - 1];
      // Values are plain JSON; a nested shared type would change under the schema's feet.
      if (value instanceof Y.AbstractType || value instanceof Y.Doc)
        return `"${name}.${k.slice(0, 40)}" is a shared type; only plain values are allowed`;
      values[k] = value;
    }
    state[name] = values;
  }
  for (const name of ROOTS) state[name] ??= {};
  const parsed = sharedStateSchema.safeParse(state);
  if (parsed.success) return null;
  const issue = parsed.error.issues[0]!;
  return `${issue.path.map(String).join(".").slice(0, 120)}: ${issue.message}`;
}

const COLOR = /^#[0-9a-fA-F]{6}$/;

/** A peer's presence as the editor publishes it; anything else is refused. */
export const awarenessStateSchema = z
  .object({
    user: z
      .object({ name: z.string().min(1).max(SHARED_LIMITS.maxUserName), color: z.string().regex(COLOR) })
      .strict()
      .optional(),
    camera: z
      .object({
        yawDeg: z.number().finite().min(-360).max(360),
        pitchDeg: z.number().finite().min(-89).max(89),
        distance: z.number().finite().min(0.1).max(10),
      })
      .strict()
      .optional(),
    dragging: z.string().max(SHARED_LIMITS.maxKeyLength).nullable().optional(),
  })
  .strict();
export type AwarenessState = z.infer<typeof awarenessStateSchema>;

/** Why a presence state is refused, or null. */
export function awarenessProblem(json: string): string | null {
  if (json.length > SHARED_LIMITS.maxPresenceBytes)
    return `a presence state has at most ${SHARED_LIMITS.maxPresenceBytes} bytes`;
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    return "a presence state must be JSON";
  }
  if (value === null) return null;
  const parsed = awarenessStateSchema.safeParse(value);
  if (parsed.success) return null;
  const issue = parsed.error.issues[0]!;
  return `presence ${issue.path.map(String).join(".") || "state"}: ${issue.message}`;
}
