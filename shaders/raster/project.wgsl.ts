/**
 * projectFwd: per splat, world -> camera -> EWA screen-space Gaussian, cull,
 * SH colour for this view, and the number of tiles its 3-sigma box touches.
 * CPU twin: render-core/raster/project.cpu.ts (projectFwd).
 *
 * Steps, one thread per splat:
 *   1. camera-space centre; cull outside [near, far]
 *   2. 3D covariance R S S^T R^T from the (w, x, y, z) quaternion and linear scales
 *   3. EWA: cov2d = J W cov3d W^T J^T, with the centre clamped to FRUSTUM_CLAMP x
 *      the half-FOV tangent (as 3DGS) so that J stays sane at the border
 *   4. low-pass (+LOWPASS px^2 on the diagonal), invert to the conic; cull det <= 0
 *   5. radius = ceil(SIGMA_EXTENT * sqrt(largest eigenvalue)); tiles touched; cull 0
 *   6. colour = base + SH rest (view direction camera -> splat), clamped at 0
 * Culled splats write zeros everywhere (radius 0, no tiles).
 *
 * Bindings:
 *   0 params        uniform            FrameParams (render-core/raster/project.ts)
 *   1 gaussians     read-only storage  [N, 4] vec4<f32>  (see GAUSSIAN layout below)
 *   2 shRest        read-only storage  [N, K, 3] f32     K = params.shCoeffs
 *   3 splats2d      storage            [N, 3] vec4<f32>  (see SPLAT2D layout below)
 *   4 radii         storage            [N] i32
 *   5 tilesTouched  storage            [N] u32
 *
 * GAUSSIAN layout (per splat, 4 x vec4): [0] position xyz, opacity
 *   [1] scale xyz (linear), unused  [2] quaternion w, x, y, z  [3] base rgb, unused
 * SPLAT2D layout (per splat, 3 x vec4): [0] mean u, v (px), depth z, opacity
 *   [1] conic a, b, c (inverse covariance), unused  [2] rgb, unused
 * Reads constants WG, TILE, LOWPASS, SIGMA_EXTENT, FRUSTUM_CLAMP.
 */
export const PROJECT_WGSL = /* wgsl */ `
@group(0) @binding(0) var<uniform> params: FrameParams;
@group(0) @binding(1) var<storage, read> gaussians: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> shRest: array<f32>;
@group(0) @binding(3) var<storage, read_write> splats2d: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> radii: array<i32>;
@group(0) @binding(5) var<storage, read_write> tilesTouched: array<u32>;

fn cull(i: u32) {
  splats2d[i * 3u] = vec4<f32>(0.0);
  splats2d[i * 3u + 1u] = vec4<f32>(0.0);
  splats2d[i * 3u + 2u] = vec4<f32>(0.0);
  radii[i] = 0;
  tilesTouched[i] = 0u;
}

fn quatToMat(q: vec4<f32>) -> mat3x3<f32> {
  let n = q / max(length(q), 1e-12);
  let w = n.x; let x = n.y; let y = n.z; let z = n.w;
  // Columns of the rotation matrix.
  return mat3x3<f32>(
    vec3<f32>(1.0 - 2.0 * (y * y + z * z), 2.0 * (x * y + w * z), 2.0 * (x * z - w * y)),
    vec3<f32>(2.0 * (x * y - w * z), 1.0 - 2.0 * (x * x + z * z), 2.0 * (y * z + w * x)),
    vec3<f32>(2.0 * (x * z + w * y), 2.0 * (y * z - w * x), 1.0 - 2.0 * (x * x + y * y)));
}

@compute @workgroup_size(WG)
fn projectFwd(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.count) { return; }
  let g0 = gaussians[i * 4u];
  let g1 = gaussians[i * 4u + 1u];
  let g2 = gaussians[i * 4u + 2u];
  let g3 = gaussians[i * 4u + 3u];
  let p = g0.xyz;
  let pc = vec3<f32>(dot(params.row0.xyz, p) + params.row0.w,
                     dot(params.row1.xyz, p) + params.row1.w,
                     dot(params.row2.xyz, p) + params.row2.w);
  let z = pc.z;
  if (!(z >= params.near && z <= params.far)) { cull(i); return; }

  let R = quatToMat(g2);
  let M = mat3x3<f32>(R[0] * g1.x, R[1] * g1.y, R[2] * g1.z);
  let cov3 = M * transpose(M);
  // W: world-to-camera rotation; mat3x3 is column-major, rows given.
  let W = transpose(mat3x3<f32>(params.row0.xyz, params.row1.xyz, params.row2.xyz));
  let covC = W * cov3 * transpose(W);

  let limX = FRUSTUM_CLAMP * 0.5 * f32(params.width) / params.fx;
  let limY = FRUSTUM_CLAMP * 0.5 * f32(params.height) / params.fy;
  let tx = clamp(pc.x / z, -limX, limX) * z;
  let ty = clamp(pc.y / z, -limY, limY) * z;
  // J as a 3x2 (columns = rows of the 2x3 Jacobian) to keep the products 2x2.
  let j0 = vec3<f32>(params.fx / z, 0.0, -params.fx * tx / (z * z));
  let j1 = vec3<f32>(0.0, params.fy / z, -params.fy * ty / (z * z));
  let cj0 = covC * j0;
  let cj1 = covC * j1;
  let a = dot(j0, cj0) + LOWPASS;
  let b = dot(j0, cj1);
  let c = dot(j1, cj1) + LOWPASS;
  let det = a * c - b * b;
  if (!(det > 0.0)) { cull(i); return; }
  let conic = vec3<f32>(c / det, -b / det, a / det);
  let mid = 0.5 * (a + c);
  let lambda = mid + sqrt(max(0.1, mid * mid - det));
  let radius = ceil(SIGMA_EXTENT * sqrt(lambda));
  let mean = vec2<f32>(params.fx * pc.x / z + params.cx, params.fy * pc.y / z + params.cy);
  let rect = tileRect(mean, radius, params.tilesX, params.tilesY);
  let touched = (rect.z - rect.x) * (rect.w - rect.y);
  if (touched == 0u) { cull(i); return; }

  let dir = normalize(p - params.campos.xyz);
  let rgb = max(g3.xyz + shRestColor(i * params.shCoeffs * 3u, params.shDegree, dir), vec3<f32>(0.0));
  splats2d[i * 3u] = vec4<f32>(mean, z, g0.w);
  splats2d[i * 3u + 1u] = vec4<f32>(conic, 0.0);
  splats2d[i * 3u + 2u] = vec4<f32>(rgb, 0.0);
  radii[i] = i32(radius);
  tilesTouched[i] = touched;
}
`;
