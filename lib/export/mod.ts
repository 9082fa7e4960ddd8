/**
 * Serving exports: the model as an ONNX graph, the item table as `.npy`.
 *
 * @module
 */
export {
  exportOnnx,
  type OnnxExportOptions,
  type ServingSpec,
  type WeightValue,
} from "./onnx.ts";
export { encodeNpy } from "./npy.ts";
export { servingSpec, weightsOfCheckpoint, weightsOfParams } from "./spec.ts";
