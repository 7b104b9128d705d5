/** Render outputs and options; the Camera itself is render-core/math/camera.ts (the lowest layer owns it). */

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

/** A render ready for an image encoder: 8-bit RGB (background composited), row-major from the top-left pixel. */
export interface DisplayImage {
  width: number;
  height: number;
  /** [H, W, 3] u8. */
  rgb: Uint8Array;
}
