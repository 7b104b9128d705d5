/**
 * Head model posing: blendshapes + linear blend skinning, one thread per
 * vertex. Host: render-core/head/lbs.ts. CPU twin: render-core/head/lbs.cpu.ts.
 *
 * Steps (per vertex i):
 *   1. p = restPos[i] + sum_s shapeDirs[i, :, s] * coeffs[s] + sum_e exprDirs[i, :, e] * coeffs[S + e]
 *   2. M = sum_j weights[i, j] * joints[j]   (3x4, row-major; joint matrices come from the host)
 *   3. outPos[i] = M * (p, 1)
 *
 * Constants (emitted from TypeScript): WG (threads per workgroup), JOINT_COUNT.
 * Needs GRID_WGSL (linearGroup) from shaders/common/grid.wgsl.ts.
 *
 * | binding | name      | type                 | layout                                  |
 * |---------|-----------|----------------------|-----------------------------------------|
 * | 0       | params    | uniform LbsParams    | vertexCount, shapeCount, exprCount, pad |
 * | 1       | restPos   | storage, read        | [V, 3] f32                              |
 * | 2       | shapeDirs | storage, read        | [V, 3, S] f32                           |
 * | 3       | exprDirs  | storage, read        | [V, 3, E] f32                           |
 * | 4       | weights   | storage, read        | [V, JOINT_COUNT] f32                    |
 * | 5       | coeffs    | storage, read        | [S + E] f32 (shape then expression)     |
 * | 6       | joints    | storage, read        | [JOINT_COUNT, 12] f32, 3x4 row-major    |
 * | 7       | outPos    | storage, read_write  | [V, 3] f32                              |
 */
export const LBS_WGSL = /* wgsl */ `
@group(0) @binding(0) var<uniform> params: LbsParams;
@group(0) @binding(1) var<storage, read> restPos: array<f32>;
@group(0) @binding(2) var<storage, read> shapeDirs: array<f32>;
@group(0) @binding(3) var<storage, read> exprDirs: array<f32>;
@group(0) @binding(4) var<storage, read> weights: array<f32>;
@group(0) @binding(5) var<storage, read> coeffs: array<f32>;
@group(0) @binding(6) var<storage, read> joints: array<f32>;
@group(0) @binding(7) var<storage, read_write> outPos: array<f32>;

@compute @workgroup_size(WG)
fn poseVertices(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let i = linearGroup(wg, nwg) * WG + li;
  if (i >= params.vertexCount) { return; }
  let S = params.shapeCount;
  let E = params.exprCount;
  var p = vec3<f32>(0.0, 0.0, 0.0);
  for (var a = 0u; a < 3u; a++) {
    let row = i * 3u + a;
    var v = restPos[row];
    for (var s = 0u; s < S; s++) { v += shapeDirs[row * S + s] * coeffs[s]; }
    for (var e = 0u; e < E; e++) { v += exprDirs[row * E + e] * coeffs[S + e]; }
    p[a] = v;
  }
  var r0 = vec4<f32>(0.0);
  var r1 = vec4<f32>(0.0);
  var r2 = vec4<f32>(0.0);
  for (var j = 0u; j < JOINT_COUNT; j++) {
    let w = weights[i * JOINT_COUNT + j];
    let b = j * 12u;
    r0 += w * vec4<f32>(joints[b], joints[b + 1u], joints[b + 2u], joints[b + 3u]);
    r1 += w * vec4<f32>(joints[b + 4u], joints[b + 5u], joints[b + 6u], joints[b + 7u]);
    r2 += w * vec4<f32>(joints[b + 8u], joints[b + 9u], joints[b + 10u], joints[b + 11u]);
  }
  let q = vec4<f32>(p, 1.0);
  outPos[i * 3u] = dot(r0, q);
  outPos[i * 3u + 1u] = dot(r1, q);
  outPos[i * 3u + 2u] = dot(r2, q);
}
`;
