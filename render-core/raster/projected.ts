/**
 * Per-splat output of the projection pass, shared by the CPU twin
 * (project.cpu.ts) and the WGSL kernel (shaders/raster/project.wgsl) so that
 * the two can be compared stage by stage. Structure of arrays, splat-major.
 *
 * | field        | shape     | meaning                                                    |
 * |--------------|-----------|------------------------------------------------------------|
 * | means2d      | [N, 2] f32 | pixel-space centre (u, v), OpenCV pixel convention        |
 * | conics       | [N, 3] f32 | inverse of the low-passed 2D covariance: (a, b, c) =      |
 * |              |           | (inv00, inv01, inv11); power = -0.5(a dx^2 + c dy^2) - b dx dy |
 * | depths       | [N] f32    | view-space z (camera forward)                             |
 * | radii        | [N] i32    | 3-sigma screen radius in px, 0 when the splat is culled   |
 * | colors       | [N, 3] f32 | RGB after SH evaluation for this view, clamped at 0       |
 * | opacities    | [N] f32    | opacity (times the low-pass compensation, if any: none)   |
 * | tilesTouched | [N] u32    | number of 16x16 tiles the radius rectangle overlaps       |
 */
export interface ProjectedSplats {
  count: number;
  means2d: Float32Array;
  conics: Float32Array;
  depths: Float32Array;
  radii: Int32Array;
  colors: Float32Array;
  opacities: Float32Array;
  tilesTouched: Uint32Array;
}

export function createProjectedSplats(count: number): ProjectedSplats {
  return {
    count,
    means2d: new Float32Array(count * 2),
    conics: new Float32Array(count * 3),
    depths: new Float32Array(count),
    radii: new Int32Array(count),
    colors: new Float32Array(count * 3),
    opacities: new Float32Array(count),
    tilesTouched: new Uint32Array(count),
  };
}
