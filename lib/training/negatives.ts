/**
 * Negative sampling for the BCE regime: one item per real position, drawn
 * uniformly from the items NOT in the user's training sequence. Unlike the
 * reference code, validation and test items are not excluded (they are the
 * future and must not be looked at).
 *
 * @module
 */
import type { SplitDataset, TrainBatch } from "../data/types.ts";
import type { Rng } from "../util/rng.ts";

/**
 * Negatives aligned with `batch.targets` (0 where the target is 0).
 *
 * @example
 * ```ts
 * import { sampleNegatives } from "./negatives.ts";
 * import { makeRng } from "../util/rng.ts";
 * const split = { numItems: 5, train: [new Int32Array([1, 2, 3])] };
 * const batch = { users: new Int32Array([0]), inputs: new Int32Array([1, 2]),
 *   targets: new Int32Array([2, 3]), batchSize: 1, seqLen: 2, posOffset: 0 };
 * // deno-lint-ignore no-explicit-any
 * const neg = sampleNegatives(batch, split as any, makeRng(0));
 * if (!neg.every((n) => n === 4 || n === 5)) throw new Error();
 * ```
 */
export function sampleNegatives(
  batch: TrainBatch,
  split: Pick<SplitDataset, "numItems" | "train">,
  rng: Rng,
): Int32Array {
  const out = new Int32Array(batch.targets.length);
  const N = split.numItems;
  for (let b = 0; b < batch.batchSize; b++) {
    const seen = new Set(split.train[batch.users[b]]);
    if (seen.size >= N) {
      throw new Error(
        `user ${
          batch.users[b]
        } has interacted with every item: no negative exists`,
      );
    }
    for (let t = 0; t < batch.seqLen; t++) {
      const i = b * batch.seqLen + t;
      if (batch.targets[i] === 0) continue;
      let n: number;
      do n = 1 + rng.int(N); while (seen.has(n));
      out[i] = n;
    }
  }
  return out;
}
