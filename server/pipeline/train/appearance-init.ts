/**
 * Where the per-Gaussian colour residual (avatar.appearance, [N, 3]) starts:
 * each Gaussian's first colour is what the dataset shows at its anchor, the
 * identity's UV albedo there times the dataset's shading, so training starts
 * from the person's detail (eyes, brows, lips) instead of the network's blur.
 *
 *   uv      = sum_k bary_k uvCoords[faceUvs[face, k]]         (per-corner UVs: the back seam is split)
 *   albedo  = texture(uv) bilinear (a face across UV islands: per-vertex colours x cavity occlusion, as scene.ts draws them)
 *   colour  = albedo x diffuse(n), n the anchor's normal on the neutral head (jaw closed)
 *   residual = logit(clamp(colour)) - (geometry + gaussian network colour logits, untrained, neutral latents)
 *
 * Why the light: the trainer fits rendered frames, which are albedo x
 * shading (scene.ts; identityLights: the photo's SH light for a portrait).
 * The avatar has no light model, its colour is what the camera sees, so an
 * albedo start would be off by the shading everywhere. The specular
 * highlight (view-dependent, skin 0.12) is left to training.
 */
import fs from "node:fs";
import { avatarPriors, type Avatar } from "../../../render-core/avatar/avatar";
import { bakeCpu } from "../../../render-core/avatar/bake.cpu";
import type { AvatarModelConfig } from "../../../render-core/avatar/config";
import { mlpForward } from "../../../render-core/avatar/mlp";
import { APPEARANCE_CHANNELS, APPEARANCE_OUTPUTS } from "../../../render-core/avatar/networks";
import { bakeFrame } from "../../../render-core/avatar/rig";
import { createHeadParams, poseVertices, type HeadModel } from "../../../render-core/head";
import { sampleTexture } from "../../../render-core/mesh/render.cpu";
import { meshDiffuse, type MeshTexture } from "../../../render-core/mesh/scene";
import { identityColours, identityLights, loadIdentityTexture, type Identity } from "../synthesise/identity";
import { cavityOcclusion, vertexNormals } from "../synthesise/scene";
import { crossesIslands } from "../../../render-core/head/uv-layout";
import type { TrainingData } from "./training-data";

/** Target colours are kept off 0 and 1, where the sigmoid's slope (and so the residual's gradient) vanishes. */
export const INIT_COLOUR_RANGE: readonly [number, number] = [0.02, 0.98];

/** The parameters the start depends on (a TrainState has them). */
export interface AppearanceInitState {
  count: number;
  points: Float64Array;
  anchorFace: Uint32Array;
  anchorBary: Float32Array;
  weights: { geometry: Float64Array; deformer: Float64Array; gaussian: Float64Array };
  /** [C, L] the latents the source video is shown with. */
  neutral: Float64Array;
  shape: Float32Array;
}

/**
 * The dataset identity's UV texture, or null when it has none (procedural
 * identities). Throws, naming the file, when it names one that cannot be read.
 */
export async function loadDatasetTexture(data: TrainingData): Promise<MeshTexture | null> {
  const { identity, options } = data.manifest;
  if (!identity.texture) return null;
  const spec = options.identity;
  if (!spec.startsWith("portrait:"))
    throw new Error(`train: the dataset's identity names a texture but was not made from a portrait (${spec})`);
  const file = spec.slice("portrait:".length);
  if (!fs.existsSync(file)) throw new Error(`train: the dataset's identity file ${file} is not there any more`);
  return loadIdentityTexture(identity, file);
}

/** What the dataset shows at each anchor, [N, 3] in [0, 1]: albedo (texture, or plain colour x occlusion) x diffuse shading. */
export function anchorColours(
  s: Pick<AppearanceInitState, "count" | "anchorFace" | "anchorBary" | "shape">,
  head: HeadModel,
  identity: Identity,
  texture: MeshTexture,
): Float64Array {
  const N = s.count;
  const verts = poseVertices(head, createHeadParams(head, { shape: s.shape }));
  const normals = vertexNormals(verts, head.faces);
  const ao = cavityOcclusion(head);
  const base = identityColours(identity, head);
  const lights = identityLights(identity);
  const out = new Float64Array(N * 3);
  const texel = new Float64Array(4),
    shade = new Float64Array(3);
  for (let i = 0; i < N; i++) {
    const f = s.anchorFace[i]!;
    if (f >= head.faceCount) throw new Error(`anchorColours: Gaussian ${i} hangs on face ${f} of ${head.faceCount}`);
    let u = 0,
      v = 0,
      occ = 0;
    const n = [0, 0, 0],
      plain = [0, 0, 0];
    for (let k = 0; k < 3; k++) {
      const w = s.anchorBary[i * 3 + k]!,
        vi = head.faces[f * 3 + k]!,
        t = head.faceUvs[f * 3 + k]!;
      u += w * head.uvCoords[t * 2]!;
      v += w * head.uvCoords[t * 2 + 1]!;
      occ += w * ao[vi]!;
      for (let a = 0; a < 3; a++) {
        n[a]! += w * normals[vi * 3 + a]!;
        plain[a]! += w * base[vi * 3 + a]!;
      }
    }
    const l = Math.hypot(n[0]!, n[1]!, n[2]!) || 1;
    meshDiffuse(lights, n[0]! / l, n[1]! / l, n[2]! / l, shade);
    // Faces across UV islands have no texels: the renderer draws them with per-vertex colours too.
    const plainFace = crossesIslands(head, f);
    const albedo = plainFace ? plain : sampleTexture(texture, u, v, texel);
    // A textured face carries the photo's own occlusion (scene.ts draws it without the cavity term).
    const o = plainFace ? occ : 1;
    for (let c = 0; c < 3; c++) out[i * 3 + c] = albedo[c]! * o * shade[c]!;
  }
  return out;
}

/** The colour logits [N, 3] of the untrained networks at the neutral latents and the neutral expression (d = 0). */
export function networkColourLogits(s: AppearanceInitState, model: AvatarModelConfig, head: HeadModel): Float64Array {
  const avatar: Avatar = {
    config: model,
    count: s.count,
    points: Float32Array.from(s.points),
    anchorFace: s.anchorFace,
    anchorBary: s.anchorBary,
    weights: {
      geometry: Float32Array.from(s.weights.geometry),
      deformer: Float32Array.from(s.weights.deformer),
      gaussian: Float32Array.from(s.weights.gaussian),
    },
    shape: s.shape,
    neutralLatents: Float32Array.from(s.neutral),
    anchors: [],
  };
  const baked = bakeCpu(avatar, avatarPriors(avatar, head), bakeFrame(head, s.shape), avatar.neutralLatents);
  const g = baked.folded.gaussian;
  const residual = mlpForward(g.spec, g.params, new Float32Array(s.count * 3), s.count);
  const out = new Float64Array(s.count * APPEARANCE_CHANNELS);
  for (let i = 0; i < s.count; i++)
    for (let c = 0; c < APPEARANCE_CHANNELS; c++)
      out[i * APPEARANCE_CHANNELS + c] =
        baked.geomRaw[i * APPEARANCE_OUTPUTS + c]! + residual[i * APPEARANCE_OUTPUTS + c]!;
  return out;
}

const logit = (p: number) => Math.log(p / (1 - p));

/** The residual [N, 3] that makes each Gaussian's first colour the texture's, lit as the dataset is. */
export function textureAppearance(
  s: AppearanceInitState,
  model: AvatarModelConfig,
  head: HeadModel,
  identity: Identity,
  texture: MeshTexture,
): Float64Array {
  const target = anchorColours(s, head, identity, texture);
  const net = networkColourLogits(s, model, head);
  const [lo, hi] = INIT_COLOUR_RANGE;
  return net.map((x, k) => logit(Math.min(hi, Math.max(lo, target[k]!))) - x);
}
