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

/** Output of a render: tightly packed, row-major from the top-left pixel. */
export interface RenderImage {
  width: number;
  height: number;
  /** [H, W, 3] f32 composited colour (background included). */
  rgb: Float32Array;
  /** [H, W] f32 accumulated opacity, 1 - final transmittance. */
  alpha: Float32Array;
  /** [H, W] f32 alpha-weighted mean view depth (sum w_i z_i / sum w_i), 0 where alpha is 0. */
  depth: Float32Array;
}

export interface RenderOptions {
  /** Background colour composited under the splats, RGB in [0, 1]. Default black. */
  background?: [number, number, number];
}
