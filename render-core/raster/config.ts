/**
 * Rasteriser constants: the one source for the CPU twin and the WGSL kernels
 * (emitted into WGSL at pipeline build time; never typed twice).
 * Values follow the 3DGS conventions.
 */
export const RASTER = {
  /** Tile edge in pixels; tiles are TILE x TILE. */
  TILE: 16,
  /** Added to the 2D covariance diagonal (px^2): the anti-aliasing low-pass. */
  LOWPASS: 0.3,
  /** Screen extent of a splat in standard deviations. */
  SIGMA_EXTENT: 3,
  /** Per-splat alpha is clamped to this before compositing. */
  ALPHA_MAX: 0.99,
  /** Splats whose alpha at a pixel is below this are skipped there. */
  ALPHA_MIN: 1 / 255,
  /** Compositing stops once transmittance falls below this. */
  T_MIN: 1e-4,
  /** Projected points further than this factor outside the frustum (in tan space) are clamped, as in 3DGS. */
  FRUSTUM_CLAMP: 1.3,
} as const;
