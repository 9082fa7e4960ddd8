/**
 * Data: reading sequence and interaction files, the synthetic generator,
 * the leave-one-out split and batching.
 *
 * @example
 * ```ts
 * import { leaveOneOut, synthetic, trainBatches } from "./mod.ts";
 * import { makeRng } from "../util/rng.ts";
 * const split = leaveOneOut(synthetic({ numUsers: 100 }), { maxLen: 50 });
 * const batches = trainBatches(split, { batchSize: 32, rng: makeRng(0) });
 * if (batches.length !== 4) throw new Error();
 * ```
 *
 * @module
 */
export type { SequenceDataset, SplitDataset, TrainBatch } from "./types.ts";
export {
  type ParseSequenceOptions,
  parseSequenceText,
  readSequenceFile,
  type ReadSequenceOptions,
} from "./read_sequences.ts";
export {
  type ParseInteractionOptions,
  parseInteractionText,
  readInteractionFile,
  type ReadInteractionOptions,
} from "./read_interactions.ts";
export { headLabels, leaveOneOut, type LeaveOneOutOptions } from "./split.ts";
export {
  countBatches,
  evalBatches,
  type EvalBatchOptions,
  type RowChunk,
  rowChunks,
  trainBatches,
  type TrainBatchOptions,
} from "./batch.ts";
export {
  synthetic,
  type SyntheticDataset,
  type SyntheticOptions,
} from "./synthetic.ts";
