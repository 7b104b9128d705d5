export {
  CLIP_CHANNELS,
  EXPRESSION_CHANNELS,
  POSE_CHANNELS,
  TRANSLATION_CHANNELS,
  checkClip,
  clipDuration,
  clipFromFunction,
  createClip,
  getClipValue,
  sampleClip,
  setClipValue,
  type AnimationClip,
  type ClipSample,
} from "./clip";
export {
  CLIP_FORMAT,
  CLIP_FORMAT_VERSION,
  CLIP_LIMITS,
  ClipFileError,
  closestChannel,
  parseClipCsv,
  parseClipJson,
  writeClipCsv,
  writeClipJson,
  type ClipSource,
  type ParseClipCsvOptions,
} from "./clip-files";
export { BUILTIN_CLIPS, BUILTIN_CLIP_NAMES, builtinClip, type BuiltinClipName } from "./builtin";
export { POSE_CONTROLS, poseFromControls, type PoseControls } from "./controls";
