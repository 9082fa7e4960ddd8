/**
 * The data types every stage shares.
 *
 * @module
 */

/**
 * Users' chronological item sequences. Item ids run 1..numItems; 0 is the
 * padding id and never an item.
 */
export interface SequenceDataset {
  /** A short name for reports ("Beauty", "synthetic"). */
  name: string;
  /** Number of real items; ids are 1..numItems. */
  numItems: number;
  /** One sequence per user, oldest first. */
  sequences: Int32Array[];
  /** Original user ids, aligned with `sequences` (for `recommend` output). */
  userIds: string[];
  /**
   * Original item ids when items were remapped (`readInteractionFile`):
   * `itemIds[i]` is the original id of item `i`, `itemIds[0]` is `""` (padding).
   * Absent when the file's ids are used as they are.
   */
  itemIds?: string[];
  /**
   * Planted ground truth of the synthetic generator: the main intent of each
   * user (0..numIntents-1). Absent for real data.
   */
  intents?: Int32Array;
  /** Number of planted intents (synthetic data only). */
  numIntents?: number;
}

/** Leave-one-out split of a {@linkcode SequenceDataset}; see `leaveOneOut`. */
export interface SplitDataset {
  /** Name of the source dataset. */
  name: string;
  /** Number of real items; ids are 1..numItems. */
  numItems: number;
  /** Longest input kept (the last `maxLen` items). */
  maxLen: number;
  /** Per user: the sequence without its last two items (training). */
  train: Int32Array[];
  /** Per user: validation input (train, last `maxLen` items). */
  validInput: Int32Array[];
  /** Per user: validation target (second-to-last item). */
  validTarget: Int32Array;
  /** Per user: test input (sequence without last item, last `maxLen`). */
  testInput: Int32Array[];
  /** Per user: test target (last item). */
  testTarget: Int32Array;
  /**
   * Per user: items to exclude from ranking at validation (the full history
   * before the valid target).
   */
  validHistory: Int32Array[];
  /** Per user: items to exclude from ranking at test (history before test target). */
  testHistory: Int32Array[];
  /** Per user: 1 if head (longest 20% of training sequences), else 0. */
  isHead: Uint8Array;
  /** Original user ids. */
  userIds: string[];
  /** Original item ids, when the source has them (see `SequenceDataset.itemIds`). */
  itemIds?: string[];
  /** Planted intents, when the source is synthetic. */
  intents?: Int32Array;
  /** Number of planted intents, when the source is synthetic. */
  numIntents?: number;
}

/**
 * A training batch: left-padded inputs and next-item targets, row-major
 * `[batchSize, seqLen]`. Padding is 0 in both. `seqLen` may be shorter than
 * `maxLen` (trimmed to the longest row); `posOffset = maxLen - seqLen` keeps
 * position ids identical to a batch padded to `maxLen`.
 */
export interface TrainBatch {
  /** User indices of the rows. */
  users: Int32Array;
  /** Input item ids, `[batchSize * seqLen]`. */
  inputs: Int32Array;
  /** Next-item targets aligned with inputs (0 where there is none). */
  targets: Int32Array;
  /** Rows in the batch. */
  batchSize: number;
  /** Columns in the batch. */
  seqLen: number;
  /** Position offset so the last column has position id `maxLen - 1`. */
  posOffset: number;
}
