export { CLIP_CHANNELS, POSE_CHANNELS, TRANSLATION_CHANNELS, clipDuration, clipFromFunction, sampleClip, type AnimationClip, type ClipSample } from "./clip";
export { CLIP_FORMAT, CLIP_LIMITS, ClipFileError, parseClipCsv, parseClipJson, writeClipCsv, writeClipJson } from "./clip-files";
export { BUILTIN_CLIPS, BUILTIN_CLIP_NAMES, builtinClip } from "./builtin";
export { POSE_CONTROLS, poseFromControls, type PoseControls } from "./controls";
