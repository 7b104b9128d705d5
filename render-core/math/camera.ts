/**
 * Camera construction and validation. World convention: +y up; a camera at
 * yaw 0, pitch 0 sits on the +z axis looking toward -z (at the target), so a
 * head that faces +z is seen from the front. Camera axes are OpenCV's (x
 * right, y down, z forward), as the Camera below says.
 */

/**
 * A pinhole camera in the OpenCV convention: camera axes x right, y down,
 * z forward (into the scene); pixel (0, 0) is the top-left corner of the
 * top-left pixel, so the centre of pixel (i, j) is at (i + 0.5, j + 0.5).
 * A camera-space point (x, y, z) with z > 0 lands at
 *   u = fx * x / z + cx,   v = fy * y / z + cy.
 */
export interface Camera {
  /** Image width in pixels. */
  width: number;
  /** Image height in pixels. */
  height: number;
  /** Focal lengths in pixels. */
  fx: number;
  fy: number;
  /** Principal point in pixels. */
  cx: number;
  cy: number;
  /** World-to-camera rigid transform, 16 numbers, row-major (m[row * 4 + col]); translation in m[3], m[7], m[11]. */
  worldToCamera: Float32Array;
  /** Splats with view depth outside [near, far] are culled. Defaults 0.01 and 1000. */
  near: number;
  far: number;
}

export interface OrbitCameraOptions {
  width: number;
  height: number;
  /** Vertical field of view, degrees. Default 30. */
  fovYDeg?: number;
  /** Point looked at, world units. Default the origin. */
  target?: [number, number, number];
  /** Distance from the target, world units. Default 1. */
  distance?: number;
  /** Rotation about the world +y axis, degrees; positive moves the camera toward +x. Default 0. */
  yawDeg?: number;
  /** Elevation, degrees; positive looks down from above. Default 0. */
  pitchDeg?: number;
  near?: number;
  far?: number;
}

/** A pinhole camera orbiting `target`, principal point at the image centre. */
export function orbitCamera(o: OrbitCameraOptions): Camera {
  const fovY = ((o.fovYDeg ?? 30) * Math.PI) / 180;
  const yaw = ((o.yawDeg ?? 0) * Math.PI) / 180;
  const pitch = ((o.pitchDeg ?? 0) * Math.PI) / 180;
  const d = o.distance ?? 1;
  const [tx, ty, tz] = o.target ?? [0, 0, 0];
  const eye: [number, number, number] = [
    tx + d * Math.cos(pitch) * Math.sin(yaw),
    ty + d * Math.sin(pitch),
    tz + d * Math.cos(pitch) * Math.cos(yaw),
  ];
  const f = o.height / 2 / Math.tan(fovY / 2);
  return {
    width: o.width,
    height: o.height,
    fx: f,
    fy: f,
    cx: o.width / 2,
    cy: o.height / 2,
    worldToCamera: lookAt(eye, [tx, ty, tz], [0, 1, 0]),
    near: o.near ?? 0.01,
    far: o.far ?? 1000,
  };
}

/** World-to-camera (OpenCV axes, row-major 4x4) for a camera at `eye` looking at `target`. */
export function lookAt(
  eye: [number, number, number],
  target: [number, number, number],
  up: [number, number, number],
): Float32Array {
  const z = normalize([target[0] - eye[0], target[1] - eye[1], target[2] - eye[2]]);
  // x = z cross up points right when y points down (OpenCV).
  let x = normalize(cross(z, up));
  if (!Number.isFinite(x[0])) x = normalize(cross(z, [0, 0, 1]));
  const y = cross(z, x);
  const m = new Float32Array(16);
  const rows = [x, y, z];
  for (let r = 0; r < 3; r++) {
    m[r * 4] = rows[r]![0];
    m[r * 4 + 1] = rows[r]![1];
    m[r * 4 + 2] = rows[r]![2];
    m[r * 4 + 3] = -(rows[r]![0] * eye[0] + rows[r]![1] * eye[1] + rows[r]![2] * eye[2]);
  }
  m[15] = 1;
  return m;
}

/** Camera centre in world space from a world-to-camera matrix. */
export function cameraCenter(worldToCamera: ArrayLike<number>): [number, number, number] {
  const m = worldToCamera;
  const t = [m[3]!, m[7]!, m[11]!];
  return [0, 1, 2].map((j) => -(m[j]! * t[0]! + m[4 + j]! * t[1]! + m[8 + j]! * t[2]!)) as [number, number, number];
}

/**
 * Parses the render command's cam.json:
 * {"width","height","fx","fy","cx","cy","worldToCamera":[16 numbers, row-major, OpenCV axes], "near"?, "far"?}
 */
export function parseCameraJson(json: unknown): Camera {
  const owner = "parseCameraJson";
  if (typeof json !== "object" || json === null)
    throw new Error(`${owner}: expected a JSON object, got ${json === null ? "null" : typeof json}`);
  const o = json as Record<string, unknown>;
  const num = (k: string, positive: boolean, fallback?: number): number => {
    const v = o[k] ?? fallback;
    if (typeof v !== "number" || !Number.isFinite(v))
      throw new Error(`${owner}: "${k}" must be a finite number, got ${JSON.stringify(o[k])}`);
    if (positive && !(v > 0)) throw new Error(`${owner}: "${k}" must be > 0, got ${v}`);
    return v;
  };
  const width = num("width", true);
  const height = num("height", true);
  if (!Number.isInteger(width) || !Number.isInteger(height) || width > 8192 || height > 8192) {
    throw new Error(`${owner}: width and height must be whole numbers up to 8192, got ${width} x ${height}`);
  }
  const m = o.worldToCamera;
  if (!Array.isArray(m) || m.length !== 16 || !m.every((v) => typeof v === "number" && Number.isFinite(v))) {
    throw new Error(`${owner}: "worldToCamera" must be an array of 16 finite numbers (row-major 4x4)`);
  }
  const near = num("near", true, 0.01);
  const far = num("far", true, 1000);
  if (!(far > near)) throw new Error(`${owner}: "far" (${far}) must exceed "near" (${near})`);
  return {
    width,
    height,
    fx: num("fx", true),
    fy: num("fy", true),
    cx: num("cx", false),
    cy: num("cy", false),
    worldToCamera: Float32Array.from(m as number[]),
    near,
    far,
  };
}

function normalize(v: number[]): [number, number, number] {
  const l = Math.hypot(v[0]!, v[1]!, v[2]!);
  return [v[0]! / l, v[1]! / l, v[2]! / l];
}

function cross(a: number[], b: number[]): [number, number, number] {
  return [a[1]! * b[2]! - a[2]! * b[1]!, a[2]! * b[0]! - a[0]! * b[2]!, a[0]! * b[1]! - a[1]! * b[0]!];
}
