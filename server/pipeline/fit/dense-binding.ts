/**
 * Where Human's 478 face-mesh points sit on the project's head model: the
 * table lives in render-core (head/human-mesh-binding.ts and .json) because
 * the browser's camera drive (render-core/animation/face-drive.ts) reads the
 * same facts; the dense fit (dense-fit.ts), its calibration
 * (dense-calibrate.ts, server/cli/calibrate-dense.ts) and their tests import
 * it from here under the names they always used.
 */
export {
  FACE_BROWS,
  FACE_OPENINGS,
  FACE_OVAL,
  HUMAN_MESH_BINDING,
  MESH_POINTS,
  boundPoint,
  denseBinding,
  faceRegionVertices,
  type DenseBinding,
  type DenseBindingTable,
} from "../../../render-core/head/human-mesh-binding";
