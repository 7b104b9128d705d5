"use client";
/** Drag to orbit, wheel to zoom, on a canvas; at most one change callback per animation frame. */
import { useEffect, type RefObject } from "react";
import type { StreamCamera } from "../../protocol/messages";

export function useOrbitControls(
  canvas: RefObject<HTMLCanvasElement | null>,
  camera: RefObject<StreamCamera>,
  onChange: () => void,
  enabled = true,
): void {
  useEffect(() => {
    const el = canvas.current;
    if (!el || !enabled) return;
    let drag: { x: number; y: number } | null = null;
    let queued = false;
    const changed = () => {
      if (queued) return;
      queued = true;
      requestAnimationFrame(() => {
        queued = false;
        onChange();
      });
    };
    const down = (e: PointerEvent) => {
      drag = { x: e.clientX, y: e.clientY };
      el.setPointerCapture(e.pointerId);
    };
    const move = (e: PointerEvent) => {
      if (!drag) return;
      const c = camera.current;
      c.yawDeg = Math.max(-180, Math.min(180, c.yawDeg - (e.clientX - drag.x) * 0.4));
      c.pitchDeg = Math.max(-60, Math.min(60, c.pitchDeg + (e.clientY - drag.y) * 0.3));
      drag = { x: e.clientX, y: e.clientY };
      changed();
    };
    const up = () => (drag = null);
    const wheel = (e: WheelEvent) => {
      e.preventDefault();
      camera.current.distance = Math.max(0.3, Math.min(2, camera.current.distance * (e.deltaY > 0 ? 1.08 : 1 / 1.08)));
      changed();
    };
    el.addEventListener("pointerdown", down);
    el.addEventListener("pointermove", move);
    el.addEventListener("pointerup", up);
    el.addEventListener("wheel", wheel, { passive: false });
    return () => {
      el.removeEventListener("pointerdown", down);
      el.removeEventListener("pointermove", move);
      el.removeEventListener("pointerup", up);
      el.removeEventListener("wheel", wheel);
    };
  }, [canvas, camera, onChange, enabled]);
}
