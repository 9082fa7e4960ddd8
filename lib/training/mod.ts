/**
 * Training: config, the model interface, the loop, checkpoints.
 *
 * @module
 */
export * from "./config.ts";
export {
  makeModel,
  type Model,
  type ModelSpec,
  type StepContext,
} from "./model.ts";
export * from "./fit.ts";
export * from "./test_ranks.ts";
export * from "./checkpoint.ts";
export * from "./negatives.ts";
export * from "./memory.ts";
