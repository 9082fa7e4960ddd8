/**
 * Batching: left-padded next-item training batches and left-padded
 * evaluation inputs, each trimmed to its longest row.
 *
 * @module
 */
import { type Rng, shuffle as shuffleInPlace } from "../util/rng.ts";
import type { SplitDataset, TrainBatch } from "./types.ts";

/** Options of {@linkcode trainBatches}. */
export interface TrainBatchOptions {
  /** Rows per batch (the last batch may have fewer). */
  batchSize: number;
  /** Shuffles the users; required when `shuffle` is true. */
  rng?: Rng;
  /** Keep the last `maxLen` positions of each row. Default `split.maxLen`. */
  maxLen?: number;
  /** Shuffle the user order. Default true. */
  shuffle?: boolean;
  /**
   * Length bucketing: after shuffling, users are taken in pools of
   * `bucket` batches, each pool is sorted by sequence length and cut into
   * batches, and the order of all batches is shuffled. Batches then hold
   * sequences of similar length, so trimming to the longest row removes
   * most padding. 0 (default) = off.
   */
  bucket?: number;
  /**
   * "sequences" (default): one row per user, with a target at every
   * position. "prefixes": one row per training prefix `t[0..j-1]` (j =
   * 1..m-1) with its single target `t[j]` at the last position, as
   * RecBole-based codes (DuoRec, MCLRec) train: the same next-item targets,
   * but every prefix is its own sample (and gets its own augmented views),
   * and targets before a long sequence's last `maxLen` positions are kept
   * (each prefix keeps its own last `maxLen` items).
   */
  samples?: "sequences" | "prefixes";
}

/** Options of {@linkcode evalBatches}. */
export interface EvalBatchOptions {
  /** Rows per batch (the last batch may have fewer). */
  batchSize: number;
  /** Keep the last `maxLen` items of each input. */
  maxLen: number;
}

function checkSizes(batchSize: number, maxLen: number): void {
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new RangeError(
      `batchSize: expected a positive integer, found ${batchSize}`,
    );
  }
  if (!Number.isInteger(maxLen) || maxLen < 1) {
    throw new RangeError(
      `maxLen: expected a positive integer, found ${maxLen}`,
    );
  }
}

/**
 * Training rows as (user, end) pairs, `end` the index of the row's last
 * target in the user's training sequence; users with fewer than two
 * training items have no target and no row.
 */
function trainRows(
  split: SplitDataset,
  samples: "sequences" | "prefixes",
): { users: number[]; ends: number[] } {
  const users: number[] = [], ends: number[] = [];
  for (let u = 0; u < split.train.length; u++) {
    const m = split.train[u].length;
    if (m < 2) continue;
    if (samples === "prefixes") {
      for (let j = 1; j < m; j++) users.push(u), ends.push(j);
    } else users.push(u), ends.push(m - 1);
  }
  return { users, ends };
}

/**
 * Next-item training batches. For user `u` with training sequence `t` of
 * length m, the row input is `t[0..m-2]` and the target `t[1..m-1]`, both
 * keeping their last `maxLen` positions. Rows are left-padded with 0; each
 * batch is trimmed to its longest row (`seqLen`) with
 * `posOffset = maxLen - seqLen`. Users with m < 2 have no target and are
 * skipped. The user order is shuffled with `rng` (deterministic given its
 * state) unless `shuffle` is false.
 *
 * @example
 * ```ts
 * import { trainBatches } from "./batch.ts";
 * import { leaveOneOut } from "./split.ts";
 * import { makeRng } from "../util/rng.ts";
 * const split = leaveOneOut({
 *   name: "toy",
 *   numItems: 9,
 *   sequences: [Int32Array.of(1, 2, 3, 4, 5), Int32Array.of(6, 7, 8, 9)],
 *   userIds: ["a", "b"],
 * }, { maxLen: 5 });
 * const [b] = trainBatches(split, { batchSize: 2, rng: makeRng(0), shuffle: false });
 * // a: train 1 2 3 -> input 1 2, target 2 3; b: train 6 7 -> input 6, target 7
 * if (b.inputs.join() !== "1,2,0,6" || b.targets.join() !== "2,3,0,7") throw new Error();
 * if (b.seqLen !== 2 || b.posOffset !== 3) throw new Error();
 * ```
 */
export function trainBatches(
  split: SplitDataset,
  opts: TrainBatchOptions,
): TrainBatch[] {
  const maxLen = opts.maxLen ?? split.maxLen;
  const { batchSize } = opts;
  checkSizes(batchSize, maxLen);
  const samples = opts.samples ?? "sequences";
  const all = trainRows(split, samples);
  const order = all.users.map((_, i) => i);
  if (opts.shuffle ?? true) {
    if (!opts.rng) {
      throw new TypeError("trainBatches: expected an rng when shuffle is true");
    }
    shuffleInPlace(order, opts.rng);
  }
  const len = (i: number) => Math.min(maxLen, all.ends[i]);
  const pool = (opts.bucket ?? 0) * batchSize;
  if (pool > 0) {
    for (let start = 0; start < order.length; start += pool) {
      const part = order.slice(start, start + pool).sort((a, b) =>
        len(a) - len(b)
      );
      for (let i = 0; i < part.length; i++) order[start + i] = part[i];
    }
  }
  const batches: TrainBatch[] = [];
  for (let start = 0; start < order.length; start += batchSize) {
    const rows = order.slice(start, start + batchSize);
    let seqLen = 1;
    for (const i of rows) seqLen = Math.max(seqLen, len(i));
    const inputs = new Int32Array(rows.length * seqLen);
    const targets = new Int32Array(rows.length * seqLen);
    for (let r = 0; r < rows.length; r++) {
      const t = split.train[all.users[rows[r]]];
      const end = all.ends[rows[r]], n = len(rows[r]);
      const from = end - n; // first input position kept
      const at = r * seqLen + seqLen - n;
      inputs.set(t.subarray(from, end), at);
      if (samples === "prefixes") targets[at + n - 1] = t[end];
      else targets.set(t.subarray(from + 1, end + 1), at);
    }
    batches.push({
      users: Int32Array.from(rows, (i) => all.users[i]),
      inputs,
      targets,
      batchSize: rows.length,
      seqLen,
      posOffset: maxLen - seqLen,
    });
  }
  if (pool > 0 && opts.rng) shuffleInPlace(batches, opts.rng);
  return batches;
}

/**
 * Number of batches {@linkcode trainBatches} yields (for progress bars).
 *
 * @example
 * ```ts
 * import { countBatches } from "./batch.ts";
 * import { leaveOneOut } from "./split.ts";
 * const seq = Int32Array.of(1, 2, 3, 4);
 * const split = leaveOneOut({ name: "t", numItems: 4, sequences: [seq, seq, seq], userIds: ["a", "b", "c"] });
 * if (countBatches(split, { batchSize: 2 }) !== 2) throw new Error();
 * ```
 */
export function countBatches(
  split: SplitDataset,
  opts: { batchSize: number; samples?: "sequences" | "prefixes" },
): number {
  checkSizes(opts.batchSize, 1);
  const rows = trainRows(split, opts.samples ?? "sequences").users.length;
  return Math.ceil(rows / opts.batchSize);
}

/**
 * Left-padded evaluation inputs, in the order of `users`: row i is
 * `inputs[users[i]]` (so pass e.g. `split.testInput` and the user indices to
 * score), keeping its last `maxLen` items. Same shape as a
 * {@linkcode TrainBatch}, with `targets` all 0; each batch is trimmed to its
 * longest row (at least one column) and `posOffset = maxLen - seqLen`. An
 * empty input gives an all-padding row: the model must guard it.
 *
 * @example
 * ```ts
 * import { evalBatches } from "./batch.ts";
 * const inputs = [Int32Array.of(4, 5, 6), Int32Array.of(7)];
 * const [b] = evalBatches(inputs, [1, 0], { batchSize: 8, maxLen: 2 });
 * if (b.inputs.join() !== "0,7,5,6" || b.users.join() !== "1,0") throw new Error();
 * if (b.seqLen !== 2 || b.posOffset !== 0) throw new Error();
 * ```
 */
export function evalBatches(
  inputs: Int32Array[],
  users: Int32Array | number[],
  opts: EvalBatchOptions,
): TrainBatch[] {
  const { batchSize, maxLen } = opts;
  checkSizes(batchSize, maxLen);
  const batches: TrainBatch[] = [];
  for (let start = 0; start < users.length; start += batchSize) {
    const rows = Int32Array.from(users.slice(start, start + batchSize));
    let seqLen = 1;
    for (const u of rows) {
      const s = inputs[u];
      if (s === undefined) {
        throw new RangeError(
          `evalBatches: expected user indices below ${inputs.length}, found ${u}`,
        );
      }
      seqLen = Math.max(seqLen, Math.min(maxLen, s.length));
    }
    const x = new Int32Array(rows.length * seqLen);
    for (let r = 0; r < rows.length; r++) {
      const s = inputs[rows[r]];
      const len = Math.min(seqLen, s.length);
      x.set(s.subarray(s.length - len), r * seqLen + seqLen - len);
    }
    batches.push({
      users: rows,
      inputs: x,
      targets: new Int32Array(rows.length * seqLen),
      batchSize: rows.length,
      seqLen,
      posOffset: maxLen - seqLen,
    });
  }
  return batches;
}

/** One row range of a batch and its share of the batch's real targets. */
export interface RowChunk<B extends TrainBatch> {
  /** The rows as a batch of their own (same columns and position offset). */
  batch: B;
  /** Real targets (non-zero) in these rows / real targets in the batch. */
  weight: number;
}

/**
 * Split a batch by rows into the fewest near-equal chunks of at most
 * `maxTokens` cells (rows x columns) each; per-row arrays aligned with
 * `inputs` (e.g. `negatives`) are sliced with it. A mean over real
 * positions is the weighted sum of the chunks' means, so a loss
 * differentiated chunk by chunk (on separate tapes) has the same gradient
 * with a bounded peak memory.
 *
 * @example
 * ```ts
 * import { rowChunks } from "./batch.ts";
 * const b = { users: Int32Array.from([0, 1, 2]), inputs: new Int32Array(6).fill(1),
 *   targets: Int32Array.from([1, 1, 0, 1, 1, 1]), batchSize: 3, seqLen: 2, posOffset: 0 };
 * const cs = rowChunks(b, 4);
 * if (cs.length !== 2 || cs[0].batch.batchSize !== 1 || cs[0].weight !== 0.4) throw new Error();
 * ```
 */
export function rowChunks<B extends TrainBatch>(
  batch: B,
  maxTokens: number,
): RowChunk<B>[] {
  if (!(Number.isInteger(maxTokens) && maxTokens > 0)) {
    throw new RangeError(
      `rowChunks: expected a positive integer maxTokens, found ${maxTokens}`,
    );
  }
  const { batchSize: R, seqLen: L } = batch;
  const rowsPer = Math.max(1, Math.floor(maxTokens / L));
  const n = Math.max(1, Math.ceil(R / rowsPer));
  if (n === 1) return [{ batch, weight: 1 }];
  const real = (t: Int32Array) => t.reduce((s, v) => s + (v !== 0 ? 1 : 0), 0);
  const total = Math.max(1, real(batch.targets));
  const out: RowChunk<B>[] = [];
  for (let c = 0; c < n; c++) {
    const a = Math.floor((c * R) / n), b = Math.floor(((c + 1) * R) / n);
    const sub = { ...batch } as unknown as Record<string, unknown>;
    sub.batchSize = b - a;
    for (const [k, v] of Object.entries(batch)) {
      if (v instanceof Int32Array) {
        if (v.length === R * L) sub[k] = v.subarray(a * L, b * L);
        else if (v.length === R) sub[k] = v.subarray(a, b);
      }
    }
    const part = sub as unknown as B;
    out.push({ batch: part, weight: real(part.targets) / total });
  }
  return out;
}
