/**
 * The layout of an avatar's shared Y.Doc, used by the server and the app
 * alike. Keep names here so both sides agree.
 *
 * | top-level type | kind  | holds                                                     |
 * |----------------|-------|-----------------------------------------------------------|
 * | "attributes"   | Y.Map | attribute category -> slider position in [-1, 1] (number) |
 */
import type * as Y from "yjs";

export const SharedKeys = { attributes: "attributes" } as const;

export function attributesMap(doc: Y.Doc): Y.Map<number> {
  return doc.getMap<number>(SharedKeys.attributes);
}
