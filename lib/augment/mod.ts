/**
 * Data augmentation of item sequences: pure functions `(seq, rng) -> seq`
 * (CL4SRec's crop, mask and reorder; CoSeRec's insert and substitute driven
 * by an item correlation built from the training split) and combinators to
 * mix them.
 *
 * @example
 * ```ts
 * import {
 *   augmentBatch, crop, insert, itemCorrelation, mask, randomChoice, reorder, substitute,
 * } from "./mod.ts";
 * import { makeRng } from "../util/rng.ts";
 * const train = [Int32Array.of(1, 2, 3, 4), Int32Array.of(2, 3, 5)];
 * const numItems = 5;
 * const correlation = itemCorrelation(train, numItems); // training split only
 * const aug = randomChoice([
 *   crop({ eta: 0.6 }),
 *   mask({ gamma: 0.3, maskId: numItems + 1 }),
 *   reorder({ beta: 0.2 }),
 *   insert({ rate: 0.3, correlation }),
 *   substitute({ rate: 0.3, correlation }),
 * ]);
 * const rng = makeRng(0);
 * const view1 = augmentBatch(train, aug, { rng, maxLen: 50 });
 * const view2 = augmentBatch(train, aug, { rng, maxLen: 50 });
 * if (view1.length !== 2 || view2.length !== 2) throw new Error();
 * ```
 *
 * @module
 */
export type { Augmenter } from "./types.ts";
export { crop, type CropOptions } from "./crop.ts";
export { mask, type MaskOptions } from "./mask.ts";
export { reorder, type ReorderOptions } from "./reorder.ts";
export {
  type ItemCorrelation,
  itemCorrelation,
  type ItemCorrelationOptions,
} from "./correlation.ts";
export { insert, type InsertOptions } from "./insert.ts";
export { substitute, type SubstituteOptions } from "./substitute.ts";
export {
  byLength,
  type ByLengthOptions,
  compose,
  randomChoice,
  type RandomChoiceOptions,
} from "./combine.ts";
export { augmentBatch, type AugmentBatchOptions } from "./batch.ts";
