/**
 * The driving motion every video of a dataset shares: F frames at 30 fps of
 * talking, a smile, blinks, a head turn of about +-30 degrees yaw and +-15
 * pitch. Deterministic: the same F gives the same track, so two videos
 * differ only in their attribute.
 */
import { clipFromFunction, sampleClip } from "../../../render-core/animation";
import type { FramePose } from "./scene";

const DEG = Math.PI / 180;

export function drivingMotion(frames: number, fps = 30): FramePose[] {
  if (!Number.isInteger(frames) || frames < 1)
    throw new Error(`drivingMotion: frames must be a positive whole number, got ${frames}`);
  const T = Math.max(frames - 1, 1) / fps;
  const bump = (t: number, a: number, b: number) =>
    t <= a || t >= b ? 0 : Math.sin((Math.PI * (t - a)) / (b - a)) ** 2;
  const clip = clipFromFunction("driving", T, fps, (t) => {
    const u = t / T; // 0..1 over the video
    const syll = Math.max(0, Math.sin(2 * Math.PI * 4 * t) * 0.6 + Math.sin(2 * Math.PI * 2.3 * t + 1) * 0.4);
    const blink = Math.max(bump(u, 0.3, 0.36), bump(u, 0.78, 0.84));
    const smile = bump(u, 0.45, 0.75);
    const yaw = 30 * DEG * Math.sin(2 * Math.PI * u);
    return {
      "jaw.x": 0.2 * syll * (1 - smile),
      smileL: smile,
      smileR: smile,
      squintL: 0.3 * smile,
      squintR: 0.3 * smile,
      blinkL: blink,
      blinkR: blink,
      "neck.y": 0.6 * yaw,
      "global.y": 0.4 * yaw,
      "global.x": 15 * DEG * Math.sin(4 * Math.PI * u) * 0.8,
    };
  });
  return Array.from({ length: frames }, (_, f) => {
    const s = sampleClip(clip, f / fps);
    return { expression: Array.from(s.expression), pose: Array.from(s.pose) };
  });
}
