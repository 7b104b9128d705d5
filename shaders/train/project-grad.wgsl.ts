/**
 * projectBwd: the projection's backward, one thread per splat: d (u, v) and
 * d conic -> d centre, d scale, d quaternion. CPU twin:
 * render-core/train/project-grad.ts (projectBackward; the chain is stated
 * there). Host: render-core/train/project-grad-gpu.ts.
 *
 * Bindings:
 *   0 params     uniform            ProjectGradParams (world-to-camera rows, fx fy, limits, count)
 *   1 gaussians  read-only storage  [N, 4] vec4<f32>: (centre, opacity) (scale, 0) (quaternion w x y z) (colour, 0)
 *   2 dIn        read-only storage  [N, 9] f32: du dv da db dc (the rasteriser backward's layout; the rest unused)
 *   3 dOut       storage            [N, 10] f32: d centre (3), d scale (3), d quaternion (4)
 * Reads constants WG, LOWPASS; needs GRID_WGSL.
 */
export const PROJECT_GRAD_WGSL = /* wgsl */ `
@group(0) @binding(0) var<uniform> params: ProjectGradParams;
@group(0) @binding(1) var<storage, read> gaussians: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> dIn: array<f32>;
@group(0) @binding(3) var<storage, read_write> dOut: array<f32>;

@compute @workgroup_size(WG)
fn projectBwd(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let i = linearGroup(wg, nwg) * WG + li;
  if (i >= params.count) { return; }
  let p = gaussians[i * 4u].xyz;
  let s = gaussians[i * 4u + 1u].xyz;
  let qRaw = gaussians[i * 4u + 2u];
  let qLen = max(length(qRaw), 1e-12);
  let q = qRaw / qLen;
  let w = q.x; let qx = q.y; let qy = q.z; let qz = q.w;
  // Rows of R(q) and of the world-to-camera rotation.
  let R = mat3x3<f32>(
    vec3<f32>(1.0 - 2.0 * (qy * qy + qz * qz), 2.0 * (qx * qy - w * qz), 2.0 * (qx * qz + w * qy)),
    vec3<f32>(2.0 * (qx * qy + w * qz), 1.0 - 2.0 * (qx * qx + qz * qz), 2.0 * (qy * qz - w * qx)),
    vec3<f32>(2.0 * (qx * qz - w * qy), 2.0 * (qy * qz + w * qx), 1.0 - 2.0 * (qx * qx + qy * qy)));
  let Wr = mat3x3<f32>(params.row0.xyz, params.row1.xyz, params.row2.xyz);
  let cam = vec3<f32>(dot(params.row0.xyz, p) + params.row0.w, dot(params.row1.xyz, p) + params.row1.w, dot(params.row2.xyz, p) + params.row2.w);
  let x = cam.x; let y = cam.y; let z = cam.z;
  // M = R diag(s) (columns scaled), A = W M; WGSL matrices here hold ROWS in their columns, so products are done by hand.
  var A: array<vec3<f32>, 3>;
  for (var r = 0u; r < 3u; r++) {
    for (var c = 0u; c < 3u; c++) {
      A[r][c] = (Wr[r][0] * R[0][c] + Wr[r][1] * R[1][c] + Wr[r][2] * R[2][c]) * s[c];
    }
  }
  let clampX = select(select(0.0, -1.0, x / z < -params.limX), 1.0, x / z > params.limX);
  let clampY = select(select(0.0, -1.0, y / z < -params.limY), 1.0, y / z > params.limY);
  let tx = select(x, clampX * params.limX * z, clampX != 0.0);
  let ty = select(y, clampY * params.limY * z, clampY != 0.0);
  let j00 = params.fx / z; let j02 = -params.fx * tx / (z * z);
  let j11 = params.fy / z; let j12 = -params.fy * ty / (z * z);
  let B0 = j00 * A[0] + j02 * A[2];
  let B1 = j11 * A[1] + j12 * A[2];
  let a = dot(B0, B0) + LOWPASS;
  let b = dot(B0, B1);
  let c = dot(B1, B1) + LOWPASS;
  let det = a * c - b * b;
  let d2 = det * det;
  let dca = dIn[i * 9u + 2u]; let dcb = dIn[i * 9u + 3u]; let dcc = dIn[i * 9u + 4u];
  let da = dca * (-c * c / d2) + dcb * (b * c / d2) + dcc * (1.0 / det - a * c / d2);
  let db = dca * (2.0 * b * c / d2) + dcb * (-1.0 / det - 2.0 * b * b / d2) + dcc * (2.0 * a * b / d2);
  let dc = dca * (1.0 / det - c * a / d2) + dcb * (a * b / d2) + dcc * (-a * a / d2);
  let dB0 = 2.0 * da * B0 + db * B1;
  let dB1 = db * B0 + 2.0 * dc * B1;
  var dA: array<vec3<f32>, 3>;
  dA[0] = j00 * dB0;
  dA[1] = j11 * dB1;
  dA[2] = j02 * dB0 + j12 * dB1;
  let dj00 = dot(dB0, A[0]); let dj02 = dot(dB0, A[2]);
  let dj11 = dot(dB1, A[1]); let dj12 = dot(dB1, A[2]);
  let du = dIn[i * 9u]; let dv = dIn[i * 9u + 1u];
  var dCam = vec3<f32>(du * params.fx / z, dv * params.fy / z, -du * params.fx * x / (z * z) - dv * params.fy * y / (z * z));
  dCam.z += -dj00 * params.fx / (z * z) - dj11 * params.fy / (z * z);
  if (clampX != 0.0) { dCam.z += dj02 * params.fx * clampX * params.limX / (z * z); }
  else { dCam.x += -dj02 * params.fx / (z * z); dCam.z += 2.0 * dj02 * params.fx * x / (z * z * z); }
  if (clampY != 0.0) { dCam.z += dj12 * params.fy * clampY * params.limY / (z * z); }
  else { dCam.y += -dj12 * params.fy / (z * z); dCam.z += 2.0 * dj12 * params.fy * y / (z * z * z); }
  let dP = dCam.x * Wr[0] + dCam.y * Wr[1] + dCam.z * Wr[2];
  // A = W M -> dM = W^T dA (rows); M = R diag(s) -> d s, d R.
  var dR: array<vec3<f32>, 3>;
  var dS = vec3<f32>(0.0);
  for (var k = 0u; k < 3u; k++) {
    let dMk = Wr[0][k] * dA[0] + Wr[1][k] * dA[1] + Wr[2][k] * dA[2];
    dS += dMk * R[k];
    dR[k] = dMk * s;
  }
  let r00 = dR[0].x; let r01 = dR[0].y; let r02 = dR[0].z;
  let r10 = dR[1].x; let r11 = dR[1].y; let r12 = dR[1].z;
  let r20 = dR[2].x; let r21 = dR[2].y; let r22 = dR[2].z;
  let dq = 2.0 * vec4<f32>(
    -qz * r01 + qy * r02 + qz * r10 - qx * r12 - qy * r20 + qx * r21,
    qy * r01 + qz * r02 + qy * r10 - 2.0 * qx * r11 - w * r12 + qz * r20 + w * r21 - 2.0 * qx * r22,
    -2.0 * qy * r00 + qx * r01 + w * r02 + qx * r10 + qz * r12 - w * r20 + qz * r21 - 2.0 * qy * r22,
    -2.0 * qz * r00 - w * r01 + qx * r02 + w * r10 - 2.0 * qz * r11 + qy * r12 + qx * r20 + qy * r21);
  let dQ = (dq - dot(dq, q) * q) / qLen;
  let o = i * 10u;
  dOut[o] = dP.x; dOut[o + 1u] = dP.y; dOut[o + 2u] = dP.z;
  dOut[o + 3u] = dS.x; dOut[o + 4u] = dS.y; dOut[o + 5u] = dS.z;
  dOut[o + 6u] = dQ.x; dOut[o + 7u] = dQ.y; dOut[o + 8u] = dQ.z; dOut[o + 9u] = dQ.w;
}
`;
