/**
 * A batch's conditioning from the latent table, and its gradient back to the
 * table. CPU twin: render-core/train/latent-mix.ts (mixLatents,
 * scatterLatentGrad) with the conditioning layout of buildConditioning
 * (render-core/avatar/latent.ts): per category [one-hot C | latent L].
 * Host: render-core/train/latents-gpu.ts.
 *
 * latentCond     per t < C (C + L): cond[t] = one-hot, or sum over the category's (row, weight) of weight table[row]
 * latentScatter  per t < C L: dTable[row, k] += weight dCond[c (C + L) + C + k] for each of the category's rows
 *                (rows are distinct within a mix, checked on the host: no two threads add to one number)
 *
 * Bindings: 0 mix [C, 4] f32 (row0, weight0, row1, weight1), 1 table or dCond (read), 2 cond or dTable (rw).
 * Reads constants WG, C, L; needs GRID_WGSL.
 */
export const LATENTS_WGSL = /* wgsl */ `
@group(0) @binding(0) var<storage, read> mixes: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;

@compute @workgroup_size(WG)
fn latentCond(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let t = linearGroup(wg, nwg) * WG + li;
  if (t >= C * (C + L)) { return; }
  let c = t / (C + L);
  let k = t % (C + L);
  if (k < C) { dst[t] = select(0.0, 1.0, k == c); return; }
  let m = mixes[c];
  var v = m.y * src[u32(m.x) * L + k - C];
  if (m.w != 0.0) { v += m.w * src[u32(m.z) * L + k - C]; }
  dst[t] = v;
}

@compute @workgroup_size(WG)
fn latentScatter(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let t = linearGroup(wg, nwg) * WG + li;
  if (t >= C * L) { return; }
  let c = t / L;
  let k = t % L;
  let g = src[c * (C + L) + C + k];
  let m = mixes[c];
  dst[u32(m.x) * L + k] += m.y * g;
  if (m.w != 0.0) { dst[u32(m.z) * L + k] += m.w * g; }
}
`;
