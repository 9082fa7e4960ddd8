/**
 * seqssl: self-supervised sequential recommendation on Deno, as composable
 * blocks (data, encoders, losses, optimisers, steppers, evaluation) and
 * methods built from them.
 *
 * @example
 * ```ts ignore
 * import { initBackend, makeConfig, runTraining } from "jsr:@x/seqssl";
 * const backend = await initBackend("wasm");
 * const report = await runTraining(makeConfig({ epochs: 5 }), backend);
 * console.log(report.test?.all["NDCG@20"]);
 * ```
 *
 * @module
 */
export * from "./lib/backend/init.ts";
export * from "./lib/data/mod.ts";
export * from "./lib/augment/mod.ts";
export * from "./lib/nn/mod.ts";
export * from "./lib/losses/mod.ts";
export * from "./lib/optim/mod.ts";
export * from "./lib/eval/mod.ts";
export * from "./lib/stats/mod.ts";
export * from "./lib/training/mod.ts";
export * from "./lib/methods/mod.ts";
export * from "./lib/config/mod.ts";
export * from "./lib/cluster/mod.ts";
export * from "./lib/export/mod.ts";
export * from "./lib/serving/mod.ts";
export * from "./lib/experiment.ts";
export {
  makeRng,
  type Rng,
  rngFromState,
  type RngState,
  shuffle,
} from "./lib/util/rng.ts";
export {
  ConfigError,
  DataError,
  NonFiniteLossError,
} from "./lib/util/errors.ts";
export * from "./lib/compare.ts";
export * from "./lib/tune.ts";
export * as keys from "./lib/util/keys.ts";
export type {
  ConfigOf,
  KeySpec,
  KeySpecs,
  KeySpecsOf,
} from "./lib/util/keys.ts";
export {
  formatDuration,
  makeProgress,
  prefixed,
  type Progress,
} from "./lib/util/progress.ts";
export { writeFileAtomic, writeTextFileAtomic } from "./lib/util/atomic.ts";
export type { SignificanceRow } from "./lib/significance.ts";
export type {
  Scalar,
  Tensor,
  Tensor1D,
  Tensor2D,
  Tensor3D,
  Variable,
} from "./lib/util/tensor_types.ts";
