/**
 * The editor's manual expression and pose controls (shared in the avatar's
 * document) as a head pose: a few understandable knobs instead of 24
 * coefficients and 15 angles. Used when no clip plays.
 */
import { EXPRESSION_NAMES } from "../head";
import type { ClipSample } from "./clip";

export const POSE_CONTROLS = [
  { name: "smile", min: 0, max: 1 },
  { name: "jawOpen", min: 0, max: 1 },
  { name: "blink", min: 0, max: 1 },
  { name: "browRaise", min: 0, max: 1 },
  { name: "turn", min: -40, max: 40 },
  { name: "nod", min: -25, max: 25 },
] as const;

export type PoseControls = Partial<Record<(typeof POSE_CONTROLS)[number]["name"], number>>;

const DEG = Math.PI / 180;

export function poseFromControls(controls: PoseControls | Record<string, unknown>): ClipSample {
  const c = controls as Record<string, unknown>;
  const get = (name: string) => {
    const spec = POSE_CONTROLS.find((p) => p.name === name)!;
    const v = c[name];
    return typeof v === "number" && Number.isFinite(v) ? Math.min(spec.max, Math.max(spec.min, v)) : 0;
  };
  const expression = new Float32Array(EXPRESSION_NAMES.length);
  const set = (name: (typeof EXPRESSION_NAMES)[number], v: number) => (expression[EXPRESSION_NAMES.indexOf(name)] = v);
  set("smileL", get("smile"));
  set("smileR", get("smile"));
  set("squintL", 0.3 * get("smile"));
  set("squintR", 0.3 * get("smile"));
  set("blinkL", get("blink"));
  set("blinkR", get("blink"));
  for (const n of ["browInnerRaiseL", "browInnerRaiseR", "browOuterRaiseL", "browOuterRaiseR"] as const)
    set(n, get("browRaise"));
  const pose = new Float32Array(15);
  // Turn: 40% whole head, 60% neck (as the built-in clips); nod about x; jaw open up to 0.35 rad.
  pose[1] = 0.4 * get("turn") * DEG;
  pose[4] = 0.6 * get("turn") * DEG;
  pose[0] = get("nod") * DEG;
  pose[6] = 0.35 * get("jawOpen");
  return { expression, pose, translation: new Float32Array(3) };
}
