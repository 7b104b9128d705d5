/**
 * Why a portrait cannot be used, said so that the person who uploaded it
 * knows what to do next. The analyse stage throws a PortraitRefusal; the
 * job runner shows its message and code (and the found faces' boxes on
 * refusalOverlayPng) instead of a stack trace.
 */
import type { Box } from "./types";

export type RefusalCode = "bad-image" | "too-large" | "no-face" | "many-faces" | "too-small" | "blurred" | "turned";

export class PortraitRefusal extends Error {
  readonly code: RefusalCode;
  /** Boxes of the faces found (decoded-image pixels), to draw on the refusal; empty when none. */
  readonly boxes: Box[];
  /** The measured values behind the refusal, e.g. { interocularPx: 18, minInterocularPx: 40 } (logs, UI). */
  readonly details: Record<string, number>;

  constructor(code: RefusalCode, message: string, boxes: Box[] = [], details: Record<string, number> = {}) {
    super(message);
    this.name = "PortraitRefusal";
    this.code = code;
    this.boxes = boxes;
    this.details = details;
  }
}

export function isPortraitRefusal(err: unknown): err is PortraitRefusal {
  return err instanceof PortraitRefusal;
}
