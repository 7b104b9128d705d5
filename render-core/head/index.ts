/**
 * Public API of the procedural head model (see head-model.ts for the
 * conventions and docs/head-model.md for the measured facts).
 */
export { createHeadModel, type HeadModel, type HeadModelOptions } from "./head-model";
export {
  blendVertices,
  canonicalParams,
  createHeadParams,
  jointTransforms,
  landmarkPositions,
  poseVertices,
  rodrigues,
  shapedJoints,
  skinPoints,
  unposePoints,
  type HeadParams,
} from "./lbs.cpu";
export { createHeadLbs, poseVertices as poseVerticesGpu, readPosedVertices, type HeadLbs } from "./lbs";
export { SHAPE_NAMES, SHAPE_PRIOR_BOUND, type ShapeName } from "./shape";
export { EXPRESSION_NAMES, type ExpressionName } from "./expression";
export { CANONICAL_JAW_OPEN, JOINT_COUNT, JOINT_NAMES, JOINT_PARENTS, Joint } from "./skeleton";
export { Region, REGION_NAMES } from "./regions";
export { LANDMARK_COUNT, LANDMARK_GROUPS } from "./landmarks";
export { MeshPart } from "./mesh";
export {
  SurfaceSampler,
  buildVertexGrid,
  closestSurfacePoint,
  closestVertex,
  evalSurfacePoints,
  raycastMesh,
  type SurfacePoint,
  type VertexGrid,
} from "./mesh-query";
export { HEAD } from "./head-sdf";
