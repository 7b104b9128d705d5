/**
 * The fit stage (docs/portrait-fitting.md): landmarks -> head parameters and
 * camera, the photo's colours per head vertex and as a UV texture, the
 * person's own attributes as generator parameters, and the stage's pictures.
 */
export {
  FIT_EXPRESSIONS,
  IDENTIFIABLE_SHAPES,
  axisAngleToEuler,
  fitHead,
  type FitHeadOptions,
  type HeadFit,
} from "./fit-head";
export {
  SKIN_TOLERANCE,
  STUDIO_SHADING,
  TextureSource,
  farFromSkin,
  shPhotoShading,
  studioDiffuse,
  studioSpecular,
  textureFromPhoto,
  type PhotoShading,
  type PhotoTexture,
  type SkinTolerance,
  type TextureOptions,
} from "./texture";
export { DEFAULT_UV_TEXTURE_SIZE, UvSource, buildUvTexture, type UvTexture, type UvTextureOptions } from "./uv-texture";
export { FACE_API_CONVENTION, eyeLineFrame, toModelConvention, type LandmarkConvention } from "./landmark-convention";
export { estimateSourceAttributes, type SourceAttributes } from "./source-attributes";
export { SOURCE_COLOURS, UV_SOURCE_COLOURS, fitOverlayPng, texturePng, uvImage, uvTexturePng } from "./pictures";
export type { RgbImage } from "./image";
