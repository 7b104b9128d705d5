/**
 * Mesh rendering for the synthetic dataset: a vertex + fragment shader pair.
 * Host: render-core/mesh/renderer.ts. CPU twin: render-core/mesh/render.cpu.ts
 * (same projection, depth mapping, shading and blending; render-core/mesh/scene.ts
 * states the shading).
 *
 * Group 0: frame uniform MeshFrameParams (hasSh = 1: sh0..sh8.rgb hold the
 * SH9 light with Ahat and the basis constants folded in, for the monomials
 * 1, y, z, x, xy, yz, xz, 3z^2 - 1, x^2 - y^2: render-core/light/sh.ts
 * shMonomialWeights). Group 1 (per draw): uniform MeshDrawParams, the albedo
 * texture (1x1 white when the draw has none) and its sampler (bilinear, clamped).
 * Vertex buffers: 0 position f32x3, 1 normal f32x3, 2 uv f32x2, 3 colour f32x3
 * (the albedo, or the texture's tint: the host fills 1 for a texture without
 * colours, 0.6 grey for neither).
 * Outputs: location 0 rgba16float colour (rgb, coverage), location 1 r8uint class.
 * Pipelines (host): opaque (no blending, depth write); blended colour ("over",
 * class not written); blended class (colour not written; fragments under
 * alpha 0.5 discarded, params.parsePass = 1).
 */
export const MESH_WGSL = /* wgsl */ `
@group(0) @binding(0) var<uniform> frame: MeshFrameParams;
@group(1) @binding(0) var<uniform> draw: MeshDrawParams;
@group(1) @binding(1) var albedoTex: texture_2d<f32>;
@group(1) @binding(2) var albedoSampler: sampler;

struct VsOut {
  @builtin(position) clip: vec4<f32>,
  @location(0) world: vec3<f32>,
  @location(1) normal: vec3<f32>,
  @location(2) uv: vec2<f32>,
  @location(3) color: vec3<f32>,
}

@vertex
fn meshVertex(@location(0) position: vec3<f32>, @location(1) normal: vec3<f32>, @location(2) uv: vec2<f32>, @location(3) color: vec3<f32>) -> VsOut {
  let p = vec4<f32>(position, 1.0);
  // OpenCV camera: x right, y down, z forward; pixels u = fx x / z + cx.
  let x = dot(frame.w2c0, p);
  let y = dot(frame.w2c1, p);
  let z = dot(frame.w2c2, p);
  var out: VsOut;
  out.clip = vec4<f32>(
    2.0 * (frame.fx * x + frame.cx * z) / frame.width - z,
    z - 2.0 * (frame.fy * y + frame.cy * z) / frame.height,
    frame.far * (z - frame.near) / (frame.far - frame.near),
    z);
  out.world = position;
  out.normal = normal;
  out.uv = uv;
  out.color = color;
  return out;
}

struct FsOut {
  @location(0) color: vec4<f32>,
  @location(1) parse: u32,
}

/** Diffuse shading of unit normal n: the SH9 light when the frame has one, else ambient + key + fill. */
fn diffuseShading(n: vec3<f32>) -> vec3<f32> {
  if (frame.hasSh == 1u) {
    let s = frame.sh0.rgb + frame.sh1.rgb * n.y + frame.sh2.rgb * n.z + frame.sh3.rgb * n.x
      + frame.sh4.rgb * (n.x * n.y) + frame.sh5.rgb * (n.y * n.z) + frame.sh6.rgb * (n.x * n.z)
      + frame.sh7.rgb * (3.0 * n.z * n.z - 1.0) + frame.sh8.rgb * (n.x * n.x - n.y * n.y);
    return max(s, vec3<f32>(0.0));
  }
  return vec3<f32>(frame.ambient + frame.keyDir.w * max(0.0, dot(n, frame.keyDir.xyz)) + frame.fillDir.w * max(0.0, dot(n, frame.fillDir.xyz)));
}

@fragment
fn meshFragment(v: VsOut) -> FsOut {
  var albedo = v.color;
  var alpha = draw.opacity;
  if (draw.hasTexture == 1u) {
    let t = textureSample(albedoTex, albedoSampler, v.uv);
    albedo = albedo * t.rgb;
    if (draw.blend == 1u) { alpha = alpha * t.a; }
  }
  let toViewer = normalize(frame.eye.xyz - v.world);
  var n = normalize(v.normal);
  if (dot(n, toViewer) < 0.0) { n = -n; }
  let key = frame.keyDir.xyz;
  let diffuse = diffuseShading(n);
  let h = normalize(key + toViewer);
  let spec = draw.specular * frame.keyDir.w * pow(max(0.0, dot(n, h)), draw.shininess);
  var out: FsOut;
  out.color = vec4<f32>(albedo * diffuse + vec3<f32>(spec), select(alpha, 1.0, draw.blended == 0u));
  out.parse = draw.classId;
  if (draw.parsePass == 1u && alpha < 0.5) { discard; }
  return out;
}
`;
